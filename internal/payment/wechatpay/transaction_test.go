package wechatpay_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
)

func lunch(no string) wechatpay.PrepayRequest {
	return wechatpay.PrepayRequest{
		OutTradeNo: no, Description: "社区食堂-午餐 红烧肉套餐", AmountFen: 1800, OpenID: openID,
		Attach: "order=42",
	}
}

// verifyPaySign checks paySign = SHA256withRSA(merchant key, appId\ntimeStamp\nnonceStr\npackage\n).
func verifyPaySign(t *testing.T, p wechatpay.RequestPayment) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(p.PaySign)
	if err != nil {
		t.Fatalf("paySign is not base64: %v", err)
	}
	sum := sha256.Sum256([]byte(p.AppID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"))
	if err := rsa.VerifyPKCS1v15(&merchantKey().PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign does not verify with the merchant public key: %v", err)
	}
}

func TestPrepay(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		req := lunch("CT20260314000001")
		req.Expire = time.Date(2026, 3, 14, 4, 30, 0, 0, time.UTC) // 12:30 in Shanghai
		p, err := e.client.Prepay(ctx, req)
		check(t, err, want{})
		verifyPaySign(t, p)
		ts, err := strconv.ParseInt(p.TimeStamp, 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("timeStamp = %q, want the current unix time in seconds", p.TimeStamp)
		}
		if p.AppID != appID || p.SignType != "RSA" || p.Package != "prepay_id="+p.PrepayID ||
			p.PrepayID == "" || len(p.NonceStr) != 32 {
			t.Errorf("request payment = %+v", p)
		}

		orders := e.fake.Orders()
		if len(orders) != 1 {
			t.Fatalf("fake has %d orders, want 1", len(orders))
		}
		got := orders[0]
		wantOrder := wechatpayfake.Order{
			OutTradeNo: req.OutTradeNo, PrepayID: p.PrepayID, State: wechatpayfake.StateNotPay,
			Description: req.Description, AmountFen: 1800, OpenID: openID, Attach: "order=42",
			NotifyURL: e.payURL, TimeExpire: "2026-03-14T12:30:00+08:00",
		}
		if diff := cmp.Diff(wantOrder, got, cmpopts.IgnoreFields(wechatpayfake.Order{}, "CreatedAt")); diff != "" {
			t.Errorf("order at the fake (-want +got):\n%s", diff)
		}

		again, err := e.client.Prepay(ctx, req)
		check(t, err, want{})
		if again.PrepayID != p.PrepayID {
			t.Errorf("the same prepay twice: prepay_id %q then %q", p.PrepayID, again.PrepayID)
		}
		verifyPaySign(t, again)

		changed := req
		changed.AmountFen = 2000
		_, err = e.client.Prepay(ctx, changed)
		check(t, err, want{apperr.Invalid, "wechatpay_invalid_request"})
	})
}

func TestPrepayValidatesBeforeCalling(t *testing.T) {
	e := setup(t, keyModes[0])
	ctx := context.Background()
	tests := []struct {
		name string
		edit func(*wechatpay.PrepayRequest)
	}{
		{"short out_trade_no", func(r *wechatpay.PrepayRequest) { r.OutTradeNo = "A1" }},
		{"long out_trade_no", func(r *wechatpay.PrepayRequest) { r.OutTradeNo = strings.Repeat("9", 33) }},
		{"space in out_trade_no", func(r *wechatpay.PrepayRequest) { r.OutTradeNo = "CT 000001" }},
		{"zero amount", func(r *wechatpay.PrepayRequest) { r.AmountFen = 0 }},
		{"negative amount", func(r *wechatpay.PrepayRequest) { r.AmountFen = -100 }},
		{"no openid", func(r *wechatpay.PrepayRequest) { r.OpenID = "" }},
		{"no description", func(r *wechatpay.PrepayRequest) { r.Description = "" }},
		{"long description", func(r *wechatpay.PrepayRequest) { r.Description = strings.Repeat("饭", 128) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := lunch("CT20260314000002")
			tc.edit(&req)
			_, err := e.client.Prepay(ctx, req)
			check(t, err, want{apperr.Invalid, "validation_failed"})
		})
	}
	if n := e.fake.Requests(jsapiPath); n != 0 {
		t.Errorf("%d invalid prepays reached WeChat Pay", n)
	}
}

func TestQueryPayAndNotify(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const no = "CT20260314000003"
		_, err := e.client.Query(ctx, no)
		check(t, err, want{apperr.NotFound, "wechatpay_order_not_exist"})

		if _, err := e.client.Prepay(ctx, lunch(no)); err != nil {
			t.Fatal(err)
		}
		tx, err := e.client.Query(ctx, no)
		check(t, err, want{})
		wantTx := wechatpay.Transaction{
			OutTradeNo: no, State: wechatpay.TradeNotPay, AmountFen: 1800, MchID: mchID, AppID: appID,
			Attach: "order=42",
		}
		if diff := cmp.Diff(wantTx, tx); diff != "" {
			t.Errorf("before paying (-want +got):\n%s", diff)
		}

		paidAt := time.Date(2026, 3, 14, 12, 5, 7, 0, time.FixedZone("CST", 8*3600))
		e.clock.Set(paidAt)
		if err := e.fake.Pay(no); err != nil {
			t.Fatalf("fake.Pay: %v", err)
		}
		tx, err = e.client.Query(ctx, no)
		check(t, err, want{})
		order := e.fake.Orders()[0]
		wantTx.State, wantTx.TransactionID, wantTx.PayerTotalFen = wechatpay.TradeSuccess, order.TransactionID, 1800
		wantTx.PayerOpenID, wantTx.SuccessTime = openID, paidAt
		if diff := cmp.Diff(wantTx, tx); diff != "" {
			t.Errorf("after paying (-want +got):\n%s", diff)
		}
		if !tx.SuccessTime.Equal(paidAt) || tx.TransactionID == "" {
			t.Errorf("success time %v, transaction id %q", tx.SuccessTime, tx.TransactionID)
		}

		// fake.Pay delivered the notification to the client's NotifyURL.
		got := e.take()
		if len(got) != 1 || got[0].err != nil {
			t.Fatalf("notifications received: %+v, want one parsed", got)
		}
		if diff := cmp.Diff(wantTx, got[0].tx); diff != "" {
			t.Errorf("notified transaction (-want +got):\n%s", diff)
		}

		_, err = e.client.Prepay(ctx, lunch(no))
		check(t, err, want{apperr.FailedPrecondition, "wechatpay_orderpaid"})
		err = e.client.Close(ctx, no)
		check(t, err, want{apperr.FailedPrecondition, "wechatpay_orderpaid"})
	})
}

func TestClose(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const no = "CT20260314000004"
		if _, err := e.client.Prepay(ctx, lunch(no)); err != nil {
			t.Fatal(err)
		}
		check(t, e.client.Close(ctx, no), want{}) // an empty, signed 204
		tx, err := e.client.Query(ctx, no)
		check(t, err, want{})
		if tx.State != wechatpay.TradeClosed {
			t.Errorf("state after close = %s, want CLOSED", tx.State)
		}
		check(t, e.client.Close(ctx, no), want{})
		if err := e.fake.Pay(no); !errors.Is(err, wechatpayfake.ErrState) {
			t.Errorf("paying a closed order: %v, want ErrState", err)
		}
		_, err = e.client.Prepay(ctx, lunch(no))
		check(t, err, want{apperr.FailedPrecondition, "wechatpay_order_closed"})
		check(t, e.client.Close(ctx, "CT20260314999999"), want{apperr.NotFound, "wechatpay_order_not_exist"})
	})
}

func TestForgedResponseIsRejected(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.fake.FailNext(jsapiPath, 1, wechatpayfake.FailMode{ForgeSignature: true})
		_, err := e.client.Prepay(ctx, lunch("CT20260314000005"))
		check(t, err, want{apperr.Internal, "wechatpay_bad_signature"})

		// An empty 204 is signed too, and checked.
		e.fake.FailNext(closePath("CT20260314000005"), 1, wechatpayfake.FailMode{ForgeSignature: true})
		check(t, e.client.Close(ctx, "CT20260314000005"), want{apperr.Internal, "wechatpay_bad_signature"})

		e.fake.FailNext(queryPath("CT20260314000005"), 1, wechatpayfake.FailMode{ForgeSignature: true})
		_, err = e.client.Query(ctx, "CT20260314000005")
		check(t, err, want{apperr.Internal, "wechatpay_bad_signature"})
	})
}

func TestClientTrustingAnotherKeyRejectsEverything(t *testing.T) {
	other := wechatpayfake.New(wechatpayfake.Options{
		MchID: mchID, AppID: appID, APIv3Key: apiV3Key, MerchantPublicKey: &merchantKey().PublicKey,
	})
	e := setup(t, keyModes[0], func(c *wechatpay.Config) { c.PublicKey = other.PublicKey() })
	_, err := e.client.Prepay(context.Background(), lunch("CT20260314000006"))
	check(t, err, want{apperr.Internal, "wechatpay_bad_signature"})
}

func TestMerchantSignatureIsChecked(t *testing.T) {
	e := setup(t, keyModes[0], func(c *wechatpay.Config) { c.MerchantKey = platformKey() })
	_, err := e.client.Prepay(context.Background(), lunch("CT20260314000007"))
	check(t, err, want{apperr.Internal, "wechatpay_sign_error"})
}

func TestTransientFailures(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const no = "CT20260314000008"
		if _, err := e.client.Prepay(ctx, lunch(no)); err != nil {
			t.Fatal(err)
		}
		for _, status := range []int{500, 502, 503, 429} {
			e.fake.FailNext(queryPath(no), 1, wechatpayfake.FailMode{Status: status})
			_, err := e.client.Query(ctx, no)
			code := "wechatpay_system_error"
			if status == 429 {
				code = "wechatpay_frequency_limited"
			}
			check(t, err, want{apperr.Transient, code})
		}
		e.fake.FailNext(jsapiPath, 1, wechatpayfake.FailMode{Status: 503})
		_, err := e.client.Prepay(ctx, lunch(no))
		check(t, err, want{apperr.Transient, "wechatpay_system_error"})
		e.fake.FailNext(refundPath, 1, wechatpayfake.FailMode{Status: 500})
		_, err = e.client.Refund(ctx, wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "RF1", RefundFen: 1, TotalFen: 1800})
		check(t, err, want{apperr.Transient, "wechatpay_system_error"})

		// After the failures the same calls work.
		if _, err := e.client.Query(ctx, no); err != nil {
			t.Errorf("query after the failures: %v", err)
		}
		if _, err := e.client.Prepay(ctx, lunch(no)); err != nil {
			t.Errorf("prepay after the failure: %v", err)
		}
	})
}

func TestTimeoutIsTransient(t *testing.T) {
	e := setup(t, keyModes[0], func(c *wechatpay.Config) { c.HTTPTimeout = 200 * time.Millisecond })
	const no = "CT20260314000009"
	e.fake.FailNext(queryPath(no), 1, wechatpayfake.FailMode{Hang: 5 * time.Second})
	start := time.Now()
	_, err := e.client.Query(context.Background(), no)
	check(t, err, want{apperr.Transient, "wechatpay_unavailable"})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the call took %v; the timeout is 200ms", d)
	}

	// A context deadline counts the same way.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	e.fake.FailNext(queryPath(no), 1, wechatpayfake.FailMode{Hang: 5 * time.Second})
	_, err = e.client.Query(ctx, no)
	check(t, err, want{apperr.Transient, "wechatpay_unavailable"})
}

func TestUnreachableIsTransient(t *testing.T) {
	e := setup(t, keyModes[0], func(c *wechatpay.Config) { c.BaseURL = "http://127.0.0.1:1" })
	_, err := e.client.Query(context.Background(), "CT20260314000010")
	check(t, err, want{apperr.Transient, "wechatpay_unavailable"})
}
