package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/canteen-oss/canteen/internal/postgres"
)

func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("migrate: want up, down, status or create NAME")
	}
	if args[0] == "create" {
		if len(args) != 2 {
			return fmt.Errorf("migrate create: want exactly one NAME")
		}
		paths, err := postgres.Create("migrations", args[1])
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, strings.Join(paths, "\n"))
		return nil
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if args[0] == "up" {
		if err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
			return err
		}
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := postgres.NewMigrator(db)
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		names, err := m.Up(ctx)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Fprintln(stdout, "migrations: up to date")
		}
		for _, n := range names {
			fmt.Fprintln(stdout, "applied", n)
		}
	case "down":
		names, err := m.Down(ctx)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Fprintln(stdout, "migrations: nothing to roll back")
		}
		for _, n := range names {
			fmt.Fprintln(stdout, "rolled back", n)
		}
	case "status":
		return m.Status(ctx, stdout)
	default:
		return fmt.Errorf("migrate: unknown subcommand %q", args[0])
	}
	return nil
}
