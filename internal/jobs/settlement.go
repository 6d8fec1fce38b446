package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"
)

// handleSettlement adds the month-end task to mux.
func (h Handlers) handleSettlement(mux *asynq.ServeMux, log *slog.Logger) {
	mux.HandleFunc(TypeCloseMonth, func(ctx context.Context, _ *asynq.Task) error {
		if h.CloseMonths == nil {
			return nil
		}
		results, err := h.CloseMonths(ctx)
		for _, r := range results {
			for _, c := range r.Closed {
				log.InfoContext(ctx, "month closed", "community_id", r.CommunityID, "month", c.Month.String(), "statements", c.Statements)
			}
			if b := r.Blocked; b != nil {
				log.WarnContext(ctx, "month not closed: the checks found problems for finance",
					"community_id", r.CommunityID, "month", b.Month.String(), "findings", len(b.Findings), "attempt_id", b.ID)
			}
		}
		if err != nil {
			return fmt.Errorf("close months: %w", err)
		}
		return nil
	})
}
