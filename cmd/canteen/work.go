package main

import (
	"context"
	"errors"
	"io"

	"github.com/canteen-oss/canteen/internal/jobs"
	"github.com/canteen-oss/canteen/internal/kitchendb"
	"github.com/canteen-oss/canteen/internal/postgres"
)

func work(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	sys, err := boot(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer sys.close()
	return sys.runWorker(ctx)
}

// runWorker runs the task server (with the scheduler while this process leads) and the
// outbox relay until ctx is done. PostgreSQL's notification of each committed outbox row
// wakes the relay; it also looks every CANTEEN_OUTBOX_POLL_INTERVAL.
func (s *system) runWorker(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	listenDone := make(chan struct{})
	go func() {
		defer close(listenDone)
		err := postgres.Listen(ctx, s.cfg.DatabaseURL, postgres.OutboxChannel, func(string) {
			select {
			case wake <- struct{}{}:
			default: // a pass is already due
			}
		})
		if err != nil {
			s.log.Error("outbox listener stopped; the relay polls only", "err", err.Error())
		}
	}()
	relayDone := make(chan error, 1)
	go func() {
		relayDone <- jobs.RunRelay(ctx, s.rdb, kitchendb.NewOutbox(s.db),
			jobs.RelayOptions{Interval: s.cfg.OutboxPoll, Wake: wake, Log: s.log})
	}()
	err := jobs.Run(ctx, s.rdb, s.handlers(), jobs.WorkerOptions{
		Concurrency: s.cfg.WorkerConcurrency, ShutdownTimeout: s.cfg.ShutdownTimeout,
		PollInterval: s.cfg.WorkerPoll, Log: s.log})
	rerr := <-relayDone
	if errors.Is(rerr, context.Canceled) {
		rerr = nil
	}
	<-listenDone
	return errors.Join(err, rerr)
}
