package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

// TestWriteOutboxWakesListenersOnCommit follows OutboxChannel: a wake-up on connect, none
// for an outbox row whose transaction rolled back, one per committed transaction however
// many rows it wrote, and wake-ups again after the server drops the listening connection.
func TestWriteOutboxWakesListenersOnCommit(t *testing.T) {
	db, dsn := pgtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var community int64
	if err := db.NewRaw("INSERT INTO communities (code, name) VALUES ('outbox', 'C') RETURNING id").Scan(ctx, &community); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- postgres.Listen(ctx, dsn, postgres.OutboxChannel, func(p string) { got <- p })
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case p := <-got:
			return p
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up %s", what)
			return ""
		}
	}
	write := func(rows int, commit bool) {
		t.Helper()
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for range rows {
				if err := postgres.WriteOutbox(ctx, tx, community, "order.paid", postgres.OrderEvent{OrderID: 1, Status: "paid"}); err != nil {
					return err
				}
			}
			if !commit {
				return context.Canceled
			}
			return nil
		})
		if commit && err != nil {
			t.Fatal(err)
		}
	}
	// wakeUps counts the wake-ups before a marker sent now: notifications arrive in
	// commit order, so everything the writes above signalled comes before it.
	wakeUps := func() int {
		t.Helper()
		if _, err := db.ExecContext(ctx, "SELECT pg_notify(?, 'marker')", postgres.OutboxChannel); err != nil {
			t.Fatal(err)
		}
		n := 0
		for next("before the marker") != "marker" {
			n++
		}
		return n
	}

	if p := next("on connect"); p != "" {
		t.Fatalf("first call %q, want the empty wake-up of a connect", p)
	}
	write(1, false)
	write(3, true)
	write(1, true)
	if n := wakeUps(); n != 2 {
		t.Fatalf("%d wake-ups; want 2: none for the rolled-back row, one per committed transaction", n)
	}
	var rows int
	if err := db.NewRaw("SELECT count(*) FROM outbox").Scan(ctx, &rows); err != nil || rows != 4 {
		t.Fatalf("%d outbox rows, %v; want the 4 committed", rows, err)
	}

	var killed int
	if err := db.NewRaw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`).Scan(ctx, &killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listening connections, %v; want 1", killed, err)
	}
	if p := next("after a reconnect"); p != "" {
		t.Fatalf("after a reconnect got %q, want the empty wake-up", p)
	}
	write(1, true)
	if n := wakeUps(); n != 1 {
		t.Fatalf("after a reconnect %d wake-ups for one commit; want 1", n)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Listen returned %v when its context ended", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return when its context ended")
	}
	if err := postgres.Listen(context.Background(), "::not a dsn", "x", func(string) {}); err == nil {
		t.Fatal("Listen accepted a DSN that cannot work")
	}
}
