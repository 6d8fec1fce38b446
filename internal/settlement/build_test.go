package settlement

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

var (
	sep = Month{Year: 2026, Month: time.September}
	oct = Month{Year: 2026, Month: time.October}
	nov = Month{Year: 2026, Month: time.November}
)

func d(m time.Month, day int) civil.Date { return civil.Date{Year: 2026, Month: m, Day: day} }

func TestBuildSplitsMovesByPartyAndMarksAdjustments(t *testing.T) {
	tier := subsidy.Tier80
	at := d(time.November, 3).Start().Add(12 * time.Hour)
	f := Facts{CommunityID: 1, Month: nov, Closed: []Month{sep, oct},
		Sponsors:  map[int64]SponsorInfo{7: {Name: "市级财政"}},
		Merchants: map[int64]string{3: "阳光餐饮"},
		Originals: []Original{{OrderID: 10, Party: Party{Sponsor, 7}, StatementID: 101}, {OrderID: 10, Party: Party{Operator, 3}, StatementID: 103}},
		Moves: []Move{
			// November's own meal at the operator's canteen.
			{Kind: LineSubsidy, OrderID: 20, CanteenID: 5, OperatorID: 3, SponsorID: 7, PledgeID: 70, Day: d(time.November, 3),
				Period: catalog.Lunch, Group: subsidy.Elderly, Tier: &tier, At: at, Fen: 500, Ref: "L1"},
			{Kind: LinePayment, OrderID: 20, CanteenID: 5, OperatorID: 3, Day: d(time.November, 3), Period: catalog.Lunch, At: at, Fen: 300, Ref: "4200"},
			// A refund in November of a meal of October, which is closed.
			{Kind: LineReversal, OrderID: 10, CanteenID: 5, OperatorID: 3, SponsorID: 7, PledgeID: 70, Day: d(time.October, 30),
				Period: catalog.Lunch, Group: subsidy.Elderly, Tier: &tier, At: at, Fen: -500, Ref: "L2"},
			{Kind: LineRefund, OrderID: 10, CanteenID: 5, OperatorID: 3, Day: d(time.October, 30), Period: catalog.Lunch, At: at, Fen: -300, Ref: "RF1"},
			// Cash at the community's own canteen, and a sponsor-level ledger adjustment.
			{Kind: LineCash, OrderID: 21, CanteenID: 6, Day: d(time.November, 3), Period: catalog.Lunch, At: at, Fen: 300, Ref: "CASH21"},
			{Kind: LineLedgerAdjust, SponsorID: 7, PledgeID: 70, At: at, Fen: 40, Ref: "L3"},
		},
		Adjustments: []Adjustment{{ID: 9, Month: nov, StatementID: 103, StatementMonth: oct, Party: Party{Operator, 3}, Fen: 25,
			Reason: "补差", CreatedAt: at}},
	}
	stmts := Build(f)
	if len(stmts) != 3 {
		t.Fatalf("%d statements: %+v", len(stmts), stmts)
	}
	spon, op, own := stmts[0], stmts[1], stmts[2]
	if spon.Party != (Party{Sponsor, 7}) || op.Party != (Party{Operator, 0}) || own.Party != (Party{Operator, 3}) {
		t.Fatalf("parties in order: %v %v %v", spon.Party, op.Party, own.Party)
	}
	if d := cmp.Diff(Totals{Meals: 1, SubsidyFen: 500, AdjustmentFen: -460, LedgerFen: 40, TotalFen: 40}, spon.Totals); d != "" {
		t.Errorf("sponsor totals (-want +got):\n%s", d)
	}
	if d := cmp.Diff(Totals{Meals: 1, SubsidyFen: 500, PaymentFen: 300, AdjustmentFen: -775, LedgerFen: 0, TotalFen: 25}, own.Totals); d != "" {
		t.Errorf("operator totals (-want +got):\n%s", d)
	}
	if op.PartyName != CommunityOperatorName || op.MerchantID != nil || op.Totals.CashFen != 300 || op.Totals.Meals != 1 {
		t.Errorf("community canteen statement: %+v", op)
	}
	if own.PartyName != "阳光餐饮" || own.MerchantID == nil || *own.MerchantID != 3 {
		t.Errorf("operator statement party: %q %v", own.PartyName, own.MerchantID)
	}
	var refs []int64
	for _, l := range own.Lines {
		if l.Adjustment {
			refs = append(refs, l.RefStatementID)
		}
	}
	if d := cmp.Diff([]int64{103, 103, 103}, refs); d != "" { // reversal, refund, manual
		t.Errorf("operator adjustments refer to (-want +got):\n%s", d)
	}
	for i, l := range spon.Lines {
		if l.No != i+1 {
			t.Fatalf("line %d numbered %d", i+1, l.No)
		}
		if l.OrderID == 10 && (!l.Adjustment || l.RefStatementID != 101) {
			t.Errorf("sponsor's late reversal: %+v", l)
		}
		if l.OrderID == 20 && l.Adjustment {
			t.Errorf("November's own meal marked as an adjustment: %+v", l)
		}
	}
	if len(spon.Counterparts) != 1 || spon.Counterparts[0] != (Counterpart{Operator, 3, "阳光餐饮", 0}) {
		t.Errorf("sponsor counterparts: %+v", spon.Counterparts)
	}

	// With October still open the same refund is November's own reversal.
	f.Closed = []Month{sep}
	for _, s := range Build(f) {
		for _, l := range s.Lines {
			if l.OrderID == 10 && l.Adjustment {
				t.Fatalf("a move of an open month's order marked as an adjustment: %+v", l)
			}
		}
	}
}

func TestTotalsAddUp(t *testing.T) {
	lines := []Line{
		{Kind: LineSubsidy, OrderID: 1, Fen: 900}, {Kind: LineReversal, OrderID: 1, Fen: -450},
		{Kind: LinePayment, OrderID: 1, Fen: 300}, {Kind: LineRefund, OrderID: 1, Fen: -150},
		{Kind: LineCash, OrderID: 2, Fen: 300}, {Kind: LineSubsidy, OrderID: 3, Fen: 100, Adjustment: true},
		{Kind: LineManual, Fen: -7, Adjustment: true}, {Kind: LineLedgerAdjust, Fen: 11},
	}
	got := Sum(lines)
	want := Totals{Meals: 2, SubsidyFen: 900, ReversalFen: -450, PaymentFen: 300, CashFen: 300, RefundFen: -150,
		AdjustmentFen: 104, LedgerFen: 561, TotalFen: 1004}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if got.TotalFen != got.SubsidyFen+got.ReversalFen+got.PaymentFen+got.CashFen+got.RefundFen+got.AdjustmentFen {
		t.Fatal("the total is not the sum of its parts")
	}
}

func TestOpenBefore(t *testing.T) {
	f := Facts{FirstActivity: Month{Year: 2026, Month: time.August}, Closed: []Month{sep}}
	if d := cmp.Diff([]Month{{Year: 2026, Month: time.August}, oct}, f.OpenBefore(nov)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if got := (Facts{}).OpenBefore(nov); len(got) != 0 {
		t.Fatalf("a community without activity: %v", got)
	}
}

func TestSignoffTransitions(t *testing.T) {
	allowed := map[[2]SignoffStatus]bool{
		{Issued, Confirmed}: true, {Issued, Disputed}: true, {Disputed, Confirmed}: true, {Disputed, Disputed}: true,
	}
	for _, from := range []SignoffStatus{Issued, Confirmed, Disputed} {
		for _, to := range []SignoffStatus{Issued, Confirmed, Disputed} {
			if got := from.CanBecome(to); got != allowed[[2]SignoffStatus{from, to}] {
				t.Errorf("%s -> %s: %v", from, to, got)
			}
		}
	}
}
