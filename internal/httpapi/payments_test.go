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

// payUnnoticed pays the order at WeChat while its notification is lost on the way.
func (e *env) payUnnoticed(id int64) string {
	e.t.Helper()
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", id), e.tokens["diner"], ""), 200, &payParams{})
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
