package monthgen

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
	"github.com/canteen-oss/canteen/internal/paymentdb"
)

const (
	apiV3Key       = "monthgen-apiv3-key-0000000000000"
	merchantSerial = "5157F09EFDC096DE15EBE81A47057A72"
	notifyPath     = "/payments/wechat/notify"
	refundPath     = "/payments/wechat/refund-notify"
)

// wireWeChatPay starts the fake WeChat Pay on the world's clock, a client of it with a
// merchant key of its own, and the receiver its notifications are posted to; then the
// payment service, trade bills and reconciliation on them.
func (w *World) wireWeChatPay() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	w.fake = wechatpayfake.New(wechatpayfake.Options{MchID: w.MchID, AppID: w.AppID, APIv3Key: apiV3Key,
		Mode: wechatpayfake.PublicKey, MerchantPublicKey: &key.PublicKey, MerchantSerial: merchantSerial, Now: w.Clock.Now})
	fakeURL, stopFake := w.fake.Start()
	w.stop = append(w.stop, stopFake)
	w.receive = &receiver{w: w, drop: map[string]bool{}}
	srv := httptest.NewServer(w.receive)
	w.stop = append(w.stop, srv.Close)
	client, err := wechatpay.New(wechatpay.Config{MchID: w.MchID, AppID: w.AppID, MerchantSerial: merchantSerial, MerchantKey: key,
		APIv3Key: apiV3Key, PublicKeyID: w.fake.PublicKeyID(), PublicKey: w.fake.PublicKey(), NotifyURL: srv.URL + notifyPath,
		BaseURL: fakeURL, HTTPTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	w.receive.client = client
	w.pay = payment.NewService(w.ostore, w.pstore, client.Gateway(),
		payment.Options{Merchant: payment.Merchant{MchID: w.MchID, AppID: w.AppID}, Now: w.Clock.Now}).
		WithRefunds(payment.RefundOptions{Store: w.pstore, Refunder: client.Refunder(srv.URL + refundPath)})
	w.bills = payment.NewBills(paymentdb.NewBillStore(w.DB), billGateway{w}, payment.BillOptions{MchID: w.MchID, Now: w.Clock.Now})
	w.recon = payment.NewReconciliation(paymentdb.NewReconcileStore(w.DB), payment.ReconcileOptions{MchID: w.MchID, Now: w.Clock.Now})
	return nil
}

var _ http.Handler = (*receiver)(nil)

// receiver is the canteen's end of WeChat Pay's notifications, doing what the API's
// notify handlers do: verify and decrypt (the real wechatpay client), record once, and
// answer as WeChat Pay expects. A payment whose out_trade_no is marked lost is answered
// 500 before anything is recorded, as if the canteen had been unreachable.
type receiver struct {
	w      *World
	client *wechatpay.Client

	mu                             sync.Mutex
	drop                           map[string]bool
	received, duplicate, lost, ref int
}

func (r *receiver) loseNext(outTradeNo string) {
	r.mu.Lock()
	r.drop[outTradeNo] = true
	r.mu.Unlock()
}

func (r *receiver) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	var err error
	switch req.URL.Path {
	case notifyPath:
		var t payment.Transaction
		if t, err = r.client.PaymentNotice(req); err == nil {
			r.mu.Lock()
			lost := r.drop[t.OutTradeNo]
			delete(r.drop, t.OutTradeNo)
			if lost {
				r.lost++
			} else {
				r.received++
			}
			r.mu.Unlock()
			if lost {
				err = apperr.New(apperr.Transient, "unreachable", "the canteen did not answer")
				break
			}
			var out payment.Outcome
			if out, err = r.w.pay.Notified(req.Context(), t); err == nil && out == payment.Duplicate {
				r.mu.Lock()
				r.duplicate++
				r.mu.Unlock()
			}
		}
	case refundPath:
		var st payment.RefundState
		if st, err = r.client.RefundNotice(req); err == nil {
			_, err = r.w.pay.RefundNotified(req.Context(), st)
			r.mu.Lock()
			r.ref++
			r.mu.Unlock()
		}
	default:
		http.NotFound(rw, req)
		return
	}
	status, body := wechatpay.NotifyReply(err)
	if err != nil && apperr.KindOf(err) != apperr.Transient {
		r.w.logf("notification %s refused: %v", req.URL.Path, err)
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write(body)
}
