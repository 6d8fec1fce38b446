package main

import (
	"context"
	"io"

	"github.com/canteen-oss/canteen/internal/jobs"
)

func work(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	sys, err := boot(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer sys.close()
	return jobs.Run(ctx, sys.rdb, sys.handlers(), jobs.WorkerOptions{
		Concurrency: sys.cfg.WorkerConcurrency, ShutdownTimeout: sys.cfg.ShutdownTimeout, Log: sys.log})
}
