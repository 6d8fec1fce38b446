package settlementdb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// ledgerSums computes, straight from the journal and the payment tables, what month m's
// statements must add up to: spent moves by sponsor and by canteen operator, WeChat
// payments credited, cash taken and refunds paid by operator.
type ledgerSums struct {
	bySponsor  map[int64]int64
	byOperator map[int64]int64
	payments   map[int64]int64
	cash       map[int64]int64
	refunds    map[int64]int64
}

func (f *fixture) ledgerSums(m settlement.Month) ledgerSums {
	f.t.Helper()
	from, to := settlement.Start(m), settlement.End(m)
	sums := func(query string) map[int64]int64 {
		var rows []struct {
			Party int64 `bun:"party"`
			Fen   int64 `bun:"fen"`
		}
		f.check(f.db.NewRaw(query, f.cid, from, to).Scan(f.ctx, &rows))
		out := map[int64]int64{}
		for _, r := range rows {
			out[r.Party] = r.Fen
		}
		return out
	}
	return ledgerSums{
		bySponsor: sums(`SELECT p.sponsor_id AS party, sum(le.amount_fen) AS fen FROM ledger_entries le
			JOIN pledges p ON p.id = le.pledge_id
			WHERE le.community_id = ? AND le.account = 'spent' AND le.created_at >= ? AND le.created_at < ? GROUP BY 1`),
		byOperator: sums(`SELECT coalesce(c.merchant_id, 0) AS party, sum(le.amount_fen) AS fen FROM ledger_entries le
			JOIN orders o ON o.id = le.order_id JOIN canteens c ON c.id = o.canteen_id
			WHERE le.community_id = ? AND le.account = 'spent' AND le.created_at >= ? AND le.created_at < ? GROUP BY 1`),
		payments: sums(`SELECT coalesce(c.merchant_id, 0) AS party, sum(p.amount_fen) AS fen FROM payments p
			JOIN orders o ON o.id = p.order_id JOIN canteens c ON c.id = o.canteen_id
			WHERE p.community_id = ? AND p.outcome = 'credited' AND p.success_time >= ? AND p.success_time < ? GROUP BY 1`),
		cash: sums(`SELECT coalesce(c.merchant_id, 0) AS party, sum(o.pay_fen) AS fen FROM orders o
			JOIN canteens c ON c.id = o.canteen_id
			WHERE o.community_id = ? AND o.payment_method = 'cash' AND o.paid_at >= ? AND o.paid_at < ? GROUP BY 1`),
		refunds: sums(`SELECT coalesce(c.merchant_id, 0) AS party, sum(r.amount_fen) AS fen FROM refunds r
			JOIN orders o ON o.id = r.order_id JOIN canteens c ON c.id = o.canteen_id
			WHERE r.community_id = ? AND r.status = 'success' AND r.settled_at >= ? AND r.settled_at < ? GROUP BY 1`),
	}
}

// statementSums sums the closed statements of m the same way.
func statementSums(stmts map[settlement.Party]settlement.Statement) ledgerSums {
	out := ledgerSums{bySponsor: map[int64]int64{}, byOperator: map[int64]int64{}, payments: map[int64]int64{},
		cash: map[int64]int64{}, refunds: map[int64]int64{}}
	for p, s := range stmts {
		t := s.Totals
		if p.Kind == settlement.Sponsor {
			out.bySponsor[p.ID] = t.LedgerFen
			continue
		}
		out.byOperator[p.ID] = t.LedgerFen
		// Payments, cash and refunds of the month, whether of its own orders or adjustments.
		for _, l := range s.Lines {
			switch l.Kind {
			case settlement.LinePayment:
				out.payments[p.ID] += l.Fen
			case settlement.LineCash:
				out.cash[p.ID] += l.Fen
			case settlement.LineRefund:
				out.refunds[p.ID] -= l.Fen
			}
		}
	}
	for _, m := range []map[int64]int64{out.payments, out.cash, out.refunds} {
		for k, v := range m {
			if v == 0 {
				delete(m, k)
			}
		}
	}
	return out
}

func TestStatementTotalsEqualLedgerSums(t *testing.T) {
	f := newFixture(t)
	f.october()
	c := f.closeMonth(october)
	stmts := f.statements(october)
	if c.Statements != len(stmts) || len(stmts) != 4 {
		t.Fatalf("close wrote %d statements, read %d; want 4 (two sponsors, two operators)", c.Statements, len(stmts))
	}

	want := f.ledgerSums(october)
	got := statementSums(stmts)
	opt := cmp.AllowUnexported(ledgerSums{})
	if d := cmp.Diff(want, got, opt); d != "" {
		t.Fatalf("statements differ from the ledger and payments (-ledger +statements):\n%s", d)
	}

	// The same figures worked out by hand from the fixture's prices.
	gov, shop := stmts[f.sponsorParty(f.gov)], stmts[f.sponsorParty(f.shop)]
	opA, opB := stmts[f.operatorParty(f.operator)], stmts[f.operatorParty(0)]
	wantTotals := map[string][2]settlement.Totals{
		"government sponsor": {gov.Totals, {Meals: 4, SubsidyFen: 1700, ReversalFen: -250, LedgerFen: 1450, TotalFen: 1450}},
		"merchant sponsor":   {shop.Totals, {Meals: 3, SubsidyFen: 1200, ReversalFen: -200, LedgerFen: 1000, TotalFen: 1000}},
		"operator":           {opA.Totals, {Meals: 4, SubsidyFen: 2000, ReversalFen: -450, PaymentFen: 3400, RefundFen: -150, LedgerFen: 1550, TotalFen: 4800}},
		"community canteen":  {opB.Totals, {Meals: 1, SubsidyFen: 900, CashFen: 300, LedgerFen: 900, TotalFen: 1200}},
	}
	for name, tt := range wantTotals {
		if d := cmp.Diff(tt[1], tt[0]); d != "" {
			t.Errorf("%s totals (-want +got):\n%s", name, d)
		}
	}
	if d := cmp.Diff([]settlement.Counterpart{
		{Kind: settlement.Operator, ID: 0, Name: settlement.CommunityOperatorName, Fen: 500},
		{Kind: settlement.Operator, ID: f.operator, Name: "阳光餐饮", Fen: 950},
	}, gov.Counterparts); d != "" {
		t.Errorf("government sponsor's payable by operator (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]settlement.Counterpart{
		{Kind: settlement.Sponsor, ID: f.gov, Name: "市级财政", Fen: 950},
		{Kind: settlement.Sponsor, ID: f.shop, Name: "爱心超市", Fen: 600},
	}, opA.Counterparts); d != "" {
		t.Errorf("operator's subsidies receivable by sponsor (-want +got):\n%s", d)
	}
	if shop.MerchantID == nil || *shop.MerchantID != f.donor || opA.MerchantID == nil || *opA.MerchantID != f.operator ||
		gov.MerchantID != nil || opB.MerchantID != nil {
		t.Errorf("statement merchants: shop %v, operator %v, government %v, community %v", shop.MerchantID, opA.MerchantID, gov.MerchantID, opB.MerchantID)
	}

	// Each statement's stored totals are its lines' sums, and lines are numbered 1..n.
	for p, s := range stmts {
		if d := cmp.Diff(settlement.Sum(s.Lines), s.Totals); d != "" {
			t.Errorf("%v: stored totals differ from its lines (-lines +stored):\n%s", p, d)
		}
		if s.LineCount != len(s.Lines) {
			t.Errorf("%v: line_count %d, %d lines", p, s.LineCount, len(s.Lines))
		}
		for i, l := range s.Lines {
			if l.No != i+1 {
				t.Fatalf("%v: line %d numbered %d", p, i+1, l.No)
			}
		}
		if s.Status != settlement.Issued || len(s.Signoffs) != 1 {
			t.Errorf("%v: sign-off %q with %d entries, want issued once", p, s.Status, len(s.Signoffs))
		}
	}

	// All of the pledges' spent money was spent in October: the balances agree too.
	var spent []struct {
		Sponsor int64 `bun:"sponsor_id"`
		Fen     int64 `bun:"fen"`
	}
	f.scan(`SELECT p.sponsor_id, sum(b.spent_fen) AS fen FROM pledge_balances b JOIN pledges p ON p.id = b.pledge_id
		WHERE b.community_id = ? GROUP BY 1`, &spent, f.cid)
	for _, s := range spent {
		if got := stmts[f.sponsorParty(s.Sponsor)].Totals.LedgerFen; got != s.Fen {
			t.Errorf("sponsor %d: pledge balances spent %d fen, statement %d fen", s.Sponsor, s.Fen, got)
		}
	}
}

func TestStatementBreakdownByCanteenDayGroupAndTier(t *testing.T) {
	f := newFixture(t)
	f.october()
	f.closeMonth(october)
	gov := f.statements(october)[f.sponsorParty(f.gov)]
	tier := func(t subsidy.AgeTier) *subsidy.AgeTier { return &t }
	type row struct {
		Canteen int64
		Day     string
		Group   subsidy.Group
		Tier    *subsidy.AgeTier
		Meals   int
		Fen     int64
	}
	var got []row
	for _, r := range settlement.ByGroup(gov.Lines) {
		got = append(got, row{r.CanteenID, r.Day.String(), r.Group, r.Tier, r.Meals, r.TotalFen})
	}
	want := []row{
		{f.canteenA, "2026-10-05", subsidy.Elderly, tier(subsidy.Tier70), 1, govPartFen},
		{f.canteenA, "2026-10-05", subsidy.Worker, nil, 1, workerOff},
		{f.canteenA, "2026-10-20", subsidy.Elderly, tier(subsidy.Tier70), 1, govPartFen - 250},
		{f.canteenB, "2026-10-05", subsidy.Elderly, tier(subsidy.Tier80), 1, govPartFen},
	}
	if f.canteenB < f.canteenA {
		t.Fatal("the fixture makes canteen A first")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("by canteen × day × group/tier (-want +got):\n%s", d)
	}
	days := settlement.ByDay(gov.Lines)
	if len(days) != 2 || days[0].TotalFen != 1200 || days[1].TotalFen != 250 || days[0].Meals != 3 {
		t.Fatalf("by day: %+v", days)
	}
}

func TestLateRefundLandsAsAdjustmentInNextMonth(t *testing.T) {
	f := newFixture(t)
	m := f.october()
	f.closeMonth(october)
	before := f.statements(october)

	// In November the October order is refunded in full, and an elder eats in November.
	d3 := day(time.November, 3)
	f.during(at(d3, 10), func() { f.lunch(f.elder1, f.canteenA, d3, f.setMeal, false) })
	f.during(at(d3, 16), func() { f.refund(m.elderWeChat, elderPayFen) })
	f.closeMonth(november)

	if d := cmp.Diff(before, f.statements(october)); d != "" {
		t.Fatalf("October's statements changed after the refund (-before +after):\n%s", d)
	}
	nov := f.statements(november)
	if d := cmp.Diff(f.ledgerSums(november), statementSums(nov), cmp.AllowUnexported(ledgerSums{})); d != "" {
		t.Fatalf("November's statements differ from the ledger (-ledger +statements):\n%s", d)
	}

	cases := []struct {
		party    settlement.Party
		kind     settlement.LineKind
		fen      int64
		original int64 // the October statement it refers to
	}{
		{f.sponsorParty(f.gov), settlement.LineReversal, -govPartFen, before[f.sponsorParty(f.gov)].ID},
		{f.sponsorParty(f.shop), settlement.LineReversal, -(setMealFen - elderPayFen - govPartFen), before[f.sponsorParty(f.shop)].ID},
		{f.operatorParty(f.operator), settlement.LineRefund, -elderPayFen, before[f.operatorParty(f.operator)].ID},
		{f.operatorParty(f.operator), settlement.LineReversal, -(setMealFen - elderPayFen), before[f.operatorParty(f.operator)].ID},
	}
	for _, tc := range cases {
		s := nov[tc.party]
		var found []settlement.Line
		var sum int64
		for _, l := range s.Lines {
			if l.OrderID == m.elderWeChat.ID && l.Kind == tc.kind {
				found = append(found, l)
				sum += l.Fen
			}
		}
		if len(found) == 0 {
			t.Errorf("%v: no %s line for the October order", tc.party, tc.kind)
			continue
		}
		for _, l := range found {
			if !l.Adjustment || l.RefStatementID != tc.original || l.Day != day(time.October, 5) {
				t.Errorf("%v: %s line %+v: want an adjustment referring to statement %d", tc.party, tc.kind, l, tc.original)
			}
		}
		if sum != tc.fen {
			t.Errorf("%v: %s lines sum to %d fen, want %d", tc.party, tc.kind, sum, tc.fen)
		}
	}
	// The adjustments are counted as such, apart from November's own meal.
	gov := nov[f.sponsorParty(f.gov)].Totals
	if gov.SubsidyFen != govPartFen || gov.AdjustmentFen != -govPartFen || gov.Meals != 1 || gov.TotalFen != 0 {
		t.Errorf("government sponsor's November totals: %+v", gov)
	}
}

func TestManualAdjustmentLandsInFirstOpenMonth(t *testing.T) {
	f := newFixture(t)
	m := f.october()
	f.closeMonth(october)
	shopOct := f.statements(october)[f.sponsorParty(f.shop)]

	f.now = at(day(time.November, 10), 9)
	_, err := f.svc.Adjust(f.ctx, f.financeScope(), settlement.AdjustmentInput{StatementID: shopOct.ID, OrderID: m.walkIn.ID, Fen: 100, Reason: "补录"})
	if !errors.Is(err, settlement.ErrOrderNotOnStatement) {
		t.Fatalf("an order the statement does not show: %v", err)
	}
	_, err = f.svc.Adjust(f.ctx, f.financeScope(), settlement.AdjustmentInput{StatementID: 987654, Fen: 100, Reason: "补录"})
	if !errors.Is(err, settlement.ErrStatementNotFound) {
		t.Fatalf("an unknown statement: %v", err)
	}
	a, err := f.svc.Adjust(f.ctx, f.financeScope(), settlement.AdjustmentInput{StatementID: shopOct.ID, OrderID: m.elderWeChat.ID,
		Fen: 150, Reason: "商户对账后补付 / paid after the merchant's review"})
	f.check(err)
	if a.Month != november || a.Party != f.sponsorParty(f.shop) || a.StatementMonth != october {
		t.Fatalf("adjustment: %+v", a)
	}
	if n := f.count("SELECT count(*) FROM audit_log WHERE entity = ? AND entity_id = ?", settlement.EntityAdjustment, itoa(a.ID)); n != 1 {
		t.Fatalf("%d audit records of the adjustment", n)
	}

	p, err := f.svc.Preview(f.ctx, f.cid, november)
	f.check(err)
	var shopNov *settlement.Report
	for i := range p.Statements {
		if p.Statements[i].Party == f.sponsorParty(f.shop) {
			shopNov = &p.Statements[i]
		}
	}
	if shopNov == nil || shopNov.Totals.AdjustmentFen != 150 || shopNov.Totals.TotalFen != 150 {
		t.Fatalf("November preview of the merchant sponsor: %+v", shopNov)
	}

	f.closeMonth(november)
	nov := f.statements(november)[f.sponsorParty(f.shop)]
	if len(nov.Lines) != 1 {
		t.Fatalf("November lines: %+v", nov.Lines)
	}
	l := nov.Lines[0]
	if l.Kind != settlement.LineManual || !l.Adjustment || l.RefStatementID != shopOct.ID || l.OrderID != m.elderWeChat.ID ||
		l.Fen != 150 || l.CanteenID != f.canteenA {
		t.Fatalf("manual line: %+v", l)
	}

	// With November closed too, a correction of October lands in December.
	f.now = at(day(time.December, 3), 9)
	a, err = f.svc.Adjust(f.ctx, f.financeScope(), settlement.AdjustmentInput{StatementID: shopOct.ID, Fen: -20, Reason: "多付退回"})
	f.check(err)
	if a.Month != december {
		t.Fatalf("landed in %s, want 2026-12", a.Month)
	}
}
