package wechatpay_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
)

const (
	mchID          = "1900000109"
	appID          = "wx0123456789abcdef"
	merchantSerial = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	apiV3Key       = "0123456789abcdefABCDEFGHIJKLMNOP" // 32 bytes
	openID         = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

	jsapiPath  = "/v3/pay/transactions/jsapi"
	refundPath = "/v3/refund/domestic/refunds"
	billPath   = "/v3/bill/tradebill"
)

func queryPath(no string) string { return "/v3/pay/transactions/out-trade-no/" + no }
func closePath(no string) string { return "/v3/pay/transactions/out-trade-no/" + no + "/close" }

// Keys are slow to make, so every test shares these; each fake still has its own
// certificate and public key id, and a separate key for forging.
var (
	merchantKey = sync.OnceValue(newKey)
	platformKey = sync.OnceValue(newKey)
)

func newKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// clock is a settable business clock for the fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// received is what the notification receiver parsed from one notification.
type received struct {
	tx     wechatpay.Transaction
	refund wechatpay.RefundNotice
	err    error
}

// env is a fake WeChat Pay, a client of it, and a receiver of its notifications that
// answers with the client's parse result.
type env struct {
	fake      *wechatpayfake.Server
	client    *wechatpay.Client
	clock     *clock
	payURL    string // the client's NotifyURL
	refundURL string

	mu       sync.Mutex
	received []received
}

// A keyMode is how a test client verifies the fake: the fake's mode, and which keys the
// client is given.
type keyMode struct {
	name     string
	fakeMode wechatpayfake.KeyMode
	pubKey   bool
	platCert bool
}

var keyModes = []keyMode{
	{name: "public key", fakeMode: wechatpayfake.PublicKey, pubKey: true},
	{name: "certificate", fakeMode: wechatpayfake.Certificate, platCert: true},
	// During a migration the client trusts both; WeChat Pay signs with either.
	{name: "migration signed by certificate", fakeMode: wechatpayfake.Certificate, pubKey: true, platCert: true},
	{name: "migration signed by public key", fakeMode: wechatpayfake.PublicKey, pubKey: true, platCert: true},
}

// forEachMode runs test once per key mode.
func forEachMode(t *testing.T, test func(t *testing.T, e *env)) {
	for _, m := range keyModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			test(t, setup(t, m))
		})
	}
}

func setup(t *testing.T, m keyMode, configure ...func(*wechatpay.Config)) *env {
	t.Helper()
	e := &env{clock: &clock{t: time.Now()}}
	e.fake = wechatpayfake.New(wechatpayfake.Options{
		MchID: mchID, AppID: appID, APIv3Key: apiV3Key, Mode: m.fakeMode,
		MerchantPublicKey: &merchantKey().PublicKey, MerchantSerial: merchantSerial,
		PlatformKey: platformKey(), Now: e.clock.Now,
	})
	base, stop := e.fake.Start()
	t.Cleanup(stop)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /notify/pay", func(w http.ResponseWriter, r *http.Request) {
		tx, err := e.client.ParsePaymentNotification(r)
		e.record(received{tx: tx, err: err})
		reply(w, err)
	})
	mux.HandleFunc("POST /notify/refund", func(w http.ResponseWriter, r *http.Request) {
		n, err := e.client.ParseRefundNotification(r)
		e.record(received{refund: n, err: err})
		reply(w, err)
	})
	recv := httptest.NewServer(mux)
	t.Cleanup(recv.Close)
	e.payURL, e.refundURL = recv.URL+"/notify/pay", recv.URL+"/notify/refund"

	cfg := wechatpay.Config{
		MchID: mchID, AppID: appID, MerchantSerial: merchantSerial, MerchantKey: merchantKey(),
		APIv3Key: apiV3Key, NotifyURL: e.payURL, BaseURL: base, HTTPTimeout: 5 * time.Second,
	}
	if m.pubKey {
		cfg.PublicKeyID, cfg.PublicKey = e.fake.PublicKeyID(), e.fake.PublicKey()
	}
	if m.platCert {
		cfg.PlatformCert = e.fake.Certificate()
	}
	for _, f := range configure {
		f(&cfg)
	}
	c, err := wechatpay.New(cfg)
	if err != nil {
		t.Fatalf("wechatpay.New: %v", err)
	}
	e.client = c
	return e
}

func reply(w http.ResponseWriter, err error) {
	status, body := wechatpay.NotifyReply(err)
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (e *env) record(r received) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.received = append(e.received, r)
}

// take returns and forgets what the receiver parsed so far.
func (e *env) take() []received {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.received
	e.received = nil
	return r
}

// want describes the classified error a call must return; the zero value means success.
type want struct {
	kind apperr.Kind
	code string
}

func check(t *testing.T, err error, w want) {
	t.Helper()
	if w == (want{}) {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("err = nil, want %v %q", w.kind, w.code)
	}
	ae, ok := apperr.As(err)
	if !ok {
		t.Fatalf("err = %v: no *apperr.Error in the chain", err)
	}
	if got := (want{ae.Kind, ae.Code}); got != w {
		t.Fatalf("err = %v\n(-want +got):\n%s", err, cmp.Diff(w, got, cmp.AllowUnexported(want{})))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := wechatpay.Config{
		MchID: mchID, AppID: appID, MerchantSerial: merchantSerial, MerchantKey: merchantKey(),
		APIv3Key: apiV3Key, PublicKeyID: "PUB_KEY_ID_0114232134912410000000000000",
		PublicKey: &platformKey().PublicKey, NotifyURL: "https://canteen.example/api/v1/pay/notify",
	}
	if _, err := wechatpay.New(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*wechatpay.Config)
		field string
	}{
		{"no mchid", func(c *wechatpay.Config) { c.MchID = "" }, "MchID"},
		{"no merchant key", func(c *wechatpay.Config) { c.MerchantKey = nil }, "MerchantKey"},
		{"short APIv3 key", func(c *wechatpay.Config) { c.APIv3Key = "short" }, "APIv3Key"},
		{"no WeChat key", func(c *wechatpay.Config) { c.PublicKey, c.PublicKeyID = nil, "" }, "PublicKey"},
		{"key without id", func(c *wechatpay.Config) { c.PublicKeyID = "" }, "PublicKeyID"},
		{"notify URL with query", func(c *wechatpay.Config) { c.NotifyURL += "?x=1" }, "NotifyURL"},
		{"relative base URL", func(c *wechatpay.Config) { c.BaseURL = "localhost:8080" }, "BaseURL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			_, err := wechatpay.New(cfg)
			check(t, err, want{apperr.Invalid, "validation_failed"})
			ae, _ := apperr.As(err)
			if len(ae.Fields) != 1 || ae.Fields[0].Field != tc.field {
				t.Errorf("fields = %+v, want just %s", ae.Fields, tc.field)
			}
			if strings.Contains(err.Error(), apiV3Key) {
				t.Errorf("the error shows the APIv3 key: %v", err)
			}
		})
	}
}

func TestConfigStringHidesSecrets(t *testing.T) {
	cfg := wechatpay.Config{
		MchID: mchID, AppID: appID, MerchantSerial: merchantSerial, MerchantKey: merchantKey(),
		APIv3Key: apiV3Key, PublicKeyID: "PUB_KEY_ID_1", PublicKey: &platformKey().PublicKey,
	}
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), cfg.LogValue().String()} {
		if strings.Contains(s, apiV3Key) || strings.Contains(s, merchantKey().D.String()) {
			t.Errorf("printed config shows a secret: %s", s)
		}
		if !strings.Contains(s, mchID) || !strings.Contains(s, "***") {
			t.Errorf("printed config = %s, want the mchid and masked secrets", s)
		}
	}
}

func TestLoadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(merchantKey())
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(&platformKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	fake := wechatpayfake.New(wechatpayfake.Options{
		MchID: mchID, AppID: appID, APIv3Key: apiV3Key,
		MerchantPublicKey: &merchantKey().PublicKey, PlatformKey: platformKey(),
	})

	key, err := wechatpay.LoadPrivateKeyFile(write("apiclient_key.pem", "PRIVATE KEY", pkcs8))
	if err != nil || !key.Equal(merchantKey()) {
		t.Errorf("LoadPrivateKeyFile = %v, want the merchant key", err)
	}
	pub, err := wechatpay.LoadPublicKeyFile(write("pub_key.pem", "PUBLIC KEY", pkix))
	if err != nil || !pub.Equal(&platformKey().PublicKey) {
		t.Errorf("LoadPublicKeyFile = %v, want the platform key", err)
	}
	cert, err := wechatpay.LoadCertificateFile(write("cert.pem", "CERTIFICATE", fake.Certificate().Raw))
	if err != nil || !cert.Equal(fake.Certificate()) {
		t.Errorf("LoadCertificateFile = %v, want the fake's certificate", err)
	}

	pkcs1 := write("pkcs1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(merchantKey()))
	_, err = wechatpay.LoadPrivateKeyFile(pkcs1)
	check(t, err, want{apperr.Invalid, "wechatpay_key_file"})
	if strings.Contains(err.Error(), "MII") {
		t.Errorf("the error shows key material: %v", err)
	}
	_, err = wechatpay.LoadPublicKeyFile(filepath.Join(dir, "missing.pem"))
	check(t, err, want{apperr.Invalid, "wechatpay_key_file"})
	_, err = wechatpay.LoadCertificateFile(pkcs1)
	check(t, err, want{apperr.Invalid, "wechatpay_key_file"})
}
