package paymentdb_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/fundingdb"
	"github.com/canteen-oss/canteen/internal/orderdb"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/paymentdb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

var merchant = payment.Merchant{MchID: "1900000001", AppID: "wxapp"}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	db     *bun.DB
	store  *paymentdb.Store
	ledger *fundingdb.Ledger
}

func newFixture(t *testing.T) *fixture {
	db, _ := pgtest.New(t)
	ledger := fundingdb.NewLedger()
	return &fixture{t: t, ctx: context.Background(), db: db, ledger: ledger, store: paymentdb.New(db, orderdb.New(db, ledger))}
}

func (f *fixture) scan(query string, dst any, args ...any) {
	f.t.Helper()
	if err := f.db.NewRaw(query, args...).Scan(f.ctx, dst); err != nil {
		f.t.Fatal(err)
	}
}

// pendingOrder makes a community, canteen, menu and a pending order of payFen, and an
// open payment intent for it.
func (f *fixture) pendingOrder(payFen int64) payment.Intent {
	f.t.Helper()
	var cid, canteen, dish, menu, diner, oid int64
	f.scan("INSERT INTO communities (code, name) VALUES ('c' || floor(random()*1e9)::text, 'C') RETURNING id", &cid)
	f.scan("INSERT INTO canteens (community_id, name) VALUES (?, 'K') RETURNING id", &canteen, cid)
	f.scan("INSERT INTO dishes (community_id, name, category, price_fen) VALUES (?, 'D', 'x', ?) RETURNING id", &dish, cid, payFen)
	f.scan("INSERT INTO menus (community_id, canteen_id, day, period, status, published_at) VALUES (?, ?, '2026-11-25', 'lunch', 'published', now()) RETURNING id", &menu, cid, canteen)
	f.scan("INSERT INTO menu_items (community_id, menu_id, dish_id, price_fen, supply, sold) VALUES (?, ?, ?, ?, 10, 1) RETURNING menu_id", new(int64), cid, menu, dish, payFen)
	f.scan("INSERT INTO diners (community_id, app_id, openid) VALUES (?, 'wxapp', 'o-payer') RETURNING id", &diner, cid)
	f.scan(`INSERT INTO orders (community_id, canteen_id, menu_id, diner_id, placed_by_kind, placed_by_id, day, period, kind, status,
		payment_method, standard_fen, subsidy_fen, pay_fen, idempotency_key, request_hash, pay_deadline)
		VALUES (?, ?, ?, ?, 'diner', ?, '2026-11-25', 'lunch', 'dine_in', 'pending', 'wechat', ?, 0, ?, 'key-000001', '\x00', now() + interval '15 minutes')
		RETURNING id`, &oid, cid, canteen, menu, diner, diner, payFen, payFen)
	f.scan(`INSERT INTO order_lines (community_id, order_id, line_no, dish_id, name, category, qty, unit_fen, standard_fen, subsidy_fen, pay_fen)
		VALUES (?, ?, 1, ?, 'D', 'x', 1, ?, ?, 0, ?) RETURNING line_no`, new(int), cid, oid, dish, payFen, payFen, payFen)
	in, err := f.store.NewIntent(f.ctx, payment.Intent{CommunityID: cid, OrderID: oid, AmountFen: payFen, PayerOpenID: "o-payer", ExpiresAt: time.Now().Add(15 * time.Minute)})
	if err != nil {
		f.t.Fatal(err)
	}
	return in
}

func success(in payment.Intent, txid string, fen int64) payment.Transaction {
	return payment.Transaction{OutTradeNo: in.OutTradeNo, TransactionID: txid, State: payment.StateSuccess, AmountFen: fen,
		PayerOpenID: "o-payer", MchID: merchant.MchID, AppID: merchant.AppID, SuccessTime: time.Now()}
}

func (f *fixture) status(orderID int64) string {
	var s string
	f.scan("SELECT status FROM orders WHERE id = ?", &s, orderID)
	return s
}

func TestTenConcurrentDuplicateNotificationsPayOnce(t *testing.T) {
	f := newFixture(t)
	in := f.pendingOrder(1200)
	var wg sync.WaitGroup
	outcomes := make([]payment.Outcome, 10)
	errs := make([]error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i], errs[i] = f.store.Record(f.ctx, success(in, "4200000001", 1200), payment.FromNotification, merchant)
		}()
	}
	wg.Wait()
	credited := 0
	for i, o := range outcomes {
		if errs[i] != nil {
			t.Fatalf("notification %d: %v", i, errs[i])
		}
		if o == payment.Credited {
			credited++
		} else if o != payment.Duplicate {
			t.Fatalf("notification %d: outcome %s", i, o)
		}
	}
	var payments, paidEvents int
	f.scan("SELECT count(*) FROM payments", &payments)
	f.scan("SELECT count(*) FROM outbox WHERE topic = 'order.paid'", &paidEvents)
	if credited != 1 || payments != 1 || paidEvents != 1 || f.status(in.OrderID) != "paid" {
		t.Fatalf("credited %d, payments %d, paid events %d, status %s; want 1, 1, 1, paid", credited, payments, paidEvents, f.status(in.OrderID))
	}
}

func TestMismatchedAmountIsFlaggedNotPaid(t *testing.T) {
	f := newFixture(t)
	in := f.pendingOrder(1200)
	out, err := f.store.Record(f.ctx, success(in, "4200000002", 1), payment.FromNotification, merchant)
	if err != nil || out != payment.Flagged {
		t.Fatalf("outcome %s, %v", out, err)
	}
	other := success(in, "4200000003", 1200)
	other.MchID = "1900000999"
	if out, err := f.store.Record(f.ctx, other, payment.FromNotification, merchant); err != nil || out != payment.Flagged {
		t.Fatalf("another merchant: %s, %v", out, err)
	}
	if f.status(in.OrderID) != "pending" {
		t.Fatalf("status %s", f.status(in.OrderID))
	}
	var reason string
	f.scan("SELECT flag_reason FROM payments WHERE transaction_id = '4200000002'", &reason)
	if reason == "" {
		t.Fatal("a flagged payment must say why, for staff")
	}
}

func TestPaymentForACancelledOrderIsRefunded(t *testing.T) {
	f := newFixture(t)
	in := f.pendingOrder(800)
	if _, err := f.db.NewRaw("UPDATE orders SET status = 'expired', cancelled_at = now() WHERE id = ?", in.OrderID).Exec(f.ctx); err != nil {
		t.Fatal(err)
	}
	out, err := f.store.Record(f.ctx, success(in, "4200000004", 800), payment.FromNotification, merchant)
	if err != nil || out != payment.RefundDue {
		t.Fatalf("outcome %s, %v", out, err)
	}
	var refunds, events int
	f.scan("SELECT count(*) FROM refunds WHERE amount_fen = 800 AND status = 'requested'", &refunds)
	f.scan("SELECT count(*) FROM outbox WHERE topic = 'payment.refund_due'", &events)
	if refunds != 1 || events != 1 || f.status(in.OrderID) != "expired" {
		t.Fatalf("refunds %d, events %d, status %s", refunds, events, f.status(in.OrderID))
	}
	// The duplicate of that notification records nothing more.
	if out, err := f.store.Record(f.ctx, success(in, "4200000004", 800), payment.FromNotification, merchant); err != nil || out != payment.Duplicate {
		t.Fatalf("duplicate: %s, %v", out, err)
	}
	f.scan("SELECT count(*) FROM refunds", &refunds)
	if refunds != 1 {
		t.Fatalf("%d refunds after a duplicate", refunds)
	}
}

func TestUnknownTradeChangesNothing(t *testing.T) {
	f := newFixture(t)
	in := f.pendingOrder(800)
	in.OutTradeNo = "CTnot-ours-0001"
	if _, err := f.store.Record(f.ctx, success(in, "4200000005", 800), payment.FromNotification, merchant); err == nil {
		t.Fatal("an unknown out_trade_no was recorded")
	}
	var n int
	f.scan("SELECT count(*) FROM payments", &n)
	if n != 0 {
		t.Fatalf("%d payments", n)
	}
}
