package jobs

import (
	"fmt"
	"testing"

	"github.com/hibiken/asynq"
)

// TestTaskOfADeadWorkerRunsAgainAtOnce: a task the recoverer takes back from a dead worker
// is retried without a backoff, whatever its type; a task that failed keeps one.
func TestTaskOfADeadWorkerRunsAgainAtOnce(t *testing.T) {
	for _, typ := range []string{TypeCreateTicket, TypePrint, TypeRedriveTickets} {
		task := asynq.NewTask(typ, nil)
		if d := retryDelay(3, fmt.Errorf("recover: %w", asynq.ErrLeaseExpired), task); d != 0 {
			t.Errorf("%s of a dead worker waits %v; want 0", typ, d)
		}
		if d := retryDelay(3, fmt.Errorf("database down"), task); d <= 0 {
			t.Errorf("%s that failed is retried after %v; want a backoff", typ, d)
		}
	}
}
