package httpapi_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
)

type payParams struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// pendingOrder places a plain (unsubsidised) order for the diner and returns its id.
func (e *env) pendingOrder(key string) int64 {
	e.t.Helper()
	status, raw := e.placeOrder(e.tokens["diner"], key, e.lunchCart(1, ""))
	if status != 201 {
		e.t.Fatalf("place: %d %s", status, raw)
	}
	var o struct {
		ID     int64
		PayFen int64 `json:"pay_fen"`
	}
	if err := json.Unmarshal([]byte(raw), &o); err != nil || o.PayFen <= 0 {
		e.t.Fatalf("order %s", raw)
	}
	return o.ID
}

func (e *env) orderStatus(id int64) string {
	var s string
	if err := e.db.NewRaw("SELECT status FROM orders WHERE id = ?", id).Scan(context.Background(), &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) outTradeNo(orderID int64) string {
	var no string
	if err := e.db.NewRaw("SELECT out_trade_no FROM payment_intents WHERE order_id = ? AND status <> 'closed' ORDER BY id DESC LIMIT 1", orderID).Scan(context.Background(), &no); err != nil {
		e.t.Fatal(err)
	}
	return no
}

func (e *env) count(query string, args ...any) int {
	var n int
	if err := e.db.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestPayThroughWeChatPay(t *testing.T) {
	e := newEnv(t, 100)
	id := e.pendingOrder("pay-order-0001")
	var p payParams
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", id), e.tokens["diner"], ""), 200, &p)
	if p.AppID != testAppID || !strings.HasPrefix(p.Package, "prepay_id=") || p.SignType != "RSA" {
		t.Fatalf("requestPayment = %+v", p)
	}
	// paySign is the merchant's signature over appId, timeStamp, nonceStr and package.
	sig, _ := base64.StdEncoding.DecodeString(p.PaySign)
	sum := sha256.Sum256([]byte(p.AppID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"))
	if err := rsa.VerifyPKCS1v15(&merchantKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign does not verify: %v", err)
	}
	var again payParams
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", id), e.tokens["diner"], ""), 200, &again)
	if again.Package != p.Package {
		t.Fatalf("a second pay call made another prepay: %s vs %s", again.Package, p.Package)
	}
	if r := e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", id), e.tokens["admin"], ""); r.StatusCode != 403 {
		t.Fatalf("staff paying: %d", r.StatusCode)
	}

	// The diner pays; WeChat notifies; the order is paid once.
	if err := e.payFake.Pay(e.outTradeNo(id)); err != nil {
		t.Fatal(err)
	}
	if s := e.orderStatus(id); s != "paid" {
		t.Fatalf("status after the notification: %s", s)
	}
	statuses, err := e.payFake.Notify(context.Background(), e.outTradeNo(id), wechatpayfake.NotifyOptions{Duplicates: 9})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range statuses {
		if st != 204 {
			t.Fatalf("duplicate notification answered %d", st)
		}
	}
	if n := e.count("SELECT count(*) FROM payments WHERE order_id = ?", id); n != 1 {
		t.Fatalf("%d payments after 10 notifications", n)
	}
	if n := e.count("SELECT count(*) FROM outbox WHERE topic = 'order.paid' AND payload->>'order_id' = ?", fmt.Sprint(id)); n != 1 {
		t.Fatalf("%d paid events", n)
	}
	if r := e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", id), e.tokens["diner"], ""); r.StatusCode != 422 {
		t.Fatalf("paying a paid order: %d", r.StatusCode)
	}
}

// payUnnoticed pays the diner's order at WeChat while its notification is lost on the way.
func (e *env) payUnnoticed(id int64) string {
	e.t.Helper()
	return e.payUnnoticedBy(e.tokens["diner"], id)
}

func (e *env) payUnnoticedBy(token string, id int64) string {
	e.t.Helper()
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", id), token, ""), 200, &payParams{})
	no := e.outTradeNo(id)
	e.dropNotices.Store(true)
	defer e.dropNotices.Store(false)
	if err := e.payFake.Pay(no); !errors.Is(err, wechatpayfake.ErrNotDelivered) {
		e.t.Fatalf("pay with the notification lost: %v", err)
	}
	if s := e.orderStatus(id); s != "pending" {
		e.t.Fatalf("status %s after a lost notification", s)
	}
	return no
}

func TestBadNotificationsChangeNothing(t *testing.T) {
	e := newEnv(t, 100)
	id := e.pendingOrder("pay-order-0002")
	no := e.payUnnoticed(id)
	for _, tc := range []struct {
		name string
		opt  wechatpayfake.NotifyOptions
	}{
		{"forged signature", wechatpayfake.NotifyOptions{ForgeSignature: true}},
		{"stale timestamp", wechatpayfake.NotifyOptions{StaleTimestamp: true}},
		{"signature test probe", wechatpayfake.NotifyOptions{SignTest: true}},
		{"wrong APIv3 key", wechatpayfake.NotifyOptions{WrongAPIv3Key: true}},
		{"truncated body", wechatpayfake.NotifyOptions{Truncate: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			statuses, err := e.payFake.Notify(context.Background(), no, tc.opt)
			if len(statuses) != 1 || statuses[0] < 400 || statuses[0] >= 500 {
				t.Fatalf("answered %v (%v), want one 4xx", statuses, err)
			}
			if diff := snapshotDiff(before, e.snapshot()); diff != "" {
				t.Fatalf("a refused notification changed data: %s", diff)
			}
			if s := e.orderStatus(id); s != "pending" {
				t.Fatalf("status %s", s)
			}
		})
	}
	// The genuine notification, when it finally comes, pays the order.
	statuses, err := e.payFake.Notify(context.Background(), no, wechatpayfake.NotifyOptions{})
	if err != nil || len(statuses) != 1 || statuses[0] != 204 || e.orderStatus(id) != "paid" {
		t.Fatalf("genuine notification: %v %v, status %s", statuses, err, e.orderStatus(id))
	}
}

func TestSweeperFindsAPaymentWithoutNotification(t *testing.T) {
	e := newEnv(t, 100)
	id := e.pendingOrder("pay-order-0003")
	e.payUnnoticed(id)
	// Within the first minute the sweeper leaves it to the notification.
	res, err := e.payS.Sweep(context.Background(), 10)
	if err != nil || res.Queried != 0 {
		t.Fatalf("sweep too early: %+v %v", res, err)
	}
	e.clock.Store(fixedNow.Add(2 * time.Minute).UnixNano())
	res, err = e.payS.Sweep(context.Background(), 10)
	if err != nil || res.Queried != 1 || res.Credited != 1 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if s := e.orderStatus(id); s != "paid" {
		t.Fatalf("status %s after the sweep", s)
	}
	if n := e.count("SELECT count(*) FROM payments WHERE order_id = ? AND source = 'query'", id); n != 1 {
		t.Fatalf("%d payments from the query", n)
	}
	// The notification arriving late is a duplicate.
	statuses, _ := e.payFake.Notify(context.Background(), e.outTradeNo(id), wechatpayfake.NotifyOptions{})
	if len(statuses) != 1 || statuses[0] != 204 || e.count("SELECT count(*) FROM payments WHERE order_id = ?", id) != 1 {
		t.Fatalf("late notification: %v", statuses)
	}
}

// paidElderOrder places two subsidised 红烧肉 for the 特困 elder (300 each to pay, 900
// each from the pledge) and pays it through WeChat Pay.
func (e *env) paidElderOrder(key string) (id int64, outTradeNo string) {
	e.t.Helper()
	status, raw := e.placeOrder(e.tokens["elder"], key, e.lunchCart(2, ""))
	if status != 201 {
		e.t.Fatalf("place: %d %s", status, raw)
	}
	var o struct {
		ID         int64
		PayFen     int64 `json:"pay_fen"`
		SubsidyFen int64 `json:"subsidy_fen"`
	}
	if err := json.Unmarshal([]byte(raw), &o); err != nil || o.PayFen != 2*tekunPriceFen || o.SubsidyFen != 2*(1200-tekunPriceFen) {
		e.t.Fatalf("elder order %s", raw)
	}
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", o.ID), e.tokens["elder"], ""), 200, &payParams{})
	no := e.outTradeNo(o.ID)
	if err := e.payFake.Pay(no); err != nil {
		e.t.Fatal(err)
	}
	if s := e.orderStatus(o.ID); s != "paid" {
		e.t.Fatalf("status %s", s)
	}
	return o.ID, no
}

func (e *env) refund(token string, id int64, key, reqBody string) (int, string) {
	e.t.Helper()
	resp := e.doHeader("POST", fmt.Sprintf("/api/v1/orders/%d/refunds", id), token, "application/json", reqBody, map[string]string{"Idempotency-Key": key})
	return resp.StatusCode, body(resp)
}

func (e *env) spent() int64 {
	var n int64
	if err := e.db.NewRaw("SELECT coalesce(sum(spent_fen), 0) FROM pledge_balances WHERE pledge_id = ?", e.ids["pledge"]).Scan(context.Background(), &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestPartialRefundReversesItsShareOnce(t *testing.T) {
	e := newEnv(t, 100)
	id, _ := e.paidElderOrder("refund-order-01")
	spentBefore := e.spent()

	status, raw := e.refund(e.tokens["elder"], id, "refund-key-0001", `{"reason":"少要一份","lines":[{"line_no":1,"qty":1}]}`)
	if status != 201 {
		t.Fatalf("refund: %d %s", status, raw)
	}
	var rf struct {
		OutRefundNo string `json:"out_refund_no"`
		AmountFen   int64  `json:"amount_fen"`
	}
	_ = json.Unmarshal([]byte(raw), &rf)
	if rf.AmountFen != tekunPriceFen {
		t.Fatalf("refund of one of two units: %d fen, want %d", rf.AmountFen, tekunPriceFen)
	}
	// The same key again is the same refund.
	if status, raw := e.refund(e.tokens["elder"], id, "refund-key-0001", `{"reason":"少要一份","lines":[{"line_no":1,"qty":1}]}`); status != 201 || !strings.Contains(raw, rf.OutRefundNo) {
		t.Fatalf("repeated refund: %d %s", status, raw)
	}
	if n := e.count("SELECT count(*) FROM refunds WHERE order_id = ?", id); n != 1 {
		t.Fatalf("%d refunds after a repeat", n)
	}
	// Nothing moves until WeChat confirms; a duplicated confirmation counts once.
	if e.spent() != spentBefore {
		t.Fatal("the subsidy moved before WeChat confirmed the refund")
	}
	if err := e.payFake.SettleRefund(rf.OutRefundNo, true); err != nil {
		t.Fatal(err)
	}
	statuses, err := e.payFake.NotifyRefund(context.Background(), rf.OutRefundNo, wechatpayfake.NotifyOptions{Duplicates: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range statuses {
		if st != 204 {
			t.Fatalf("refund notifications answered %v", statuses)
		}
	}
	var refunded int64
	if err := e.db.NewRaw("SELECT refunded_fen FROM orders WHERE id = ?", id).Scan(context.Background(), &refunded); err != nil {
		t.Fatal(err)
	}
	if refunded != tekunPriceFen || e.orderStatus(id) != "paid" {
		t.Fatalf("refunded %d, status %s; want %d and still paid (the other line stays)", refunded, e.orderStatus(id), tekunPriceFen)
	}
	// Half the money back reverses exactly half the subsidy.
	if got, want := spentBefore-e.spent(), int64(1200-tekunPriceFen); got != want {
		t.Fatalf("subsidy reversed %d fen, want %d", got, want)
	}

	// The rest, by staff: the order is refunded and all its subsidy is back.
	status, raw = e.refund(e.tokens["admin"], id, "refund-key-0002", `{"reason":"顾客投诉"}`)
	if status != 201 {
		t.Fatalf("second refund: %d %s", status, raw)
	}
	_ = json.Unmarshal([]byte(raw), &rf)
	if err := e.payFake.SettleRefund(rf.OutRefundNo, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.payFake.NotifyRefund(context.Background(), rf.OutRefundNo, wechatpayfake.NotifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if e.orderStatus(id) != "refunded" || e.spent() != spentBefore-2*(1200-tekunPriceFen) {
		t.Fatalf("after the whole refund: status %s, spent %d (was %d)", e.orderStatus(id), e.spent(), spentBefore)
	}
	// Nothing is left to refund.
	if status, _ := e.refund(e.tokens["admin"], id, "refund-key-0003", `{"reason":"再退一次"}`); status < 400 {
		t.Fatalf("a refund beyond what was paid: %d", status)
	}
}

func TestPaymentAfterExpiryIsSentBack(t *testing.T) {
	e := newEnv(t, 100)
	id := e.pendingOrder("late-pay-0001")
	no := e.payUnnoticed(id) // paid at WeChat just before the deadline; the notification is late
	e.clock.Store(fixedNow.Add(16 * time.Minute).UnixNano())
	if n, err := e.ordS.ExpireDue(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	statuses, err := e.payFake.Notify(context.Background(), no, wechatpayfake.NotifyOptions{})
	if err != nil || statuses[0] != 204 {
		t.Fatalf("late notification: %v %v", statuses, err)
	}
	if s := e.orderStatus(id); s != "expired" {
		t.Fatalf("a late payment changed the order to %s", s)
	}
	var no2 string
	if err := e.db.NewRaw("SELECT out_refund_no FROM refunds WHERE order_id = ? AND kind = 'return' AND status = 'requested'", id).Scan(context.Background(), &no2); err != nil {
		t.Fatalf("no automatic refund recorded: %v", err)
	}
	var attention struct {
		Items []struct {
			OrderID int64  `json:"order_id"`
			Outcome string `json:"outcome"`
		}
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/payments/attention", e.tokens["finance"], ""), 200, &attention)
	if len(attention.Items) != 1 || attention.Items[0].OrderID != id || attention.Items[0].Outcome != "refund_due" {
		t.Fatalf("finance does not see the payment that was sent back: %+v", attention.Items)
	}
	if n, err := e.payS.SweepRefunds(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("sweep refunds: %d %v", n, err)
	}
	if err := e.payFake.SettleRefund(no2, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.payFake.NotifyRefund(context.Background(), no2, wechatpayfake.NotifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count(*) FROM refunds WHERE order_id = ? AND status = 'success'", id); n != 1 {
		t.Fatalf("the automatic refund did not settle")
	}
	if e.orderStatus(id) != "expired" {
		t.Fatalf("status %s", e.orderStatus(id))
	}
}

func TestWeChatFailingNeverMarksPaidWrongly(t *testing.T) {
	e := newEnv(t, 100)
	id := e.pendingOrder("fail-query-0001")
	no := e.payUnnoticed(id)
	e.payFake.FailNext("/v3/pay/transactions/out-trade-no/"+no, 3, wechatpayfake.FailMode{Status: 503})
	e.clock.Store(fixedNow.Add(2 * time.Minute).UnixNano())
	res, err := e.payS.Sweep(context.Background(), 10)
	if err != nil || res.Failed != 1 || res.Credited != 0 || e.orderStatus(id) != "pending" {
		t.Fatalf("sweep against 503: %+v %v, status %s", res, err, e.orderStatus(id))
	}
	// Backoff: a minute later it is not asked again yet (the wait doubles after each query).
	e.clock.Store(fixedNow.Add(2*time.Minute + 30*time.Second).UnixNano())
	if res, _ := e.payS.Sweep(context.Background(), 10); res.Queried != 0 {
		t.Fatalf("queried again within the backoff: %+v", res)
	}
	e.payFake.FailNext("/v3/pay/transactions/out-trade-no/"+no, 0, wechatpayfake.FailMode{})
	e.clock.Store(fixedNow.Add(5 * time.Minute).UnixNano())
	if res, err := e.payS.Sweep(context.Background(), 10); err != nil || res.Credited != 1 || e.orderStatus(id) != "paid" {
		t.Fatalf("sweep once WeChat answers: %+v %v, status %s", res, err, e.orderStatus(id))
	}
}

func TestTenConcurrentNotificationsOnePaymentOneCommit(t *testing.T) {
	e := newEnv(t, 100)
	status, raw := e.placeOrder(e.tokens["elder"], "concurrent-notify-1", e.lunchCart(1, ""))
	if status != 201 {
		t.Fatalf("place: %d %s", status, raw)
	}
	var o struct{ ID int64 }
	_ = json.Unmarshal([]byte(raw), &o)
	no := e.payUnnoticedBy(e.tokens["elder"], o.ID)
	var wg sync.WaitGroup
	answers := make([][]int, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], _ = e.payFake.Notify(context.Background(), no, wechatpayfake.NotifyOptions{})
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if len(a) != 1 || a[0] != 204 {
			t.Fatalf("notification %d answered %v", i, a)
		}
	}
	if n := e.count("SELECT count(*) FROM payments WHERE order_id = ?", o.ID); n != 1 {
		t.Fatalf("%d payments", n)
	}
	if n := e.count("SELECT count(*) FROM outbox WHERE topic = 'order.paid' AND payload->>'order_id' = ?", fmt.Sprint(o.ID)); n != 1 {
		t.Fatalf("%d paid transitions", n)
	}
	if n := e.count("SELECT count(DISTINCT txn_id) FROM ledger_entries WHERE order_id = ? AND kind = 'commit'", o.ID); n != 1 {
		t.Fatalf("%d ledger commits", n)
	}
}
