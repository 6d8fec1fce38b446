package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/canteen-oss/canteen/internal/config"
	"github.com/canteen-oss/canteen/internal/httpapi"
	"github.com/canteen-oss/canteen/internal/kitchendb"
)

func printConfig(log interface{ Info(string, ...any) }, cfg config.Config, getenv func(string) string) {
	log.Info("config", "values", cfg.Lines(getenv))
}

func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	sys, err := boot(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer sys.close()
	return serveHTTP(ctx, sys, false, stdout)
}

// boot is the start of serve and work: config (printed, secrets masked), the data
// keyring, PostgreSQL, Redis and the services.
func boot(ctx context.Context, getenv func(string) string, stderr io.Writer) (*system, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	log := newLogger(stderr, cfg.LogLevel)
	printConfig(log, cfg, getenv)
	keys, err := requireKeys(cfg)
	if err != nil {
		return nil, err
	}
	sys, err := open(ctx, cfg, keys, log)
	if err != nil {
		return nil, err
	}
	if err := sys.realPayments(cfg); err != nil {
		sys.close()
		return nil, err
	}
	return sys, nil
}

// serveHTTP listens on the configured address until ctx is done, then shuts down
// gracefully within the shutdown timeout.
func serveHTTP(ctx context.Context, sys *system, demo bool, stdout io.Writer) error {
	deps, err := sys.httpApp(demo)
	if err != nil {
		return err
	}
	app := httpapi.New(*deps, httpapi.Options{BodyLimit: sys.cfg.BodyLimit, RequestTimeout: sys.cfg.RequestTimeout})
	ln, err := net.Listen("tcp", sys.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on CANTEEN_HTTP_ADDR %s: %w", sys.cfg.HTTPAddr, err)
	}
	// Kitchen screens follow PostgreSQL's ticket and printer notifications through the hub.
	lctx, stopListen := context.WithCancel(ctx)
	defer stopListen()
	go func() {
		if err := kitchendb.ListenWithPrinters(lctx, sys.cfg.DatabaseURL, deps.Hub.Publish, deps.Hub.PublishPrinter); err != nil {
			sys.log.Error("kitchen listener stopped", "err", err.Error())
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	sys.log.Info("http listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sys.log.Info("http shutting down")
	deps.Hub.Close() // open streams end, or shutdown would wait for them
	if err := app.ShutdownWithTimeout(sys.cfg.ShutdownTimeout); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}
