package wechatfake

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	appID     = "wx0123456789abcdef"
	secret    = "s3cret"
	sendPath  = "/cgi-bin/message/subscribe/send"
	tokenPath = "/cgi-bin/stable_token"
	loginPath = "/sns/jscode2session"
)

// answer is the union of the fields the fake's endpoints return.
type answer struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	OpenID      string `json:"openid"`
	SessionKey  string `json:"session_key"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	Code        string `json:"code"`
}

func decode(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

func exchange(t *testing.T, base, app, sec, code string) answer {
	t.Helper()
	q := url.Values{"appid": {app}, "secret": {sec}, "js_code": {code}, "grant_type": {"authorization_code"}}
	resp, err := http.Get(base + loginPath + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func postJSON(t *testing.T, u string, body any) *http.Response {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(u, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func stableToken(t *testing.T, base, app, sec string, force bool) answer {
	t.Helper()
	return decode(t, postJSON(t, base+tokenPath, map[string]any{
		"grant_type": "client_credential", "appid": app, "secret": sec, "force_refresh": force}))
}

func send(t *testing.T, base, token string, body any) answer {
	t.Helper()
	return decode(t, postJSON(t, base+sendPath+"?access_token="+url.QueryEscape(token), body))
}

// clock is a settable time source for the fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start runs a fake on a settable clock and stops it when the test ends.
func start(t *testing.T) (*Server, *clock, string) {
	t.Helper()
	s, c := New(appID, secret), newClock()
	s.now = c.now
	base, stop := s.Start()
	t.Cleanup(stop)
	return s, c, base
}

func TestJSCode2Session(t *testing.T) {
	issue := func(s *Server, _ *clock, _ string) string { return s.IssueCode("o-alice") }
	tests := []struct {
		name        string
		code        func(s *Server, c *clock, base string) string
		app, sec    string // override the right ones when set
		wantErrCode int
	}{
		{name: "fresh code", code: issue},
		{name: "code at the end of its life", code: func(s *Server, c *clock, _ string) string {
			code := s.IssueCode("o-alice")
			c.add(CodeTTL)
			return code
		}},
		{name: "reused code", code: func(s *Server, _ *clock, base string) string {
			code := s.IssueCode("o-alice")
			if a := exchange(t, base, appID, secret, code); a.ErrCode != 0 {
				t.Fatalf("first use: errcode %d", a.ErrCode)
			}
			return code
		}, wantErrCode: 40163},
		{name: "unknown code", code: func(*Server, *clock, string) string { return "0123456789abcdef0123456789abcdef" }, wantErrCode: 40029},
		{name: "expired code", code: func(s *Server, c *clock, _ string) string {
			code := s.IssueCode("o-alice")
			c.add(CodeTTL + time.Second)
			return code
		}, wantErrCode: 40029},
		{name: "missing code", code: func(*Server, *clock, string) string { return "" }, wantErrCode: 41008},
		{name: "wrong appid", app: "wxother", code: issue, wantErrCode: 40013},
		{name: "wrong secret", sec: "guess", code: issue, wantErrCode: 40125},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c, base := start(t)
			code := tc.code(s, c, base)
			app, sec := appID, secret
			if tc.app != "" {
				app = tc.app
			}
			if tc.sec != "" {
				sec = tc.sec
			}
			a := exchange(t, base, app, sec, code)
			if a.ErrCode != tc.wantErrCode {
				t.Fatalf("errcode = %d (%s), want %d", a.ErrCode, a.ErrMsg, tc.wantErrCode)
			}
			if tc.wantErrCode != 0 {
				if a.OpenID != "" || a.SessionKey != "" {
					t.Fatalf("error answer carries a session: %+v", a)
				}
				return
			}
			if a.OpenID != "o-alice" {
				t.Errorf("openid = %q, want o-alice", a.OpenID)
			}
			if key, err := base64.StdEncoding.DecodeString(a.SessionKey); err != nil || len(key) != 16 {
				t.Errorf("session_key %q is not 16 base64 bytes (%v)", a.SessionKey, err)
			}
		})
	}
}

func TestSessionKeysDiffer(t *testing.T) {
	s, _, base := start(t)
	a := exchange(t, base, appID, secret, s.IssueCode("o-alice"))
	b := exchange(t, base, appID, secret, s.IssueCode("o-alice"))
	if a.SessionKey == "" || a.SessionKey == b.SessionKey {
		t.Fatalf("session keys %q and %q: want two different random keys", a.SessionKey, b.SessionKey)
	}
}

// A code raced by many exchanges is accepted exactly once.
func TestCodeSingleUseUnderRace(t *testing.T) {
	s, _, base := start(t)
	code := s.IssueCode("o-alice")
	const n = 20
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			q := url.Values{"appid": {appID}, "secret": {secret}, "js_code": {code}, "grant_type": {"authorization_code"}}
			resp, err := http.Get(base + loginPath + "?" + q.Encode())
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var a answer
			if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
				t.Error(err)
				return
			}
			codes <- a.ErrCode
		})
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if diff := cmp.Diff(map[int]int{0: 1, 40163: n - 1}, got); diff != "" {
		t.Fatalf("errcodes (-want +got):\n%s", diff)
	}
}

func TestStableToken(t *testing.T) {
	s, c, base := start(t)

	first := stableToken(t, base, appID, secret, false)
	if first.ErrCode != 0 || first.AccessToken == "" || first.ExpiresIn != 7200 {
		t.Fatalf("first token = %+v, want a token with expires_in 7200", first)
	}
	c.add(time.Minute)
	again := stableToken(t, base, appID, secret, false)
	if again.AccessToken != first.AccessToken || again.ExpiresIn != 7200-60 {
		t.Fatalf("second token = %+v, want the same token with 7140 s left", again)
	}
	forced := stableToken(t, base, appID, secret, true)
	if forced.AccessToken == "" || forced.AccessToken == first.AccessToken || forced.ExpiresIn != 7200 {
		t.Fatalf("forced token = %+v, want a new token", forced)
	}
	if got := s.TokenFetches(); got != 3 {
		t.Errorf("TokenFetches = %d, want 3", got)
	}
	if got := s.ForcedTokenFetches(); got != 1 {
		t.Errorf("ForcedTokenFetches = %d, want 1", got)
	}

	for _, tc := range []struct {
		name     string
		app, sec string
		want     int
	}{
		{"wrong appid", "wxother", secret, 40013},
		{"wrong secret", appID, "guess", 40125},
		{"missing secret", appID, "", 41004},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := stableToken(t, base, tc.app, tc.sec, false); a.ErrCode != tc.want || a.AccessToken != "" {
				t.Fatalf("answer = %+v, want errcode %d and no token", a, tc.want)
			}
		})
	}
}

func TestTokenValidityOnSend(t *testing.T) {
	msg := map[string]any{"touser": "o-alice", "template_id": "tpl", "data": map[string]any{}}
	t.Run("unknown token", func(t *testing.T) {
		_, _, base := start(t)
		if a := send(t, base, "not-a-token", msg); a.ErrCode != 40001 {
			t.Fatalf("errcode = %d, want 40001", a.ErrCode)
		}
	})
	t.Run("ExpireTokens", func(t *testing.T) {
		s, _, base := start(t)
		old := stableToken(t, base, appID, secret, false).AccessToken
		s.ExpireTokens()
		if a := send(t, base, old, msg); a.ErrCode != 42001 {
			t.Fatalf("errcode = %d, want 42001", a.ErrCode)
		}
		fresh := stableToken(t, base, appID, secret, false).AccessToken
		if fresh == old {
			t.Fatal("stable_token handed out the expired token again")
		}
		if a := send(t, base, fresh, msg); a.ErrCode != 0 {
			t.Fatalf("send with new token: errcode %d", a.ErrCode)
		}
	})
	t.Run("lifetime over", func(t *testing.T) {
		_, c, base := start(t)
		tok := stableToken(t, base, appID, secret, false).AccessToken
		c.add(TokenTTL)
		if a := send(t, base, tok, msg); a.ErrCode != 42001 {
			t.Fatalf("errcode = %d, want 42001", a.ErrCode)
		}
		if next := stableToken(t, base, appID, secret, false); next.AccessToken == tok || next.ExpiresIn != 7200 {
			t.Fatalf("after expiry stable_token = %+v, want a new token", next)
		}
	})
}

func TestSubscribeSend(t *testing.T) {
	s, c, base := start(t)
	tok := stableToken(t, base, appID, secret, false).AccessToken
	ok := map[string]any{
		"touser": "o-alice", "template_id": "tpl-ready", "page": "pages/order/detail?id=42",
		"miniprogram_state": "trial", "lang": "zh_CN",
		"data": map[string]any{"thing2": map[string]string{"value": "宫保鸡丁"}, "character_string1": map[string]string{"value": "A042"}},
	}
	if a := send(t, base, tok, ok); a.ErrCode != 0 {
		t.Fatalf("send: errcode %d (%s)", a.ErrCode, a.ErrMsg)
	}

	s.RefuseSubscribe("o-bob")
	for _, tc := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"refused", map[string]any{"touser": "o-bob", "template_id": "tpl-ready"}, 43101},
		{"no openid", map[string]any{"template_id": "tpl-ready"}, 40003},
		{"no template", map[string]any{"touser": "o-alice"}, 40037},
		{"data not objects", map[string]any{"touser": "o-alice", "template_id": "t", "data": map[string]string{"thing2": "x"}}, 47001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := send(t, base, tok, tc.body); a.ErrCode != tc.want {
				t.Fatalf("errcode = %d, want %d", a.ErrCode, tc.want)
			}
		})
	}

	want := []Message{{
		ToUser: "o-alice", TemplateID: "tpl-ready", Page: "pages/order/detail?id=42",
		MiniprogramState: "trial", Lang: "zh_CN",
		Data:   map[string]string{"thing2": "宫保鸡丁", "character_string1": "A042"},
		SentAt: c.now(),
	}}
	got := s.Messages()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Messages (-want +got):\n%s", diff)
	}
	got[0].Data["thing2"] = "changed"
	if diff := cmp.Diff(want, s.Messages()); diff != "" {
		t.Fatalf("Messages shares its maps with the caller (-want +got):\n%s", diff)
	}
}

func TestFailNext(t *testing.T) {
	s, _, base := start(t)
	s.FailNext(loginPath, 2, http.StatusServiceUnavailable)
	code := s.IssueCode("o-alice")
	q := url.Values{"appid": {appID}, "secret": {secret}, "js_code": {code}, "grant_type": {"authorization_code"}}
	var statuses []int
	for range 3 {
		resp, err := http.Get(base + loginPath + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	if diff := cmp.Diff([]int{503, 503, 200}, statuses); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	if got := s.Requests(loginPath); got != 3 {
		t.Errorf("Requests(%s) = %d, want 3", loginPath, got)
	}
	// The failures were for the login path only, and did not consume the code.
	if a := stableToken(t, base, appID, secret, false); a.ErrCode != 0 {
		t.Errorf("stable_token: errcode %d", a.ErrCode)
	}
	if a := exchange(t, base, appID, secret, code); a.ErrCode != 40163 {
		t.Errorf("code after the 200: errcode %d, want 40163 (used by the third request)", a.ErrCode)
	}
	if got := s.TokenFetches(); got != 1 {
		t.Errorf("TokenFetches = %d, want 1", got)
	}
}

func TestLoginCodeEndpoint(t *testing.T) {
	_, _, base := start(t)
	a := decode(t, postJSON(t, base+"/fake/login-code", map[string]string{"openid": "o-demo"}))
	if a.Code == "" {
		t.Fatal("no code")
	}
	if got := exchange(t, base, appID, secret, a.Code); got.ErrCode != 0 || got.OpenID != "o-demo" {
		t.Fatalf("exchange of the demo code = %+v, want openid o-demo", got)
	}

	resp := postJSON(t, base+"/fake/login-code", map[string]string{})
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("empty openid: status %d, want 400", resp.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodOptions, base+"/fake/login-code", nil)
	req.Header.Set("Origin", "http://localhost:8080")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: status %d, allow-origin %q", pre.StatusCode, pre.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestServeStopsWithContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(appID, secret)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln) }()

	base := "http://" + ln.Addr().String()
	if a := stableToken(t, base, appID, secret, false); a.AccessToken == "" {
		t.Fatalf("served answer = %+v", a)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after cancel")
	}
	if _, err := http.Get(base + tokenPath); err == nil {
		t.Fatal("still serving after cancel")
	}
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- New(appID, secret).ListenAndServe(ctx, "127.0.0.1:0") }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenAndServe = %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenAndServe did not return after cancel")
	}

	err := New(appID, secret).ListenAndServe(t.Context(), "127.0.0.1:-1")
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("bad address: err = %v, want a *net.OpError", err)
	}
}
