// Package wechatfake is a fake WeChat mini-program server. It speaks the protocol of
// /sns/jscode2session, /cgi-bin/stable_token and /cgi-bin/message/subscribe/send closely
// enough for package wechat's client, so tests and the service's demo mode run without
// WeChat. Tests drive it with IssueCode, ExpireTokens, RefuseSubscribe and FailNext and
// inspect it with Messages, TokenFetches and Requests. A Server is safe for concurrent use.
//
// It also serves one endpoint WeChat does not have, POST /fake/login-code, which mints a
// login code for any openid. It exists for the demo page only: never expose a fake to diners.
package wechatfake

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Lifetimes the fake applies, as WeChat documents them.
const (
	CodeTTL  = 5 * time.Minute    // a wx.login code
	TokenTTL = 7200 * time.Second // an access_token
)

// Message is one subscribe message the fake accepted.
type Message struct {
	ToUser           string
	TemplateID       string
	Page             string
	MiniprogramState string
	Lang             string
	Data             map[string]string // template key → value
	SentAt           time.Time
}

type loginCode struct {
	openid  string
	expires time.Time
	used    bool
}

type accessToken struct {
	expires time.Time
	expired bool // set by ExpireTokens
}

type failure struct{ n, status int }

// Server is the fake. Build it with New; it is an http.Handler.
type Server struct {
	appID, secret string
	mux           *http.ServeMux

	mu           sync.Mutex
	now          func() time.Time
	codes        map[string]*loginCode
	tokens       map[string]*accessToken
	current      string // the token stable_token hands out without force_refresh
	tokenFetches int
	forced       int
	messages     []Message
	refused      map[string]bool
	failures     map[string]*failure
	requests     map[string]int
}

// New returns a fake for the mini-program appID with the given secret.
func New(appID, secret string) *Server {
	s := &Server{
		appID:    appID,
		secret:   secret,
		mux:      http.NewServeMux(),
		now:      time.Now,
		codes:    make(map[string]*loginCode),
		tokens:   make(map[string]*accessToken),
		refused:  make(map[string]bool),
		failures: make(map[string]*failure),
		requests: make(map[string]int),
	}
	s.mux.HandleFunc("GET /sns/jscode2session", s.code2Session)
	s.mux.HandleFunc("POST /cgi-bin/stable_token", s.stableToken)
	s.mux.HandleFunc("POST /cgi-bin/message/subscribe/send", s.subscribeSend)
	s.mux.HandleFunc("POST /fake/login-code", s.loginCode)
	s.mux.HandleFunc("OPTIONS /fake/login-code", s.loginCode)
	return s
}

// ServeHTTP counts the request, answers an injected failure if one is pending for the
// path (see FailNext), and otherwise serves it like WeChat would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	status := 0
	if f := s.failures[r.URL.Path]; f != nil {
		status = f.status
		if f.n--; f.n <= 0 {
			delete(s.failures, r.URL.Path)
		}
	}
	s.mu.Unlock()
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	s.mux.ServeHTTP(w, r)
}

// Start serves the fake on a loopback port. It returns the base URL (for wechat.Config.BaseURL)
// and a function that stops the server.
func (s *Server) Start() (url string, close func()) {
	srv := httptest.NewServer(s)
	return srv.URL, srv.Close
}

// ListenAndServe serves the fake on addr (demo mode) until ctx is done, then shuts down
// gracefully and returns nil. It returns an error if it cannot listen or serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("wechatfake: listen %s: %w", addr, err)
	}
	return s.serve(ctx, ln)
}

func (s *Server) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("wechatfake: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("wechatfake: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("wechatfake: serve: %w", err)
	}
	return nil
}

// IssueCode mints a login code for openid, as wx.login does on the phone. The code is valid
// for one jscode2session call within CodeTTL.
func (s *Server) IssueCode(openid string) string {
	code := randomHex(16)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for c, lc := range s.codes { // forget long-dead codes so a demo does not grow forever
		if now.After(lc.expires) {
			delete(s.codes, c)
		}
	}
	s.codes[code] = &loginCode{openid: openid, expires: now.Add(CodeTTL)}
	return code
}

// ExpireTokens makes every access_token issued so far answer 42001 (expired); the next
// stable_token call issues a new one.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.expired = true
	}
}

// TokenFetches returns how many stable_token requests the fake answered, with a token or an
// errcode (not those failed by FailNext), so tests can check the client's cache.
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenFetches
}

// ForcedTokenFetches returns how many of the TokenFetches asked for force_refresh.
func (s *Server) ForcedTokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forced
}

// Requests returns how many requests reached path ("/cgi-bin/message/subscribe/send"),
// including those answered by FailNext.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// Messages returns a copy of the subscribe messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.Data = maps.Clone(m.Data)
		out[i] = m
	}
	return out
}

// RefuseSubscribe makes every later send to openid answer 43101, as when the diner declined
// the subscription or has used it up.
func (s *Server) RefuseSubscribe(openid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[openid] = true
}

// FailNext makes the next n requests to path ("/sns/jscode2session") answer the HTTP status
// (e.g. 503) with a plain-text body, replacing any failure already pending for path;
// n <= 0 cancels it.
func (s *Server) FailNext(path string, n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.failures, path)
		return
	}
	s.failures[path] = &failure{n: n, status: status}
}

// errcode answers like WeChat does on failure: HTTP 200 with {errcode, errmsg}.
func errcode(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, http.StatusOK, map[string]any{"errcode": code, "errmsg": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// checkApp answers the errcode for a wrong appid or secret and reports whether they were right.
func (s *Server) checkApp(w http.ResponseWriter, appID, secret string) bool {
	switch {
	case appID == "":
		errcode(w, 41002, "appid missing")
	case appID != s.appID:
		errcode(w, 40013, "invalid appid")
	case secret == "":
		errcode(w, 41004, "appsecret missing")
	case secret != s.secret:
		errcode(w, 40125, "invalid appsecret")
	default:
		return true
	}
	return false
}

func (s *Server) code2Session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !s.checkApp(w, q.Get("appid"), q.Get("secret")) {
		return
	}
	if q.Get("grant_type") != "authorization_code" {
		errcode(w, 40002, "invalid grant_type")
		return
	}
	code := q.Get("js_code")
	if code == "" {
		errcode(w, 41008, "missing code")
		return
	}
	s.mu.Lock()
	lc := s.codes[code]
	var openid string
	switch {
	case lc == nil || s.now().After(lc.expires):
		s.mu.Unlock()
		errcode(w, 40029, "invalid code")
		return
	case lc.used:
		s.mu.Unlock()
		errcode(w, 40163, "code been used")
		return
	default:
		lc.used = true
		openid = lc.openid
	}
	s.mu.Unlock()
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	writeJSON(w, http.StatusOK, map[string]string{
		"openid":      openid,
		"session_key": base64.StdEncoding.EncodeToString(key),
	})
}

func (s *Server) stableToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	err := json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	s.tokenFetches++
	if req.ForceRefresh {
		s.forced++
	}
	s.mu.Unlock()
	if err != nil {
		errcode(w, 47001, "data format error")
		return
	}
	if !s.checkApp(w, req.AppID, req.Secret) {
		return
	}
	if req.GrantType != "client_credential" {
		errcode(w, 40002, "invalid grant_type")
		return
	}
	s.mu.Lock()
	now := s.now()
	cur := s.tokens[s.current]
	if req.ForceRefresh || cur == nil || cur.expired || !now.Before(cur.expires) {
		// Unlike WeChat, a token replaced by force_refresh stays valid until it expires.
		s.current = randomHex(32)
		cur = &accessToken{expires: now.Add(TokenTTL)}
		s.tokens[s.current] = cur
	}
	tok, left := s.current, cur.expires.Sub(now)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int64(left / time.Second)})
}

func (s *Server) subscribeSend(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		errcode(w, 41001, "access_token missing")
		return
	}
	var req struct {
		ToUser           string `json:"touser"`
		TemplateID       string `json:"template_id"`
		Page             string `json:"page"`
		MiniprogramState string `json:"miniprogram_state"`
		Lang             string `json:"lang"`
		Data             map[string]struct {
			Value string `json:"value"`
		} `json:"data"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch t := s.tokens[tok]; {
	case t == nil:
		errcode(w, 40001, "invalid credential, access_token is invalid or not latest")
		return
	case t.expired || !now.Before(t.expires):
		errcode(w, 42001, "access_token expired")
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		errcode(w, 47001, "data format error")
		return
	}
	switch {
	case req.ToUser == "":
		errcode(w, 40003, "invalid openid")
		return
	case req.TemplateID == "":
		errcode(w, 40037, "invalid template_id")
		return
	case s.refused[req.ToUser]:
		errcode(w, 43101, "user refuse to accept the msg")
		return
	}
	m := Message{
		ToUser: req.ToUser, TemplateID: req.TemplateID, Page: req.Page,
		MiniprogramState: req.MiniprogramState, Lang: req.Lang,
		Data: make(map[string]string, len(req.Data)), SentAt: now,
	}
	for k, v := range req.Data {
		m.Data[k] = v.Value
	}
	s.messages = append(s.messages, m)
	errcode(w, 0, "ok")
}

// loginCode serves POST /fake/login-code {"openid":"..."} → {"code":"..."}: a wx.login code
// for any openid, so the demo page can log in without WeChat. Demo only. It allows any
// origin (CORS), since the demo page is served by the canteen service, not by the fake.
func (s *Server) loginCode(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var req struct {
		OpenID string `json:"openid"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.OpenID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want JSON {"openid":"..."}`})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"code": s.IssueCode(req.OpenID)})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
