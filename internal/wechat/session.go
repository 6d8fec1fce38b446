package wechat

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Session is what WeChat knows about a diner who just ran wx.login. UnionID is empty unless
// the mini-program is bound to an Open Platform account. SessionKey decrypts wx payloads
// on this server only: it is never serialised, printed or logged (String, GoString and
// LogValue mask it; its JSON tag is "-").
type Session struct {
	OpenID     string
	UnionID    string
	SessionKey string `json:"-"`
}

// String describes s without its session key.
func (s Session) String() string {
	return fmt.Sprintf("wechat.Session{OpenID:%q UnionID:%q SessionKey:<masked>}", s.OpenID, s.UnionID)
}

// GoString is String, so %#v does not print the session key either.
func (s Session) GoString() string { return s.String() }

// LogValue logs s without its session key.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("openid", s.OpenID), slog.String("unionid", s.UnionID))
}

// Code2Session exchanges a wx.login code (single-use, valid about 5 minutes) for the diner's
// Session. Errors: Invalid (empty code); Unauthenticated "wechat_code_invalid" (40029,
// 40163: ask the mini-program to log in again); TooManyRequests (45011); Forbidden (40226);
// Transient otherwise. A *Error is in the chain whenever WeChat answered with an errcode.
func (c *Client) Code2Session(ctx context.Context, code string) (Session, error) {
	if code == "" {
		var f apperr.Fields
		f.Add("code", "required")
		return Session{}, fmt.Errorf("wechat: jscode2session: %w", f.Err())
	}
	q := url.Values{
		"appid":      {c.appID},
		"secret":     {c.secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/sns/jscode2session?"+q.Encode(), nil)
	if err != nil {
		return Session{}, fmt.Errorf("wechat: jscode2session: %w", err)
	}
	var out struct {
		OpenID     string `json:"openid"`
		UnionID    string `json:"unionid"`
		SessionKey string `json:"session_key"`
	}
	if err := c.do(req, &out); err != nil {
		return Session{}, fmt.Errorf("wechat: jscode2session: %w", err)
	}
	if out.OpenID == "" || out.SessionKey == "" {
		return Session{}, fmt.Errorf("wechat: jscode2session: %w", apperr.New(apperr.Transient, "wechat_bad_answer", detailBadAnswer))
	}
	return Session{OpenID: out.OpenID, UnionID: out.UnionID, SessionKey: out.SessionKey}, nil
}
