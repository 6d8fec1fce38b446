package wechatpay_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
)

// paid places and pays an order of 18.00 yuan and forgets its notification.
func (e *env) paid(t *testing.T, no string) {
	t.Helper()
	if _, err := e.client.Prepay(context.Background(), lunch(no)); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.Pay(no); err != nil {
		t.Fatal(err)
	}
	e.take()
}

func TestRefund(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const no = "CT20260314000011"
		_, err := e.client.Refund(ctx, wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "CT20260314000011R1", RefundFen: 500, TotalFen: 1800})
		check(t, err, want{apperr.NotFound, "wechatpay_resource_not_exists"})
		if _, err := e.client.Prepay(ctx, lunch(no)); err != nil {
			t.Fatal(err)
		}
		_, err = e.client.Refund(ctx, wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "CT20260314000011R1", RefundFen: 500, TotalFen: 1800})
		check(t, err, want{apperr.Invalid, "wechatpay_invalid_request"}) // not paid
		if err := e.fake.Pay(no); err != nil {
			t.Fatal(err)
		}
		e.take()
		tx, err := e.client.Query(ctx, no)
		if err != nil {
			t.Fatal(err)
		}

		createdAt := time.Date(2026, 3, 14, 13, 0, 0, 0, time.FixedZone("CST", 8*3600))
		e.clock.Set(createdAt)
		req := wechatpay.RefundRequest{
			OutTradeNo: no, OutRefundNo: "CT20260314000011R1", RefundFen: 500, TotalFen: 1800,
			Reason: "少打了一个菜", NotifyURL: e.refundURL,
		}
		r, err := e.client.Refund(ctx, req)
		check(t, err, want{})
		wantRefund := wechatpay.Refund{
			OutRefundNo: req.OutRefundNo, OutTradeNo: no, TransactionID: tx.TransactionID,
			Status: wechatpay.RefundProcessing, RefundFen: 500, TotalFen: 1800, PayerRefundFen: 500,
			Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱", CreateTime: createdAt,
		}
		if diff := cmp.Diff(wantRefund, r, cmpopts.IgnoreFields(wechatpay.Refund{}, "RefundID")); diff != "" {
			t.Errorf("refund (-want +got):\n%s", diff)
		}
		if r.RefundID == "" {
			t.Error("no refund id")
		}

		again, err := e.client.Refund(ctx, req)
		check(t, err, want{})
		if again.RefundID != r.RefundID {
			t.Errorf("the same refund twice: refund ids %q and %q", r.RefundID, again.RefundID)
		}
		changed := req
		changed.RefundFen = 600
		_, err = e.client.Refund(ctx, changed)
		check(t, err, want{apperr.Invalid, "wechatpay_invalid_request"})

		// 18.00 paid, 5.00 refunded: 13.01 more is too much, 13.00 is all that is left.
		over := wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "CT20260314000011R2", RefundFen: 1301, TotalFen: 1800}
		_, err = e.client.Refund(ctx, over)
		check(t, err, want{apperr.Invalid, "wechatpay_invalid_request"})
		rest := over
		rest.RefundFen = 1300
		_, err = e.client.Refund(ctx, rest)
		check(t, err, want{})
		one := wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "CT20260314000011R3", RefundFen: 1, TotalFen: 1800}
		_, err = e.client.Refund(ctx, one)
		check(t, err, want{apperr.Invalid, "wechatpay_invalid_request"})

		q, err := e.client.QueryRefund(ctx, req.OutRefundNo)
		check(t, err, want{})
		if diff := cmp.Diff(r, q); diff != "" {
			t.Errorf("queried refund (-created +queried):\n%s", diff)
		}

		settledAt := createdAt.Add(2 * time.Minute)
		e.clock.Set(settledAt)
		if err := e.fake.SettleRefund(req.OutRefundNo, true); err != nil {
			t.Fatalf("SettleRefund: %v", err)
		}
		q, err = e.client.QueryRefund(ctx, req.OutRefundNo)
		check(t, err, want{})
		if q.Status != wechatpay.RefundSuccess || !q.SuccessTime.Equal(settledAt) {
			t.Errorf("after settling: status %s, success time %v", q.Status, q.SuccessTime)
		}
		tx, err = e.client.Query(ctx, no)
		check(t, err, want{})
		if tx.State != wechatpay.TradeRefund {
			t.Errorf("order state after a refund = %s, want REFUND", tx.State)
		}

		got := e.take()
		if len(got) != 1 || got[0].err != nil {
			t.Fatalf("refund notifications: %+v, want one parsed", got)
		}
		wantNotice := wechatpay.RefundNotice{
			EventType: "REFUND.SUCCESS", MchID: mchID, OutTradeNo: no, TransactionID: tx.TransactionID,
			OutRefundNo: req.OutRefundNo, RefundID: r.RefundID, Status: wechatpay.RefundSuccess,
			SuccessTime: settledAt, UserReceivedAccount: "支付用户零钱",
			TotalFen: 1800, RefundFen: 500, PayerTotalFen: 1800, PayerRefundFen: 500,
		}
		if diff := cmp.Diff(wantNotice, got[0].refund, cmpopts.IgnoreFields(wechatpay.RefundNotice{}, "ID")); diff != "" {
			t.Errorf("refund notice (-want +got):\n%s", diff)
		}

		_, err = e.client.QueryRefund(ctx, "CT20260314000011R9")
		check(t, err, want{apperr.NotFound, "wechatpay_resource_not_exists"})
	})
}

func TestRefundAbnormal(t *testing.T) {
	e := setup(t, keyModes[0])
	ctx := context.Background()
	const no = "CT20260314000012"
	e.paid(t, no)
	req := wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "R12", RefundFen: 1800, TotalFen: 1800, NotifyURL: e.refundURL}
	if _, err := e.client.Refund(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.SettleRefund("R12", false); err != nil {
		t.Fatal(err)
	}
	q, err := e.client.QueryRefund(ctx, "R12")
	check(t, err, want{})
	if q.Status != wechatpay.RefundAbnormal || !q.SuccessTime.IsZero() {
		t.Errorf("status %s, success time %v; want ABNORMAL and none", q.Status, q.SuccessTime)
	}
	got := e.take()
	if len(got) != 1 || got[0].err != nil || got[0].refund.EventType != "REFUND.ABNORMAL" ||
		got[0].refund.Status != wechatpay.RefundAbnormal {
		t.Errorf("notifications: %+v, want one REFUND.ABNORMAL", got)
	}
}

func TestRefundValidatesBeforeCalling(t *testing.T) {
	e := setup(t, keyModes[0])
	tests := []wechatpay.RefundRequest{
		{OutTradeNo: "CT20260314000013", OutRefundNo: "", RefundFen: 100, TotalFen: 1800},
		{OutTradeNo: "CT20260314000013", OutRefundNo: "R1", RefundFen: 0, TotalFen: 1800},
		{OutTradeNo: "CT20260314000013", OutRefundNo: "R1", RefundFen: 1900, TotalFen: 1800},
		{OutTradeNo: "", OutRefundNo: "R1", RefundFen: 100, TotalFen: 1800},
		{OutTradeNo: "CT20260314000013", OutRefundNo: "R1", RefundFen: 100, TotalFen: 1800, NotifyURL: "/relative"},
	}
	for _, req := range tests {
		_, err := e.client.Refund(context.Background(), req)
		check(t, err, want{apperr.Invalid, "validation_failed"})
	}
	if n := e.fake.Requests(refundPath); n != 0 {
		t.Errorf("%d invalid refunds reached WeChat Pay", n)
	}
}
