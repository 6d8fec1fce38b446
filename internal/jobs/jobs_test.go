package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/redistest"
)

func TestRetryable(t *testing.T) {
	cases := []struct {
		err  error
		skip bool
	}{
		{apperr.New(apperr.Invalid, "x", ""), true},
		{fmt.Errorf("wrapped: %w", apperr.New(apperr.FailedPrecondition, "wechat_no_quota", "")), true},
		{apperr.New(apperr.NotFound, "x", ""), true},
		{apperr.New(apperr.Transient, "x", ""), false},
		{errors.New("connection reset"), false},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			got := retryable(tc.err)
			if errors.Is(got, asynq.SkipRetry) != tc.skip {
				t.Fatalf("retryable(%v) skip = %v, want %v", tc.err, !tc.skip, tc.skip)
			}
			if !errors.Is(got, tc.err) {
				t.Fatal("the cause must stay in the chain")
			}
		})
	}
	if retryable(nil) != nil {
		t.Fatal("nil must stay nil")
	}
}

func TestLeaderOnlyOneLeadsAndHandsOver(t *testing.T) {
	rdb := redistest.New(t)
	key := fmt.Sprintf("test:leader:%d", time.Now().UnixNano())
	ttl := 300 * time.Millisecond
	var leading, maxLeading, leads atomic.Int32
	lead := func(ctx context.Context) {
		leads.Add(1)
		n := leading.Add(1)
		for {
			m := maxLeading.Load()
			if n <= m || maxLeading.CompareAndSwap(m, n) {
				break
			}
		}
		<-ctx.Done()
		leading.Add(-1)
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() { defer close(doneA); NewLeader(rdb, key, ttl).Run(ctxA, lead) }()
	time.Sleep(50 * time.Millisecond)
	go func() { defer close(doneB); NewLeader(rdb, key, ttl).Run(ctxB, lead) }()
	time.Sleep(4 * ttl)
	if got := leading.Load(); got != 1 {
		t.Fatalf("%d processes lead, want 1", got)
	}
	stopA() // the leader stops; B must take over
	<-doneA
	deadline := time.Now().Add(10 * ttl)
	for leads.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if leads.Load() != 2 || leading.Load() != 1 {
		t.Fatalf("after hand-over: leads=%d leading=%d, want 2 and 1", leads.Load(), leading.Load())
	}
	if maxLeading.Load() != 1 {
		t.Fatalf("at some point %d processes led at once", maxLeading.Load())
	}
	stopB()
	<-doneB
}

func TestWorkerRunsTaskAndSchedulerEnqueues(t *testing.T) {
	rdb := redistest.New(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var purged atomic.Int32
	h := Handlers{
		PurgeSessions: func(context.Context) (int64, error) { purged.Add(1); return 3, nil },
		ExpireOrders:  func(context.Context, int) (int, error) { return 0, nil },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, rdb, h, WorkerOptions{Concurrency: 2, ShutdownTimeout: 2 * time.Second, LeaderTTL: time.Second, Log: log})
	}()
	client := asynq.NewClientFromRedisClient(rdb)
	id := fmt.Sprintf("test-purge-%d", time.Now().UnixNano())
	if _, err := client.Enqueue(asynq.NewTask(TypePurgeSessions, nil), asynq.Queue(QueueLow), asynq.TaskID(id), asynq.Retention(time.Minute)); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	deadline := time.Now().Add(15 * time.Second)
	var info *asynq.TaskInfo
	for time.Now().Before(deadline) {
		var err error
		info, err = insp.GetTaskInfo(QueueLow, id)
		if err == nil && info.State == asynq.TaskStateCompleted {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if info == nil || info.State != asynq.TaskStateCompleted || purged.Load() < 1 {
		t.Fatalf("task not completed: %+v purged=%d", info, purged.Load())
	}
	// The leader's scheduler has registered the periodic entries.
	deadline = time.Now().Add(15 * time.Second)
	found := false
	for !found && time.Now().Before(deadline) {
		entries, _ := insp.SchedulerEntries()
		for _, e := range entries {
			found = found || e.Task.Type() == TypePurgeSessions
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !found {
		t.Fatal("scheduler entry for session purge not registered")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("worker did not shut down")
	}
}

func TestExpireOrdersRunsInBatches(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	left := 450
	calls := 0
	h := Handlers{ExpireOrders: func(_ context.Context, limit int) (int, error) {
		calls++
		n := min(left, limit)
		left -= n
		return n, nil
	}}
	if err := h.Mux(log).ProcessTask(context.Background(), asynq.NewTask(TypeExpireOrders, nil)); err != nil {
		t.Fatal(err)
	}
	if left != 0 || calls != 3 {
		t.Fatalf("left %d after %d calls; want 0 after 3 (200+200+50)", left, calls)
	}
	h.ExpireOrders = func(context.Context, int) (int, error) { return 0, errors.New("db down") }
	if err := h.Mux(log).ProcessTask(context.Background(), asynq.NewTask(TypeExpireOrders, nil)); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("a database failure must be retried: %v", err)
	}
}
