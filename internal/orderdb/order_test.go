package orderdb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/orderdb"
	"github.com/canteen-oss/canteen/internal/subsidy"
	"github.com/uptrace/bun"
)

func TestQuoteAndPlaceAtTheElderPrice(t *testing.T) {
	f := newFixture(t)
	f.menu(50)
	pl := f.pledge(100_000)
	f.policy(elderPrice(pl, 300))
	elder, other := f.diner("o-elder"), f.diner("o-young")
	f.elder(elder, "19450310")

	q, err := f.orders.Quote(f.ctx, dinerCaller(f, elder), f.cart(f.line("长者套餐", 1), f.line("米饭", 2)))
	f.check(err)
	if q.StandardFen != 1400 || q.SubsidyFen != 900 || q.PayFen != 500 {
		t.Fatalf("elder quote %d/%d/%d, want 1400/900/500", q.StandardFen, q.SubsidyFen, q.PayFen)
	}
	if len(q.Lines[0].Parts) != 1 || q.Lines[0].Parts[0].PledgeID != pl || q.Lines[0].Parts[0].Fen != 900 || q.Lines[0].Name != "长者套餐" {
		t.Fatalf("line 0 = %+v", q.Lines[0])
	}
	qo, err := f.orders.Quote(f.ctx, dinerCaller(f, other), f.cart(f.line("长者套餐", 1)))
	f.check(err)
	if qo.PayFen != 1200 || len(qo.Reasons) == 0 || qo.Reasons[0].Code != subsidy.ReasonNotEligible {
		t.Fatalf("a diner who is not elderly: pay %d, reasons %+v", qo.PayFen, qo.Reasons)
	}

	o, err := f.place(dinerCaller(f, elder), "key-00000001", f.cart(f.line("长者套餐", 1), f.line("米饭", 2)))
	f.check(err)
	if o.Status != order.Pending || o.PayFen != 500 || o.SubsidyFen != 900 || o.PayDeadline.Sub(now) != 15*time.Minute {
		t.Fatalf("order = %+v", o)
	}
	if got := f.count("SELECT sold FROM menu_items WHERE dish_id = ?", f.dishes["米饭"]); got != 2 {
		t.Fatalf("rice sold %d, want 2", got)
	}
	if got := f.count("SELECT held_fen FROM pledge_balances WHERE pledge_id = ?", pl); got != 900 {
		t.Fatalf("held %d, want 900", got)
	}
	if got := f.count("SELECT count(*) FROM outbox WHERE topic = 'order.placed'"); got != 1 {
		t.Fatalf("outbox rows %d", got)
	}
	got, err := f.orders.Get(f.ctx, dinerCaller(f, elder), o.ID)
	f.check(err)
	if len(got.Lines) != 2 || got.Lines[0].Parts[0].Fen != 900 {
		t.Fatalf("stored order = %+v", got)
	}
	if _, err := f.orders.Get(f.ctx, dinerCaller(f, other), o.ID); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("another diner read the order: %v", err)
	}
	f.check(f.ledger.Check(f.ctx, f.db, f.cid))
}

func TestZeroPayableIsPaidAtOnce(t *testing.T) {
	f := newFixture(t)
	f.menu(50)
	pl := f.pledge(100_000)
	f.policy(elderPrice(pl, 0))
	elder := f.diner("o-1")
	f.elder(elder, "19400101", subsidy.Tekun)
	o, err := f.place(dinerCaller(f, elder), "key-zero-0001", f.cart(f.line("长者套餐", 1)))
	f.check(err)
	if o.Status != order.Paid || o.Payment != order.None || o.PayFen != 0 || o.PaidAt == nil {
		t.Fatalf("order = %+v", o)
	}
	if got := f.count("SELECT spent_fen FROM pledge_balances WHERE pledge_id = ?", pl); got != 1200 {
		t.Fatalf("spent %d, want 1200", got)
	}
	if got := f.count("SELECT count(*) FROM outbox WHERE topic = 'order.paid'"); got != 1 {
		t.Fatalf("paid outbox rows %d", got)
	}
}

func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	f.menu(50)
	d := f.diner("o-1")
	by := dinerCaller(f, d)
	first, err := f.place(by, "same-key-123", f.cart(f.line("红烧肉", 1)))
	f.check(err)
	again, err := f.place(by, "same-key-123", f.cart(f.line("红烧肉", 1)))
	f.check(err)
	if again.ID != first.ID {
		t.Fatalf("replay made order %d, want %d", again.ID, first.ID)
	}
	_, err = f.place(by, "same-key-123", f.cart(f.line("红烧肉", 2)))
	if !errors.Is(err, order.ErrIdempotencyReuse) {
		t.Fatalf("same key, other body: %v", err)
	}
	if got := f.count("SELECT sold FROM menu_items WHERE dish_id = ?", f.dishes["红烧肉"]); got != 1 {
		t.Fatalf("sold %d after a replay and a refused reuse, want 1", got)
	}
	// Concurrent duplicates: one order.
	var wg sync.WaitGroup
	ids := make([]int64, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := f.place(by, "burst-key-0001", f.cart(f.line("米饭", 1)))
			if err == nil {
				ids[i] = o.ID
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id == 0 || id != ids[0] {
			t.Fatalf("concurrent replays gave orders %v", ids)
		}
	}
	if got := f.count("SELECT sold FROM menu_items WHERE dish_id = ?", f.dishes["米饭"]); got != 1 {
		t.Fatalf("rice sold %d, want 1", got)
	}
}

func TestCancelAndExpiryGiveEverythingBack(t *testing.T) {
	f := newFixture(t)
	f.menu(5)
	pl := f.pledge(100_000)
	f.policy(elderPrice(pl, 300, subsidy.Limit{Window: subsidy.PerDay, Count: 1}))
	elder := f.diner("o-1")
	f.elder(elder, "19450310")
	by := dinerCaller(f, elder)

	o, err := f.place(by, "cancel-me-01", f.cart(f.line("长者套餐", 1)))
	f.check(err)
	if _, err := f.orders.Cancel(f.ctx, by, o.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.orders.Cancel(f.ctx, by, o.ID, ""); apperr.KindOf(err) != apperr.FailedPrecondition {
		t.Fatalf("second cancel: %v", err)
	}
	assertFree := func() {
		t.Helper()
		if got := f.count("SELECT sold FROM menu_items WHERE dish_id = ?", f.dishes["长者套餐"]); got != 0 {
			t.Fatalf("sold %d after cancel", got)
		}
		if got := f.count("SELECT available_fen FROM pledge_balances WHERE pledge_id = ?", pl); got != 100_000 {
			t.Fatalf("available %d after cancel", got)
		}
		if got := f.count("SELECT coalesce(sum(used_count), 0) FROM limit_usage"); got != 0 {
			t.Fatalf("limit slots still used: %d", got)
		}
		f.check(f.ledger.Check(f.ctx, f.db, f.cid))
	}
	assertFree()

	// The freed slot is usable again; then the order expires unpaid.
	o2, err := f.place(by, "expire-me-01", f.cart(f.line("长者套餐", 1)))
	f.check(err)
	if o2.SubsidyFen != 900 {
		t.Fatalf("after a cancel the daily slot should be free: subsidy %d", o2.SubsidyFen)
	}
	f.now = now.Add(14 * time.Minute)
	n, err := f.orders.ExpireDue(f.ctx, 100)
	if err != nil || n != 0 {
		t.Fatalf("expired %d before the deadline (%v)", n, err)
	}
	f.now = now.Add(16 * time.Minute)
	n, err = f.orders.ExpireDue(f.ctx, 100)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, want 1 (%v)", n, err)
	}
	got, err := f.orders.Get(f.ctx, by, o2.ID)
	f.check(err)
	if got.Status != order.Expired {
		t.Fatalf("status %s", got.Status)
	}
	assertFree()
}

// TestLunchRushNeverOverspends: 200 diners order the set meal at once against a pledge
// that has money for 20 of them.
func TestLunchRushNeverOverspends(t *testing.T) {
	f := newFixture(t)
	f.menu(1000)
	pl := f.pledge(20 * 900)
	p := elderPrice(pl, 300)
	p.Who = subsidy.Who{} // anyone
	f.policy(p)
	diners := make([]int64, 200)
	for i := range diners {
		diners[i] = f.diner(fmt.Sprintf("rush-%d", i))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i, d := range diners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := f.place(dinerCaller(f, d), fmt.Sprintf("rush-key-%04d", i), f.cart(f.line("长者套餐", 1)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && o.SubsidyFen > 0:
				outcomes["subsidised"]++
			case err == nil:
				outcomes["full price"]++
			case errors.Is(err, funding.ErrBudgetExhausted):
				outcomes["conflict"]++
			default:
				t.Errorf("order %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if outcomes["subsidised"] != 20 {
		t.Fatalf("outcomes %v: want exactly 20 subsidised", outcomes)
	}
	if got := f.count("SELECT count(*) FROM orders WHERE subsidy_fen > 0"); got != 20 {
		t.Fatalf("%d subsidised orders stored", got)
	}
	if got := f.count("SELECT available_fen FROM pledge_balances WHERE pledge_id = ?", pl); got != 0 {
		t.Fatalf("available %d", got)
	}
	if got := f.count("SELECT coalesce(sum(subsidy_fen), 0) FROM orders"); got != 20*900 {
		t.Fatalf("subsidy on orders %d, want %d", got, 20*900)
	}
	f.check(f.ledger.Check(f.ctx, f.db, f.cid))
	t.Logf("outcomes: %v", outcomes)
}

// TestOneDinerManyOrdersOneSlot: 50 concurrent orders from one diner against a limit of
// one subsidised meal a day.
func TestOneDinerManyOrdersOneSlot(t *testing.T) {
	f := newFixture(t)
	f.menu(1000)
	pl := f.pledge(1_000_000)
	f.policy(elderPrice(pl, 300, subsidy.Limit{Window: subsidy.PerDay, Count: 1}))
	elder := f.diner("o-1")
	f.elder(elder, "19450310")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.place(dinerCaller(f, elder), fmt.Sprintf("slot-key-%04d", i), f.cart(f.line("长者套餐", 1)))
			if err != nil && !errors.Is(err, order.ErrLimitReached) {
				t.Errorf("order %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if got := f.count("SELECT count(*) FROM orders WHERE subsidy_fen > 0"); got != 1 {
		t.Fatalf("%d subsidised orders, want exactly 1", got)
	}
	if got := f.count("SELECT used_count FROM limit_usage"); got != 1 {
		t.Fatalf("used_count %d", got)
	}
	if got := f.count("SELECT held_fen FROM pledge_balances WHERE pledge_id = ?", pl); got != 900 {
		t.Fatalf("held %d, want 900", got)
	}
	f.check(f.ledger.Check(f.ctx, f.db, f.cid))
}

// TestTenPortionsHundredOrders: 100 concurrent orders for 10 portions.
func TestTenPortionsHundredOrders(t *testing.T) {
	f := newFixture(t)
	f.menu(10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed, soldOut := 0, 0
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.place(dinerCaller(f, f.dinerSafe(i)), fmt.Sprintf("portion-%04d", i), f.cart(f.line("红烧肉", 1)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				placed++
			case errors.Is(err, order.ErrSoldOut):
				soldOut++
			default:
				t.Errorf("order %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if placed != 10 || soldOut != 90 {
		t.Fatalf("placed %d, sold out %d; want 10 and 90", placed, soldOut)
	}
	sold := f.count("SELECT sold FROM menu_items WHERE dish_id = ?", f.dishes["红烧肉"])
	live := f.count(`SELECT coalesce(sum(l.qty), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE l.dish_id = ? AND o.status NOT IN ('cancelled', 'expired')`, f.dishes["红烧肉"])
	if sold != 10 || live != 10 {
		t.Fatalf("sold %d, live order lines %d; want 10 and 10", sold, live)
	}
}

var dinerMu sync.Mutex

// dinerSafe makes a diner from a goroutine.
func (f *fixture) dinerSafe(i int) int64 {
	dinerMu.Lock()
	defer dinerMu.Unlock()
	var id int64
	if err := f.db.NewRaw("INSERT INTO diners (community_id, app_id, openid) VALUES (?, 'wxapp', ?) RETURNING id", f.cid, fmt.Sprintf("p-%d", i)).Scan(f.ctx, &id); err != nil {
		panic(err)
	}
	return id
}

func TestAllowances(t *testing.T) {
	f := newFixture(t)
	f.menu(50)
	pl := f.pledge(100_000)
	p := f.policy(elderPrice(pl, 300, subsidy.Limit{Window: subsidy.PerMonth, Count: 3}))
	elder, young := f.diner("o-1"), f.diner("o-2")
	f.elder(elder, "19450310")
	_, err := f.place(dinerCaller(f, elder), "allow-key-01", f.cart(f.line("长者套餐", 1)))
	f.check(err)
	got, err := f.orders.Allowances(f.ctx, dinerCaller(f, elder), 0, today, "lunch")
	f.check(err)
	if len(got) != 1 || got[0].PolicyID != p.ID || got[0].WindowKey != "2026-11" || got[0].UsedCount != 1 || got[0].RemainingCount != 2 {
		t.Fatalf("allowances = %+v", got)
	}
	none, err := f.orders.Allowances(f.ctx, dinerCaller(f, young), 0, today, "lunch")
	f.check(err)
	if len(none) != 0 {
		t.Fatalf("a diner the policy does not admit sees %+v", none)
	}
}

func TestDeliveryFeeIsALineAPolicyCanSubsidise(t *testing.T) {
	f := newFixture(t)
	f.menu(50)
	elder := f.diner("o-1")
	f.elder(elder, "19450310")
	by := dinerCaller(f, elder)
	c := f.cart(f.line("米饭", 1))
	c.Kind = order.Delivery
	if _, err := f.orders.Quote(f.ctx, by, c); !errors.Is(err, order.ErrNoDelivery) {
		t.Fatalf("a menu without a delivery fee: %v", err)
	}
	fee, err := f.cat.CreateDish(f.ctx, f.catScope(), catalog.DishInput{Name: "送餐费", Category: order.DeliveryCategory, PriceFen: 300})
	f.check(err)
	menu, err := f.cat.GetMenu(f.ctx, f.cid, f.canteen, today, catalog.Lunch)
	f.check(err)
	var items []catalog.MenuItemInput
	for _, it := range menu.Items {
		items = append(items, catalog.MenuItemInput{DishID: it.DishID, Supply: it.Supply})
	}
	_, err = f.cat.PutMenu(f.ctx, f.catScope(), f.canteen, today, catalog.Lunch, append(items, catalog.MenuItemInput{DishID: fee.ID, Supply: 100}))
	f.check(err)
	pl := f.pledge(100_000)
	f.policy(subsidy.Policy{Name: "长者送餐补贴", Priority: 5, Who: subsidy.Who{Groups: []subsidy.Group{subsidy.Elderly}},
		What:    subsidy.What{Categories: []string{order.DeliveryCategory}},
		Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 0},
		Funding: subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{{PledgeID: pl, Label: "送餐补贴"}}}})
	q, err := f.orders.Quote(f.ctx, by, c)
	f.check(err)
	if len(q.Lines) != 2 || q.Lines[1].Name != "送餐费" || q.Lines[1].SubsidyFen != 300 || q.PayFen != 100 {
		t.Fatalf("delivery quote = %+v", q)
	}
	if _, err := f.orders.Place(f.ctx, by, "delivery-0001", order.PlaceRequest{Cart: c}); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("delivery without an address: %v", err)
	}
	c.DeliveryAddress = "幸福里 3 栋 402"
	o, err := f.orders.Place(f.ctx, by, "delivery-0002", order.PlaceRequest{Cart: c})
	f.check(err)
	if o.Kind != order.Delivery || len(o.Lines) != 2 || o.DeliveryAddress != "幸福里 3 栋 402" {
		t.Fatalf("order = %+v", o)
	}
}

func TestFullRefundRestoresTheSlotWhenThePolicySaysSo(t *testing.T) {
	for _, restore := range []bool{true, false} {
		t.Run(fmt.Sprintf("restore=%v", restore), func(t *testing.T) {
			f := newFixture(t)
			f.menu(50)
			pl := f.pledge(100_000)
			f.policy(elderPrice(pl, 300, subsidy.Limit{Window: subsidy.PerDay, Count: 1, RestoreOnRefund: restore}))
			elder := f.diner("o-1")
			f.elder(elder, "19450310")
			o, err := f.place(dinerCaller(f, elder), "refund-slot-01", f.cart(f.line("长者套餐", 1)))
			f.check(err)
			store := orderdb.New(f.db, f.ledger)
			err = f.db.RunInTx(f.ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if _, err := store.MarkPaid(ctx, tx, f.cid, o.ID, now); err != nil {
					return err
				}
				_, err := store.Refunded(ctx, tx, f.cid, o.ID, o.PayFen)
				return err
			})
			f.check(err)
			want := int64(1)
			if restore {
				want = 0
			}
			if got := f.count("SELECT used_count FROM limit_usage"); got != want {
				t.Fatalf("used_count %d after a full refund, want %d", got, want)
			}
			if got := f.count("SELECT spent_fen FROM pledge_balances WHERE pledge_id = ?", pl); got != 0 {
				t.Fatalf("spent %d after a full refund", got)
			}
			f.check(f.ledger.Check(f.ctx, f.db, f.cid))
		})
	}
}
