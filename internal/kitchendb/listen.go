package kitchendb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen follows ticket changes: it holds one dedicated connection to dsn (never a pooled
// one), LISTENs on Channel and calls fn(canteenID, ticketID) for each notification. NOTIFY is
// at-most-once and lost while no one listens, so after every connect and reconnect it calls
// fn(0, 0): subscribers then reload the open tickets from the table. On an error it
// reconnects with a backoff from 100 ms up to 10 s. It returns nil when ctx is done.
// fn runs on Listen's goroutine and must not block for long.
func Listen(ctx context.Context, dsn string, fn func(canteenID, ticketID int64)) error {
	return ListenWithPrinters(ctx, dsn, fn, nil)
}

// ListenWithPrinters is Listen that also calls printer(canteenID, printerID) for each
// change of a printer's status or settings, which the store notifies on the same channel
// as {"canteen_id":1,"printer_id":3}. With printer nil such notifications are ignored.
func ListenWithPrinters(ctx context.Context, dsn string, fn func(canteenID, ticketID int64), printer func(canteenID, printerID int64)) error {
	return listen(ctx, dsn, fn, printer, 100*time.Millisecond, 10*time.Second)
}

func listen(ctx context.Context, dsn string, fn, printer func(canteenID, id int64), minWait, maxWait time.Duration) error {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return fmt.Errorf("kitchendb: listen: %w", err) // a bad DSN will not get better
	}
	wait := minWait
	for {
		listened, _ := listenOnce(ctx, dsn, fn, printer)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			wait = minWait // the connection worked for a while: retry soon
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}

// listenOnce connects, listens and delivers until an error; listened says whether the
// LISTEN took effect.
func listenOnce(ctx context.Context, dsn string, fn, printer func(canteenID, id int64)) (listened bool, err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return false, err
	}
	fn(0, 0)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		var msg struct {
			CanteenID int64 `json:"canteen_id"`
			TicketID  int64 `json:"ticket_id"`
			PrinterID int64 `json:"printer_id"`
		}
		switch {
		case json.Unmarshal([]byte(n.Payload), &msg) != nil || msg.CanteenID <= 0:
			fn(0, 0) // a payload not understood: reload everything
		case msg.PrinterID > 0:
			if printer != nil {
				printer(msg.CanteenID, msg.PrinterID)
			}
		default:
			fn(msg.CanteenID, msg.TicketID)
		}
	}
}
