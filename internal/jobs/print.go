package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/kitchen"
)

// PrintPayload is the payload of a TypePrint task.
type PrintPayload struct {
	TicketID    int64 `json:"ticket_id"`
	Generation  int   `json:"generation"` // 0: the first print; n: the nth reprint
	CommunityID int64 `json:"community_id"`
}

// A printer that is down is tried again soon and often, so its tickets come out soon
// after it is back, and for about half an hour: by then the meal is long served and the
// screens show the tickets the printer missed.
const (
	printMaxRetry   = 30
	printRetryFirst = 5 * time.Second
	printRetryMax   = time.Minute
)

// printRetryDelay is the wait before retry n (from 1) of a TypePrint task: 5 s, doubling
// up to a minute.
func printRetryDelay(n int) time.Duration {
	d := printRetryFirst
	for i := 1; i < n && d < printRetryMax; i++ {
		d *= 2
	}
	return min(d, printRetryMax)
}

var errBadPrintPayload = apperr.New(apperr.Invalid, "task_payload_invalid", "bad kitchen:print payload")

// printTask returns the TypePrint task of a kitchen.TopicPrint outbox row.
func printTask(communityID int64, payload []byte) (*asynq.Task, error) {
	var e kitchen.PrintEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, fmt.Errorf("outbox %s payload: %w", kitchen.TopicPrint, err)
	}
	b, err := json.Marshal(PrintPayload{TicketID: e.TicketID, Generation: e.Generation, CommunityID: communityID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypePrint, b, asynq.MaxRetry(printMaxRetry)), nil
}

// handlePrint adds the print tasks to mux. Without PrintTicket and RedrivePrints
// (printing not wired) they do nothing.
func (h Handlers) handlePrint(mux *asynq.ServeMux, log *slog.Logger) {
	mux.HandleFunc(TypeRedrivePrints, func(ctx context.Context, _ *asynq.Task) error {
		if h.RedrivePrints == nil {
			return nil
		}
		n, err := h.RedrivePrints(ctx)
		if n > 0 {
			log.WarnContext(ctx, "stalled prints re-driven", "count", n)
		}
		if err != nil {
			return fmt.Errorf("redrive prints: %w", err)
		}
		return nil
	})
	mux.HandleFunc(TypePrint, func(ctx context.Context, t *asynq.Task) error {
		var p PrintPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.TicketID <= 0 || p.CommunityID <= 0 || p.Generation < 0 {
			return fmt.Errorf("print ticket: %w", errBadPrintPayload)
		}
		if h.PrintTicket == nil {
			return nil
		}
		if err := h.PrintTicket(ctx, p.CommunityID, p.TicketID, p.Generation); err != nil {
			return fmt.Errorf("print ticket %d (generation %d): %w", p.TicketID, p.Generation, err)
		}
		return nil
	})
}
