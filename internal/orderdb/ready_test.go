package orderdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/kitchendb"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/orderdb"
	"github.com/canteen-oss/canteen/internal/wechat"
	"github.com/canteen-oss/canteen/internal/wechat/wechatfake"
)

// TestMealReadyMessageOnce: a diner who subscribed gets one "meal ready" message with the
// pickup number through the real WeChat client (against the fake), however often the
// ticket reaches ready; a refused subscription is an error that is not retried.
func TestMealReadyMessageOnce(t *testing.T) {
	f := newFixture(t)
	f.menu(50)
	fake := wechatfake.New("wxapp", "secret")
	url, stop := fake.Start()
	defer stop()
	wx := wechat.New(wechat.Config{BaseURL: url, AppID: "wxapp", Secret: "secret"})
	store := orderdb.New(f.db, f.ledger)
	kit := kitchen.NewService(kitchendb.New(f.db), func() time.Time { return f.now })
	send := func(ctx context.Context, m order.ReadyMessage) error {
		return wx.SendSubscribe(ctx, wechat.Message{ToUser: m.OpenID, TemplateID: "tpl-ready",
			Data: map[string]string{"character_string1": m.Pickup, "thing2": m.Dishes}})
	}
	ready := func(openid, key string, subscribe bool) order.Order {
		t.Helper()
		d := f.diner(openid)
		o, err := f.orders.Place(f.ctx, dinerCaller(f, d), key, order.PlaceRequest{Cart: f.cart(f.line("红烧肉", 2), f.line("米饭", 1)), NotifyReady: subscribe})
		f.check(err)
		f.check(f.db.RunInTx(f.ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := store.MarkPaid(ctx, tx, f.cid, o.ID, f.now)
			return err
		}))
		tk, _, err := kit.CreateTicket(f.ctx, f.cid, o.ID)
		f.check(err)
		sc := kitchen.Scope{CommunityID: f.cid, Actor: audit.SystemActor}
		for range 2 {
			_, err := kit.Bump(f.ctx, sc, tk.ID)
			f.check(err)
		}
		return o
	}
	o := ready("o-sub", "ready-key-01", true)
	for range 3 { // the task may run more than once, and a recall and bump make it ready again
		f.check(f.orders.NotifyReady(f.ctx, store, f.cid, o.ID, send))
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].ToUser != "o-sub" || msgs[0].Data["character_string1"] != "A001" || msgs[0].Data["thing2"] != "红烧肉×2、米饭×1" {
		t.Fatalf("messages = %+v", msgs)
	}
	// Not subscribed: nothing is sent.
	quiet := ready("o-quiet", "ready-key-02", false)
	f.check(f.orders.NotifyReady(f.ctx, store, f.cid, quiet.ID, send))
	if n := len(fake.Messages()); n != 1 {
		t.Fatalf("%d messages after an unsubscribed order", n)
	}
	// The diner refused (43101): a FailedPrecondition error, which tasks do not retry.
	fake.RefuseSubscribe("o-refused")
	refused := ready("o-refused", "ready-key-03", true)
	err := f.orders.NotifyReady(f.ctx, store, f.cid, refused.ID, send)
	if apperr.KindOf(err) != apperr.FailedPrecondition || !wechat.IsNoQuota(err) {
		t.Fatalf("refused subscription: %v", err)
	}
	var notified *time.Time
	f.check(f.db.NewRaw("SELECT ready_notified_at FROM orders WHERE id = ?", refused.ID).Scan(f.ctx, &notified))
	if notified != nil {
		t.Fatal("a refused message was marked sent")
	}
}
