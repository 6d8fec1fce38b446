package subsidy

import (
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/google/go-cmp/cmp"
)

// The real policies of DESIGN.md §3, with the numbers from public sources.

// guangzhouFunding: city 3元 and district 3元 per meal, the town (镇街) pays the rest; the district
// pays only for its own residents.
var guangzhouFunding = Funding{Mode: FundingFixed, Parts: []FundingPart{
	{PledgeID: 1, SponsorID: 11, Label: "市级补贴", Fen: 300},
	{PledgeID: 2, SponsorID: 12, Label: "区级补贴", Fen: 300, HomeDistrictOnly: true},
	{PledgeID: 3, SponsorID: 13, Label: "镇街补贴"},
}}

// guangzhou: a 12元 standard meal; the diner pays 1元 (特困, 低保), 3元 (80 and over, or another
// key group: 失能, 独居) or 5元 (60-79).
func guangzhou() []Policy {
	elderly := []Group{Elderly}
	return []Policy{
		policy(101, 300, fixedPrice(100)).funding(guangzhouFunding).
			who(Who{Groups: elderly, Flags: []StatusFlag{Tekun, Dibao}}),
		policy(102, 200, fixedPrice(300)).funding(guangzhouFunding).
			who(Who{Groups: elderly, Tiers: []AgeTier{Tier80, Tier90}, Flags: []StatusFlag{Disabled, LivingAlone}}),
		policy(103, 100, fixedPrice(500)).funding(guangzhouFunding).
			who(Who{Groups: elderly, Tiers: []AgeTier{Tier60, Tier70}}),
	}
}

func TestGuangzhou(t *testing.T) {
	city := func(policy int64, fen int64) Part {
		return Part{PolicyID: policy, PolicyVersion: 1, PledgeID: 1, SponsorID: 11, Label: "市级补贴", Fen: fen}
	}
	district := func(policy int64, fen int64) Part {
		return Part{PolicyID: policy, PolicyVersion: 1, PledgeID: 2, SponsorID: 12, Label: "区级补贴", Fen: fen}
	}
	town := func(policy int64, fen int64) Part {
		return Part{PolicyID: policy, PolicyVersion: 1, PledgeID: 3, SponsorID: 13, Label: "镇街补贴", Fen: fen}
	}
	all := []int64{101, 102, 103}
	tests := []struct {
		name        string
		diner       []Eligibility
		wantPay     int64
		wantParts   []Part
		wantReasons []ReasonCode // on the line
		notFor      []int64      // policies the diner is not eligible for
	}{
		{"低保, 66, at home pays 1元", []Eligibility{elder(aged(66), Dibao)}, 100,
			[]Part{city(101, 300), district(101, 300), town(101, 500)}, nil, []int64{102}},
		{"特困, 85, at home pays 1元: the status price comes first", []Eligibility{elder(aged(85), Tekun)}, 100,
			[]Part{city(101, 300), district(101, 300), town(101, 500)}, nil, []int64{103}},
		{"85 at home pays 3元", []Eligibility{elder(aged(85))}, 300,
			[]Part{city(102, 300), district(102, 300), town(102, 300)}, nil, []int64{101, 103}},
		{"turns 80 on the meal day: 3元", []Eligibility{elder(aged(80))}, 300,
			[]Part{city(102, 300), district(102, 300), town(102, 300)}, nil, []int64{101, 103}},
		{"独居, 66: a key group, 3元", []Eligibility{elder(aged(66), LivingAlone)}, 300,
			[]Part{city(102, 300), district(102, 300), town(102, 300)}, nil, []int64{101}},
		{"79 the day before the 80th birthday: 5元", []Eligibility{elder(d(1946, 11, 27))}, 500,
			[]Part{city(103, 300), district(103, 300), town(103, 100)}, nil, []int64{101, 102}},
		{"60 at home pays 5元", []Eligibility{elder(aged(60))}, 500,
			[]Part{city(103, 300), district(103, 300), town(103, 100)}, nil, []int64{101, 102}},
		{"65 outside the home district pays 3元 more: 8元", []Eligibility{elder(aged(65)).in(away)}, 800,
			[]Part{city(103, 300), town(103, 100)}, []ReasonCode{ReasonOutsideHomeDistrict}, []int64{101, 102}},
		{"低保 outside the home district pays 4元", []Eligibility{elder(aged(66), Dibao).in(away)}, 400,
			[]Part{city(101, 300), town(101, 500)}, []ReasonCode{ReasonOutsideHomeDistrict}, []int64{102}},
		{"85 with no district on record pays as if away: 6元", []Eligibility{elder(aged(85)).in("")}, 600,
			[]Part{city(102, 300), town(102, 300)}, []ReasonCode{ReasonOutsideHomeDistrict}, []int64{101, 103}},
		{"two eligibilities, one at home: the district pays", []Eligibility{
			elder(aged(66)).in(away), {Group: Worker, District: home}, elder(aged(66)),
		}, 500, []Part{city(103, 300), district(103, 300), town(103, 100)}, nil, []int64{101, 102}},
		{"59: full price", []Eligibility{elder(aged(59))}, 1200, nil, nil, all},
		{"no eligibility: full price", nil, 1200, nil, nil, all},
		{"a worker: full price", []Eligibility{{Group: Worker, District: home}}, 1200, nil, nil, all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := cart(meal(1200, 1)).with(guangzhou()...).as(tc.diner...)
			q := mustPrice(t, in)
			ql := q.Lines[0]
			if ql.PayFen != tc.wantPay || q.PayFen != tc.wantPay {
				t.Errorf("pays %d (quote %d), want %d", ql.PayFen, q.PayFen, tc.wantPay)
			}
			if diff := cmp.Diff(tc.wantParts, ql.Parts, equate); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
			var codes []ReasonCode
			for _, r := range ql.Reasons {
				codes = append(codes, r.Code)
			}
			if diff := cmp.Diff(tc.wantReasons, codes, equate); diff != "" {
				t.Errorf("line reasons (-want +got):\n%s", diff)
			}
			var want []Reason
			for _, id := range tc.notFor {
				want = append(want, Reason{PolicyID: id, Code: ReasonNotEligible, Detail: "不符合该优惠的人群条件 / not eligible for this price"})
			}
			if diff := cmp.Diff(want, q.Reasons, equate); diff != "" {
				t.Errorf("quote reasons (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("holds and claims of a 5元 meal with a limit of one per meal", func(t *testing.T) {
		ps := guangzhou()
		for i := range ps {
			ps[i] = ps[i].limits(Limit{Window: PerMeal, Count: 1})
		}
		q := mustPrice(t, cart(meal(1200, 2)).with(ps...).as(elder(aged(70))))
		if diff := cmp.Diff([]string{"1×500[103.1:300 103.2:300 103.3:100] + 1×1200; limit_reached(103)"}, shapes(q)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		wantHolds := []Hold{
			{PledgeID: 1, SponsorID: 11, PolicyID: 103, PolicyVersion: 1, Fen: 300},
			{PledgeID: 2, SponsorID: 12, PolicyID: 103, PolicyVersion: 1, Fen: 300},
			{PledgeID: 3, SponsorID: 13, PolicyID: 103, PolicyVersion: 1, Fen: 100},
		}
		if diff := cmp.Diff(wantHolds, q.Holds); diff != "" {
			t.Errorf("holds (-want +got):\n%s", diff)
		}
		wantClaims := []Claim{{PolicyID: 103, PolicyVersion: 1, Window: PerMeal, Key: "2026-11-26/lunch", Count: 1, AmountFen: 700}}
		if diff := cmp.Diff(wantClaims, q.Claims); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
	})
}

// shenzhen: the subsidy is capped at 15元 a meal for key groups and 5元 for ages 70 to 99.
func shenzhen() []Policy {
	return []Policy{
		policy(201, 200, fixedPrice(0)).capped(1500).
			who(Who{Groups: []Group{Elderly}, Flags: []StatusFlag{Dibao, Tekun, Disabled}}),
		policy(202, 100, amountOff(500)).
			who(Who{Groups: []Group{Elderly}, Tiers: []AgeTier{Tier70, Tier80, Tier90}}),
	}
}

func TestShenzhen(t *testing.T) {
	tests := []struct {
		name  string
		diner Eligibility
		unit  int64
		want  string
	}{
		{"key group, 25元 meal: pays 10元", elder(aged(66), Disabled), 2500, "1×1000[201.1:1500]"},
		{"75, 25元 meal: pays 20元", elder(aged(75)), 2500, "1×2000[202.1:500]"},
		{"key group and 75: the key-group cap wins", elder(aged(75), Dibao), 2500, "1×1000[201.1:1500]"},
		{"99, 25元 meal: pays 20元", elder(aged(99)), 2500, "1×2000[202.1:500]"},
		{"69, 25元 meal: full price", elder(aged(69)), 2500, "1×2500"},
		{"key group, 12元 meal: free, under the cap", elder(aged(66), Tekun), 1200, "1×0[201.1:1200]"},
		{"75, 3元 dish: never below zero", elder(aged(75)), 300, "1×0[202.1:300]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := mustPrice(t, cart(meal(tc.unit, 1)).with(shenzhen()...).as(tc.diner))
			if diff := cmp.Diff([]string{tc.want}, shapes(q)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// rider: a 10元 price on a 15元 meal for new-employment workers ordering from 14:00 to 16:00.
func rider() Policy {
	return policy(301, 100, fixedPrice(1000)).
		who(Who{Groups: []Group{Worker}}).
		when(When{Window: &TimeWindow{From: catalog.Clock(14, 0), To: catalog.Clock(16, 0)}})
}

func TestRiderAfternoonWindow(t *testing.T) {
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 26, h, m, s, 0, civil.Shanghai()) }
	worker := Eligibility{Group: Worker, District: home}
	tests := []struct {
		name  string
		at    time.Time
		diner Eligibility
		want  string
		why   ReasonCode
	}{
		{"13:59 no", at(13, 59, 0), worker, "1×1500", ReasonOutsideTimeWindow},
		{"13:59:59 no", at(13, 59, 59), worker, "1×1500", ReasonOutsideTimeWindow},
		{"14:00 yes", at(14, 0, 0), worker, "1×1000[301.1:500]", ""},
		{"15:59:59 yes", at(15, 59, 59), worker, "1×1000[301.1:500]", ""},
		{"16:00 no", at(16, 0, 0), worker, "1×1500", ReasonOutsideTimeWindow},
		{"14:00 in Shanghai given in UTC: yes", at(14, 0, 0).UTC(), worker, "1×1000[301.1:500]", ""},
		{"an elder at 14:30 is not eligible", at(14, 30, 0), elder(aged(70)), "1×1500", ReasonNotEligible},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := cart(meal(1500, 1)).with(rider()).as(tc.diner)
			in.At = tc.at
			q := mustPrice(t, in)
			if diff := cmp.Diff([]string{tc.want}, shapes(q)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var why ReasonCode
			if len(q.Reasons) > 0 {
				why = q.Reasons[0].Code
			}
			if why != tc.why {
				t.Errorf("reason %q, want %q", why, tc.why)
			}
		})
	}
	t.Run("the detail names the hours", func(t *testing.T) {
		in := cart(meal(1500, 1)).with(rider()).as(worker)
		in.At = at(13, 59, 0)
		q := mustPrice(t, in)
		want := "不在优惠时段 14:00-16:00 内下单 / ordered outside the hours 14:00-16:00"
		if q.Reasons[0].Detail != want {
			t.Errorf("detail %q, want %q", q.Reasons[0].Detail, want)
		}
	})
}

// A merchant's pledge runs out in the middle of lunch: pledge A has money for 2 units, pledge B
// for 1; of a cart of 4, A pays 2, B pays 1 and the last is at full price.
func TestMerchantPledgeRunsOutMidLunch(t *testing.T) {
	waterfall := Funding{Mode: FundingWaterfall, Parts: []FundingPart{
		{PledgeID: 41, SponsorID: 4, Label: "爱心商户A"},
		{PledgeID: 42, SponsorID: 5, Label: "爱心商户B"},
	}}
	in := cart(meal(1200, 4)).with(policy(401, 100, fixedPrice(500)).funding(waterfall))
	in.Available = map[int64]int64{41: 1500, 42: 700}
	q := mustPrice(t, in)
	want := []string{"2×500[401.41:700] + 1×500[401.42:700] + 1×1200; budget_exhausted(401)"}
	if diff := cmp.Diff(want, shapes(q)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantHolds := []Hold{
		{PledgeID: 41, SponsorID: 4, PolicyID: 401, PolicyVersion: 1, Fen: 1400},
		{PledgeID: 42, SponsorID: 5, PolicyID: 401, PolicyVersion: 1, Fen: 700},
	}
	if diff := cmp.Diff(wantHolds, q.Holds); diff != "" {
		t.Errorf("holds (-want +got):\n%s", diff)
	}
	if q.StandardFen != 4800 || q.SubsidyFen != 2100 || q.PayFen != 2700 {
		t.Errorf("totals %d/%d/%d, want 4800/2100/2700", q.StandardFen, q.SubsidyFen, q.PayFen)
	}
	wantReason := Reason{PolicyID: 401, Code: ReasonBudgetExhausted, Detail: "补贴资金已用完 / subsidy budget exhausted"}
	if diff := cmp.Diff([]Reason{wantReason}, q.Lines[0].Reasons); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}

	t.Run("the next diner finds both pledges empty", func(t *testing.T) {
		in.Available = map[int64]int64{41: 100}
		q := mustPrice(t, in)
		if diff := cmp.Diff([]string{"4×1200; budget_exhausted(401)"}, shapes(q)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func mustPrice(t *testing.T, in Input) Quote {
	t.Helper()
	q, err := Price(in)
	if err != nil {
		t.Fatalf("Price: %v", err)
	}
	checkQuote(t, in, q)
	return q
}
