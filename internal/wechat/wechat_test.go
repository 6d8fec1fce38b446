package wechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/wechat"
	"github.com/canteen-oss/canteen/internal/wechat/wechatfake"
)

const (
	appID     = "wx0123456789abcdef"
	secret    = "s3cret-do-not-leak"
	loginPath = "/sns/jscode2session"
	tokenPath = "/cgi-bin/stable_token"
	sendPath  = "/cgi-bin/message/subscribe/send"
)

// setup runs a fake and a client pointed at it.
func setup(t *testing.T) (*wechatfake.Server, *wechat.Client) {
	t.Helper()
	fake := wechatfake.New(appID, secret)
	base, stop := fake.Start()
	t.Cleanup(stop)
	return fake, wechat.New(wechat.Config{BaseURL: base, AppID: appID, Secret: secret})
}

// want describes the classified error a call must return; the zero value means success.
type want struct {
	kind    apperr.Kind
	code    string // apperr code
	errcode int    // WeChat errcode of the *wechat.Error in the chain; 0: none in the chain
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
	var we *wechat.Error
	gotErrcode := 0
	if errors.As(err, &we) {
		gotErrcode = we.Code
	}
	got := want{kind: ae.Kind, code: ae.Code, errcode: gotErrcode}
	if diff := cmp.Diff(w, got, cmp.AllowUnexported(want{})); diff != "" {
		t.Fatalf("err = %v\n(-want +got):\n%s", err, diff)
	}
}

func TestNewDefaults(t *testing.T) {
	c := wechat.New(wechat.Config{AppID: appID, Secret: secret})
	base, hc := wechat.Internals(c)
	if base != "https://api.weixin.qq.com" {
		t.Errorf("base URL = %q", base)
	}
	if hc == nil || hc.Timeout != 10*time.Second {
		t.Errorf("default HTTP client = %+v, want a 10 s timeout", hc)
	}
	if c.AppID() != appID {
		t.Errorf("AppID() = %q", c.AppID())
	}
	own := &http.Client{}
	c = wechat.New(wechat.Config{BaseURL: "http://127.0.0.1:9/", HTTPClient: own})
	if base, hc := wechat.Internals(c); base != "http://127.0.0.1:9" || hc != own {
		t.Errorf("configured client: base %q, own client kept %v", base, hc == own)
	}
}

func TestCode2Session(t *testing.T) {
	tests := []struct {
		name   string
		secret string // client secret when not the right one
		code   func(t *testing.T, fake *wechatfake.Server, c *wechat.Client) string
		want   want
	}{
		{
			name: "login ok",
			code: func(_ *testing.T, fake *wechatfake.Server, _ *wechat.Client) string { return fake.IssueCode("o-alice") },
		},
		{
			name: "code reused",
			code: func(t *testing.T, fake *wechatfake.Server, c *wechat.Client) string {
				code := fake.IssueCode("o-alice")
				if _, err := c.Code2Session(t.Context(), code); err != nil {
					t.Fatalf("first use: %v", err)
				}
				return code
			},
			want: want{apperr.Unauthenticated, "wechat_code_invalid", 40163},
		},
		{
			name: "unknown code",
			code: func(*testing.T, *wechatfake.Server, *wechat.Client) string { return "never-issued" },
			want: want{apperr.Unauthenticated, "wechat_code_invalid", 40029},
		},
		{
			name:   "wrong secret",
			secret: "wrong",
			code:   func(_ *testing.T, fake *wechatfake.Server, _ *wechat.Client) string { return fake.IssueCode("o-alice") },
			want:   want{apperr.Internal, "wechat_misconfigured", 40125},
		},
		{
			name: "empty code",
			code: func(*testing.T, *wechatfake.Server, *wechat.Client) string { return "" },
			want: want{kind: apperr.Invalid, code: "validation_failed"},
		},
		{
			name: "WeChat answers 503",
			code: func(_ *testing.T, fake *wechatfake.Server, _ *wechat.Client) string {
				fake.FailNext(loginPath, 1, http.StatusServiceUnavailable)
				return fake.IssueCode("o-alice")
			},
			want: want{kind: apperr.Transient, code: "wechat_unavailable"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := wechatfake.New(appID, secret)
			base, stop := fake.Start()
			defer stop()
			c := wechat.New(wechat.Config{BaseURL: base, AppID: appID, Secret: secret})
			code := tc.code(t, fake, c)
			if tc.secret != "" {
				c = wechat.New(wechat.Config{BaseURL: base, AppID: appID, Secret: tc.secret})
			}
			s, err := c.Code2Session(t.Context(), code)
			check(t, err, tc.want)
			if err != nil {
				if s != (wechat.Session{}) {
					t.Errorf("failed call returned a session %v", s)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains the secret", err)
				}
				return
			}
			if s.OpenID != "o-alice" || s.SessionKey == "" || s.UnionID != "" {
				t.Errorf("session = %v (key set: %v), want openid o-alice with a key", s, s.SessionKey != "")
			}
		})
	}
}

// A stub WeChat answering one fixed response checks every classification rule.
func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   want
	}{
		{"40029 invalid code", 200, `{"errcode":40029,"errmsg":"invalid code"}`, want{apperr.Unauthenticated, "wechat_code_invalid", 40029}},
		{"40163 code used", 200, `{"errcode":40163,"errmsg":"code been used"}`, want{apperr.Unauthenticated, "wechat_code_invalid", 40163}},
		{"45011 rate limit", 200, `{"errcode":45011,"errmsg":"api minute-quota reach limit"}`, want{apperr.TooManyRequests, "wechat_rate_limited", 45011}},
		{"40125 bad secret", 200, `{"errcode":40125,"errmsg":"invalid appsecret"}`, want{apperr.Internal, "wechat_misconfigured", 40125}},
		{"47003 bad data", 200, `{"errcode":47003,"errmsg":"argument invalid"}`, want{apperr.Invalid, "wechat_rejected", 47003}},
		{"40226 blocked", 200, `{"errcode":40226,"errmsg":"invalid user"}`, want{apperr.Forbidden, "wechat_user_blocked", 40226}},
		{"-1 busy", 200, `{"errcode":-1,"errmsg":"system error"}`, want{apperr.Transient, "wechat_busy", -1}},
		{"other errcode", 200, `{"errcode":40099,"errmsg":"something else"}`, want{apperr.Transient, "wechat_error", 40099}},
		{"500", 500, `oops`, want{kind: apperr.Transient, code: "wechat_unavailable"}},
		{"502", 502, `<html>bad gateway</html>`, want{kind: apperr.Transient, code: "wechat_unavailable"}},
		{"429", 429, ``, want{kind: apperr.TooManyRequests, code: "wechat_unavailable"}},
		{"not JSON", 200, `<html>captive portal</html>`, want{kind: apperr.Transient, code: "wechat_bad_answer"}},
		{"no openid", 200, `{"session_key":"k"}`, want{kind: apperr.Transient, code: "wechat_bad_answer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := wechat.New(wechat.Config{BaseURL: srv.URL, AppID: appID, Secret: secret})
			_, err := c.Code2Session(t.Context(), "some-code")
			check(t, err, tc.want)
		})
	}
}

func TestCode2SessionReadsUnionID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("js_code") != "c1" || r.URL.Query().Get("grant_type") != "authorization_code" {
			t.Errorf("query = %v", r.URL.Query())
		}
		io.WriteString(w, `{"openid":"o1","unionid":"u1","session_key":"SECRETKEY=="}`)
	}))
	defer srv.Close()
	c := wechat.New(wechat.Config{BaseURL: srv.URL, AppID: appID, Secret: secret})
	s, err := c.Code2Session(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wechat.Session{OpenID: "o1", UnionID: "u1", SessionKey: "SECRETKEY=="}, s); diff != "" {
		t.Fatalf("session (-want +got):\n%s", diff)
	}
}

func TestNetworkErrorIsTransientAndHidesSecrets(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	c := wechat.New(wechat.Config{BaseURL: base, AppID: appID, Secret: secret})

	_, err := c.Code2Session(t.Context(), "the-login-code")
	check(t, err, want{kind: apperr.Transient, code: "wechat_unavailable"})
	for _, leak := range []string{secret, "the-login-code"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q contains %q", err, leak)
		}
	}
	_, err = c.AccessToken(t.Context())
	check(t, err, want{kind: apperr.Transient, code: "wechat_unavailable"})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.Code2Session(ctx, "the-login-code")
	if !errors.Is(err, context.Canceled) || apperr.KindOf(err) != apperr.Transient {
		t.Errorf("cancelled call: err = %v, want Transient wrapping context.Canceled", err)
	}
}

func TestSessionHidesKey(t *testing.T) {
	s := wechat.Session{OpenID: "o-alice", UnionID: "u-alice", SessionKey: "tiWRm1kFmwLW9qo4rGknyQ=="}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("login", "session", s)
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", s), "%+v": fmt.Sprintf("%+v", s), "%#v": fmt.Sprintf("%#v", s),
		//lint:ignore S1025 the %s verb itself is under test
		"%s":   fmt.Sprintf("%s", s),
		"slog": logged.String(), "json": string(js),
	} {
		if strings.Contains(out, s.SessionKey) {
			t.Errorf("%s prints the session key: %s", name, out)
		}
		if !strings.Contains(out, "o-alice") {
			t.Errorf("%s lost the openid: %s", name, out)
		}
	}
}

func TestAccessTokenCached(t *testing.T) {
	fake, c := setup(t)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	wechat.SetNow(c, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }

	first, err := c.AccessToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	advance(7200*time.Second - 5*time.Minute - time.Second) // 1 s before the refresh point
	second, err := c.AccessToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if first == "" || second != first || fake.TokenFetches() != 1 {
		t.Fatalf("tokens %q, %q after %d fetches: want one fetch and the same token", first, second, fake.TokenFetches())
	}
	advance(time.Second) // 5 minutes before expiry: refresh
	if _, err := c.AccessToken(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := fake.TokenFetches(); got != 2 {
		t.Fatalf("TokenFetches = %d after the refresh point, want 2", got)
	}
	if got := fake.ForcedTokenFetches(); got != 0 {
		t.Fatalf("ForcedTokenFetches = %d, want 0: force_refresh is only for rejected tokens", got)
	}
}

func TestAccessTokenOneFetchForConcurrentCallers(t *testing.T) {
	fake, c := setup(t)
	const n = 50
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tok, err := c.AccessToken(t.Context())
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	if got := fake.TokenFetches(); got != 1 {
		t.Fatalf("TokenFetches = %d for %d concurrent callers, want 1", got, n)
	}
	for i, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatalf("caller %d got token %q, caller 0 got %q", i, tok, tokens[0])
		}
	}
}

func TestAccessTokenErrors(t *testing.T) {
	t.Run("wrong secret", func(t *testing.T) {
		fake := wechatfake.New(appID, secret)
		base, stop := fake.Start()
		defer stop()
		c := wechat.New(wechat.Config{BaseURL: base, AppID: appID, Secret: "wrong"})
		_, err := c.AccessToken(t.Context())
		check(t, err, want{apperr.Internal, "wechat_misconfigured", 40125})
	})
	t.Run("503 is not cached", func(t *testing.T) {
		fake, c := setup(t)
		fake.FailNext(tokenPath, 1, http.StatusServiceUnavailable)
		_, err := c.AccessToken(t.Context())
		check(t, err, want{kind: apperr.Transient, code: "wechat_unavailable"})
		if tok, err := c.AccessToken(t.Context()); err != nil || tok == "" {
			t.Fatalf("after the failure: token %q, err %v", tok, err)
		}
	})
	t.Run("waiting caller honours its context", func(t *testing.T) {
		arrived, release := make(chan struct{}, 10), make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-release
			io.WriteString(w, `{"access_token":"t","expires_in":7200}`)
		}))
		defer srv.Close()
		defer close(release)
		c := wechat.New(wechat.Config{BaseURL: srv.URL, AppID: appID, Secret: secret})
		go c.AccessToken(context.Background()) // holds the one fetch until release
		<-arrived

		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		go func() { _, err := c.AccessToken(ctx); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) || apperr.KindOf(err) != apperr.Transient {
				t.Fatalf("err = %v, want Transient wrapping context.DeadlineExceeded", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("AccessToken kept waiting for the other fetch after its context ended")
		}
		if n := len(arrived); n != 0 {
			t.Fatalf("the waiting caller sent %d more stable_token requests, want 0", n)
		}
	})
}

var ignoreSentAt = cmpopts.IgnoreFields(wechatfake.Message{}, "SentAt")

func TestSendSubscribe(t *testing.T) {
	fake, c := setup(t)
	msgs := []wechat.Message{
		{
			ToUser: "o-alice", TemplateID: "tpl-ready", Page: "pages/order/detail?id=42",
			MiniprogramState: "trial", Lang: "zh_CN",
			Data: map[string]string{"thing2": "宫保鸡丁", "character_string1": "A042", "time3": "2025-01-01 12:30"},
		},
		{ToUser: "o-bob", TemplateID: "tpl-ready"},
	}
	for _, m := range msgs {
		if err := c.SendSubscribe(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	want := []wechatfake.Message{
		{
			ToUser: "o-alice", TemplateID: "tpl-ready", Page: "pages/order/detail?id=42",
			MiniprogramState: "trial", Lang: "zh_CN",
			Data: map[string]string{"thing2": "宫保鸡丁", "character_string1": "A042", "time3": "2025-01-01 12:30"},
		},
		{ToUser: "o-bob", TemplateID: "tpl-ready", Data: map[string]string{}},
	}
	if diff := cmp.Diff(want, fake.Messages(), ignoreSentAt); diff != "" {
		t.Fatalf("messages (-want +got):\n%s", diff)
	}
	if got := fake.TokenFetches(); got != 1 {
		t.Errorf("TokenFetches = %d for two sends, want 1", got)
	}
}

func TestSendSubscribeRefreshesExpiredTokenOnce(t *testing.T) {
	fake, c := setup(t)
	if _, err := c.AccessToken(t.Context()); err != nil {
		t.Fatal(err)
	}
	fake.ExpireTokens()
	if err := c.SendSubscribe(t.Context(), wechat.Message{ToUser: "o-alice", TemplateID: "tpl"}); err != nil {
		t.Fatal(err)
	}
	got := [4]int{fake.TokenFetches(), fake.ForcedTokenFetches(), fake.Requests(sendPath), len(fake.Messages())}
	if diff := cmp.Diff([4]int{2, 1, 2, 1}, got); diff != "" {
		t.Fatalf("[token fetches, forced, send requests, messages] (-want +got):\n%s", diff)
	}
	// The refreshed token is cached: the next send needs no fetch.
	if err := c.SendSubscribe(t.Context(), wechat.Message{ToUser: "o-alice", TemplateID: "tpl"}); err != nil {
		t.Fatal(err)
	}
	if got := fake.TokenFetches(); got != 2 {
		t.Fatalf("TokenFetches = %d after a further send, want 2", got)
	}
}

// When WeChat keeps rejecting the token, the client refreshes once, retries once, and gives up.
func TestSendSubscribeRetriesOnlyOnce(t *testing.T) {
	fake := wechatfake.New(appID, secret)
	var sends int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == sendPath {
			mu.Lock()
			sends++
			mu.Unlock()
			io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := wechat.New(wechat.Config{BaseURL: srv.URL, AppID: appID, Secret: secret})

	err := c.SendSubscribe(t.Context(), wechat.Message{ToUser: "o-alice", TemplateID: "tpl"})
	check(t, err, want{apperr.Transient, "wechat_error", 40001})
	mu.Lock()
	defer mu.Unlock()
	got := [3]int{sends, fake.TokenFetches(), fake.ForcedTokenFetches()}
	if diff := cmp.Diff([3]int{2, 2, 1}, got); diff != "" {
		t.Fatalf("[sends, token fetches, forced] (-want +got):\n%s", diff)
	}
}

func TestSendSubscribeNoQuota(t *testing.T) {
	fake, c := setup(t)
	fake.RefuseSubscribe("o-bob")
	err := c.SendSubscribe(t.Context(), wechat.Message{ToUser: "o-bob", TemplateID: "tpl"})
	check(t, err, want{apperr.FailedPrecondition, "wechat_no_quota", 43101})
	if !wechat.IsNoQuota(err) {
		t.Errorf("IsNoQuota(%v) = false", err)
	}
	if got := fake.Requests(sendPath); got != 1 {
		t.Errorf("send requests = %d, want 1 (43101 is not retried)", got)
	}
	if got := fake.Messages(); len(got) != 0 {
		t.Errorf("messages = %v, want none", got)
	}
	// Other diners are unaffected.
	if err := c.SendSubscribe(t.Context(), wechat.Message{ToUser: "o-alice", TemplateID: "tpl"}); err != nil {
		t.Fatal(err)
	}
}

func TestSendSubscribeFailures(t *testing.T) {
	tests := []struct {
		name      string
		prepare   func(fake *wechatfake.Server)
		msg       wechat.Message
		want      want
		wantSends int
	}{
		{
			name:    "send answers 502",
			prepare: func(fake *wechatfake.Server) { fake.FailNext(sendPath, 1, http.StatusBadGateway) },
			msg:     wechat.Message{ToUser: "o-alice", TemplateID: "tpl"},
			want:    want{kind: apperr.Transient, code: "wechat_unavailable"}, wantSends: 1,
		},
		{
			name:    "token answers 503",
			prepare: func(fake *wechatfake.Server) { fake.FailNext(tokenPath, 1, http.StatusServiceUnavailable) },
			msg:     wechat.Message{ToUser: "o-alice", TemplateID: "tpl"},
			want:    want{kind: apperr.Transient, code: "wechat_unavailable"}, wantSends: 0,
		},
		{
			name: "no recipient",
			msg:  wechat.Message{TemplateID: "tpl"},
			want: want{kind: apperr.Invalid, code: "validation_failed"}, wantSends: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake, c := setup(t)
			if tc.prepare != nil {
				tc.prepare(fake)
			}
			err := c.SendSubscribe(t.Context(), tc.msg)
			check(t, err, tc.want)
			if wechat.IsNoQuota(err) {
				t.Errorf("IsNoQuota(%v) = true", err)
			}
			if got := fake.Requests(sendPath); got != tc.wantSends {
				t.Errorf("send requests = %d, want %d", got, tc.wantSends)
			}
		})
	}
}

func TestIsNoQuota(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("43101"), false},
		{&wechat.Error{Code: 43101}, true},
		{fmt.Errorf("job: %w", apperr.Wrap(&wechat.Error{Code: 43101}, apperr.FailedPrecondition, "wechat_no_quota", "")), true},
		{apperr.Wrap(&wechat.Error{Code: 47003}, apperr.Transient, "wechat_error", ""), false},
	} {
		if got := wechat.IsNoQuota(tc.err); got != tc.want {
			t.Errorf("IsNoQuota(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
