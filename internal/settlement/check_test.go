package settlement

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

func codes(fs []Finding) []FindingCode {
	var out []FindingCode
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func TestCheckLimitsCountAcrossVersions(t *testing.T) {
	day := d(time.October, 5)
	v1 := []subsidy.Limit{{Window: subsidy.PerMonth, Count: 3}}
	v2 := []subsidy.Limit{{Window: subsidy.PerMonth, Count: 2}, {Window: subsidy.PerMeal, AmountFen: 1000}}
	use := func(order int64, dd int, limits []subsidy.Limit, fen int64) PolicyUse {
		return PolicyUse{OrderID: order, DinerID: 1, PolicyID: 9, Version: int64(len(limits)), Day: d(time.October, dd),
			Period: catalog.Lunch, Units: 1, Fen: fen, Limits: limits}
	}
	cases := []struct {
		name   string
		uses   []PolicyUse
		orders [][]int64
	}{
		{"within the month's count", []PolicyUse{use(1, 5, v1, 900), use(2, 6, v1, 900), use(3, 7, v1, 900)}, nil},
		{"the latest version lowered the count", []PolicyUse{use(1, 5, v1, 900), use(2, 6, v1, 900), use(3, 7, v2, 900)},
			[][]int64{{1, 2, 3}}},
		{"two orders at one meal pass the amount", []PolicyUse{use(1, 5, v2, 600), use(2, 5, v2, 600)}, [][]int64{{1, 2}}},
		{"another diner counts apart", []PolicyUse{use(1, 5, v2, 900), func() PolicyUse { u := use(2, 6, v2, 900); u.DinerID = 2; return u }()}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := checkLimits(CheckFacts{Month: MonthOf(day), Uses: tc.uses})
			var orders [][]int64
			for _, f := range got {
				orders = append(orders, f.OrderIDs)
				if f.Amounts["units"] == 0 && f.Amounts["fen"] == 0 {
					t.Errorf("finding without the figures: %+v", f)
				}
			}
			if d := cmp.Diff(tc.orders, orders); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestCheckLapsedSaysExpiredOrRevoked(t *testing.T) {
	meals := []GroupMeal{
		{OrderID: 1, DinerID: 1, CanteenID: 5, Day: d(time.October, 12), Period: catalog.Lunch, Group: subsidy.Elderly, Fen: 900},
		{OrderID: 2, DinerID: 2, CanteenID: 5, Day: d(time.October, 12), Period: catalog.Lunch, Group: subsidy.Elderly, Fen: 900},
		{OrderID: 3, DinerID: 3, CanteenID: 5, Day: d(time.October, 12), Period: catalog.Lunch, Group: subsidy.Worker, Fen: 200},
		{OrderID: 4, DinerID: 4, CanteenID: 5, Day: d(time.October, 12), Period: catalog.Lunch, Group: subsidy.General, Fen: 100},
	}
	spans := []EligibilitySpan{
		{DinerID: 1, Group: subsidy.Elderly, From: d(time.January, 1), Until: d(time.October, 10)},                                  // expired
		{DinerID: 2, Group: subsidy.Elderly, From: d(time.January, 1), Until: d(time.December, 31), RevokedOn: d(time.October, 11)}, // revoked
		{DinerID: 3, Group: subsidy.Worker, From: d(time.January, 1), Until: d(time.December, 31), RevokedOn: d(time.October, 12)},  // revoked that day: still valid
		{DinerID: 3, Group: subsidy.Elderly, From: d(time.January, 1), Until: d(time.December, 31)},
	}
	got := checkLapsed(CheckFacts{Month: oct, Meals: meals, Spans: spans})
	if len(got) != 2 || got[0].OrderIDs[0] != 1 || got[1].OrderIDs[0] != 2 {
		t.Fatalf("findings: %+v", got)
	}
	if !strings.Contains(got[0].Detail, "expired") || !strings.Contains(got[0].Detail, "2026-10-10") {
		t.Errorf("expired: %s", got[0].Detail)
	}
	if !strings.Contains(got[1].Detail, "revoked") || !strings.Contains(got[1].Detail, "2026-10-11") {
		t.Errorf("revoked: %s", got[1].Detail)
	}
}

func TestCheckLedgerAndPayments(t *testing.T) {
	paid := time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC)
	ok := OrderMoney{OrderID: 1, Status: order.Refunded, Payment: order.WeChat, PaidAt: &paid, PayFen: 300, SubsidyFen: 900,
		RefundedFen: 300, PartsFen: 900, CommittedFen: 900, ReversedFen: 900, CreditedFen: 300, Credited: 1}
	half := ok
	half.OrderID, half.Status, half.RefundedFen, half.ReversedFen = 2, order.PickedUp, 100, 300 // floor(900*100/300)
	short := half
	short.OrderID, short.ReversedFen = 3, 299
	cancelled := OrderMoney{OrderID: 4, Status: order.Cancelled, Payment: order.WeChat, PayFen: 300, SubsidyFen: 900, PartsFen: 900}
	cash := OrderMoney{OrderID: 5, Status: order.Paid, Payment: order.Cash, PaidAt: &paid, PayFen: 300, SubsidyFen: 0}
	unpaidCredited := cancelled
	unpaidCredited.OrderID, unpaidCredited.CreditedFen, unpaidCredited.Credited = 6, 300, 1
	f := CheckFacts{Orders: []OrderMoney{ok, half, short, cancelled, cash, unpaidCredited}}
	if d := cmp.Diff([]FindingCode{FindingLedgerMismatch}, codes(checkLedger(f))); d != "" || checkLedger(f)[0].OrderIDs[0] != 3 {
		t.Fatalf("ledger: %+v", checkLedger(f))
	}
	if got := checkPayments(f); len(got) != 1 || got[0].OrderIDs[0] != 6 {
		t.Fatalf("payments: %+v", got)
	}
}

func TestCheckCapsFindingsPerCode(t *testing.T) {
	var bill []BillEntry
	for i := range maxFindingsPerCode + 7 {
		fen := int64(10)
		bill = append(bill, BillEntry{Day: d(time.October, 1), Kind: "payment", Ref: "CT" + string(rune('a'+i%26)), OrderID: int64(i + 1),
			OurFen: &fen, Outcome: "missing_wechat"})
	}
	got := Check(CheckFacts{Bill: bill})
	if len(got) != maxFindingsPerCode+1 || got[len(got)-1].Fen != 70 || !strings.Contains(got[len(got)-1].Detail, "7") {
		t.Fatalf("%d findings, last %+v", len(got), got[len(got)-1])
	}
}

func TestCheckMealsPerCanteenAndPeriod(t *testing.T) {
	day := d(time.October, 5)
	meal := func(order, diner, canteen int64, p catalog.Period, g subsidy.Group) GroupMeal {
		return GroupMeal{OrderID: order, DinerID: diner, CanteenID: canteen, Day: day, Period: p, Group: g, Fen: 100}
	}
	f := CheckFacts{Month: oct, EligibleDiners: map[civil.Date]int{day: 2}, Meals: []GroupMeal{
		meal(1, 1, 5, catalog.Lunch, subsidy.Elderly), meal(2, 2, 5, catalog.Lunch, subsidy.Elderly),
		meal(3, 1, 5, catalog.Dinner, subsidy.Elderly), meal(4, 3, 5, catalog.Dinner, subsidy.General), // a general meal counts for neither
		meal(5, 1, 6, catalog.Dinner, subsidy.Elderly), // diner 1 at two canteens at dinner
	}}
	if got := checkMoreThanEligible(f); len(got) != 0 {
		t.Fatalf("two eligible diners, two meals a period: %+v", got)
	}
	f.EligibleDiners[day] = 1
	if got := checkMoreThanEligible(f); len(got) != 1 || len(got[0].OrderIDs) != 2 || got[0].OrderIDs[0] != 1 {
		t.Fatalf("one eligible diner: %+v", got)
	}
	if got := checkTwoCanteens(f); len(got) != 1 || cmp.Diff([]int64{3, 5}, got[0].OrderIDs) != "" {
		t.Fatalf("two canteens: %+v", got)
	}
}
