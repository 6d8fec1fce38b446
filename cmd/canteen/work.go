package main

import (
	"context"
	"errors"
	"io"

	"github.com/canteen-oss/canteen/internal/jobs"
	"github.com/canteen-oss/canteen/internal/kitchendb"
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
// outbox relay until ctx is done.
func (s *system) runWorker(ctx context.Context) error {
	relayDone := make(chan error, 1)
	go func() {
		relayDone <- jobs.RunRelay(ctx, s.rdb, kitchendb.NewOutbox(s.db), jobs.RelayOptions{Log: s.log})
	}()
	err := jobs.Run(ctx, s.rdb, s.handlers(), jobs.WorkerOptions{
		Concurrency: s.cfg.WorkerConcurrency, ShutdownTimeout: s.cfg.ShutdownTimeout, Log: s.log})
	rerr := <-relayDone
	if errors.Is(rerr, context.Canceled) {
		rerr = nil
	}
	return errors.Join(err, rerr)
}
