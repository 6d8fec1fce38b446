// Package wechatpay is the canteen's adapter to WeChat Pay APIv3 for a direct merchant that
// sells through a mini-program (JSAPI), built on the official wechatpay-go SDK: prepay with
// the wx.requestPayment parameters, order query and close, refunds, trade bills and the
// payment and refund notifications. Money is int64 fen throughout.
//
// Every failure is an *apperr.Error: Transient when retrying may help (WeChat 5xx, 429,
// SYSTEM_ERROR, FREQUENCY_LIMITED, timeouts and network errors), NotFound, FailedPrecondition
// (ORDERPAID, ORDER_CLOSED), Invalid (PARAM_ERROR, INVALID_REQUEST, bad input, rejected
// notifications) and Internal (SIGN_ERROR, forged answers, anything unexpected). When WeChat
// answered with an error, its *core.APIError is in the chain. Secrets (the merchant key and
// the APIv3 key) are never logged or returned. A Client is safe for concurrent use.
package wechatpay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// DefaultHTTPTimeout bounds each call to WeChat Pay when Config.HTTPTimeout is zero.
const DefaultHTTPTimeout = 10 * time.Second

// Config configures a Client. MchID, AppID, MerchantSerial, MerchantKey, a 32-byte APIv3Key
// and NotifyURL are required, and a way to verify WeChat Pay's signatures: PublicKeyID with
// PublicKey ("微信支付公钥", every merchant since late 2024), PlatformCert (a platform
// certificate), or both during a migration from certificate to public key. BaseURL (scheme
// and host, e.g. a fake's URL) replaces the WeChat Pay API origin; empty means the real one.
type Config struct {
	MchID          string
	AppID          string // the mini-program's appid, bound to MchID
	MerchantSerial string // serial number of the merchant API certificate
	MerchantKey    *rsa.PrivateKey
	APIv3Key       string // decrypts notifications; 32 bytes
	PublicKeyID    string // PUB_KEY_ID_…
	PublicKey      *rsa.PublicKey
	PlatformCert   *x509.Certificate
	NotifyURL      string // where WeChat Pay posts payment notifications
	BaseURL        string
	HTTPTimeout    time.Duration // per call; DefaultHTTPTimeout when zero
}

// String describes c without its secrets, so a Config can be printed or logged.
func (c Config) String() string {
	mode := "public key " + c.PublicKeyID
	switch {
	case c.PublicKey != nil && c.PlatformCert != nil:
		mode = "public key " + c.PublicKeyID + " and platform certificate " + utils.GetCertificateSerialNumber(*c.PlatformCert)
	case c.PlatformCert != nil:
		mode = "platform certificate " + utils.GetCertificateSerialNumber(*c.PlatformCert)
	}
	base := c.BaseURL
	if base == "" {
		base = consts.WechatPayAPIServer
	}
	return fmt.Sprintf("wechatpay{mchid %s, appid %s, merchant serial %s, merchant key %s, APIv3 key %s, %s, notify %s, base %s}",
		c.MchID, c.AppID, c.MerchantSerial, masked(c.MerchantKey != nil), masked(c.APIv3Key != ""), mode, c.NotifyURL, base)
}

// LogValue logs c as String does, without its secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

func masked(set bool) string {
	if set {
		return "***"
	}
	return "(unset)"
}

// Client calls WeChat Pay for one merchant and parses its notifications. Build it with New.
type Client struct {
	mchID, appID, notifyURL string
	api                     *core.Client
	jsapi                   jsapi.JsapiApiService
	refunds                 refunddomestic.RefundsApiService
	download                *core.Client // the same client, without response validation
	notifyCheck             *validators.WechatPayNotifyValidator
	notify                  *notify.Handler
	now                     func() time.Time
}

// New returns a Client for cfg. It does no I/O. A missing or malformed setting is Invalid,
// naming the settings but never their values.
func New(cfg Config) (*Client, error) {
	var f apperr.Fields
	f.Check(cfg.MchID != "", "MchID", "required")
	f.Check(cfg.AppID != "", "AppID", "required")
	f.Check(cfg.MerchantSerial != "", "MerchantSerial", "required")
	f.Check(cfg.MerchantKey != nil, "MerchantKey", "required")
	f.Check(len(cfg.APIv3Key) == 32, "APIv3Key", "must be 32 bytes")
	f.Check(cfg.PublicKey != nil || cfg.PlatformCert != nil, "PublicKey", "a public key or a platform certificate is required")
	f.Check((cfg.PublicKey == nil) == (cfg.PublicKeyID == ""), "PublicKeyID", "PublicKeyID and PublicKey go together")
	if cfg.PlatformCert != nil {
		_, ok := cfg.PlatformCert.PublicKey.(*rsa.PublicKey)
		f.Check(ok, "PlatformCert", "must hold an RSA key")
	}
	notifyURL, err := url.Parse(cfg.NotifyURL)
	f.Check(err == nil && notifyURL.Host != "" && (notifyURL.Scheme == "https" || notifyURL.Scheme == "http") &&
		notifyURL.RawQuery == "", "NotifyURL", "must be an absolute http(s) URL without a query")
	var base *url.URL
	if cfg.BaseURL != "" {
		base, err = url.Parse(cfg.BaseURL)
		f.Check(err == nil && base.Host != "" && (base.Scheme == "https" || base.Scheme == "http"),
			"BaseURL", "must be an absolute http(s) URL")
	}
	if err := f.Err(); err != nil {
		return nil, fmt.Errorf("wechatpay: config: %w", err)
	}

	var v auth.Verifier
	switch {
	case cfg.PublicKey != nil && cfg.PlatformCert != nil:
		v = verifiers.NewSHA256WithRSACombinedVerifier(
			core.NewCertificateMapWithList([]*x509.Certificate{cfg.PlatformCert}), cfg.PublicKeyID, *cfg.PublicKey)
	case cfg.PublicKey != nil:
		v = verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PublicKeyID, *cfg.PublicKey)
	default:
		v = verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList([]*x509.Certificate{cfg.PlatformCert}))
	}
	v = taggedVerifier{v}

	timeout := cfg.HTTPTimeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	var transport http.RoundTripper = http.DefaultTransport
	if t, ok := transport.(*http.Transport); ok {
		transport = t.Clone() // its own connection pool
	}
	hc := &http.Client{Timeout: timeout, Transport: transport}
	if base != nil {
		hc.Transport = rewriteTransport{scheme: base.Scheme, host: base.Host, next: transport}
	}

	opts := []core.ClientOption{option.WithHTTPClient(hc)}
	if cfg.PublicKey != nil {
		// Signer, validator and sensitive-field cipher in one; the validator is replaced
		// below by one that uses the tagged verifier (a later option wins).
		opts = append(opts, option.WithWechatPayPublicKeyAuthCipher(
			cfg.MchID, cfg.MerchantSerial, cfg.MerchantKey, cfg.PublicKeyID, cfg.PublicKey))
	} else {
		opts = append(opts, option.WithMerchantCredential(cfg.MchID, cfg.MerchantSerial, cfg.MerchantKey))
	}
	opts = append(opts, option.WithVerifier(v))
	api, err := core.NewClient(context.Background(), opts...)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Internal, "wechatpay_client", "cannot build the WeChat Pay client")
	}
	h, err := notify.NewRSANotifyHandler(cfg.APIv3Key, v)
	if err != nil { // cannot happen with a 32-byte key; the error names no secret
		return nil, apperr.Wrap(err, apperr.Internal, "wechatpay_client", "cannot build the notification handler")
	}
	return &Client{
		mchID:       cfg.MchID,
		appID:       cfg.AppID,
		notifyURL:   cfg.NotifyURL,
		api:         api,
		jsapi:       jsapi.JsapiApiService{Client: api},
		refunds:     refunddomestic.RefundsApiService{Client: api},
		download:    core.NewClientWithValidator(api, &validators.NullValidator{}),
		notifyCheck: validators.NewWechatPayNotifyValidator(v),
		notify:      h,
		now:         time.Now,
	}, nil
}

// rewriteTransport sends every request to scheme://host instead of the origin in its URL.
// The SDK hard-codes the WeChat Pay origin and signs only the request URI, so this is
// how a Client reaches a fake. It also keeps bill downloads on the configured origin.
type rewriteTransport struct {
	scheme, host string
	next         http.RoundTripper
}

func (t rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = t.scheme, t.host, t.host
	return t.next.RoundTrip(r2)
}

// taggedVerifier marks signature failures so that a forged or altered answer is told apart
// from other errors.
type taggedVerifier struct{ auth.Verifier }

// errBadSignature is in the chain of every signature the verifier rejects.
var errBadSignature = errors.New("wechatpay: signature does not verify")

func (v taggedVerifier) Verify(ctx context.Context, serial, message, signature string) error {
	if err := v.Verifier.Verify(ctx, serial, message, signature); err != nil {
		return fmt.Errorf("%w: %w", errBadSignature, err)
	}
	return nil
}

// LoadPrivateKeyFile reads the merchant's PKCS #8 private key (apiclient_key.pem).
// Errors are Invalid; they name the file, never its content.
func LoadPrivateKeyFile(path string) (*rsa.PrivateKey, error) {
	k, err := utils.LoadPrivateKeyWithPath(path)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Invalid, "wechatpay_key_file",
			"cannot load the merchant private key (PKCS #8 \"PRIVATE KEY\" PEM) from "+path)
	}
	return k, nil
}

// LoadPublicKeyFile reads the WeChat Pay public key (pub_key.pem, PKIX "PUBLIC KEY" PEM).
// Errors are Invalid.
func LoadPublicKeyFile(path string) (*rsa.PublicKey, error) {
	k, err := utils.LoadPublicKeyWithPath(path)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Invalid, "wechatpay_key_file",
			"cannot load the WeChat Pay public key (\"PUBLIC KEY\" PEM) from "+path)
	}
	return k, nil
}

// LoadCertificateFile reads a WeChat Pay platform certificate (PEM). Errors are Invalid.
func LoadCertificateFile(path string) (*x509.Certificate, error) {
	c, err := utils.LoadCertificateWithPath(path)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Invalid, "wechatpay_key_file",
			"cannot load the platform certificate (\"CERTIFICATE\" PEM) from "+path)
	}
	return c, nil
}

// apiURL is the WeChat Pay URL of path; the transport sends it to BaseURL when set.
func apiURL(path string) string { return consts.WechatPayAPIServer + path }
