package printer_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/printer"
	"github.com/canteen-oss/canteen/internal/printer/printerfake"
)

func fake(t *testing.T) *printerfake.Printer {
	t.Helper()
	p, err := printerfake.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestSendThroughEveryMode sends to a printer that prints, one that drops connections
// unread, one that refuses them, and the same printer back at work.
func TestSendThroughEveryMode(t *testing.T) {
	ctx := context.Background()
	fp := fake(t)
	c := printer.New(printer.Options{DialTimeout: time.Second})
	data := []byte("\x1b@first job\n")
	if err := c.Send(ctx, fp.Addr(), data); err != nil {
		t.Fatalf("send to a working printer: %v", err)
	}
	if jobs := fp.Jobs(); len(jobs) != 1 || !bytes.Equal(jobs[0], data) {
		t.Fatalf("printer got %q, want one job %q", jobs, data)
	}

	for _, tc := range []struct {
		mode printerfake.Mode
		want error
	}{
		{printerfake.Drop, printer.ErrSendFailed},
		{printerfake.Refuse, printer.ErrUnreachable},
	} {
		if err := fp.SetMode(tc.mode); err != nil {
			t.Fatal(err)
		}
		err := c.Send(ctx, fp.Addr(), bytes.Repeat([]byte("lost job "), 100))
		if !errors.Is(err, tc.want) || apperr.KindOf(err) != apperr.Transient {
			t.Fatalf("mode %d: %v; want %v of kind Transient", tc.mode, err, tc.want)
		}
	}
	if err := fp.SetMode(printerfake.Print); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, fp.Addr(), []byte("back\n")); err != nil {
		t.Fatalf("send after the printer came back: %v", err)
	}
	if jobs := fp.Jobs(); len(jobs) != 2 || string(jobs[1]) != "back\n" {
		t.Fatalf("jobs %q; want the first and the one after it came back, none of the lost ones", jobs)
	}
}

// TestPrintRendersTheTicket prints a printout and reads its text back from the printer.
func TestPrintRendersTheTicket(t *testing.T) {
	fp := fake(t)
	p := kitchen.Printout{Card: kitchen.Card{Ticket: kitchen.Ticket{ID: 5, OrderID: 9, Pickup: "D007", Period: "dinner"},
		Lines: []kitchen.Line{{LineNo: 1, Name: "清蒸鱼", Qty: 1}}}, Canteen: "东风食堂"}
	if err := printer.New(printer.Options{}).Print(context.Background(), fp.Addr(), p); err != nil {
		t.Fatal(err)
	}
	texts := fp.Texts()
	if len(texts) != 1 || !strings.Contains(texts[0], "D007\n") || !strings.Contains(texts[0], "1 × 清蒸鱼") || !strings.Contains(texts[0], "东风食堂") {
		t.Fatalf("printed %q", texts)
	}
}

// TestSendGivesUpWithTheContext stops waiting on a printer that takes the connection and
// never answers once the caller's context ends.
func TestSendGivesUpWithTheContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		if conn, err := ln.Accept(); err == nil {
			held <- conn // never read, never closed until the test ends
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	c := printer.New(printer.Options{DrainTimeout: time.Hour})
	done := make(chan error, 1)
	go func() { done <- c.Send(ctx, ln.Addr().String(), []byte("job\n")) }()
	var conn net.Conn
	select {
	case conn = <-held: // connected: Send now waits on the silent printer
		defer conn.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("Send did not connect")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, printer.ErrSendFailed) && !errors.Is(err, printer.ErrUnreachable) {
			t.Fatalf("Send after its context ended: %v; want a Transient failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send kept waiting after its context ended")
	}
}
