// Package payment takes diners' money through WeChat Pay: one out_trade_no per payable
// amount of an order, a prepay the mini-program turns into wx.requestPayment, and the
// payment WeChat reports — by notification or, when none came, by the sweeper's query —
// recorded at most once per transaction_id. It declares the Gateway it needs; the
// adapter on the wechatpay-go SDK lives in payment/wechatpay.
package payment

import (
	"context"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Gateway is WeChat Pay as the service needs it.
type Gateway interface {
	Prepay(ctx context.Context, r PrepayRequest) (RequestPayment, error)
	Query(ctx context.Context, outTradeNo string) (Transaction, error)
	Close(ctx context.Context, outTradeNo string) error
}

// PrepayRequest is a JSAPI prepay: AmountFen from the diner OpenID of this app, payable
// until Expire.
type PrepayRequest struct {
	OutTradeNo  string
	Description string
	AmountFen   int64
	OpenID      string
	Expire      time.Time
}

// RequestPayment are the wx.requestPayment parameters (all strings, as the mini-program wants).
type RequestPayment struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
	PrepayID  string `json:"-"`
}

// Trade states WeChat reports.
const (
	StateSuccess  = "SUCCESS"
	StateNotPay   = "NOTPAY"
	StateClosed   = "CLOSED"
	StateRefund   = "REFUND"
	StatePaying   = "USERPAYING"
	StatePayError = "PAYERROR"
)

// Transaction is what WeChat says about one out_trade_no.
type Transaction struct {
	OutTradeNo    string
	TransactionID string
	State         string
	AmountFen     int64
	PayerOpenID   string
	MchID         string
	AppID         string
	SuccessTime   time.Time
}

// Source says how the service learnt of a payment.
type Source string

// The sources.
const (
	FromNotification Source = "notification"
	FromQuery        Source = "query"
)

// Outcome is what recording a payment did.
type Outcome string

// The outcomes.
const (
	Credited  Outcome = "credited"   // the order is now paid
	Duplicate Outcome = "duplicate"  // this transaction_id was recorded before: nothing changed
	Flagged   Outcome = "flagged"    // amount, merchant or app do not match: staff must look
	RefundDue Outcome = "refund_due" // the order was cancelled or expired (or paid twice): the money goes back
)

// Intent is one out_trade_no of an order.
type Intent struct {
	ID          int64
	CommunityID int64
	OrderID     int64
	OutTradeNo  string
	AmountFen   int64
	PayerOpenID string
	PrepayID    string
	ExpiresAt   time.Time
	Status      string // open, paid, closed
	CreatedAt   time.Time
}

// Errors.
var (
	ErrNotPayable   = apperr.New(apperr.FailedPrecondition, "not_payable", "订单不需要或不能再支付 / the order is not awaiting payment")
	ErrNotYourOrder = apperr.New(apperr.NotFound, "order_not_found", "no such order")
	ErrNoWeChat     = apperr.New(apperr.FailedPrecondition, "no_wechat_payer", "这个订单没有可用微信支付的就餐人 / the order has no WeChat payer")
	ErrUnknownTrade = apperr.New(apperr.Invalid, "unknown_trade", "unknown out_trade_no")
)

// Merchant is who a payment must be for: our merchant id and app id.
type Merchant struct {
	MchID string
	AppID string
}

// Payment is one recorded payment.
type Payment struct {
	ID            int64   `json:"id"`
	OrderID       int64   `json:"order_id"`
	TransactionID string  `json:"transaction_id"`
	OutTradeNo    string  `json:"out_trade_no"`
	AmountFen     int64   `json:"amount_fen"`
	Source        Source  `json:"source"`
	Outcome       Outcome `json:"outcome"`
	FlagReason    string  `json:"flag_reason,omitempty"`
}

// Store keeps intents and payments. Record is the one transaction that takes a payment:
// a duplicate transaction_id changes nothing (Duplicate); an amount, merchant or app that
// does not match is Flagged and the order stays unpaid; an order no longer awaiting
// payment gets a refund recorded (RefundDue); otherwise the order is paid (Credited).
// An out_trade_no that is not ours is ErrUnknownTrade.
type Store interface {
	OpenIntent(ctx context.Context, orderID int64) (Intent, error)
	NewIntent(ctx context.Context, in Intent) (Intent, error)
	SetPrepay(ctx context.Context, intentID int64, prepayID string) error
	Record(ctx context.Context, t Transaction, src Source, want Merchant) (Outcome, error)
	DueForQuery(ctx context.Context, olderThan, now time.Time, limit int) ([]Intent, error)
	MarkQueried(ctx context.Context, intentID int64, at time.Time) error
	CloseIntent(ctx context.Context, intentID int64) error
	PaymentsOf(ctx context.Context, orderID int64) ([]Payment, error)
	NeedingAttention(ctx context.Context, communityID int64, limit int) ([]Payment, error)
}
