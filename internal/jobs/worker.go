package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/canteen-oss/canteen/internal/civil"
)

// WorkerOptions configure Run.
type WorkerOptions struct {
	Concurrency     int
	ShutdownTimeout time.Duration
	LeaderTTL       time.Duration // 30 s when zero
	// PollInterval is how long a worker whose queues are empty waits before asking Redis
	// again (asynq's TaskCheckInterval, each wait drawn between half and 1.5 times it): a
	// new task waits about half of it on average. 1 s when zero.
	PollInterval time.Duration
	Log          *slog.Logger
}

// Run serves tasks until ctx is done, then shuts down gracefully: it stops fetching,
// waits up to ShutdownTimeout for running tasks, and re-queues the rest. Alongside,
// the scheduler runs in whichever worker process holds the leader lease.
func Run(ctx context.Context, rdb redis.UniversalClient, h Handlers, opt WorkerOptions) error {
	if opt.LeaderTTL == 0 {
		opt.LeaderTTL = 30 * time.Second
	}
	log := opt.Log
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:       opt.Concurrency,
		Queues:            Queues,
		ShutdownTimeout:   opt.ShutdownTimeout,
		Logger:            slogAdapter{log},
		LogLevel:          asynq.WarnLevel,
		TaskCheckInterval: opt.PollInterval,
		// A task recovered after its worker died does not use up a retry, and runs again at
		// once: finding it took the recoverer a minute or more already.
		IsFailure:      func(err error) bool { return !errors.Is(err, asynq.ErrLeaseExpired) },
		RetryDelayFunc: retryDelay,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			n, _ := asynq.GetRetryCount(ctx)
			max, _ := asynq.GetMaxRetry(ctx)
			log.WarnContext(ctx, "task will be retried or archived", "type", t.Type(), "retry", n, "max_retry", max, "err", err.Error())
		}),
	})
	if err := srv.Start(h.Mux(log)); err != nil {
		return fmt.Errorf("jobs: start worker: %w", err)
	}
	leaderDone := make(chan struct{})
	go func() {
		defer close(leaderDone)
		NewLeader(rdb, "canteen:scheduler:leader", opt.LeaderTTL).Run(ctx, func(lctx context.Context) {
			if err := runScheduler(lctx, rdb, log); err != nil {
				log.Error("scheduler stopped", "err", err.Error())
			}
		})
	}()
	log.Info("worker started", "concurrency", opt.Concurrency, "queues", Queues)
	<-ctx.Done()
	log.Info("worker stopping")
	srv.Stop()
	srv.Shutdown()
	<-leaderDone
	return nil
}

// retryDelay is asynq's exponential backoff, except that a task whose worker died
// (ErrLeaseExpired) is retried at once and printing backs off to a minute at most.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return 0
	}
	if t.Type() == TypePrint {
		return printRetryDelay(n)
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// runScheduler enqueues the periodic tasks while lctx lives.
func runScheduler(lctx context.Context, rdb redis.UniversalClient, log *slog.Logger) error {
	sch := asynq.NewSchedulerFromRedisClient(rdb, &asynq.SchedulerOpts{
		Location: civil.Shanghai(),
		Logger:   slogAdapter{log},
		LogLevel: asynq.WarnLevel,
		PostEnqueueFunc: func(info *asynq.TaskInfo, err error) {
			if err != nil && !errors.Is(err, asynq.ErrDuplicateTask) {
				log.Error("periodic enqueue failed", "err", err.Error())
			}
		},
	})
	for _, p := range Schedule {
		// Unique covers the hand-over window between two leaders.
		if _, err := sch.Register(p.Cron, asynq.NewTask(p.Type, nil), asynq.Queue(p.Queue),
			asynq.Unique(5*time.Minute), asynq.MaxRetry(3)); err != nil {
			return fmt.Errorf("jobs: register %s: %w", p.Type, err)
		}
	}
	if err := sch.Start(); err != nil {
		return fmt.Errorf("jobs: start scheduler: %w", err)
	}
	log.Info("scheduler leading", "entries", len(Schedule))
	<-lctx.Done()
	sch.Shutdown()
	log.Info("scheduler stopped leading")
	return nil
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) {
	msg := fmt.Sprint(args...)
	if strings.Contains(msg, "connection is shared") { // asynq reports that it leaves our shared client open, as intended
		a.l.Debug(msg)
		return
	}
	a.l.Error(msg)
}
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
