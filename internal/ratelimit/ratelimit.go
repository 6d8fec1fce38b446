// Package ratelimit counts attempts per key in fixed windows kept in Redis, so every
// API instance shares one count.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Window allows Limit attempts per key per Period.
type Window struct {
	rdb    redis.UniversalClient
	prefix string
	limit  int64
	period time.Duration
}

// New returns a Window. prefix namespaces its keys.
func New(rdb redis.UniversalClient, prefix string, limit int, period time.Duration) *Window {
	return &Window{rdb: rdb, prefix: prefix, limit: int64(limit), period: period}
}

var incr = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`)

// Allow counts one attempt for key and reports whether it is within the limit and,
// if not, how long until the window resets.
func (w *Window) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	res, err := incr.Run(ctx, w.rdb, []string{w.prefix + key}, w.period.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: %w", err)
	}
	if res[0] > w.limit {
		return false, time.Duration(res[1]) * time.Millisecond, nil
	}
	return true, 0, nil
}
