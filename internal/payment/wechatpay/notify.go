package wechatpay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Notification limits, as the SDK and WeChat Pay apply them.
const (
	notifyMaxAge  = 5 * time.Minute // |now - Wechatpay-Timestamp| must be below this
	notifyMaxBody = 1 << 20
	signTestTag   = "WECHATPAY/SIGNTEST/" // WeChat's signature probes; they must get a 4xx
)

// RefundNotice is a REFUND.* notification: the final state of a refund.
type RefundNotice struct {
	ID                  string // the notification id; WeChat repeats it on retries
	EventType           string // REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED
	MchID               string
	OutTradeNo          string
	TransactionID       string
	OutRefundNo         string
	RefundID            string
	Status              RefundStatus
	SuccessTime         time.Time // zero unless RefundSuccess
	UserReceivedAccount string
	TotalFen            int64
	RefundFen           int64
	PayerTotalFen       int64
	PayerRefundFen      int64
}

// refundResource is the decrypted resource of a REFUND.* notification; the SDK has no type.
type refundResource struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// ParsePaymentNotification verifies and decrypts a TRANSACTION.SUCCESS notification posted
// by WeChat Pay. r's body must be untouched. The same notification may come more than once;
// handling it must be idempotent, and the amount must be checked against the order.
// Every rejection (missing headers, a timestamp 5 minutes or more away, a bad signature, a
// SIGNTEST probe, an undecryptable or foreign resource) is Invalid: answer NotifyReply(err).
func (c *Client) ParsePaymentNotification(r *http.Request) (Transaction, error) {
	var tx payments.Transaction
	n, err := c.parseNotification(r, &tx)
	if err != nil {
		return Transaction{}, fmt.Errorf("wechatpay: payment notification: %w", err)
	}
	if n.EventType != "TRANSACTION.SUCCESS" {
		return Transaction{}, notifyRejected("wechatpay_notify_event", fmt.Errorf("event type %q", n.EventType))
	}
	t, err := fromSDKTransaction(&tx)
	if err != nil {
		return Transaction{}, notifyRejected("wechatpay_notify_malformed", err)
	}
	if t.MchID != c.mchID || t.AppID != c.appID {
		return Transaction{}, notifyRejected("wechatpay_notify_foreign",
			fmt.Errorf("mchid %q appid %q are not this merchant's", t.MchID, t.AppID))
	}
	return t, nil
}

// ParseRefundNotification verifies and decrypts a REFUND.SUCCESS, REFUND.ABNORMAL or
// REFUND.CLOSED notification, as ParsePaymentNotification does. Rejections are Invalid.
func (c *Client) ParseRefundNotification(r *http.Request) (RefundNotice, error) {
	var res refundResource
	n, err := c.parseNotification(r, &res)
	if err != nil {
		return RefundNotice{}, fmt.Errorf("wechatpay: refund notification: %w", err)
	}
	if !strings.HasPrefix(n.EventType, "REFUND.") {
		return RefundNotice{}, notifyRejected("wechatpay_notify_event", fmt.Errorf("event type %q", n.EventType))
	}
	if res.MchID != c.mchID {
		return RefundNotice{}, notifyRejected("wechatpay_notify_foreign",
			fmt.Errorf("mchid %q is not this merchant's", res.MchID))
	}
	out := RefundNotice{
		ID: n.ID, EventType: n.EventType, MchID: res.MchID, OutTradeNo: res.OutTradeNo,
		TransactionID: res.TransactionID, OutRefundNo: res.OutRefundNo, RefundID: res.RefundID,
		Status: RefundStatus(res.RefundStatus), UserReceivedAccount: res.UserReceivedAccount,
		TotalFen: res.Amount.Total, RefundFen: res.Amount.Refund,
		PayerTotalFen: res.Amount.PayerTotal, PayerRefundFen: res.Amount.PayerRefund,
	}
	if res.SuccessTime != "" {
		if out.SuccessTime, err = time.Parse(time.RFC3339, res.SuccessTime); err != nil {
			return RefundNotice{}, notifyRejected("wechatpay_notify_malformed", err)
		}
	}
	return out, nil
}

func notifyRejected(code string, cause error) error {
	return fmt.Errorf("wechatpay: notification: %w", apperr.Wrap(cause, apperr.Invalid, code,
		"微信支付通知无效 / invalid WeChat Pay notification"))
}

// parseNotification checks the headers, the timestamp and the signature, then decrypts the
// resource into content. The SDK checks the same things; checking here first gives each
// rejection its own code and keeps malformed resources away from the SDK, which panics on
// a missing resource or a nonce that is not 12 bytes.
func (c *Client) parseNotification(r *http.Request, content any) (*notify.Request, error) {
	h := r.Header
	if strings.HasPrefix(h.Get("Wechatpay-Signature"), signTestTag) {
		return nil, notifyRejected("wechatpay_notify_probe", errors.New("signature probe (SIGNTEST)"))
	}
	for _, k := range []string{"Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce"} {
		if strings.TrimSpace(h.Get(k)) == "" {
			return nil, notifyRejected("wechatpay_notify_headers", fmt.Errorf("header %s is missing", k))
		}
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(h.Get("Wechatpay-Timestamp")), 10, 64)
	if err != nil {
		return nil, notifyRejected("wechatpay_notify_headers", fmt.Errorf("bad Wechatpay-Timestamp: %w", err))
	}
	if age := c.now().Sub(time.Unix(ts, 0)).Abs(); age >= notifyMaxAge {
		return nil, notifyRejected("wechatpay_notify_stale", fmt.Errorf("timestamp is %s away", age.Truncate(time.Second)))
	}
	if r.Body == nil {
		return nil, notifyRejected("wechatpay_notify_malformed", errors.New("no body"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, notifyMaxBody+1))
	if err != nil {
		return nil, notifyRejected("wechatpay_notify_malformed", fmt.Errorf("read body: %w", err))
	}
	if len(body) > notifyMaxBody {
		return nil, notifyRejected("wechatpay_notify_malformed", errors.New("body too large"))
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := c.notifyCheck.Validate(r.Context(), r); err != nil {
		return nil, notifyRejected("wechatpay_notify_signature", err)
	}
	var env struct {
		Resource *struct {
			Algorithm string `json:"algorithm"`
			Nonce     string `json:"nonce"`
		} `json:"resource"`
	}
	switch err := json.Unmarshal(body, &env); {
	case err != nil:
		return nil, notifyRejected("wechatpay_notify_malformed", err)
	case env.Resource == nil || len(env.Resource.Nonce) != 12 || env.Resource.Algorithm != "AEAD_AES_256_GCM":
		return nil, notifyRejected("wechatpay_notify_malformed", errors.New("resource missing or not AEAD_AES_256_GCM with a 12-byte nonce"))
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	n, err := c.notify.ParseNotifyRequest(r.Context(), r, content)
	if err != nil {
		// The SDK's message embeds the whole request; keep only the cause's first line.
		msg, _, _ := strings.Cut(err.Error(), ", request:")
		return nil, notifyRejected("wechatpay_notify_undecryptable", errors.New(msg))
	}
	return n, nil
}

// FailBody is the body of a non-2xx answer to a notification, as WeChat Pay specifies:
// {"code":"FAIL","message":msg}.
func FailBody(msg string) []byte {
	b, _ := json.Marshal(map[string]string{"code": "FAIL", "message": msg})
	return b
}

// NotifyReply returns the answer to a notification whose handling ended with err: 204 and
// no body when err is nil (WeChat Pay stops sending it); 400 with FailBody for Invalid (a
// rejected notification or probe); 500 with FailBody otherwise. WeChat Pay sends again
// after any non-2xx answer, for about 24 hours.
func NotifyReply(err error) (status int, body []byte) {
	switch {
	case err == nil:
		return http.StatusNoContent, nil
	case apperr.KindOf(err) == apperr.Invalid:
		return http.StatusBadRequest, FailBody("通知无效")
	default:
		return http.StatusInternalServerError, FailBody("失败")
	}
}
