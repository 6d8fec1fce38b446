// Command canteen runs the community canteen: `serve` (HTTP API), `work` (background
// tasks and the scheduler), `migrate` (database schema) and `dev` (everything in one
// process with a demo community and a local fake of WeChat).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: canteen <command>

commands:
  serve                 run the HTTP API
  work                  run background tasks and the scheduler
  migrate up            apply pending migrations (creates the database if missing)
  migrate down          roll back the last applied group of migrations
  migrate status        list migrations and whether they are applied
  migrate create NAME   write an empty numbered up/down pair into ./migrations
  dev                   migrate, seed the demo community, and run serve + work + a fake WeChat
  config                print the configuration (secrets masked) and exit
  healthcheck           exit 0 when the local API answers /readyz (for container health checks)

Configuration comes from environment variables; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "canteen:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it too. It returns when ctx is done or the
// command finishes.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, getenv, stdout, stderr)
	case "work":
		return work(ctx, getenv, stderr)
	case "migrate":
		return migrateCmd(ctx, args[1:], getenv, stdout)
	case "dev":
		return dev(ctx, getenv, stdout, stderr)
	case "config":
		cfg, err := loadConfig(getenv)
		if err != nil {
			return err
		}
		for _, l := range cfg.Lines(getenv) {
			fmt.Fprintln(stdout, l)
		}
		return nil
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
