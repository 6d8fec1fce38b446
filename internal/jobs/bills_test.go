package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/canteen-oss/canteen/internal/apperr"
)

func TestTradeBillTaskReconcilesAfterTheFetch(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	task := asynq.NewTask(TypeFetchTradeBill, nil)
	var calls []string
	fetchErr, recErr := error(nil), error(nil)
	h := Handlers{
		FetchTradeBill: func(context.Context) error { calls = append(calls, "fetch"); return fetchErr },
		ReconcileBills: func(context.Context) (int, error) { calls = append(calls, "reconcile"); return 2, recErr },
	}
	tests := []struct {
		name           string
		fetch, rec     error
		wantErr, retry bool
	}{
		{"both succeed", nil, nil, false, false},
		// Earlier days are reconciled even when WeChat is down; the fetch is retried.
		{"the fetch fails", apperr.New(apperr.Transient, "wechatpay_system_error", "down"), nil, true, true},
		{"a day fails to reconcile", nil, errors.New("connection reset"), true, true},
		{"a conflict is not retried", apperr.New(apperr.Conflict, "bill_changed", "changed"), nil, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls, fetchErr, recErr = nil, tc.fetch, tc.rec
			err := h.Mux(log).ProcessTask(context.Background(), task)
			if len(calls) != 2 || calls[0] != "fetch" || calls[1] != "reconcile" {
				t.Fatalf("calls %v, want fetch then reconcile", calls)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want an error: %t", err, tc.wantErr)
			}
			if err != nil && errors.Is(err, asynq.SkipRetry) == tc.retry {
				t.Fatalf("err = %v: retried %t, want %t", err, !tc.retry, tc.retry)
			}
			for _, cause := range []error{tc.fetch, tc.rec} {
				if cause != nil && !errors.Is(err, cause) {
					t.Errorf("err = %v lost its cause %v", err, cause)
				}
			}
		})
	}

	// Without WeChat Pay the task does nothing.
	calls = nil
	if err := (Handlers{ReconcileBills: h.ReconcileBills}).Mux(log).ProcessTask(context.Background(), task); err != nil || len(calls) != 0 {
		t.Fatalf("without WeChat Pay: %v, calls %v", err, calls)
	}
}
