package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"
)

// handleBills adds the trade bill task to mux: fetch yesterday's bill, then reconcile
// every stored day that is due (the one just stored, the day before it, whose late
// payments may be on it, and any day whose payments or refunds changed since its run).
// Reconciliation runs even when the fetch failed, since records of earlier days may
// have changed. Both errors are returned; a fetch error decides the retry when there is
// one (a day left unreconciled is due again at the next hourly run anyway).
func (h Handlers) handleBills(mux *asynq.ServeMux, log *slog.Logger) {
	mux.HandleFunc(TypeFetchTradeBill, func(ctx context.Context, _ *asynq.Task) error {
		if h.FetchTradeBill == nil {
			return nil
		}
		var fetchErr, recErr error
		if err := h.FetchTradeBill(ctx); err != nil {
			fetchErr = fmt.Errorf("fetch trade bill: %w", err)
		}
		if h.ReconcileBills != nil {
			n, err := h.ReconcileBills(ctx)
			if n > 0 {
				log.InfoContext(ctx, "trade bill days reconciled", "days", n)
			}
			if err != nil {
				recErr = fmt.Errorf("reconcile trade bills: %w", err)
			}
		}
		return errors.Join(fetchErr, recErr)
	})
}
