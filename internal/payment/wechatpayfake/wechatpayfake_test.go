package wechatpayfake_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	mchID    = "1900000109"
	appID    = "wx0123456789abcdef"
	apiV3Key = "0123456789abcdefABCDEFGHIJKLMNOP"
	openID   = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

var (
	merchantKey = sync.OnceValue(newKey)
	platformKey = sync.OnceValue(newKey)
	otherKey    = sync.OnceValue(newKey)
)

func newKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

var cst = time.FixedZone("CST", 8*3600)

type fixture struct {
	fake  *wechatpayfake.Server
	base  string
	clock time.Time
	mu    sync.Mutex
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *fixture) set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = t
}

func start(t *testing.T, mode wechatpayfake.KeyMode) *fixture {
	t.Helper()
	f := &fixture{clock: time.Date(2026, 3, 14, 11, 0, 0, 0, cst)}
	f.fake = wechatpayfake.New(wechatpayfake.Options{
		MchID: mchID, AppID: appID, APIv3Key: apiV3Key, Mode: mode,
		MerchantPublicKey: &merchantKey().PublicKey, PlatformKey: platformKey(), Now: f.now,
	})
	var stop func()
	f.base, stop = f.fake.Start()
	t.Cleanup(stop)
	return f
}

// request is a merchant call; the zero signing fields sign correctly.
type request struct {
	method, path, body string
	key                *rsa.PrivateKey // merchantKey() when nil
	mchID              string          // mchID when ""
	signedBody         *string         // sign this instead of body
	ts                 time.Time       // now when zero
	noAuth             bool
}

// authorization signs like a merchant: METHOD\nURI\nTIMESTAMP\nNONCE\nBODY\n.
func authorization(r request) string {
	key, mch, ts, signed := r.key, r.mchID, r.ts, r.body
	if key == nil {
		key = merchantKey()
	}
	if mch == "" {
		mch = mchID
	}
	if ts.IsZero() {
		ts = time.Now()
	}
	if r.signedBody != nil {
		signed = *r.signedBody
	}
	nonce := "593BEC0C930BF1AFEB40B4A08C8FB242"
	msg := fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n", r.method, r.path, ts.Unix(), nonce, signed)
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%d",serial_no="%s",signature="%s"`,
		mch, nonce, ts.Unix(), "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", base64.StdEncoding.EncodeToString(sig))
}

// do sends r and returns the status, the headers and the body.
func (f *fixture) do(t *testing.T, r request) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(r.method, f.base+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if !r.noAuth {
		req.Header.Set("Authorization", authorization(r))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func errCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct{ Code, Message string }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Code
}

func prepayBody(no string, fen int64) string {
	return fmt.Sprintf(`{"appid":%q,"mchid":%q,"description":"社区食堂-午餐","out_trade_no":%q,`+
		`"notify_url":"https://canteen.example/api/v1/pay/notify","amount":{"total":%d,"currency":"CNY"},`+
		`"payer":{"openid":%q},"attach":"order=42"}`, appID, mchID, no, fen, openID)
}

// verifyAnswer checks the Wechatpay-* signature of an answer with pub.
func verifyAnswer(t *testing.T, h http.Header, body []byte, pub *rsa.PublicKey) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	if err != nil {
		t.Fatalf("Wechatpay-Signature: %v", err)
	}
	ts, err := strconv.ParseInt(h.Get("Wechatpay-Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Fatalf("Wechatpay-Timestamp %q", h.Get("Wechatpay-Timestamp"))
	}
	msg := h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("the answer's signature does not verify: %v", err)
	}
}

func TestRequestsMustBeSigned(t *testing.T) {
	f := start(t, wechatpayfake.PublicKey)
	const path = "/v3/pay/transactions/jsapi"
	body := prepayBody("CT0000000001", 1800)
	other := `{"tampered":true}`
	tests := []struct {
		name string
		r    request
	}{
		{"no Authorization", request{noAuth: true}},
		{"another key", request{key: otherKey()}},
		{"another merchant", request{mchID: "1900000999"}},
		{"stale timestamp", request{ts: time.Now().Add(-6 * time.Minute)}},
		{"body changed after signing", request{signedBody: &other}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			r.method, r.path, r.body = http.MethodPost, path, body
			status, h, b := f.do(t, r)
			if status != http.StatusUnauthorized || errCode(t, b) != "SIGN_ERROR" {
				t.Fatalf("%d %s, want 401 SIGN_ERROR", status, b)
			}
			if h.Get("Wechatpay-Signature") != "" {
				t.Error("an error answer is signed")
			}
		})
	}
	// GET requests sign an empty body and the query string.
	status, _, b := f.do(t, request{method: http.MethodGet, path: "/v3/pay/transactions/out-trade-no/CT0000000001?mchid=" + mchID})
	if status != http.StatusNotFound || errCode(t, b) != "ORDER_NOT_EXIST" {
		t.Errorf("signed GET: %d %s, want 404 ORDER_NOT_EXIST", status, b)
	}
	if len(f.fake.Orders()) != 0 {
		t.Error("an unsigned request changed the fake")
	}
	if n := f.fake.Requests(path); n != len(tests) {
		t.Errorf("Requests = %d, want %d", n, len(tests))
	}
}

func TestAnswersAreSigned(t *testing.T) {
	for _, mode := range []wechatpayfake.KeyMode{wechatpayfake.PublicKey, wechatpayfake.Certificate} {
		f := start(t, mode)
		wantSerial := f.fake.PublicKeyID()
		if mode == wechatpayfake.Certificate {
			wantSerial = fmt.Sprintf("%X", f.fake.Certificate().SerialNumber.Bytes())
		}
		if !strings.HasPrefix(f.fake.PublicKeyID(), "PUB_KEY_ID_") || !f.fake.PublicKey().Equal(f.fake.Certificate().PublicKey) {
			t.Fatalf("key id %q; the certificate must hold the public key", f.fake.PublicKeyID())
		}
		status, h, b := f.do(t, request{method: http.MethodPost, path: "/v3/pay/transactions/jsapi", body: prepayBody("CT0000000002", 1800)})
		if status != http.StatusOK || !strings.Contains(string(b), `"prepay_id":"wx`) {
			t.Fatalf("prepay: %d %s", status, b)
		}
		verifyAnswer(t, h, b, f.fake.PublicKey())
		if got := h.Get("Wechatpay-Serial"); got != wantSerial {
			t.Errorf("mode %d: Wechatpay-Serial = %q, want %q", mode, got, wantSerial)
		}

		status, h, b = f.do(t, request{method: http.MethodPost, path: "/v3/pay/transactions/out-trade-no/CT0000000002/close",
			body: `{"mchid":"` + mchID + `"}`})
		if status != http.StatusNoContent || len(b) != 0 {
			t.Fatalf("close: %d %q", status, b)
		}
		verifyAnswer(t, h, nil, f.fake.PublicKey()) // an empty 204 is signed too

		f.fake.FailNext("/v3/pay/transactions/out-trade-no/CT0000000002", 1, wechatpayfake.FailMode{ForgeSignature: true})
		status, h, b = f.do(t, request{method: http.MethodGet, path: "/v3/pay/transactions/out-trade-no/CT0000000002?mchid=" + mchID})
		if status != http.StatusOK || !strings.Contains(string(b), `"trade_state":"CLOSED"`) {
			t.Fatalf("query: %d %s", status, b)
		}
		sig, _ := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
		sum := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(b) + "\n"))
		if rsa.VerifyPKCS1v15(f.fake.PublicKey(), crypto.SHA256, sum[:], sig) == nil {
			t.Error("a forged answer verifies with the fake's key")
		}
	}
}

func TestPrepayRules(t *testing.T) {
	f := start(t, wechatpayfake.PublicKey)
	post := func(body string) (int, []byte) {
		status, _, b := f.do(t, request{method: http.MethodPost, path: "/v3/pay/transactions/jsapi", body: body})
		return status, b
	}
	bad := []struct{ name, body string }{
		{"not JSON", "{"},
		{"short out_trade_no", prepayBody("CT001", 1800)},
		{"long out_trade_no", prepayBody(strings.Repeat("1", 33), 1800)},
		{"zero amount", prepayBody("CT0000000003", 0)},
		{"no payer", strings.Replace(prepayBody("CT0000000003", 1800), `"payer":{"openid":"`+openID+`"},`, "", 1)},
		{"other appid", strings.Replace(prepayBody("CT0000000003", 1800), appID, "wx9999999999999999", 1)},
		{"notify_url with query", strings.Replace(prepayBody("CT0000000003", 1800), "/notify", "/notify?x=1", 1)},
		{"bad time_expire", strings.Replace(prepayBody("CT0000000003", 1800), `"attach"`, `"time_expire":"tomorrow","attach"`, 1)},
	}
	for _, tc := range bad {
		if status, b := post(tc.body); status != http.StatusBadRequest || errCode(t, b) != "PARAM_ERROR" {
			t.Errorf("%s: %d %s, want 400 PARAM_ERROR", tc.name, status, b)
		}
	}
	_, first := post(prepayBody("CT0000000004", 1800))
	_, again := post(prepayBody("CT0000000004", 1800))
	if !bytes.Equal(first, again) {
		t.Errorf("the same prepay twice: %s then %s", first, again)
	}
	if status, b := post(prepayBody("CT0000000004", 1900)); status != http.StatusBadRequest || errCode(t, b) != "INVALID_REQUEST" {
		t.Errorf("same out_trade_no, other amount: %d %s", status, b)
	}
	if err := f.fake.Pay("CT0000000004"); !errors.Is(err, wechatpayfake.ErrNotDelivered) {
		t.Errorf("Pay with an unreachable notify_url: %v, want ErrNotDelivered", err)
	}
	if status, b := post(prepayBody("CT0000000004", 1800)); status != http.StatusForbidden || errCode(t, b) != "ORDERPAID" {
		t.Errorf("prepay of a paid order: %d %s", status, b)
	}
	status, _, b := f.do(t, request{method: http.MethodPost, path: "/v3/pay/transactions/out-trade-no/CT0000000004/close", body: `{"mchid":"` + mchID + `"}`})
	if status != http.StatusBadRequest || errCode(t, b) != "ORDERPAID" {
		t.Errorf("close of a paid order: %d %s", status, b)
	}
	if err := f.fake.Pay("CT0000000004"); !errors.Is(err, wechatpayfake.ErrState) {
		t.Errorf("paying twice: %v, want ErrState", err)
	}
	if err := f.fake.Pay("CT9999999999"); !errors.Is(err, wechatpayfake.ErrNotFound) {
		t.Errorf("paying an unknown order: %v, want ErrNotFound", err)
	}

	expiring := strings.Replace(prepayBody("CT0000000005", 1800), `"attach"`, `"time_expire":"2026-03-14T11:30:00+08:00","attach"`, 1)
	if status, b := post(expiring); status != http.StatusOK {
		t.Fatalf("prepay with time_expire: %d %s", status, b)
	}
	f.set(time.Date(2026, 3, 14, 11, 31, 0, 0, cst))
	if err := f.fake.Pay("CT0000000005"); !errors.Is(err, wechatpayfake.ErrState) {
		t.Errorf("paying after time_expire: %v, want ErrState", err)
	}
}

// notification is one notification the test receiver got.
type notification struct {
	header http.Header
	body   []byte
}

func receiver(t *testing.T, status int) (url string, got func() []notification) {
	t.Helper()
	var mu sync.Mutex
	var list []notification
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		list = append(list, notification{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/notify", func() []notification {
		mu.Lock()
		defer mu.Unlock()
		out := list
		list = nil
		return out
	}
}

// open decrypts a notification's resource as a merchant would, checking everything.
func open(t *testing.T, n notification, pub *rsa.PublicKey, key string) (eventType string, plain map[string]any) {
	t.Helper()
	verifyAnswer(t, n.header, n.body, pub)
	if n.header.Get("Wechatpay-Signature-Type") != "WECHATPAY2-SHA256-RSA2048" {
		t.Errorf("Wechatpay-Signature-Type = %q", n.header.Get("Wechatpay-Signature-Type"))
	}
	var env struct {
		ID           string `json:"id"`
		EventType    string `json:"event_type"`
		ResourceType string `json:"resource_type"`
		Resource     struct {
			OriginalType   string `json:"original_type"`
			Algorithm      string `json:"algorithm"`
			Ciphertext     string `json:"ciphertext"`
			AssociatedData string `json:"associated_data"`
			Nonce          string `json:"nonce"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(n.body, &env); err != nil {
		t.Fatal(err)
	}
	r := env.Resource
	if r.Algorithm != "AEAD_AES_256_GCM" || len(r.Nonce) != 12 || r.AssociatedData != r.OriginalType || env.ResourceType != "encrypt-resource" {
		t.Fatalf("resource = %+v", env)
	}
	ct, err := base64.StdEncoding.DecodeString(r.Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher([]byte(key))
	gcm, _ := cipher.NewGCM(block)
	pt, err := gcm.Open(nil, []byte(r.Nonce), ct, []byte(r.AssociatedData))
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if err := json.Unmarshal(pt, &plain); err != nil {
		t.Fatal(err)
	}
	plain["@aad"] = r.AssociatedData
	return env.EventType, plain
}

func TestNotifications(t *testing.T) {
	f := start(t, wechatpayfake.PublicKey)
	url, got := receiver(t, http.StatusNoContent)
	body := strings.Replace(prepayBody("CT0000000006", 2350), "https://canteen.example/api/v1/pay/notify", url, 1)
	if status, _, b := f.do(t, request{method: http.MethodPost, path: "/v3/pay/transactions/jsapi", body: body}); status != 200 {
		t.Fatalf("prepay: %d %s", status, b)
	}
	ctx := context.Background()
	if _, err := f.fake.Notify(ctx, "CT0000000006", wechatpayfake.NotifyOptions{}); !errors.Is(err, wechatpayfake.ErrState) {
		t.Errorf("notifying an unpaid order: %v", err)
	}
	if err := f.fake.Pay("CT0000000006"); err != nil {
		t.Fatal(err)
	}
	list := got()
	if len(list) != 1 {
		t.Fatalf("%d notifications after Pay, want 1", len(list))
	}
	ev, plain := open(t, list[0], f.fake.PublicKey(), apiV3Key)
	order := f.fake.Orders()[0]
	if ev != "TRANSACTION.SUCCESS" || plain["@aad"] != "transaction" || plain["trade_state"] != "SUCCESS" ||
		plain["out_trade_no"] != "CT0000000006" || plain["transaction_id"] != order.TransactionID ||
		plain["success_time"] != "2026-03-14T11:00:00+08:00" || plain["appid"] != appID || plain["mchid"] != mchID {
		t.Errorf("event %s, resource %v", ev, plain)
	}
	if amount, _ := plain["amount"].(map[string]any); amount["total"] != 2350.0 || amount["payer_total"] != 2350.0 {
		t.Errorf("amount = %v", plain["amount"])
	}

	statuses, err := f.fake.Notify(ctx, "CT0000000006", wechatpayfake.NotifyOptions{Duplicates: 2})
	if err != nil || len(statuses) != 3 {
		t.Fatalf("Notify = %v, %v", statuses, err)
	}
	for _, n := range got() {
		if _, again := open(t, n, f.fake.PublicKey(), apiV3Key); !cmp.Equal(plain, again) {
			t.Errorf("a duplicate differs: %v", again)
		}
	}

	shapes := []struct {
		opt   wechatpayfake.NotifyOptions
		check func(n notification) error
	}{
		{wechatpayfake.NotifyOptions{StaleTimestamp: true}, func(n notification) error {
			ts, _ := strconv.ParseInt(n.header.Get("Wechatpay-Timestamp"), 10, 64)
			if age := time.Since(time.Unix(ts, 0)); age < 5*time.Minute {
				return fmt.Errorf("timestamp %s old", age)
			}
			return nil
		}},
		{wechatpayfake.NotifyOptions{SignTest: true}, func(n notification) error {
			if !strings.HasPrefix(n.header.Get("Wechatpay-Signature"), "WECHATPAY/SIGNTEST/") {
				return fmt.Errorf("signature %q", n.header.Get("Wechatpay-Signature"))
			}
			return nil
		}},
		{wechatpayfake.NotifyOptions{Truncate: true}, func(n notification) error {
			if json.Valid(n.body) {
				return fmt.Errorf("body is whole: %s", n.body)
			}
			return nil
		}},
		{wechatpayfake.NotifyOptions{ForgeSignature: true}, func(n notification) error {
			sig, _ := base64.StdEncoding.DecodeString(n.header.Get("Wechatpay-Signature"))
			sum := sha256.Sum256([]byte(n.header.Get("Wechatpay-Timestamp") + "\n" + n.header.Get("Wechatpay-Nonce") + "\n" + string(n.body) + "\n"))
			if rsa.VerifyPKCS1v15(f.fake.PublicKey(), crypto.SHA256, sum[:], sig) == nil {
				return errors.New("a forged notification verifies")
			}
			return nil
		}},
	}
	for _, s := range shapes {
		if _, err := f.fake.Notify(ctx, "CT0000000006", s.opt); err != nil {
			t.Fatal(err)
		}
		for _, n := range got() {
			if err := s.check(n); err != nil {
				t.Errorf("%+v: %v", s.opt, err)
			}
		}
	}
	if _, err := f.fake.Notify(ctx, "CT0000000006", wechatpayfake.NotifyOptions{WrongAPIv3Key: true}); err != nil {
		t.Fatal(err)
	}
	n := got()[0]
	verifyAnswer(t, n.header, n.body, f.fake.PublicKey()) // well signed, but…
	var env struct {
		Resource struct{ Ciphertext, Nonce string }
	}
	_ = json.Unmarshal(n.body, &env)
	ct, _ := base64.StdEncoding.DecodeString(env.Resource.Ciphertext)
	block, _ := aes.NewCipher([]byte(apiV3Key))
	gcm, _ := cipher.NewGCM(block)
	if _, err := gcm.Open(nil, []byte(env.Resource.Nonce), ct, []byte("transaction")); err == nil {
		t.Error("WrongAPIv3Key: the resource opens with the merchant's APIv3 key")
	}
}

func TestNotifyReportsReceiverStatus(t *testing.T) {
	f := start(t, wechatpayfake.PublicKey)
	url, _ := receiver(t, http.StatusInternalServerError)
	body := strings.Replace(prepayBody("CT0000000007", 100), "https://canteen.example/api/v1/pay/notify", url, 1)
	f.do(t, request{method: http.MethodPost, path: "/v3/pay/transactions/jsapi", body: body})
	if err := f.fake.Pay("CT0000000007"); !errors.Is(err, wechatpayfake.ErrNotDelivered) {
		t.Errorf("Pay with a failing receiver: %v, want ErrNotDelivered", err)
	}
	if o := f.fake.Orders()[0]; o.State != wechatpayfake.StateSuccess {
		t.Errorf("state %s: the order must stay paid", o.State)
	}
	statuses, err := f.fake.Notify(context.Background(), "CT0000000007", wechatpayfake.NotifyOptions{Duplicates: 1})
	if err != nil || !cmp.Equal(statuses, []int{500, 500}) {
		t.Errorf("Notify = %v, %v; want [500 500]", statuses, err)
	}
}

// scenario puts a day of trades into the fake: two payments, a refund settled, an unpaid
// order and a payment on the day before.
func scenario(t *testing.T, f *fixture) {
	t.Helper()
	pay := func(no string, fen int64, when time.Time) {
		f.set(when)
		body := strings.Replace(prepayBody(no, fen), "社区食堂-午餐", `午餐, 加汤\n一份`, 1)
		if status, _, b := f.do(t, request{method: http.MethodPost, path: "/v3/pay/transactions/jsapi", body: body}); status != 200 {
			t.Fatalf("prepay %s: %d %s", no, status, b)
		}
		_ = f.fake.Pay(no) // no receiver: ErrNotDelivered
	}
	pay("CT0000000010", 990, time.Date(2026, 3, 13, 23, 59, 59, 0, cst))
	pay("CT0000000011", 1800, time.Date(2026, 3, 14, 11, 30, 5, 0, cst))
	pay("CT0000000012", 123456789, time.Date(2026, 3, 14, 12, 10, 41, 0, cst))
	f.set(time.Date(2026, 3, 14, 13, 0, 0, 0, cst))
	f.do(t, request{method: http.MethodPost, path: "/v3/pay/transactions/jsapi", body: prepayBody("CT0000000013", 500)})
	status, _, b := f.do(t, request{method: http.MethodPost, path: "/v3/refund/domestic/refunds",
		body: `{"out_trade_no":"CT0000000011","out_refund_no":"CT0000000011R1","amount":{"refund":500,"total":1800,"currency":"CNY"}}`})
	if status != 200 || !strings.Contains(string(b), `"status":"PROCESSING"`) {
		t.Fatalf("refund: %d %s", status, b)
	}
	if err := f.fake.SettleRefund("CT0000000011R1", true); err != nil {
		t.Fatal(err)
	}
}

func TestBillGolden(t *testing.T) {
	f := start(t, wechatpayfake.PublicKey)
	scenario(t, f)
	bill, ok := f.fake.Bill("2026-03-14")
	if !ok {
		t.Fatal("no bill")
	}
	again, _ := f.fake.Bill("2026-03-14")
	if !bytes.Equal(bill, again) {
		t.Error("the bill changes between calls")
	}
	golden := filepath.Join("testdata", "tradebill_2026-03-14.csv")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, bill, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(bill)); diff != "" {
		t.Errorf("bill (-golden +got):\n%s", diff)
	}

	// Still 2026-03-14 at the fake: today's bill is not ready.
	status, _, b := f.do(t, request{method: http.MethodGet, path: "/v3/bill/tradebill?bill_date=2026-03-14&bill_type=ALL"})
	if status != 400 || errCode(t, b) != "STATEMENT_CREATING" {
		t.Errorf("today's bill: %d %s", status, b)
	}
	f.set(time.Date(2026, 3, 15, 10, 0, 0, 0, cst))
	status, h, b := f.do(t, request{method: http.MethodGet, path: "/v3/bill/tradebill?bill_date=2026-03-14&bill_type=ALL"})
	if status != 200 {
		t.Fatalf("tradebill: %d %s", status, b)
	}
	verifyAnswer(t, h, b, f.fake.PublicKey())
	var meta struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(bill)
	if meta.HashType != "SHA1" || meta.HashValue != hex.EncodeToString(sum[:]) || !strings.HasPrefix(meta.DownloadURL, f.base+"/v3/billdownload/file?token=") {
		t.Fatalf("tradebill answer %s", b)
	}
	dl := strings.TrimPrefix(meta.DownloadURL, f.base)
	status, _, got := f.do(t, request{method: http.MethodGet, path: dl})
	if status != 200 || !bytes.Equal(got, bill) {
		t.Errorf("download: %d, %d bytes", status, len(got))
	}
	f.fake.TamperNextDownload()
	if _, _, got := f.do(t, request{method: http.MethodGet, path: dl}); bytes.Equal(got, bill) || len(got) != len(bill) {
		t.Error("a tampered download is unchanged")
	}
	if status, _, _ := f.do(t, request{method: http.MethodGet, path: dl, noAuth: true}); status != 401 {
		t.Errorf("unsigned download: %d, want 401", status)
	}
	for _, q := range []string{"bill_date=2026-03-10", "bill_date=2026-3-14", "bill_date=2026-03-14&bill_type=SUCCESS", "bill_date=2026-03-16"} {
		status, _, b := f.do(t, request{method: http.MethodGet, path: "/v3/bill/tradebill?" + q})
		if status != 400 {
			t.Errorf("%s: %d %s, want 400", q, status, b)
		}
	}
}

func TestRefundRules(t *testing.T) {
	f := start(t, wechatpayfake.PublicKey)
	scenario(t, f)
	refund := func(no, outRefundNo string, fen, total int64) (int, string) {
		status, _, b := f.do(t, request{method: http.MethodPost, path: "/v3/refund/domestic/refunds",
			body: fmt.Sprintf(`{"out_trade_no":%q,"out_refund_no":%q,"amount":{"refund":%d,"total":%d,"currency":"CNY"}}`, no, outRefundNo, fen, total)})
		if status == 200 {
			return status, ""
		}
		return status, errCode(t, b)
	}
	tests := []struct {
		name        string
		no, refNo   string
		fen, total  int64
		status      int
		code        string
		refundedFen int64 // of CT0000000011 afterwards
	}{
		{"the rest", "CT0000000011", "R2", 1300, 1800, 200, "", 1800},
		{"one fen more", "CT0000000011", "R3", 1, 1800, 400, "INVALID_REQUEST", 1800},
		{"retry of R2", "CT0000000011", "R2", 1300, 1800, 200, "", 1800},
		{"R2 reused", "CT0000000011", "R2", 1200, 1800, 400, "INVALID_REQUEST", 1800},
		{"wrong total", "CT0000000012", "R4", 100, 1800, 400, "PARAM_ERROR", 1800},
		{"unpaid", "CT0000000013", "R5", 100, 500, 400, "INVALID_REQUEST", 1800},
		{"unknown", "CT0000000099", "R6", 100, 500, 404, "RESOURCE_NOT_EXISTS", 1800},
	}
	for _, tc := range tests {
		status, code := refund(tc.no, tc.refNo, tc.fen, tc.total)
		if status != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, code, tc.status, tc.code)
		}
		if got := f.fake.Orders()[1].RefundedFen; got != tc.refundedFen {
			t.Errorf("%s: refunded %d, want %d", tc.name, got, tc.refundedFen)
		}
	}
	if err := f.fake.SettleRefund("CT0000000011R1", true); !errors.Is(err, wechatpayfake.ErrState) {
		t.Errorf("settling twice: %v", err)
	}
	if _, err := f.fake.NotifyRefund(context.Background(), "CT0000000011R1", wechatpayfake.NotifyOptions{}); !errors.Is(err, wechatpayfake.ErrNotDelivered) {
		t.Errorf("notifying a refund without notify_url: %v", err)
	}
}

func TestFailNext(t *testing.T) {
	f := start(t, wechatpayfake.PublicKey)
	const path = "/v3/pay/transactions/out-trade-no/CT0000000020"
	q := request{method: http.MethodGet, path: path + "?mchid=" + mchID}
	f.fake.FailNext(path, 2, wechatpayfake.FailMode{Status: 503})
	for range 2 {
		if status, _, b := f.do(t, q); status != 503 || errCode(t, b) != "SYSTEM_ERROR" {
			t.Errorf("%d %s, want 503 SYSTEM_ERROR", status, b)
		}
	}
	if status, _, _ := f.do(t, q); status != 404 {
		t.Errorf("after the failures: %d, want 404", status)
	}
	f.fake.FailNext(path, 1, wechatpayfake.FailMode{Status: 429})
	if status, _, b := f.do(t, q); status != 429 || errCode(t, b) != "FREQUENCY_LIMITED" {
		t.Errorf("%d %s, want 429 FREQUENCY_LIMITED", status, b)
	}
	f.fake.FailNext(path, 1, wechatpayfake.FailMode{Hang: 150 * time.Millisecond})
	start := time.Now()
	if status, _, _ := f.do(t, q); status != 404 || time.Since(start) < 150*time.Millisecond {
		t.Errorf("a slow answer: %d after %v", status, time.Since(start))
	}
	f.fake.FailNext(path, 5, wechatpayfake.FailMode{Status: 500})
	f.fake.FailNext(path, 0, wechatpayfake.FailMode{})
	if status, _, _ := f.do(t, q); status != 404 {
		t.Errorf("after cancelling: %d, want 404", status)
	}
	if n := f.fake.Requests(path); n != 6 {
		t.Errorf("Requests = %d, want 6", n)
	}
}

func TestDemoPay(t *testing.T) {
	f := start(t, wechatpayfake.PublicKey)
	url, got := receiver(t, http.StatusNoContent)
	body := strings.Replace(prepayBody("CT0000000030", 1500), "https://canteen.example/api/v1/pay/notify", url, 1)
	f.do(t, request{method: http.MethodPost, path: "/v3/pay/transactions/jsapi", body: body})

	pay := func(body string) (int, map[string]any) {
		resp, err := http.Post(f.base+"/fake/pay", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Error("no CORS header")
		}
		return resp.StatusCode, m
	}
	status, m := pay(`{"out_trade_no":"CT0000000030"}`)
	if status != 200 || m["trade_state"] != "SUCCESS" || m["notified"] != true || m["transaction_id"] == "" {
		t.Errorf("pay: %d %v", status, m)
	}
	if n := got(); len(n) != 1 {
		t.Errorf("%d notifications, want 1", len(n))
	}
	if status, m := pay(`{"out_trade_no":"CT0000000030"}`); status != 409 {
		t.Errorf("paying twice: %d %v", status, m)
	}
	if status, m := pay(`{"out_trade_no":"CT0000009999"}`); status != 404 {
		t.Errorf("unknown order: %d %v", status, m)
	}
	if status, m := pay(`{}`); status != 400 {
		t.Errorf("no order: %d %v", status, m)
	}
	req, _ := http.NewRequest(http.MethodOptions, f.base+"/fake/pay", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestListenAndServe(t *testing.T) {
	fake := wechatpayfake.New(wechatpayfake.Options{
		MchID: mchID, AppID: appID, APIv3Key: apiV3Key,
		MerchantPublicKey: &merchantKey().PublicKey, PlatformKey: platformKey(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fake.ListenAndServe(ctx, "127.0.0.1:0") }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe after cancel: %v", err)
	}
	if err := fake.ListenAndServe(context.Background(), "256.0.0.1:1"); err == nil {
		t.Error("ListenAndServe on a bad address succeeded")
	}
}

func TestNewPanicsWithoutRequiredOptions(t *testing.T) {
	good := wechatpayfake.Options{MchID: mchID, AppID: appID, APIv3Key: apiV3Key,
		MerchantPublicKey: &merchantKey().PublicKey, PlatformKey: platformKey()}
	for name, edit := range map[string]func(*wechatpayfake.Options){
		"no mchid":        func(o *wechatpayfake.Options) { o.MchID = "" },
		"short key":       func(o *wechatpayfake.Options) { o.APIv3Key = "short" },
		"no merchant key": func(o *wechatpayfake.Options) { o.MerchantPublicKey = nil },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			o := good
			edit(&o)
			wechatpayfake.New(o)
		})
	}
}
