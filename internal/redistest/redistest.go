// Package redistest connects tests to the Redis server at REDIS_URL (default
// 127.0.0.1:6379/0). Tests keep to their own keys and queue names rather than
// flushing, so packages can run in parallel. Unreachable Redis skips the test,
// or fails it when CI=true.
package redistest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL returns the Redis URL tests use.
func URL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// New returns a client on the test Redis, closed when t ends.
func New(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatalf("redistest: parse REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis is required when CI=true: %v", err)
		}
		t.Skipf("Redis not reachable (set CI=true to fail instead): %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
