package wechatpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
)

func TestPaymentNotifications(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const no = "CT20260314000021"
		e.paid(t, no)
		tx, err := e.client.Query(ctx, no)
		if err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name     string
			opt      wechatpayfake.NotifyOptions
			statuses []int
			want     want // of every parse
		}{
			{name: "valid", statuses: []int{204}},
			{name: "duplicates", opt: wechatpayfake.NotifyOptions{Duplicates: 2, Delay: 10 * time.Millisecond}, statuses: []int{204, 204, 204}},
			{name: "forged signature", opt: wechatpayfake.NotifyOptions{ForgeSignature: true}, statuses: []int{400},
				want: want{apperr.Invalid, "wechatpay_notify_signature"}},
			{name: "stale timestamp", opt: wechatpayfake.NotifyOptions{StaleTimestamp: true}, statuses: []int{400},
				want: want{apperr.Invalid, "wechatpay_notify_stale"}},
			{name: "SIGNTEST probe", opt: wechatpayfake.NotifyOptions{SignTest: true}, statuses: []int{400},
				want: want{apperr.Invalid, "wechatpay_notify_probe"}},
			{name: "wrong APIv3 key", opt: wechatpayfake.NotifyOptions{WrongAPIv3Key: true}, statuses: []int{400},
				want: want{apperr.Invalid, "wechatpay_notify_undecryptable"}},
			{name: "truncated body", opt: wechatpayfake.NotifyOptions{Truncate: true}, statuses: []int{400},
				want: want{apperr.Invalid, "wechatpay_notify_signature"}},
			{name: "forged duplicates", opt: wechatpayfake.NotifyOptions{ForgeSignature: true, Duplicates: 1}, statuses: []int{400, 400},
				want: want{apperr.Invalid, "wechatpay_notify_signature"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				statuses, err := e.fake.Notify(ctx, no, tc.opt)
				if err != nil {
					t.Fatalf("Notify: %v", err)
				}
				if !slices.Equal(statuses, tc.statuses) {
					t.Errorf("the receiver answered %v, want %v", statuses, tc.statuses)
				}
				got := e.take()
				if len(got) != len(tc.statuses) {
					t.Fatalf("received %d notifications, want %d", len(got), len(tc.statuses))
				}
				for _, r := range got {
					check(t, r.err, tc.want)
					if tc.want == (want{}) {
						if diff := cmp.Diff(tx, r.tx); diff != "" {
							t.Errorf("parsed transaction (-queried +notified):\n%s", diff)
						}
					}
				}
			})
		}
	})
}

func TestRefundNotifications(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const no = "CT20260314000022"
		e.paid(t, no)
		req := wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "R22", RefundFen: 800, TotalFen: 1800, NotifyURL: e.refundURL}
		if _, err := e.client.Refund(ctx, req); err != nil {
			t.Fatal(err)
		}
		if _, err := e.fake.NotifyRefund(ctx, "R22", wechatpayfake.NotifyOptions{}); !errors.Is(err, wechatpayfake.ErrState) {
			t.Errorf("notifying an unsettled refund: %v, want ErrState", err)
		}
		if err := e.fake.SettleRefund("R22", true); err != nil {
			t.Fatal(err)
		}
		first := e.take()
		if len(first) != 1 || first[0].err != nil {
			t.Fatalf("notifications after settling: %+v", first)
		}

		statuses, err := e.fake.NotifyRefund(ctx, "R22", wechatpayfake.NotifyOptions{Duplicates: 1})
		if err != nil || !slices.Equal(statuses, []int{204, 204}) {
			t.Fatalf("NotifyRefund = %v, %v; want [204 204]", statuses, err)
		}
		for _, r := range e.take() {
			if diff := cmp.Diff(first[0].refund, r.refund); diff != "" {
				t.Errorf("a repeated notification differs (-first +again):\n%s", diff)
			}
		}

		for _, opt := range []wechatpayfake.NotifyOptions{
			{ForgeSignature: true}, {StaleTimestamp: true}, {SignTest: true}, {WrongAPIv3Key: true}, {Truncate: true},
		} {
			statuses, err := e.fake.NotifyRefund(ctx, "R22", opt)
			if err != nil || !slices.Equal(statuses, []int{400}) {
				t.Errorf("NotifyRefund(%+v) = %v, %v; want [400]", opt, statuses, err)
			}
			for _, r := range e.take() {
				if apperr.KindOf(r.err) != apperr.Invalid {
					t.Errorf("NotifyRefund(%+v): parse error %v, want Invalid", opt, r.err)
				}
			}
		}
	})
}

// A payment notification posted to the refund endpoint, or the other way round, is
// decrypted fine but has the wrong event type.
func TestNotificationOfTheWrongKind(t *testing.T) {
	e := setup(t, keyModes[0])
	ctx := context.Background()
	const no = "CT20260314000023"
	e.paid(t, no)
	req := wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "R23", RefundFen: 100, TotalFen: 1800, NotifyURL: e.payURL}
	if _, err := e.client.Refund(ctx, req); err != nil {
		t.Fatal(err)
	}
	_ = e.fake.SettleRefund("R23", true) // delivered to the payment endpoint: rejected
	got := e.take()
	if len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
	check(t, got[0].err, want{apperr.Invalid, "wechatpay_notify_event"})
}

func TestNotificationHeadersAndBody(t *testing.T) {
	e := setup(t, keyModes[0])
	post := func(h http.Header, body string) error {
		r := httptest.NewRequest(http.MethodPost, "/notify/pay", bytes.NewBufferString(body))
		for k, v := range h {
			r.Header[k] = v
		}
		_, err := e.client.ParsePaymentNotification(r)
		return err
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	full := http.Header{
		"Wechatpay-Serial":    {e.fake.PublicKeyID()},
		"Wechatpay-Signature": {"c2lnbmF0dXJl"},
		"Wechatpay-Timestamp": {now},
		"Wechatpay-Nonce":     {"n0nce"},
	}
	for _, k := range []string{"Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce"} {
		h := full.Clone()
		h.Del(k)
		check(t, post(h, "{}"), want{apperr.Invalid, "wechatpay_notify_headers"})
	}
	h := full.Clone()
	h.Set("Wechatpay-Timestamp", "yesterday")
	check(t, post(h, "{}"), want{apperr.Invalid, "wechatpay_notify_headers"})
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(time.Now().Add(10*time.Minute).Unix(), 10))
	check(t, post(h, "{}"), want{apperr.Invalid, "wechatpay_notify_stale"})
	check(t, post(full, "{}"), want{apperr.Invalid, "wechatpay_notify_signature"})

	status, body := wechatpay.NotifyReply(post(full, "{}"))
	var fail struct{ Code, Message string }
	if err := json.Unmarshal(body, &fail); err != nil || status != 400 || fail.Code != "FAIL" || fail.Message == "" {
		t.Errorf("reply to a rejected notification: %d %s", status, body)
	}
	if status, body := wechatpay.NotifyReply(nil); status != 204 || body != nil {
		t.Errorf("reply to a handled notification: %d %q", status, body)
	}
	if status, _ := wechatpay.NotifyReply(errors.New("database down")); status != 500 {
		t.Errorf("reply when handling failed: %d, want 500", status)
	}
}

// The receiver's clock decides whether a notification is stale: a well-signed notification
// that reaches a receiver whose clock is 6 minutes ahead is rejected.
func TestNotificationStaleByClientClock(t *testing.T) {
	e := setup(t, keyModes[0])
	const no = "CT20260314000024"
	e.paid(t, no)
	wechatpay.SetNow(e.client, func() time.Time { return time.Now().Add(6 * time.Minute) })
	statuses, err := e.fake.Notify(context.Background(), no, wechatpayfake.NotifyOptions{})
	if err != nil || !slices.Equal(statuses, []int{400}) {
		t.Fatalf("Notify = %v, %v", statuses, err)
	}
	check(t, e.take()[0].err, want{apperr.Invalid, "wechatpay_notify_stale"})
}
