package wechat

import (
	"context"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// refreshMargin is how long before WeChat's expiry the cached access_token is replaced.
const refreshMargin = 5 * time.Minute

// tokenCache holds the access_token. sem is a one-slot semaphore held while the cache is
// read or refilled, so at most one stable_token request is in flight per Client and a
// waiting caller can still give up when its ctx ends.
type tokenCache struct {
	sem       chan struct{}
	value     string
	refreshAt time.Time
}

// AccessToken returns the mini-program's access_token from /cgi-bin/stable_token. It is cached
// in memory until 5 minutes before it expires; concurrent callers share one fetch. Errors are
// Transient (or TooManyRequests) *apperr.Error values; a *Error is in the chain when WeChat
// answered with an errcode (40013 bad appid, 40125 bad secret, 45009 daily limit).
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	return c.token(ctx, "")
}

// token returns a cached or fresh access_token. rejected names a token WeChat has just
// answered 40001/42001 to: if it is still the cached one, it is dropped and the new one is
// fetched with force_refresh; if another caller already replaced it, the new one is reused.
func (c *Client) token(ctx context.Context, rejected string) (string, error) {
	select {
	case c.tok.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("wechat: stable_token: %w",
			apperr.Wrap(ctx.Err(), apperr.Transient, "wechat_unavailable", detailUnavailable))
	}
	defer func() { <-c.tok.sem }()

	force := rejected != "" && c.tok.value == rejected
	if c.tok.value != "" && !force && c.now().Before(c.tok.refreshAt) {
		return c.tok.value, nil
	}
	body := struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}{"client_credential", c.appID, c.secret, force}
	req, err := c.postJSON(ctx, "/cgi-bin/stable_token", nil, body)
	if err != nil {
		return "", fmt.Errorf("wechat: stable_token: %w", err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"` // seconds
	}
	if err := c.do(req, &out); err != nil {
		return "", fmt.Errorf("wechat: stable_token: %w", err)
	}
	if out.AccessToken == "" || out.ExpiresIn <= 0 {
		return "", fmt.Errorf("wechat: stable_token: %w", apperr.New(apperr.Transient, "wechat_bad_answer", detailBadAnswer))
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	// Normally refresh 5 minutes early; a token that already has less than that left
	// (stable_token returns the current token with its remaining time) is kept for half of it.
	keep := life - refreshMargin
	if keep <= 0 {
		keep = life / 2
	}
	c.tok.value = out.AccessToken
	c.tok.refreshAt = c.now().Add(keep)
	return out.AccessToken, nil
}
