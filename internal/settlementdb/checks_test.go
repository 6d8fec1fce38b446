package settlementdb_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/settlement"
)

// loseLimitClaims forgets what a diner has claimed against limits, as a lost claim would:
// the next order is subsidised as if the diner had used nothing.
func (f *fixture) loseLimitClaims(diner int64) {
	f.t.Helper()
	f.exec("UPDATE limit_usage SET used_count = 0, used_fen = 0 WHERE diner_id = ?", diner)
}

func TestChecksFindPlantedProblems(t *testing.T) {
	d5, d6, d7 := day(time.October, 5), day(time.October, 6), day(time.October, 7)
	cases := []struct {
		name string
		code settlement.FindingCode
		// plant makes the problem in a clean October and returns the orders behind it.
		plant func(f *fixture, m month) []int64
	}{
		{"subsidised after the eligibility was revoked", settlement.FindingEligibilityLapsed, func(f *fixture, m month) []int64 {
			var o order.Order
			f.during(at(d5, 11), func() { o = f.lunch(f.elder1, f.canteenA, d7, f.setMeal, false) }) // ordered two days ahead
			f.now = at(d6, 9)
			_, err := f.elig.Revoke(f.ctx, f.reviewerScope(), f.elig1, "户籍迁出")
			f.check(err)
			return []int64{o.ID, m.refunded.ID} // the 7th, and the 20th, priced before the revocation was recorded
		}},
		{"subsidised after the eligibility expired", settlement.FindingEligibilityLapsed, func(f *fixture, m month) []int64 {
			f.exec("UPDATE eligibilities SET valid_until = '2026-10-10' WHERE id = ?", f.elig1)
			return []int64{m.refunded.ID} // eaten on the 20th
		}},
		{"beyond a policy limit", settlement.FindingLimitExceeded, func(f *fixture, m month) []int64 {
			var a, b order.Order
			f.during(at(d5, 11), func() {
				a = f.lunch(f.elder1, f.canteenA, d5, f.setMeal, false) // the second of two a day
				f.loseLimitClaims(f.elder1)
				b = f.lunch(f.elder1, f.canteenA, d5, f.setMeal, false) // a third
			})
			if b.SubsidyFen == 0 {
				t.Fatal("the third meal was not subsidised: nothing planted")
			}
			return []int64{m.elderWeChat.ID, a.ID, b.ID}
		}},
		{"one diner in two canteens at one meal", settlement.FindingTwoCanteens, func(f *fixture, m month) []int64 {
			var o order.Order
			f.during(at(d5, 11), func() { o = f.lunch(f.elder2, f.canteenA, d5, f.setMeal, false) })
			return []int64{m.elderCash.ID, o.ID}
		}},
		{"more subsidised meals than eligible diners", settlement.FindingMoreThanEligible, func(f *fixture, m month) []int64 {
			var ids []int64
			f.during(at(d6, 10), func() {
				for range 4 { // three diners hold an eligibility; one of them eats four times
					ids = append(ids, f.lunch(f.elder1, f.canteenB, d6, f.setMeal, true).ID)
					f.loseLimitClaims(f.elder1)
				}
			})
			return ids
		}},
		{"ledger commits more than the order's subsidy", settlement.FindingLedgerMismatch, func(f *fixture, m month) []int64 {
			f.exec(`INSERT INTO ledger_entries (txn_id, community_id, pledge_id, period, account, amount_fen, kind, order_id, actor_kind, actor_name, created_at)
				SELECT t, ?0, ?1, 'range', a.account, a.fen, 'commit', ?2, 'system', 'test', '2026-10-05 12:00+08'
				FROM nextval('ledger_txn_id_seq') AS t, (VALUES ('held', -100), ('spent', 100)) AS a (account, fen)`,
				f.cid, f.govPl, m.rider.ID)
			return []int64{m.rider.ID}
		}},
		{"payment of another amount", settlement.FindingPaymentMismatch, func(f *fixture, m month) []int64 {
			f.exec("UPDATE payments SET amount_fen = amount_fen - 1 WHERE order_id = ?", m.walkIn.ID)
			return []int64{m.walkIn.ID}
		}},
		{"paid by WeChat without a payment", settlement.FindingPaymentMismatch, func(f *fixture, m month) []int64 {
			f.exec("UPDATE payments SET outcome = 'flagged', flag_reason = 'test' WHERE order_id = ?", m.rider.ID)
			return []int64{m.rider.ID}
		}},
		{"unresolved WeChat bill difference", settlement.FindingBillUnresolved, func(f *fixture, m month) []int64 {
			f.plantBillDifference(m.elderWeChat.ID, "2026-10-05")
			return []int64{m.elderWeChat.ID}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			m := f.october()
			f.now = at(day(time.October, 28), 9)
			if got, err := f.svc.Checks(f.ctx, f.cid, october); err != nil || len(got) != 0 {
				t.Fatalf("the clean month has findings: %+v, %v", got, err)
			}
			want := tc.plant(f, m)
			f.now = at(day(time.November, 2), 9)
			got, err := f.svc.Checks(f.ctx, f.cid, october)
			f.check(err)
			var orders []int64
			for _, fd := range got {
				if fd.Code == tc.code {
					orders = append(orders, fd.OrderIDs...)
					if fd.Title != tc.code.Title() || fd.Detail == "" || fd.Fen <= 0 {
						t.Errorf("finding without title, detail or amount: %+v", fd)
					}
				}
			}
			slices.Sort(orders)
			orders = slices.Compact(orders)
			slices.Sort(want)
			if d := cmp.Diff(want, orders); d != "" {
				t.Fatalf("orders behind %s (-want +got):\n%s\nall findings: %+v", tc.code, d, got)
			}
		})
	}
}

func TestCleanMonthHasNoFindings(t *testing.T) {
	f := newFixture(t)
	m := f.october()
	f.closeMonth(october)
	d3 := day(time.November, 3)
	f.during(at(d3, 10), func() {
		f.lunch(f.elder1, f.canteenA, d3, f.setMeal, false)
		f.lunch(f.elder2, f.canteenA, d3, f.setMeal, true)
		f.lunch(f.rider, f.canteenB, d3, f.pork, false)
	})
	f.during(at(d3, 16), func() { f.refund(m.elderWeChat, elderPayFen) }) // October's order, refunded in November
	f.now = at(day(time.December, 2), 9)
	got, err := f.svc.Checks(f.ctx, f.cid, november)
	f.check(err)
	if len(got) != 0 {
		t.Fatalf("findings in a clean month: %+v", got)
	}
	p, err := f.svc.Preview(f.ctx, f.cid, november)
	f.check(err)
	if len(p.Findings) != 0 || len(p.OpenBefore) != 0 || !p.MonthEnded || len(p.Statements) != 4 {
		t.Fatalf("preview: %+v", p)
	}
	before := f.settlementCounts()
	if _, err := f.svc.Preview(f.ctx, f.cid, november); err != nil {
		t.Fatal(err)
	}
	if d := diffCounts(before, f.settlementCounts()); d != "" {
		t.Fatalf("a preview wrote: %s", d)
	}
}
