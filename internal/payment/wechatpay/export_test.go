package wechatpay

import "time"

// ParseDecimal exposes parseDecimal to the tests.
var ParseDecimal = parseDecimal

// SetNow replaces the clock the notification checks use.
func SetNow(c *Client, now func() time.Time) { c.now = now }
