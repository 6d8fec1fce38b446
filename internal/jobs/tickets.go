package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// TicketPayload is the payload of a TypeCreateTicket task.
type TicketPayload struct {
	OrderID     int64 `json:"order_id"`
	CommunityID int64 `json:"community_id"`
}

// Re-drive bounds: orders paid more than redriveAge ago, redriveBatch at a time.
const (
	redriveAge   = 30 * time.Second
	redriveBatch = 100
)

var errBadTicketPayload = apperr.New(apperr.Invalid, "task_payload_invalid", "bad kitchen:create_ticket payload")

// handleTickets adds the kitchen ticket tasks to mux.
func (h Handlers) handleTickets(mux *asynq.ServeMux, log *slog.Logger) {
	mux.HandleFunc(TypeCreateTicket, func(ctx context.Context, t *asynq.Task) error {
		var p TicketPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.OrderID <= 0 || p.CommunityID <= 0 {
			return fmt.Errorf("create ticket: %w", errBadTicketPayload)
		}
		if err := h.CreateTicket(ctx, p.CommunityID, p.OrderID); err != nil {
			return fmt.Errorf("create ticket for order %d: %w", p.OrderID, err)
		}
		return nil
	})
	mux.HandleFunc(TypeMealReady, func(ctx context.Context, t *asynq.Task) error {
		var p TicketPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.OrderID <= 0 || p.CommunityID <= 0 {
			return fmt.Errorf("meal ready: %w", errBadTicketPayload)
		}
		if h.NotifyReady == nil {
			return nil
		}
		if err := h.NotifyReady(ctx, p.CommunityID, p.OrderID); err != nil {
			return fmt.Errorf("meal ready message for order %d: %w", p.OrderID, err)
		}
		return nil
	})
	mux.HandleFunc(TypeRedriveTickets, func(ctx context.Context, _ *asynq.Task) error {
		n, err := h.RedriveTickets(ctx)
		if n > 0 {
			log.WarnContext(ctx, "missing tickets re-driven", "count", n)
		}
		if err != nil {
			return fmt.Errorf("redrive tickets: %w", err)
		}
		return nil
	})
}

// RedriveTickets makes the tickets that orders paid over 30 s ago still lack, and returns
// how many orders it handled. It calls CreateTicket directly rather than enqueueing: the
// database says what is missing, so a flushed Redis or a lost task is made good here.
// Errors of single orders are joined; the rest go on.
func (h Handlers) RedriveTickets(ctx context.Context) (int, error) {
	if h.UnticketedOrders == nil || h.CreateTicket == nil {
		return 0, nil
	}
	total := 0
	for range 20 { // at most 2000 a run; the next run goes on
		refs, err := h.UnticketedOrders(ctx, redriveAge, redriveBatch)
		if err != nil {
			return total, err
		}
		var errs []error
		for _, r := range refs {
			if err := h.CreateTicket(ctx, r.CommunityID, r.OrderID); err != nil {
				errs = append(errs, fmt.Errorf("order %d: %w", r.OrderID, err))
			}
		}
		total += len(refs)
		if len(errs) > 0 || len(refs) < redriveBatch {
			return total, errors.Join(errs...)
		}
	}
	return total, nil
}
