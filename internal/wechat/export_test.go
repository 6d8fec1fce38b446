package wechat

import (
	"net/http"
	"time"
)

// SetNow replaces the clock the token cache reads.
func SetNow(c *Client, now func() time.Time) { c.now = now }

// Internals lets tests check New's defaults.
func Internals(c *Client) (baseURL string, hc *http.Client) { return c.baseURL, c.http }
