package main

import (
	"context"
	"io"

	"github.com/canteen-oss/canteen/internal/jobs"
)

func work(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	printConfig(log, cfg, getenv)
	keys, err := requireKeys(cfg)
	if err != nil {
		return err
	}
	sys, err := open(ctx, cfg, keys, log)
	if err != nil {
		return err
	}
	defer sys.close()
	return jobs.Run(ctx, sys.rdb, sys.handlers(), jobs.WorkerOptions{
		Concurrency: cfg.WorkerConcurrency, ShutdownTimeout: cfg.ShutdownTimeout, Log: log})
}
