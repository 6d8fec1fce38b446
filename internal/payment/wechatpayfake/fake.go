// Package wechatpayfake is a fake WeChat Pay APIv3 server for one direct merchant that sells
// through a mini-program (JSAPI). It speaks the protocol closely enough for the real
// wechatpay-go SDK: it checks the merchant's request signature on every call, signs every
// 2xx answer (even an empty 204; not the bill file, which WeChat Pay does not sign either)
// with its own RSA key, in public-key or platform-certificate mode, keeps orders
// and refunds, serves trade bills in WeChat's CSV format and sends encrypted, signed
// notifications. Tests drive it with Pay, SettleRefund, Notify, NotifyRefund and FailNext and
// inspect it with Orders, Refunds and Requests. A Server is safe for concurrent use.
//
// It imports only the standard library: it signs, verifies and encrypts on its own, so it
// shares no code with the SDK it checks.
//
// It also serves one endpoint WeChat does not have, POST /fake/pay, which marks an order paid
// and sends its notification. It exists for the demo mode's "pay" button only: never expose
// a fake to diners.
package wechatpayfake

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KeyMode is how the fake identifies the key it signs with, as WeChat Pay offers merchants.
type KeyMode int

const (
	// PublicKey is "微信支付公钥" mode: answers carry Wechatpay-Serial: PUB_KEY_ID_….
	PublicKey KeyMode = iota
	// Certificate is platform-certificate mode: Wechatpay-Serial is the certificate serial.
	Certificate
)

// Options configures a fake. MchID, AppID, a 32-byte APIv3Key and MerchantPublicKey are
// required.
type Options struct {
	MchID    string // the merchant id (mchid) requests must be signed for
	AppID    string // the mini-program appid bound to the merchant
	APIv3Key string // encrypts notifications; 32 bytes
	Mode     KeyMode

	// MerchantPublicKey verifies the Authorization signature of every request.
	MerchantPublicKey *rsa.PublicKey
	// MerchantSerial, when set, must equal the serial_no of every request.
	MerchantSerial string
	// PlatformKey is the key the fake signs with; a fresh 2048-bit key when nil.
	PlatformKey *rsa.PrivateKey
	// Now is the business clock (create and success times, bill dates); time.Now when nil.
	// Signature timestamps always use the real time, as the SDK checks them against it.
	Now func() time.Time
}

// FailMode is an injected failure (see FailNext).
type FailMode struct {
	// Status, when non-zero, is answered instead of serving the request: 5xx as
	// SYSTEM_ERROR, 429 as FREQUENCY_LIMITED, anything else as PARAM_ERROR.
	Status int
	// Hang delays the answer (or the failure) this long, or until the client gives up.
	Hang time.Duration
	// ForgeSignature serves the request (state changes happen) but signs the answer with
	// a key that is not the fake's, as a man in the middle would.
	ForgeSignature bool
}

// Errors of the test controls; match them with errors.Is.
var (
	ErrNotFound     = errors.New("wechatpayfake: no such order or refund")
	ErrState        = errors.New("wechatpayfake: not allowed in the current state")
	ErrNotDelivered = errors.New("wechatpayfake: notification not delivered")
)

const (
	authScheme  = "WECHATPAY2-SHA256-RSA2048"
	maxBody     = 1 << 20
	clockSkew   = 5 * time.Minute
	signTestTag = "WECHATPAY/SIGNTEST/"
)

// cst is Asia/Shanghai: China has kept UTC+8 without daylight saving since 1991.
var cst = time.FixedZone("CST", 8*60*60)

type failure struct {
	n    int
	mode FailMode
}

// Server is the fake. Build it with New; it is an http.Handler.
type Server struct {
	opt        Options
	key        *rsa.PrivateKey
	pubKeyID   string
	cert       *x509.Certificate
	certSerial string
	forgeKey   func() *rsa.PrivateKey
	mux        *http.ServeMux
	notifier   *http.Client

	mu       sync.Mutex
	seq      int64
	orders   map[string]*order
	refunds  map[string]*refund
	failures map[string]*failure
	requests map[string]int
	bills    map[string][]byte // download token → bill bytes
	tamper   int               // downloads left to corrupt
}

// New returns a fake for opt. It panics if a required option is missing or a key cannot
// be made, as httptest does: a fake that cannot run is a broken test.
func New(opt Options) *Server {
	switch {
	case opt.MchID == "" || opt.AppID == "":
		panic("wechatpayfake: Options.MchID and Options.AppID are required")
	case len(opt.APIv3Key) != 32:
		panic("wechatpayfake: Options.APIv3Key must be 32 bytes")
	case opt.MerchantPublicKey == nil:
		panic("wechatpayfake: Options.MerchantPublicKey is required")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	key := opt.PlatformKey
	if key == nil {
		key = mustKey()
	}
	cert := selfSigned(key)
	s := &Server{
		opt:        opt,
		key:        key,
		pubKeyID:   "PUB_KEY_ID_" + randomDigits(28),
		cert:       cert,
		certSerial: fmt.Sprintf("%X", cert.SerialNumber.Bytes()),
		forgeKey:   sync.OnceValue(mustKey),
		mux:        http.NewServeMux(),
		notifier:   &http.Client{Timeout: 10 * time.Second},
		orders:     make(map[string]*order),
		refunds:    make(map[string]*refund),
		failures:   make(map[string]*failure),
		requests:   make(map[string]int),
		bills:      make(map[string][]byte),
	}
	s.mux.HandleFunc("POST /v3/pay/transactions/jsapi", s.prepay)
	s.mux.HandleFunc("GET /v3/pay/transactions/out-trade-no/{no}", s.queryOrder)
	s.mux.HandleFunc("POST /v3/pay/transactions/out-trade-no/{no}/close", s.closeOrder)
	s.mux.HandleFunc("POST /v3/refund/domestic/refunds", s.createRefund)
	s.mux.HandleFunc("GET /v3/refund/domestic/refunds/{no}", s.queryRefund)
	s.mux.HandleFunc("GET /v3/bill/tradebill", s.tradeBill)
	s.mux.HandleFunc("GET /v3/billdownload/file", s.downloadBill)
	s.mux.HandleFunc("POST /fake/pay", s.demoPay)
	s.mux.HandleFunc("OPTIONS /fake/pay", s.demoPay)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "接口不存在")
	})
	return s
}

// PublicKeyID returns the WeChat Pay public key id (PUB_KEY_ID_…) of the fake's key.
func (s *Server) PublicKeyID() string { return s.pubKeyID }

// PublicKey returns the fake's WeChat Pay public key, for public-key mode.
func (s *Server) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// Certificate returns the fake's self-signed platform certificate, for certificate mode.
func (s *Server) Certificate() *x509.Certificate { return s.cert }

// serial is the Wechatpay-Serial of everything the fake signs.
func (s *Server) serial() string {
	if s.opt.Mode == Certificate {
		return s.certSerial
	}
	return s.pubKeyID
}

// Start serves the fake on a loopback port. It returns the base URL (for the client's
// BaseURL) and a function that stops the server.
func (s *Server) Start() (url string, close func()) {
	srv := httptest.NewServer(s)
	return srv.URL, srv.Close
}

// ListenAndServe serves the fake on addr (demo mode) until ctx is done, then shuts down
// gracefully and returns nil. It returns an error if it cannot listen or serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("wechatpayfake: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("wechatpayfake: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("wechatpayfake: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("wechatpayfake: serve: %w", err)
	}
	return nil
}

// FailNext makes the next n requests to path ("/v3/pay/transactions/jsapi") fail or hang as
// mode says, replacing any failure already pending for path; n <= 0 cancels it.
func (s *Server) FailNext(path string, n int, mode FailMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.failures, path)
		return
	}
	s.failures[path] = &failure{n: n, mode: mode}
}

// Requests returns how many requests reached path, including those rejected or failed.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

type forgedKey struct{}

// ServeHTTP counts the request, applies an injected failure (see FailNext), checks the
// merchant's signature on /v3/ requests and serves them like WeChat Pay would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	var mode FailMode
	if f := s.failures[r.URL.Path]; f != nil {
		mode = f.mode
		if f.n--; f.n <= 0 {
			delete(s.failures, r.URL.Path)
		}
	}
	s.mu.Unlock()
	if mode.Hang > 0 {
		t := time.NewTimer(mode.Hang)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if mode.Status != 0 {
		switch {
		case mode.Status >= 500:
			writeError(w, mode.Status, "SYSTEM_ERROR", "系统错误")
		case mode.Status == http.StatusTooManyRequests:
			writeError(w, mode.Status, "FREQUENCY_LIMITED", "频率超限")
		default:
			writeError(w, mode.Status, "PARAM_ERROR", "参数错误")
		}
		return
	}
	if strings.HasPrefix(r.URL.Path, "/fake/") {
		s.mux.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "无法读取请求体")
		return
	}
	if err := s.checkAuth(r, body); err != nil {
		writeError(w, http.StatusUnauthorized, "SIGN_ERROR", err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if mode.ForgeSignature {
		r = r.WithContext(context.WithValue(r.Context(), forgedKey{}, true))
	}
	s.mux.ServeHTTP(w, r)
}

// checkAuth verifies the Authorization header: WECHATPAY2-SHA256-RSA2048 mchid="…",
// nonce_str="…",timestamp="…",serial_no="…",signature="…" over
// METHOD\nREQUEST_URI\nTIMESTAMP\nNONCE\nBODY\n with the merchant public key.
func (s *Server) checkAuth(r *http.Request, body []byte) error {
	scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || scheme != authScheme {
		return errors.New("请求头 Authorization 缺失或认证类型不是 " + authScheme)
	}
	p := make(map[string]string)
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return errors.New("请求头 Authorization 格式错误")
		}
		p[k] = v[1 : len(v)-1]
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if p[k] == "" {
			return fmt.Errorf("请求头 Authorization 缺少 %s", k)
		}
	}
	if p["mchid"] != s.opt.MchID {
		return errors.New("商户号与签名不匹配")
	}
	if s.opt.MerchantSerial != "" && p["serial_no"] != s.opt.MerchantSerial {
		return errors.New("商户证书序列号不正确")
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > clockSkew {
		return errors.New("请求时间戳无效或已过期")
	}
	sig, err := base64.StdEncoding.DecodeString(p["signature"])
	if err != nil {
		return errors.New("签名不是 base64")
	}
	msg := r.Method + "\n" + r.RequestURI + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if rsa.VerifyPKCS1v15(s.opt.MerchantPublicKey, crypto.SHA256, sum[:], sig) != nil {
		return errors.New("签名错误")
	}
	return nil
}

// sign returns the Wechatpay-* headers for body signed with key at the real time now.
func (s *Server) sign(key *rsa.PrivateKey, ts int64, body []byte) http.Header {
	nonce := randomAlnum(32)
	msg := strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic("wechatpayfake: sign: " + err.Error())
	}
	h := make(http.Header)
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Serial", s.serial())
	return h
}

// reply answers a successful call: JSON v (no body when v is nil, as for 204), signed.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			writeError(w, http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
			return
		}
		w.Header().Set("Content-Type", "application/json")
	}
	key := s.key
	if forged, _ := r.Context().Value(forgedKey{}).(bool); forged {
		key = s.forgeKey()
	}
	for k, hv := range s.sign(key, time.Now().Unix(), body) {
		w.Header()[k] = hv
	}
	w.Header().Set("Request-Id", randomAlnum(24))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError answers like WeChat Pay does on failure: {code, message}, unsigned.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

// nextSeq returns the next number for minted ids. The caller holds s.mu.
func (s *Server) nextSeq() int64 {
	s.seq++
	return s.seq
}

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("wechatpayfake: generate key: " + err.Error())
	}
	return k
}

// selfSigned makes a platform certificate for key with a 20-byte serial whose first byte
// is not zero, so its %X rendering is the same however it is read.
func selfSigned(key *rsa.PrivateKey) *x509.Certificate {
	serial := make([]byte, 20)
	_, _ = rand.Read(serial)
	serial[0] = serial[0]&0x3f | 0x10
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial),
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA (fake)", Organization: []string{"wechatpayfake"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("wechatpayfake: certificate: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("wechatpayfake: certificate: " + err.Error())
	}
	return cert
}

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func randomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}
