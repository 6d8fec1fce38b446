package kitchendb

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/canteen-oss/canteen/internal/postgres"
)

// Listen follows ticket changes: it LISTENs on Channel over one dedicated connection to dsn
// (postgres.Listen) and calls fn(canteenID, ticketID) for each notification. NOTIFY is
// at-most-once and lost while no one listens, so after every connect and reconnect it calls
// fn(0, 0): subscribers then reload the open tickets from the table. It returns nil when
// ctx is done. fn runs on Listen's goroutine and must not block for long.
func Listen(ctx context.Context, dsn string, fn func(canteenID, ticketID int64)) error {
	return ListenWithPrinters(ctx, dsn, fn, nil)
}

// ListenWithPrinters is Listen that also calls printer(canteenID, printerID) for each
// change of a printer's status or settings, which the store notifies on the same channel
// as {"canteen_id":1,"printer_id":3}. With printer nil such notifications are ignored.
func ListenWithPrinters(ctx context.Context, dsn string, fn func(canteenID, ticketID int64), printer func(canteenID, printerID int64)) error {
	err := postgres.Listen(ctx, dsn, Channel, func(payload string) {
		var msg struct {
			CanteenID int64 `json:"canteen_id"`
			TicketID  int64 `json:"ticket_id"`
			PrinterID int64 `json:"printer_id"`
		}
		switch {
		case json.Unmarshal([]byte(payload), &msg) != nil || msg.CanteenID <= 0:
			fn(0, 0) // a (re)connect, or a payload not understood: reload everything
		case msg.PrinterID > 0:
			if printer != nil {
				printer(msg.CanteenID, msg.PrinterID)
			}
		default:
			fn(msg.CanteenID, msg.TicketID)
		}
	})
	if err != nil {
		return fmt.Errorf("kitchendb: %w", err)
	}
	return nil
}
