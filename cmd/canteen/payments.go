package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/config"
	"github.com/canteen-oss/canteen/internal/fundingdb"
	"github.com/canteen-oss/canteen/internal/orderdb"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
	"github.com/canteen-oss/canteen/internal/paymentdb"
)

// usePayments builds the payment service on a WeChat Pay client. Refund notifications
// go to the refund-notify endpoint next to the payment notify URL; with another notify
// URL the sweep queries refunds instead.
func (s *system) usePayments(client *wechatpay.Client, mchID, appID, notifyURL string) {
	orders := orderdb.New(s.db, fundingdb.NewLedger())
	store := paymentdb.New(s.db, orders)
	refundURL := ""
	if base, ok := strings.CutSuffix(notifyURL, "/payments/wechat/notify"); ok {
		refundURL = base + "/payments/wechat/refund-notify"
	}
	s.payments = payment.NewService(orders, store, client.Gateway(),
		payment.Options{Merchant: payment.Merchant{MchID: mchID, AppID: appID}}).
		WithRefunds(payment.RefundOptions{Store: store, Refunder: client.Refunder(refundURL)})
	s.payNotice = client.PaymentNotice
	s.refundNotice = client.RefundNotice
	s.bills = payment.NewBills(paymentdb.NewBillStore(s.db), client.BillGateway(), payment.BillOptions{MchID: mchID})
	s.reconcile = payment.NewReconciliation(paymentdb.NewReconcileStore(s.db), payment.ReconcileOptions{MchID: mchID})
}

// realPayments connects to WeChat Pay as configured; without a merchant id it does nothing.
func (s *system) realPayments(cfg config.Config) error {
	p := cfg.Pay
	if !p.Enabled() {
		s.log.Warn("WeChat Pay is not configured (CANTEEN_WECHATPAY_MCHID): orders can be paid in cash at the counter only")
		return nil
	}
	key, err := wechatpay.LoadPrivateKeyFile(p.MerchantKeyFile)
	if err != nil {
		return fmt.Errorf("CANTEEN_WECHATPAY_KEY_FILE: %w", err)
	}
	wc := wechatpay.Config{MchID: p.MchID, AppID: cfg.WeChatAppID, MerchantSerial: p.MerchantSerial, MerchantKey: key,
		APIv3Key: p.APIv3Key, NotifyURL: p.NotifyURL, BaseURL: p.BaseURL}
	if p.PublicKeyFile != "" {
		if wc.PublicKey, err = wechatpay.LoadPublicKeyFile(p.PublicKeyFile); err != nil {
			return fmt.Errorf("CANTEEN_WECHATPAY_PUBLIC_KEY_FILE: %w", err)
		}
		wc.PublicKeyID = p.PublicKeyID
	} else if wc.PlatformCert, err = wechatpay.LoadCertificateFile(p.PlatformCertFile); err != nil {
		return fmt.Errorf("CANTEEN_WECHATPAY_PLATFORM_CERT_FILE: %w", err)
	}
	client, err := wechatpay.New(wc)
	if err != nil {
		return fmt.Errorf("WeChat Pay: %w", err)
	}
	s.usePayments(client, p.MchID, cfg.WeChatAppID, p.NotifyURL)
	return nil
}

// Demo merchant of the fake WeChat Pay.
const (
	demoMchID    = "1900000001"
	demoAPIv3Key = "demo-apiv3-key-not-secret-000000"
	demoSerial   = "DEMO0000000000000000000000000001"
)

// fakePayments starts the local fake WeChat Pay for `canteen dev` and pays through it;
// its notifications come back to this process's notify endpoint. It returns the fake's URL.
func (s *system) fakePayments(ctx context.Context, cfg config.Config) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	fake := wechatpayfake.New(wechatpayfake.Options{MchID: demoMchID, AppID: cfg.WeChatAppID, APIv3Key: demoAPIv3Key,
		Mode: wechatpayfake.PublicKey, MerchantPublicKey: &key.PublicKey, MerchantSerial: demoSerial})
	ln, err := net.Listen("tcp", cfg.Pay.DevAddr)
	if err != nil {
		return "", fmt.Errorf("fake WeChat Pay: listen on CANTEEN_DEV_WECHATPAY_ADDR %s: %w", cfg.Pay.DevAddr, err)
	}
	_ = ln.Close()
	go func() {
		if err := fake.ListenAndServe(ctx, cfg.Pay.DevAddr); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("fake WeChat Pay stopped", "err", err.Error())
		}
	}()
	host, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return "", err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + cfg.Pay.DevAddr
	notify := "http://" + net.JoinHostPort(host, port) + "/api/v1/payments/wechat/notify"
	client, err := wechatpay.New(wechatpay.Config{MchID: demoMchID, AppID: cfg.WeChatAppID, MerchantSerial: demoSerial,
		MerchantKey: key, APIv3Key: demoAPIv3Key, PublicKeyID: fake.PublicKeyID(), PublicKey: fake.PublicKey(),
		NotifyURL: notify, BaseURL: url, HTTPTimeout: 10 * time.Second})
	if err != nil {
		return "", err
	}
	s.usePayments(client, demoMchID, cfg.WeChatAppID, notify)
	return url, nil
}
