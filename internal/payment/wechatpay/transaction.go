package wechatpay

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// TradeState is the state of a WeChat Pay order (trade_state).
type TradeState string

// The trade states WeChat Pay reports.
const (
	TradeSuccess    TradeState = "SUCCESS"    // paid
	TradeRefund     TradeState = "REFUND"     // paid, then (partly) refunded
	TradeNotPay     TradeState = "NOTPAY"     // not paid yet
	TradeClosed     TradeState = "CLOSED"     // closed unpaid
	TradeRevoked    TradeState = "REVOKED"    // revoked (not used by JSAPI)
	TradeUserPaying TradeState = "USERPAYING" // the diner is entering a password
	TradePayError   TradeState = "PAYERROR"   // payment failed, e.g. the bank refused
)

// PrepayRequest is one payable order.
type PrepayRequest struct {
	OutTradeNo  string    // 6–32 digits, letters or _-|*; unique per merchant, one per payable amount
	Description string    // what the diner sees in WeChat; at most 127 characters
	AmountFen   int64     // > 0
	OpenID      string    // the diner's openid for the mini-program (Config.AppID)
	Expire      time.Time // optional; sent in Asia/Shanghai time, whole seconds
	Attach      string    // optional, at most 128 characters; echoed in queries and notifications
}

// RequestPayment holds the parameters the mini-program passes to wx.requestPayment (the
// JSON names are wx's). Its success is not proof of payment: wait for the notification or
// Query the order.
type RequestPayment struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"` // "prepay_id=…"
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
	PrepayID  string `json:"-"`
}

// Transaction is a WeChat Pay order as a query or a payment notification reports it.
type Transaction struct {
	OutTradeNo    string
	TransactionID string // WeChat's id, set once paid
	State         TradeState
	AmountFen     int64 // the order total
	PayerTotalFen int64 // what the diner paid; set once paid
	PayerOpenID   string
	MchID         string
	AppID         string
	Attach        string
	SuccessTime   time.Time // zero until paid
}

// validOutNo reports whether no is a merchant number WeChat Pay accepts: min–max
// characters of digits, letters and _-|*.
func validOutNo(no string, minLen, maxLen int) bool {
	if len(no) < minLen || len(no) > maxLen {
		return false
	}
	for _, c := range []byte(no) {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			c == '_' || c == '-' || c == '|' || c == '*'
		if !ok {
			return false
		}
	}
	return true
}

// Prepay places the order with WeChat Pay and returns the signed wx.requestPayment
// parameters. Placing the same OutTradeNo again with identical fields returns the same
// prepay_id; with different fields it is Invalid. Errors: Invalid (bad request),
// FailedPrecondition (already paid or closed), Transient, Internal.
func (c *Client) Prepay(ctx context.Context, req PrepayRequest) (RequestPayment, error) {
	var f apperr.Fields
	f.Check(validOutNo(req.OutTradeNo, 6, 32), "out_trade_no", "6-32 digits, letters or _-|*")
	n := utf8.RuneCountInString(req.Description)
	f.Check(n >= 1 && n <= 127, "description", "1-127 characters")
	f.Check(req.AmountFen > 0, "amount", "must be more than 0 fen")
	f.Check(req.OpenID != "", "openid", "required")
	f.Check(utf8.RuneCountInString(req.Attach) <= 128, "attach", "at most 128 characters")
	if err := f.Err(); err != nil {
		return RequestPayment{}, fmt.Errorf("wechatpay: prepay %s: %w", req.OutTradeNo, err)
	}
	r := jsapi.PrepayRequest{
		Appid:       core.String(c.appID),
		Mchid:       core.String(c.mchID),
		Description: core.String(req.Description),
		OutTradeNo:  core.String(req.OutTradeNo),
		NotifyUrl:   core.String(c.notifyURL),
		Amount:      &jsapi.Amount{Total: core.Int64(req.AmountFen), Currency: core.String("CNY")},
		Payer:       &jsapi.Payer{Openid: core.String(req.OpenID)},
	}
	if !req.Expire.IsZero() {
		r.TimeExpire = core.Time(req.Expire.In(civil.Shanghai()))
	}
	if req.Attach != "" {
		r.Attach = core.String(req.Attach)
	}
	resp, _, err := c.jsapi.PrepayWithRequestPayment(ctx, r)
	if err != nil {
		return RequestPayment{}, classify("prepay "+req.OutTradeNo, err)
	}
	return RequestPayment{
		AppID:     deref(resp.Appid),
		TimeStamp: deref(resp.TimeStamp),
		NonceStr:  deref(resp.NonceStr),
		Package:   deref(resp.Package),
		SignType:  deref(resp.SignType),
		PaySign:   deref(resp.PaySign),
		PrepayID:  deref(resp.PrepayId),
	}, nil
}

// Query returns the order as WeChat Pay has it now. Errors: Invalid (empty number),
// NotFound (never placed), Transient, Internal.
func (c *Client) Query(ctx context.Context, outTradeNo string) (Transaction, error) {
	if outTradeNo == "" {
		return Transaction{}, apperr.New(apperr.Invalid, "wechatpay_out_trade_no", "out_trade_no is required")
	}
	tx, _, err := c.jsapi.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.mchID),
	})
	if err != nil {
		return Transaction{}, classify("query "+outTradeNo, err)
	}
	t, err := fromSDKTransaction(tx)
	if err != nil {
		return Transaction{}, fmt.Errorf("wechatpay: query %s: %w", outTradeNo, err)
	}
	return t, nil
}

// Close closes an unpaid order so that it can no longer be paid; closing a closed order
// succeeds. Errors: Invalid, NotFound, FailedPrecondition (already paid), Transient, Internal.
func (c *Client) Close(ctx context.Context, outTradeNo string) error {
	if outTradeNo == "" {
		return apperr.New(apperr.Invalid, "wechatpay_out_trade_no", "out_trade_no is required")
	}
	_, err := c.jsapi.CloseOrder(ctx, jsapi.CloseOrderRequest{
		OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.mchID),
	})
	if err != nil {
		return classify("close "+outTradeNo, err)
	}
	return nil
}

// fromSDKTransaction converts the SDK's transaction; a malformed success_time is Internal.
func fromSDKTransaction(tx *payments.Transaction) (Transaction, error) {
	if tx == nil {
		return Transaction{}, apperr.New(apperr.Internal, "wechatpay_bad_answer", detailFailed)
	}
	t := Transaction{
		OutTradeNo:    deref(tx.OutTradeNo),
		TransactionID: deref(tx.TransactionId),
		State:         TradeState(deref(tx.TradeState)),
		MchID:         deref(tx.Mchid),
		AppID:         deref(tx.Appid),
		Attach:        deref(tx.Attach),
	}
	if tx.Amount != nil {
		t.AmountFen, t.PayerTotalFen = deref(tx.Amount.Total), deref(tx.Amount.PayerTotal)
	}
	if tx.Payer != nil {
		t.PayerOpenID = deref(tx.Payer.Openid)
	}
	if s := deref(tx.SuccessTime); s != "" {
		st, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return Transaction{}, apperr.Wrap(err, apperr.Internal, "wechatpay_bad_answer", detailFailed)
		}
		t.SuccessTime = st
	}
	return t, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
