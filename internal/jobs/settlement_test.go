package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/settlement"
)

func TestCloseMonthIsScheduledMonthly(t *testing.T) {
	i := slices.IndexFunc(Schedule, func(p Periodic) bool { return p.Type == TypeCloseMonth })
	if i < 0 {
		t.Fatal("settlement:close_month is not scheduled")
	}
	// The scheduler reads cron in Asia/Shanghai (runScheduler): 02:00 on the 1st.
	if p := Schedule[i]; p.Cron != "0 2 1 * *" || p.Queue == "" {
		t.Fatalf("schedule %+v", p)
	}
}

func TestCloseMonthTaskRunsCloseDue(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	calls := 0
	h := Handlers{CloseMonths: func(context.Context) ([]settlement.DueResult, error) {
		calls++
		return []settlement.DueResult{{CommunityID: 1, Blocked: &settlement.Attempt{Findings: []settlement.Finding{{}}}}}, nil
	}}
	if err := h.Mux(log).ProcessTask(context.Background(), asynq.NewTask(TypeCloseMonth, nil)); err != nil || calls != 1 {
		t.Fatalf("err %v after %d calls: a month blocked by findings is a result, not a failure", err, calls)
	}
	h.CloseMonths = func(context.Context) ([]settlement.DueResult, error) { return nil, errors.New("db down") }
	if err := h.Mux(log).ProcessTask(context.Background(), asynq.NewTask(TypeCloseMonth, nil)); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("a database failure must be retried: %v", err)
	}
	h.CloseMonths = func(context.Context) ([]settlement.DueResult, error) {
		return nil, apperr.New(apperr.FailedPrecondition, "previous_month_open", "x")
	}
	if err := h.Mux(log).ProcessTask(context.Background(), asynq.NewTask(TypeCloseMonth, nil)); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("a precondition a retry cannot fix is archived: %v", err)
	}
	if err := (Handlers{}).Mux(log).ProcessTask(context.Background(), asynq.NewTask(TypeCloseMonth, nil)); err != nil {
		t.Fatalf("without month end wired the task does nothing: %v", err)
	}
}
