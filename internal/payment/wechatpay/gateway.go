package wechatpay

import (
	"context"
	"net/http"

	"github.com/canteen-oss/canteen/internal/payment"
)

// Gateway returns c as the payment service's Gateway.
func (c *Client) Gateway() payment.Gateway { return gateway{c} }

type gateway struct{ c *Client }

func (g gateway) Prepay(ctx context.Context, r payment.PrepayRequest) (payment.RequestPayment, error) {
	rp, err := g.c.Prepay(ctx, PrepayRequest{OutTradeNo: r.OutTradeNo, Description: r.Description, AmountFen: r.AmountFen,
		OpenID: r.OpenID, Expire: r.Expire})
	if err != nil {
		return payment.RequestPayment{}, err
	}
	return payment.RequestPayment{AppID: rp.AppID, TimeStamp: rp.TimeStamp, NonceStr: rp.NonceStr, Package: rp.Package,
		SignType: rp.SignType, PaySign: rp.PaySign, PrepayID: rp.PrepayID}, nil
}

func (g gateway) Query(ctx context.Context, outTradeNo string) (payment.Transaction, error) {
	t, err := g.c.Query(ctx, outTradeNo)
	if err != nil {
		return payment.Transaction{}, err
	}
	return transaction(t), nil
}

func (g gateway) Close(ctx context.Context, outTradeNo string) error {
	return g.c.Close(ctx, outTradeNo)
}

func transaction(t Transaction) payment.Transaction {
	return payment.Transaction{OutTradeNo: t.OutTradeNo, TransactionID: t.TransactionID, State: string(t.State),
		AmountFen: t.AmountFen, PayerOpenID: t.PayerOpenID, MchID: t.MchID, AppID: t.AppID, SuccessTime: t.SuccessTime}
}

// PaymentNotice verifies and decrypts a payment notification for the payment service.
func (c *Client) PaymentNotice(r *http.Request) (payment.Transaction, error) {
	t, err := c.ParsePaymentNotification(r)
	if err != nil {
		return payment.Transaction{}, err
	}
	return transaction(t), nil
}

// Refunder returns c as the payment service's Refunder; WeChat sends refund
// notifications to notifyURL ("" for none: the sweep queries instead).
func (c *Client) Refunder(notifyURL string) payment.Refunder { return refunder{c, notifyURL} }

type refunder struct {
	c         *Client
	notifyURL string
}

func (r refunder) Refund(ctx context.Context, call payment.RefundCall) (payment.RefundState, error) {
	out, err := r.c.Refund(ctx, RefundRequest{OutTradeNo: call.OutTradeNo, OutRefundNo: call.OutRefundNo,
		RefundFen: call.RefundFen, TotalFen: call.TotalFen, Reason: call.Reason, NotifyURL: r.notifyURL})
	if err != nil {
		return payment.RefundState{}, err
	}
	return payment.RefundState{OutRefundNo: out.OutRefundNo, RefundID: out.RefundID, Status: string(out.Status)}, nil
}

func (r refunder) QueryRefund(ctx context.Context, no string) (payment.RefundState, error) {
	out, err := r.c.QueryRefund(ctx, no)
	if err != nil {
		return payment.RefundState{}, err
	}
	return payment.RefundState{OutRefundNo: out.OutRefundNo, RefundID: out.RefundID, Status: string(out.Status)}, nil
}

// RefundNotice verifies and decrypts a refund notification for the payment service.
func (c *Client) RefundNotice(r *http.Request) (payment.RefundState, error) {
	n, err := c.ParseRefundNotification(r)
	if err != nil {
		return payment.RefundState{}, err
	}
	return payment.RefundState{OutRefundNo: n.OutRefundNo, RefundID: n.RefundID, Status: string(n.Status)}, nil
}
