package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen LISTENs on channel over one dedicated connection to dsn (never a pooled one)
// and calls fn with the payload of each notification. NOTIFY is at-most-once and lost
// while no one listens, so fn("") is also called after every connect and reconnect: a
// caller that wakes on fn then looks at the table and misses nothing. On an error it
// reconnects with a backoff from 100 ms up to 10 s. It returns nil when ctx is done, and
// an error at once for a DSN that cannot work. fn runs on Listen's goroutine and must
// not block for long.
func Listen(ctx context.Context, dsn, channel string, fn func(payload string)) error {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return fmt.Errorf("postgres: listen %s: %w", channel, err)
	}
	const minWait, maxWait = 100 * time.Millisecond, 10 * time.Second
	wait := minWait
	for {
		if listenOnce(ctx, dsn, channel, fn) {
			wait = minWait // the connection worked for a while: retry soon
		}
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}

// listenOnce connects, listens and delivers until an error; it reports whether the
// LISTEN took effect.
func listenOnce(ctx context.Context, dsn, channel string, fn func(string)) bool {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false
	}
	fn("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true
		}
		fn(n.Payload)
	}
}
