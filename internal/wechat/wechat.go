// Package wechat is a small hand-written client for the three WeChat mini-program server
// APIs the canteen uses: login (jscode2session), the stable access_token and subscribe
// messages. Failures are classified with apperr (each method lists its kinds; a malformed
// BaseURL is Internal); when WeChat answered with an errcode, a *wechat.Error is in the
// chain (reachable with errors.As). A Client is safe for concurrent use; it keeps the
// access_token in memory.
package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// DefaultBaseURL is the WeChat API origin used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.weixin.qq.com"

// maxBody caps how much of a WeChat answer is read; real answers are a few hundred bytes.
const maxBody = 1 << 20

// Config configures a Client. AppID and Secret are the mini-program's credentials;
// BaseURL (default DefaultBaseURL) points tests and the demo at wechatfake;
// HTTPClient defaults to one with a 10 s timeout.
type Config struct {
	BaseURL    string
	AppID      string
	Secret     string
	HTTPClient *http.Client
}

// Client calls the WeChat server API for one mini-program. Build it with New.
type Client struct {
	baseURL string
	appID   string
	secret  string
	http    *http.Client
	now     func() time.Time
	tok     tokenCache
}

// New returns a Client for cfg. It does no I/O.
func New(cfg Config) *Client {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{
		baseURL: base,
		appID:   cfg.AppID,
		secret:  cfg.Secret,
		http:    hc,
		now:     time.Now,
		tok:     tokenCache{sem: make(chan struct{}, 1)},
	}
}

// AppID returns the mini-program's appid, as the payment layer needs it for prepay.
func (c *Client) AppID() string { return c.appID }

// Details shown to callers; the cause is logged, never shown.
const (
	detailUnavailable = "微信服务暂不可用，请稍后再试 / WeChat is unavailable, try again later"
	detailBadAnswer   = "微信服务返回了无法识别的应答 / WeChat returned an unexpected answer"
)

// apiStatus is the error envelope of every WeChat answer; errcode 0 (or absent) is success.
type apiStatus struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// do sends req and decodes a successful answer into out. A transport failure, a non-200
// status or an unreadable body becomes a Transient (429: TooManyRequests) *apperr.Error;
// a non-zero errcode becomes a *Error classified by classify. Errors never carry the
// request URL, which holds the secret or the access_token.
func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, ue.Err)
		}
		return apperr.Wrap(err, apperr.Transient, "wechat_unavailable", detailUnavailable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return apperr.Wrap(fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Path, err),
			apperr.Transient, "wechat_unavailable", detailUnavailable)
	}
	if resp.StatusCode != http.StatusOK {
		kind := apperr.Transient
		if resp.StatusCode == http.StatusTooManyRequests {
			kind = apperr.TooManyRequests
		}
		return apperr.Wrap(fmt.Errorf("%s %s: http status %d", req.Method, req.URL.Path, resp.StatusCode),
			kind, "wechat_unavailable", detailUnavailable)
	}
	var st apiStatus
	if err := json.Unmarshal(body, &st); err != nil {
		// The body may hold a session_key: never quote it.
		return apperr.Wrap(fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err),
			apperr.Transient, "wechat_bad_answer", detailBadAnswer)
	}
	if st.ErrCode != 0 {
		return classify(&Error{Code: st.ErrCode, Msg: st.ErrMsg})
	}
	if err := json.Unmarshal(body, out); err != nil {
		return apperr.Wrap(fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err),
			apperr.Transient, "wechat_bad_answer", detailBadAnswer)
	}
	return nil
}

// postJSON builds a POST of body as JSON to path with query.
func (c *Client) postJSON(ctx context.Context, path string, query url.Values, body any) (*http.Request, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
