package orderdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/kitchendb"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/orderdb"
)

// TestOrderPickupNumber: an order read by id, in the diner's list or by its idempotency
// key has no pickup number until the kitchen makes its ticket, and then the ticket's.
func TestOrderPickupNumber(t *testing.T) {
	f := newFixture(t)
	f.menu(50)
	store := orderdb.New(f.db, f.ledger)
	kit := kitchen.NewService(kitchendb.New(f.db), func() time.Time { return f.now })
	d := f.diner("o-pickup")
	by := dinerCaller(f, d)
	reads := func(id int64) map[string]*string {
		t.Helper()
		got, err := f.orders.Get(f.ctx, by, id)
		f.check(err)
		mine, err := f.orders.Mine(f.ctx, by, 10)
		f.check(err)
		replay, _, err := store.ByIdempotencyKey(f.ctx, f.cid, "diner", d, "pickup-key-01")
		f.check(err)
		out := map[string]*string{"get": got.PickupNo, "replay": replay.PickupNo}
		for _, o := range mine {
			if o.ID == id {
				out["mine"] = o.PickupNo
			}
		}
		if len(out) != 3 {
			t.Fatalf("order %d is not in the diner's list", id)
		}
		return out
	}

	o, err := f.orders.Place(f.ctx, by, "pickup-key-01", order.PlaceRequest{Cart: f.cart(f.line("红烧肉", 1))})
	f.check(err)
	if o.PickupNo != nil {
		t.Fatalf("a new order has pickup number %q", *o.PickupNo)
	}
	f.check(f.db.RunInTx(f.ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := store.MarkPaid(ctx, tx, f.cid, o.ID, f.now)
		return err
	}))
	for how, p := range reads(o.ID) {
		if p != nil {
			t.Errorf("%s: paid order without a ticket has pickup number %q", how, *p)
		}
	}
	tk, _, err := kit.CreateTicket(f.ctx, f.cid, o.ID)
	f.check(err)
	for how, p := range reads(o.ID) {
		if p == nil || *p != tk.Pickup {
			t.Errorf("%s: pickup number %v, want the ticket's %q", how, p, tk.Pickup)
		}
	}
}
