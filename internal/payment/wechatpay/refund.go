package wechatpay

import (
	"context"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// RefundStatus is the state of a WeChat Pay refund.
type RefundStatus string

// The refund states WeChat Pay reports.
const (
	RefundProcessing RefundStatus = "PROCESSING" // accepted; the final state comes by notification or query
	RefundSuccess    RefundStatus = "SUCCESS"
	RefundClosed     RefundStatus = "CLOSED"
	RefundAbnormal   RefundStatus = "ABNORMAL" // stuck (e.g. the diner's card is closed); needs a person
)

// RefundRequest refunds part or all of a paid order.
type RefundRequest struct {
	OutTradeNo  string
	OutRefundNo string // 1–64 digits, letters or _-|*; the idempotency key: repeat it to retry
	RefundFen   int64  // > 0; all refunds of an order add up to at most TotalFen
	TotalFen    int64  // the order's total, as paid
	Reason      string // optional, shown to the diner; at most 80 characters
	NotifyURL   string // optional; where WeChat Pay posts the REFUND.* notification
}

// Refund is a refund as WeChat Pay reports it.
type Refund struct {
	OutRefundNo         string
	RefundID            string
	OutTradeNo          string
	TransactionID       string
	Status              RefundStatus
	RefundFen           int64
	TotalFen            int64
	PayerRefundFen      int64  // what goes back to the diner
	Channel             string // ORIGINAL, BALANCE, …
	UserReceivedAccount string // e.g. 支付用户零钱
	CreateTime          time.Time
	SuccessTime         time.Time // zero unless Status is RefundSuccess
}

// Refund asks WeChat Pay to refund; the answer is normally RefundProcessing. Repeating the
// same OutRefundNo with the same amounts returns the same refund. Errors: Invalid (bad
// request, more than the order has left, a reused OutRefundNo), NotFound (no such order),
// Transient, Internal.
func (c *Client) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	var f apperr.Fields
	f.Check(validOutNo(req.OutTradeNo, 6, 32), "out_trade_no", "6-32 digits, letters or _-|*")
	f.Check(validOutNo(req.OutRefundNo, 1, 64), "out_refund_no", "1-64 digits, letters or _-|*")
	f.Check(req.RefundFen > 0, "refund", "must be more than 0 fen")
	f.Check(req.TotalFen >= req.RefundFen, "total", "must be at least the refund")
	f.Check(utf8.RuneCountInString(req.Reason) <= 80, "reason", "at most 80 characters")
	if req.NotifyURL != "" {
		u, err := url.Parse(req.NotifyURL)
		f.Check(err == nil && u.Host != "" && u.RawQuery == "", "notify_url", "an absolute URL without a query")
	}
	if err := f.Err(); err != nil {
		return Refund{}, fmt.Errorf("wechatpay: refund %s: %w", req.OutRefundNo, err)
	}
	r := refunddomestic.CreateRequest{
		OutTradeNo:  core.String(req.OutTradeNo),
		OutRefundNo: core.String(req.OutRefundNo),
		Amount: &refunddomestic.AmountReq{
			Refund: core.Int64(req.RefundFen), Total: core.Int64(req.TotalFen), Currency: core.String("CNY"),
		},
	}
	if req.Reason != "" {
		r.Reason = core.String(req.Reason)
	}
	if req.NotifyURL != "" {
		r.NotifyUrl = core.String(req.NotifyURL)
	}
	resp, _, err := c.refunds.Create(ctx, r)
	if err != nil {
		return Refund{}, classify("refund "+req.OutRefundNo, err)
	}
	return fromSDKRefund(resp), nil
}

// QueryRefund returns the refund as WeChat Pay has it now. Errors: Invalid (empty number),
// NotFound, Transient, Internal.
func (c *Client) QueryRefund(ctx context.Context, outRefundNo string) (Refund, error) {
	if outRefundNo == "" {
		return Refund{}, apperr.New(apperr.Invalid, "wechatpay_out_refund_no", "out_refund_no is required")
	}
	resp, _, err := c.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{
		OutRefundNo: core.String(outRefundNo),
	})
	if err != nil {
		return Refund{}, classify("query refund "+outRefundNo, err)
	}
	return fromSDKRefund(resp), nil
}

func fromSDKRefund(r *refunddomestic.Refund) Refund {
	if r == nil {
		return Refund{}
	}
	out := Refund{
		OutRefundNo:         deref(r.OutRefundNo),
		RefundID:            deref(r.RefundId),
		OutTradeNo:          deref(r.OutTradeNo),
		TransactionID:       deref(r.TransactionId),
		Status:              RefundStatus(deref(r.Status)),
		Channel:             string(deref(r.Channel)),
		UserReceivedAccount: deref(r.UserReceivedAccount),
		CreateTime:          deref(r.CreateTime),
		SuccessTime:         deref(r.SuccessTime),
	}
	if a := r.Amount; a != nil {
		out.RefundFen, out.TotalFen, out.PayerRefundFen = deref(a.Refund), deref(a.Total), deref(a.PayerRefund)
	}
	return out
}
