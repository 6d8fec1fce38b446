package demo

import (
	"context"
	"fmt"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// ElderOpenID is the WeChat openid of the demo elder: log in with a code the fake WeChat
// issues for it and the menu shows the elder's 公益价.
const ElderOpenID = "demo-elder"

// seedSubsidy creates the demo sponsors, pledges and policies, modelled on Guangzhou's
// elderly meal subsidy (12元 set meal; the elder pays 1, 3 or 5元 by status and age; city
// 3元 and district 3元, the rest from the street), plus a rider price in the afternoon.
func seedSubsidy(ctx context.Context, s Services, communityID, merchantID, reviewerID int64, today civil.Date) error {
	sc := funding.Scope{CommunityID: communityID, Actor: audit.SystemActor}
	sponsor := func(kind funding.SponsorKind, name string, merchant *int64) (int64, error) {
		sp, err := s.Funding.CreateSponsor(ctx, sc, funding.SponsorInput{Kind: kind, Name: name, MerchantID: merchant})
		return sp.ID, err
	}
	pledge := func(sponsorID int64, name string, fen int64) (int64, error) {
		p, err := s.Funding.CreatePledge(ctx, sc, funding.PledgeInput{SponsorID: sponsorID, Name: name, Kind: funding.Monthly,
			AmountFen: fen, StartMonth: funding.MonthOf(today)})
		return p.ID, err
	}
	ids := map[string]int64{}
	for _, sp := range []struct {
		key, name string
		kind      funding.SponsorKind
		merchant  *int64
		pledgeFen int64
	}{
		{"city", "广州市民政局（演示）", funding.SponsorGovernment, nil, 3_000_000},
		{"district", "越秀区民政局（演示）", funding.SponsorGovernment, nil, 3_000_000},
		{"street", "幸福里街道（演示）", funding.SponsorGovernment, nil, 2_000_000},
		{"merchant", "阳光餐饮（演示）", funding.SponsorMerchant, &merchantID, 300_000},
		{"parking", "社区停车收入（演示）", funding.SponsorCommunityFund, nil, 100_000},
	} {
		id, err := sponsor(sp.kind, sp.name, sp.merchant)
		if err != nil {
			return fmt.Errorf("demo: sponsor %s: %w", sp.name, err)
		}
		if ids[sp.key], err = pledge(id, sp.name+" 月度认捐", sp.pledgeFen); err != nil {
			return fmt.Errorf("demo: pledge %s: %w", sp.name, err)
		}
	}
	gz := subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{
		{PledgeID: ids["city"], Label: "市级补贴", Fen: 300},
		{PledgeID: ids["district"], Label: "区级补贴", Fen: 300, HomeDistrictOnly: true},
		{PledgeID: ids["street"], Label: "街道补贴"},
	}}
	setMeal := subsidy.What{Categories: []string{"套餐"}, MaxItems: 1}
	perMeal := []subsidy.Limit{{Window: subsidy.PerMeal, Count: 1}}
	for _, p := range []subsidy.Policy{
		{Name: "长者公益价：特困、低保 1元", Priority: 30, Who: subsidy.Who{Groups: []subsidy.Group{subsidy.Elderly},
			Flags: []subsidy.StatusFlag{subsidy.Tekun, subsidy.Dibao}}, What: setMeal,
			Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 100}, Limits: perMeal, Funding: gz},
		{Name: "长者公益价：80岁以上 3元", Priority: 20, Who: subsidy.Who{Groups: []subsidy.Group{subsidy.Elderly},
			Tiers: []subsidy.AgeTier{subsidy.Tier80, subsidy.Tier90}}, What: setMeal,
			Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 300}, Limits: perMeal, Funding: gz},
		{Name: "长者公益价：60-79岁 5元", Priority: 10, Who: subsidy.Who{Groups: []subsidy.Group{subsidy.Elderly},
			Tiers: []subsidy.AgeTier{subsidy.Tier60, subsidy.Tier70}}, What: setMeal,
			Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 500}, Limits: perMeal, Funding: gz},
		{Name: "骑手午后价：立减3元", Priority: 5, Who: subsidy.Who{Groups: []subsidy.Group{subsidy.Worker}},
			When:    subsidy.When{Window: &subsidy.TimeWindow{From: catalog.Clock(14, 0), To: catalog.Clock(16, 0)}},
			What:    subsidy.What{Categories: []string{"套餐", "面食"}, MaxItems: 1},
			Benefit: subsidy.Benefit{Kind: subsidy.AmountOff, AmountFen: 300},
			Limits:  []subsidy.Limit{{Window: subsidy.PerDay, Count: 1}},
			Funding: subsidy.Funding{Mode: subsidy.FundingWaterfall, Parts: []subsidy.FundingPart{
				{PledgeID: ids["merchant"], Label: "爱心商户"}, {PledgeID: ids["parking"], Label: "社区停车收入"}}}},
	} {
		if _, err := s.Funding.CreatePolicy(ctx, sc, p); err != nil {
			return fmt.Errorf("demo: policy %s: %w", p.Name, err)
		}
	}
	if s.NewDiner == nil {
		return nil
	}
	dinerID, err := s.NewDiner(ctx, communityID, ElderOpenID)
	if err != nil {
		return fmt.Errorf("demo: elder diner: %w", err)
	}
	e, err := s.Eligibility.ApplyElderly(ctx, eligibility.Scope{CommunityID: communityID,
		Actor: audit.Actor{Kind: audit.Diner, ID: dinerID, Name: "demo elder"}}, dinerID, eligibility.ElderlyApplication{
		Name: "王秀英（演示）", IDNumber: demoIDNumber("440104", "19440315", "026"), District: "越秀区"})
	if err != nil {
		return fmt.Errorf("demo: elder application: %w", err)
	}
	_, err = s.Eligibility.Approve(ctx, eligibility.Scope{CommunityID: communityID,
		Actor: audit.Actor{Kind: audit.Staff, ID: reviewerID, Name: "demo-reviewer"}, Reviewer: true}, e.ID, today, today.AddDays(364))
	if err != nil {
		return fmt.Errorf("demo: approve elder: %w", err)
	}
	return nil
}

// demoIDNumber returns a well-formed (made-up) resident ID number with its check digit.
func demoIDNumber(region, birth, seq string) string {
	return subsidy.CompleteIDNumber(region + birth + seq)
}
