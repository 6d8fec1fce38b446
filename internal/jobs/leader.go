package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"
)

// Leader is a lease in Redis that at most one process holds at a time. The holder
// renews it; if the holder dies the lease lapses after ttl and another takes over.
type Leader struct {
	rdb redis.UniversalClient
	key string
	id  string
	ttl time.Duration
}

// NewLeader returns a contender for the lease named key.
func NewLeader(rdb redis.UniversalClient, key string, ttl time.Duration) *Leader {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Leader{rdb: rdb, key: key, id: hex.EncodeToString(b), ttl: ttl}
}

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// TryAcquire takes or renews the lease and reports whether this contender holds it.
func (l *Leader) TryAcquire(ctx context.Context) (bool, error) {
	n, err := renewScript.Run(ctx, l.rdb, []string{l.key}, l.id, l.ttl.Milliseconds()).Int()
	return n == 1, err
}

// Release gives the lease up if held.
func (l *Leader) Release(ctx context.Context) error {
	return releaseScript.Run(ctx, l.rdb, []string{l.key}, l.id).Err()
}

// Run calls lead with a context that lives while this contender holds the lease,
// retrying to acquire every ttl/3 until ctx is done. lead must return when its
// context is cancelled.
func (l *Leader) Run(ctx context.Context, lead func(ctx context.Context)) {
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	var stop func() // non-nil while leading
	defer func() {
		if stop != nil {
			stop()
		}
		_ = l.Release(context.WithoutCancel(ctx))
	}()
	for {
		held, err := l.TryAcquire(ctx)
		switch {
		case err == nil && held && stop == nil:
			stop = start(ctx, lead)
		case (err != nil || !held) && stop != nil:
			stop() // lost the lease (or cannot tell): stop leading at once
			stop = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// start runs fn in a goroutine and returns a func that cancels it and waits for it.
func start(ctx context.Context, fn func(ctx context.Context)) func() {
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); fn(lctx) }()
	return func() { cancel(); <-done }
}
