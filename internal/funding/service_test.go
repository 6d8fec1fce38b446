package funding_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// fieldOf returns the first field an apperr names, or "".
func fieldOf(err error) string {
	if e, ok := apperr.As(err); ok && len(e.Fields) > 0 {
		return e.Fields[0].Field
	}
	return ""
}

func TestSponsors(t *testing.T) {
	f := newFixture(t)
	m := f.merchant(f.a, "爱心餐饮")
	foreign := f.merchant(f.b, "别处餐饮")
	s, err := f.svc.CreateSponsor(f.ctx, f.a, funding.SponsorInput{Kind: funding.SponsorMerchant, Name: " 爱心餐饮 ", MerchantID: &m})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "爱心餐饮" || !s.Active || s.MerchantID == nil || *s.MerchantID != m {
		t.Fatalf("created %+v", s)
	}
	f.sponsor(f.a, funding.SponsorGovernment, "天河区民政局")

	tests := []struct {
		name  string
		in    funding.SponsorInput
		kind  apperr.Kind
		field string
	}{
		{"unknown kind", funding.SponsorInput{Kind: "bank", Name: "银行"}, apperr.Invalid, "kind"},
		{"no name", funding.SponsorInput{Kind: funding.SponsorCharity}, apperr.Invalid, "name"},
		{"merchant on a government sponsor", funding.SponsorInput{Kind: funding.SponsorGovernment, Name: "街道", MerchantID: &m}, apperr.Invalid, "merchant_id"},
		{"another community's merchant", funding.SponsorInput{Kind: funding.SponsorMerchant, Name: "外来", MerchantID: &foreign}, apperr.NotFound, "merchant_id"},
		{"name taken", funding.SponsorInput{Kind: funding.SponsorCharity, Name: "天河区民政局"}, apperr.Conflict, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateSponsor(f.ctx, f.a, tc.in)
			if apperr.KindOf(err) != tc.kind || fieldOf(err) != tc.field {
				t.Fatalf("got %v, want %v naming %s", err, tc.kind, tc.field)
			}
		})
	}

	u, err := f.svc.UpdateSponsor(f.ctx, f.a, s.ID, funding.SponsorPatch{Name: ptr("爱心餐饮（南门）"), MerchantID: ptr(int64(0)), Active: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "爱心餐饮（南门）" || u.MerchantID != nil || u.Active || u.Kind != funding.SponsorMerchant {
		t.Fatalf("updated %+v", u)
	}
	list, err := f.svc.ListSponsors(f.ctx, f.a.CommunityID)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := f.svc.UpdateSponsor(f.ctx, f.b, s.ID, funding.SponsorPatch{Active: ptr(true)}); !errors.Is(err, funding.ErrSponsorNotFound) {
		t.Fatalf("update from another community: %v", err)
	}
	recs, err := auditdb.New(f.db).List(f.ctx, f.a.CommunityID, audit.Filter{Entity: funding.EntitySponsor})
	if err != nil || len(recs) != 3 || recs[0].Action != funding.ActionUpdate || recs[0].Before == nil || recs[0].Actor != f.a.Actor {
		t.Fatalf("audit: %+v %v", recs, err)
	}
}

func TestPledges(t *testing.T) {
	f := newFixture(t)
	s := f.sponsor(f.a, funding.SponsorCharity, "公益基金会")
	off := f.sponsor(f.a, funding.SponsorCharity, "停用基金")
	if _, err := f.svc.UpdateSponsor(f.ctx, f.a, off.ID, funding.SponsorPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	ca := f.canteen(f.a, "长者食堂")
	cb := f.canteen(f.b, "别处食堂")
	d := func(y int, m time.Month, day int) civil.Date { return civil.Date{Year: y, Month: m, Day: day} }

	p, err := f.svc.CreatePledge(f.ctx, f.a, funding.PledgeInput{SponsorID: s.ID, Name: "2026 下半年", Kind: funding.Range,
		AmountFen: 500_000, From: d(2026, 7, 1), To: d(2026, 12, 31), CanteenIDs: []int64{ca, ca}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.CanteenIDs, []int64{ca}) || p.From != d(2026, 7, 1) || p.To != d(2026, 12, 31) || !p.StartMonth.IsZero() {
		t.Fatalf("created %+v", p)
	}
	base := funding.PledgeInput{SponsorID: s.ID, Name: "每月", Kind: funding.Monthly, AmountFen: 1000, StartMonth: nov}
	with := func(change func(*funding.PledgeInput)) funding.PledgeInput { in := base; change(&in); return in }
	tests := []struct {
		name  string
		in    funding.PledgeInput
		kind  apperr.Kind
		field string
	}{
		{"zero amount", with(func(in *funding.PledgeInput) { in.AmountFen = 0 }), apperr.Invalid, "amount_fen"},
		{"no kind", with(func(in *funding.PledgeInput) { in.Kind = "" }), apperr.Invalid, "kind"},
		{"monthly without start", with(func(in *funding.PledgeInput) { in.StartMonth = funding.Month{} }), apperr.Invalid, "start_month"},
		{"end before start", with(func(in *funding.PledgeInput) { in.EndMonth = funding.Month{Year: 2026, Month: 10} }), apperr.Invalid, "end_month"},
		{"monthly with dates", with(func(in *funding.PledgeInput) { in.From = today }), apperr.Invalid, "from"},
		{"range without end", funding.PledgeInput{SponsorID: s.ID, Name: "x", Kind: funding.Range, AmountFen: 1, From: today}, apperr.Invalid, "to"},
		{"unknown sponsor", with(func(in *funding.PledgeInput) { in.SponsorID = 999 }), apperr.NotFound, "sponsor_id"},
		{"inactive sponsor", with(func(in *funding.PledgeInput) { in.SponsorID = off.ID }), apperr.FailedPrecondition, "sponsor_id"},
		{"another community's canteen", with(func(in *funding.PledgeInput) { in.CanteenIDs = []int64{ca, cb} }), apperr.NotFound, "canteen_ids[1]"},
		{"name taken", with(func(in *funding.PledgeInput) { in.Name = "2026 下半年" }), apperr.Conflict, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreatePledge(f.ctx, f.a, tc.in)
			if apperr.KindOf(err) != tc.kind || fieldOf(err) != tc.field {
				t.Fatalf("got %v, want %v naming %s", err, tc.kind, tc.field)
			}
		})
	}
	if _, err := f.svc.CreatePledge(f.ctx, f.b, base); !errors.Is(err, funding.ErrSponsorNotFound) {
		t.Fatalf("pledge for another community's sponsor: %v", err)
	}

	u, err := f.svc.UpdatePledge(f.ctx, f.a, p.ID, funding.PledgePatch{To: ptr(d(2027, 6, 30)), CanteenIDs: ptr([]int64{}), Name: ptr("延期")})
	if err != nil {
		t.Fatal(err)
	}
	if u.To != d(2027, 6, 30) || len(u.CanteenIDs) != 0 || u.Name != "延期" || u.From != p.From {
		t.Fatalf("updated %+v", u)
	}
	if _, err := f.svc.UpdatePledge(f.ctx, f.a, p.ID, funding.PledgePatch{EndMonth: &dec}); fieldOf(err) != "end_month" {
		t.Fatalf("end month on a range pledge: %v", err)
	}
}

// TestAmountChangeAppliesToUnfundedPeriods: a period is funded with the amount of the
// moment it is first touched.
func TestAmountChangeAppliesToUnfundedPeriods(t *testing.T) {
	f := newFixture(t)
	p := f.monthly(f.a, f.sponsor(f.a, funding.SponsorMerchant, "爱心商户").ID, "午餐认捐", 1_000)
	if _, err := f.svc.TopUp(f.ctx, f.a, p.ID, "2026-11", 1, "开户"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdatePledge(f.ctx, f.a, p.ID, funding.PledgePatch{AmountFen: ptr(int64(3_000))}); err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.ListPledges(f.ctx, f.a.CommunityID)
	if err != nil {
		t.Fatal(err)
	}
	want := &funding.Balance{PledgeID: p.ID, Period: "2026-11", FundedFen: 1_001, AvailableFen: 1_001, Opened: true}
	if diff := cmp.Diff(want, list[0].Current); diff != "" {
		t.Fatalf("November, funded before the change (-want +got):\n%s", diff)
	}
	f.now = f.now.AddDate(0, 0, 1) // 1 December
	list, err = f.svc.ListPledges(f.ctx, f.a.CommunityID)
	if err != nil {
		t.Fatal(err)
	}
	want = &funding.Balance{PledgeID: p.ID, Period: "2026-12", FundedFen: 3_000, AvailableFen: 3_000}
	if diff := cmp.Diff(want, list[0].Current); diff != "" {
		t.Fatalf("December, not funded yet (-want +got):\n%s", diff)
	}
}

func TestTopUpAndAdjust(t *testing.T) {
	f := newFixture(t)
	p := f.monthly(f.a, f.sponsor(f.a, funding.SponsorCommunityFund, "停车收入").ID, "停车费补贴", 1_000)
	auditCount := func() int { return f.count("SELECT count(*) FROM audit_log WHERE entity = 'pledge_balance'") }

	b, err := f.svc.TopUp(f.ctx, f.a, p.ID, "2026-11", 500, "充电桩收入")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(funding.Balance{PledgeID: p.ID, Period: "2026-11", FundedFen: 1_500, AvailableFen: 1_500, Opened: true}, b); diff != "" {
		t.Fatalf("after top-up (-want +got):\n%s", diff)
	}
	if b, err = f.svc.Adjust(f.ctx, f.a, p.ID, "2026-11", -1_200, "多记了一笔"); err != nil || b.AvailableFen != 300 || b.FundedFen != 300 {
		t.Fatalf("adjust down: %+v %v", b, err)
	}
	recs, err := auditdb.New(f.db).List(f.ctx, f.a.CommunityID, audit.Filter{Entity: funding.EntityBalance})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	if diff := cmp.Diff([]string{"adjust", "topup", "open"}, actions); diff != "" {
		t.Fatalf("audit actions (-want +got):\n%s", diff)
	}
	if recs[0].Actor != f.a.Actor || recs[0].EntityID != fmt.Sprintf("%d/2026-11", p.ID) || len(recs[0].Before) == 0 || len(recs[0].After) == 0 {
		t.Fatalf("adjust audit record %+v", recs[0])
	}
	journal := f.count("SELECT count(*) FROM ledger_entries WHERE kind IN ('topup', 'adjust') AND actor_id = 7")
	if journal != 4 {
		t.Fatalf("%d top-up/adjust journal entries by the actor, want 4", journal)
	}

	before, entries := auditCount(), f.count("SELECT count(*) FROM ledger_entries")
	tests := []struct {
		name  string
		call  func() error
		want  apperr.Kind
		field string
	}{
		{"below zero", func() error { _, err := f.svc.Adjust(f.ctx, f.a, p.ID, "2026-11", -301, "退回"); return err }, apperr.Conflict, "fen"},
		{"no reason", func() error { _, err := f.svc.Adjust(f.ctx, f.a, p.ID, "2026-11", 10, " "); return err }, apperr.Invalid, "reason"},
		{"zero adjustment", func() error { _, err := f.svc.Adjust(f.ctx, f.a, p.ID, "2026-11", 0, "无"); return err }, apperr.Invalid, "fen"},
		{"negative top-up", func() error { _, err := f.svc.TopUp(f.ctx, f.a, p.ID, "2026-11", -5, ""); return err }, apperr.Invalid, "fen"},
		{"period before the pledge", func() error { _, err := f.svc.TopUp(f.ctx, f.a, p.ID, "2026-10", 5, ""); return err }, apperr.Invalid, "period"},
		{"range period of a monthly pledge", func() error { _, err := f.svc.TopUp(f.ctx, f.a, p.ID, funding.RangePeriod, 5, ""); return err }, apperr.Invalid, "period"},
		{"bad period", func() error { _, err := f.svc.TopUp(f.ctx, f.a, p.ID, "2026-13", 5, ""); return err }, apperr.Invalid, "period"},
		{"another community", func() error { _, err := f.svc.TopUp(f.ctx, f.b, p.ID, "2026-11", 5, ""); return err }, apperr.NotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if apperr.KindOf(err) != tc.want || fieldOf(err) != tc.field {
				t.Fatalf("got %v, want %v naming %q", err, tc.want, tc.field)
			}
		})
	}
	if auditCount() != before || f.count("SELECT count(*) FROM ledger_entries") != entries {
		t.Fatal("refused changes wrote audit records or journal entries")
	}
	bs, err := f.svc.PledgeBalances(f.ctx, f.a.CommunityID, p.ID)
	if err != nil || len(bs) != 1 || bs[0].AvailableFen != 300 {
		t.Fatalf("balances: %+v %v", bs, err)
	}
}

// TestPolicyVersions: an update makes version 2; version 1 stays readable, unchanged; pricing
// sees only current versions of active policies valid on the day.
func TestPolicyVersions(t *testing.T) {
	f := newFixture(t)
	city := f.monthly(f.a, f.sponsor(f.a, funding.SponsorGovernment, "市民政局").ID, "市级", 100_000)
	district := f.monthly(f.a, f.sponsor(f.a, funding.SponsorGovernment, "区民政局").ID, "区级", 100_000)

	in := policy(city.ID, district.ID)
	in.Funding.Parts[0].SponsorID = 999 // not the caller's to set
	v1, err := f.svc.CreatePolicy(f.ctx, f.a, in)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Policy.ID == 0 || v1.Policy.Version != 1 || v1.Policy.CommunityID != f.a.CommunityID || !v1.Active {
		t.Fatalf("created %+v", v1)
	}
	if got := []int64{v1.Policy.Funding.Parts[0].SponsorID, v1.Policy.Funding.Parts[1].SponsorID}; !slices.Equal(got, []int64{city.SponsorID, district.SponsorID}) {
		t.Fatalf("sponsors of the parts %v, want %v", got, []int64{city.SponsorID, district.SponsorID})
	}

	in2 := policy(city.ID, district.ID)
	in2.Benefit.PriceFen = 100
	in2.ValidFrom = civil.Date{Year: 2026, Month: 12, Day: 1}
	v2, err := f.svc.UpdatePolicy(f.ctx, f.a, v1.Policy.ID, in2)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Policy.ID != v1.Policy.ID || v2.Policy.Version != 2 || v2.Policy.Benefit.PriceFen != 100 {
		t.Fatalf("updated %+v", v2)
	}
	old, err := f.svc.GetPolicy(f.ctx, f.a.CommunityID, v1.Policy.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v1.Policy, old, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("version 1 changed (-created +read):\n%s", diff)
	}
	cur, err := f.svc.GetPolicy(f.ctx, f.a.CommunityID, v1.Policy.ID, 0)
	if err != nil || cur.Version != 2 {
		t.Fatalf("current: %+v %v", cur, err)
	}
	if _, err := f.db.ExecContext(f.ctx, "UPDATE policy_versions SET rules = '{}'"); err == nil {
		t.Fatal("a policy version was edited in place")
	}

	// Another policy, valid today; the updated one starts in December.
	other, err := f.svc.CreatePolicy(f.ctx, f.a, policy(district.ID, city.ID))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(day civil.Date) []int64 {
		t.Helper()
		ps, err := f.svc.ActivePolicies(f.ctx, f.a.CommunityID, day)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, p := range ps {
			out = append(out, p.ID*10+p.Version)
		}
		return out
	}
	if diff := cmp.Diff([]int64{other.Policy.ID*10 + 1}, ids(today)); diff != "" {
		t.Fatalf("active today (-want +got):\n%s", diff)
	}
	dec1 := civil.Date{Year: 2026, Month: 12, Day: 1}
	if diff := cmp.Diff([]int64{v1.Policy.ID*10 + 2, other.Policy.ID*10 + 1}, ids(dec1)); diff != "" {
		t.Fatalf("active on 1 December (-want +got):\n%s", diff)
	}
	if _, err := f.svc.DeactivatePolicy(f.ctx, f.a, other.Policy.ID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{v1.Policy.ID*10 + 2}, ids(dec1)); diff != "" {
		t.Fatalf("active after deactivation (-want +got):\n%s", diff)
	}
	list, err := f.svc.ListPolicies(f.ctx, f.a.CommunityID)
	if err != nil || len(list) != 2 || list[1].Active || list[0].Policy.Version != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	recs, err := auditdb.New(f.db).List(f.ctx, f.a.CommunityID, audit.Filter{Entity: funding.EntityPolicy})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	if diff := cmp.Diff([]string{"deactivate", "create", "update", "create"}, actions); diff != "" {
		t.Fatalf("audit (-want +got):\n%s", diff)
	}
	if _, err := f.svc.GetPolicy(f.ctx, f.b.CommunityID, v1.Policy.ID, 1); !errors.Is(err, funding.ErrPolicyNotFound) {
		t.Fatalf("another community reads the policy: %v", err)
	}
	if ps, err := f.svc.ActivePolicies(f.ctx, f.b.CommunityID, dec1); err != nil || len(ps) != 0 {
		t.Fatalf("another community's active policies: %v %v", ps, err)
	}
}

// TestPolicyRefusalsWriteNothing: invalid rules, another community's pledge, an inactive
// pledge or a pledge for other canteens are refused, naming the field, and write nothing.
func TestPolicyRefusalsWriteNothing(t *testing.T) {
	f := newFixture(t)
	city := f.monthly(f.a, f.sponsor(f.a, funding.SponsorGovernment, "市民政局").ID, "市级", 100_000)
	district := f.monthly(f.a, f.sponsor(f.a, funding.SponsorGovernment, "区民政局").ID, "区级", 100_000)
	foreign := f.monthly(f.b, f.sponsor(f.b, funding.SponsorGovernment, "外区").ID, "外区", 100_000)
	off := f.monthly(f.a, f.sponsor(f.a, funding.SponsorCharity, "停用基金").ID, "停用", 100_000)
	if _, err := f.svc.UpdatePledge(f.ctx, f.a, off.ID, funding.PledgePatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	c1 := f.canteen(f.a, "一号食堂")
	c2 := f.canteen(f.a, "二号食堂")
	narrow, err := f.svc.CreatePledge(f.ctx, f.a, funding.PledgeInput{SponsorID: city.SponsorID, Name: "一号食堂专项",
		Kind: funding.Monthly, AmountFen: 1_000, StartMonth: nov, CanteenIDs: []int64{c1}})
	if err != nil {
		t.Fatal(err)
	}
	existing, err := f.svc.CreatePolicy(f.ctx, f.a, policy(city.ID, district.ID))
	if err != nil {
		t.Fatal(err)
	}

	onlyAt := func(p func() subsidy.Policy, canteens ...int64) func() subsidy.Policy {
		return func() subsidy.Policy { v := p(); v.When.CanteenIDs = canteens; return v }
	}
	tests := []struct {
		name  string
		in    func() subsidy.Policy
		kind  apperr.Kind
		field string
	}{
		{"no name", func() subsidy.Policy { p := policy(city.ID, district.ID); p.Name = ""; return p }, apperr.Invalid, "name"},
		{"bad benefit", func() subsidy.Policy { p := policy(city.ID, district.ID); p.Benefit.AmountFen = 5; return p }, apperr.Invalid, "benefit.amount_fen"},
		{"another community's pledge", func() subsidy.Policy { return policy(city.ID, foreign.ID) }, apperr.NotFound, "funding.parts[1].pledge_id"},
		{"unknown pledge", func() subsidy.Policy { return policy(12345, district.ID) }, apperr.NotFound, "funding.parts[0].pledge_id"},
		{"inactive pledge", func() subsidy.Policy { return policy(city.ID, off.ID) }, apperr.FailedPrecondition, "funding.parts[1].pledge_id"},
		{"canteen pledge, every canteen", func() subsidy.Policy { return policy(narrow.ID, district.ID) }, apperr.Invalid, "funding.parts[0].pledge_id"},
		{"canteen pledge, other canteen", onlyAt(func() subsidy.Policy { return policy(narrow.ID, district.ID) }, c1, c2), apperr.Invalid, "funding.parts[0].pledge_id"},
	}
	rows := func() [4]int {
		return [4]int{f.count("SELECT count(*) FROM policies"), f.count("SELECT count(*) FROM policy_versions"),
			f.count("SELECT count(*) FROM policy_pledges"), f.count("SELECT count(*) FROM audit_log")}
	}
	before := rows()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.svc.CreatePolicy(f.ctx, f.a, tc.in()); apperr.KindOf(err) != tc.kind || fieldOf(err) != tc.field {
				t.Fatalf("create: got %v, want %v naming %s", err, tc.kind, tc.field)
			}
			if _, err := f.svc.UpdatePolicy(f.ctx, f.a, existing.Policy.ID, tc.in()); apperr.KindOf(err) != tc.kind || fieldOf(err) != tc.field {
				t.Fatalf("update: got %v, want %v naming %s", err, tc.kind, tc.field)
			}
		})
	}
	if after := rows(); after != before {
		t.Fatalf("refused policies changed row counts (policies, versions, pledges, audit) %v -> %v", before, after)
	}
	// The canteen pledge is fine for a policy limited to its canteen.
	if _, err := f.svc.CreatePolicy(f.ctx, f.a, onlyAt(func() subsidy.Policy { return policy(narrow.ID, district.ID) }, c1)()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdatePolicy(f.ctx, f.b, existing.Policy.ID, policy(city.ID, district.ID)); !errors.Is(err, funding.ErrPolicyNotFound) {
		t.Fatalf("update of another community's policy: %v", err)
	}
	if _, err := f.svc.DeactivatePolicy(f.ctx, f.b, existing.Policy.ID); !errors.Is(err, funding.ErrPolicyNotFound) {
		t.Fatalf("deactivation of another community's policy: %v", err)
	}
}
