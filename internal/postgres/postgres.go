// Package postgres opens the canteen database with bun on the pgx driver, runs the
// embedded migrations under an advisory lock, and maps PostgreSQL errors.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/extra/bundebug"
)

// Open connects to dsn and checks the connection. Queries use the simple protocol:
// bun interpolates arguments itself, and it keeps PgBouncer transaction pooling usable.
func Open(ctx context.Context, dsn string, maxConns int) (*bun.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DATABASE_URL: %w", err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["timezone"] = "UTC"
	sqldb := stdlib.OpenDB(*cfg)
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := bun.NewDB(sqldb, pgdialect.New())
	db = db.WithQueryHook(bundebug.NewQueryHook(bundebug.WithEnabled(false), bundebug.FromEnv("BUNDEBUG")))
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	return db, nil
}

// IsUniqueViolation reports whether err is a unique violation, optionally of the named constraint.
func IsUniqueViolation(err error, constraint string) bool {
	return isCode(err, "23505", constraint)
}

// IsForeignKeyViolation reports whether err is a foreign key violation, optionally of the named constraint.
func IsForeignKeyViolation(err error, constraint string) bool {
	return isCode(err, "23503", constraint)
}

// IsCheckViolation reports whether err is a check constraint violation, optionally of the named constraint.
func IsCheckViolation(err error, constraint string) bool {
	return isCode(err, "23514", constraint)
}

func isCode(err error, code, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}

// IsNoRows reports whether err means an empty result.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// EnsureDatabase creates the database named in dsn when it does not exist, connecting
// to the server's "postgres" database to do so.
func EnsureDatabase(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("postgres: parse DATABASE_URL: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("postgres: connect to %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	name := cfg.Database
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("postgres: connect to create database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: create database %s: %w", name, err)
	}
	return nil
}
