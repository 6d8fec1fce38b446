package kitchendb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/kitchendb"
)

type change struct{ canteen, ticket int64 }

// TestListenDeliversAndReconnects follows the channel: a reload signal on connect, each
// notification as sent, and after the server drops the connection another reload signal
// and notifications again.
func TestListenDeliversAndReconnects(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(f.ctx)
	got := make(chan change, 16)
	done := make(chan error, 1)
	go func() {
		done <- kitchendb.Listen(ctx, f.dsn, func(c, tk int64) { got <- change{c, tk} })
	}()
	next := func() change {
		t.Helper()
		select {
		case c := <-got:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no call from Listen")
			return change{}
		}
	}
	notify := func(payload string) {
		t.Helper()
		f.exec("SELECT pg_notify(?, ?)", kitchendb.Channel, payload)
	}

	if c := next(); c != (change{}) {
		t.Fatalf("first call %+v, want the reload signal (0, 0)", c)
	}
	notify(`{"canteen_id":7,"ticket_id":42}`)
	if c := next(); c != (change{7, 42}) {
		t.Fatalf("got %+v, want canteen 7 ticket 42", c)
	}
	notify(`not json`)
	if c := next(); c != (change{}) {
		t.Fatalf("a payload not understood gave %+v, want a reload signal", c)
	}

	// The server ends the listening connection: Listen reconnects and signals a reload.
	var killed int
	f.scan(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`, &killed)
	if killed != 1 {
		t.Fatalf("terminated %d listening connections, want 1", killed)
	}
	if c := next(); c != (change{}) {
		t.Fatalf("after a reconnect got %+v, want the reload signal", c)
	}
	for i := range 3 {
		notify(fmt.Sprintf(`{"canteen_id":8,"ticket_id":%d}`, i+1))
		if c := next(); c != (change{8, int64(i + 1)}) {
			t.Fatalf("after reconnect got %+v, want canteen 8 ticket %d", c, i+1)
		}
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
}

// TestListenRefusesBadDSN returns at once on a DSN that cannot work.
func TestListenRefusesBadDSN(t *testing.T) {
	if err := kitchendb.Listen(context.Background(), "postgres://%zz", func(int64, int64) {}); err == nil {
		t.Fatal("Listen accepted a malformed DSN")
	}
}
