// Package pgtest gives each test a fresh, migrated PostgreSQL database cloned from a
// template. The server comes from DATABASE_URL (default 127.0.0.1:5432, user postgres).
// When the server is unreachable the test is skipped, except with CI=true, where it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/migrations"
)

// ServerURL returns the URL of the test server's maintenance database.
func ServerURL() string {
	raw := os.Getenv("DATABASE_URL")
	if raw == "" {
		raw = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	return WithDatabase(raw, "postgres")
}

// WithDatabase returns dsn pointing at database name.
func WithDatabase(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		panic(fmt.Sprintf("pgtest: bad DATABASE_URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// New returns a bun.DB on a fresh migrated database that is dropped when t ends,
// and the database's URL.
func New(t testing.TB) (*bun.DB, string) {
	t.Helper()
	ctx := context.Background()
	admin, err := postgres.Open(ctx, ServerURL(), 4)
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	defer admin.Close()

	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx, admin) })
	if templateErr != nil {
		t.Fatalf("pgtest: template: %v", templateErr)
	}
	name := "canteen_test_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	dsn := WithDatabase(ServerURL(), name)
	db, err := postgres.Open(ctx, dsn, 20)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = db.Close()
		if a, err := postgres.Open(context.Background(), ServerURL(), 1); err == nil {
			_, _ = a.ExecContext(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
			_ = a.Close()
		}
	})
	return db, dsn
}

// Empty returns a URL of a fresh database with no tables, dropped when t ends.
func Empty(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := postgres.Open(ctx, ServerURL(), 1)
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	defer admin.Close()
	name := "canteen_test_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if a, err := postgres.Open(context.Background(), ServerURL(), 1); err == nil {
			_, _ = a.ExecContext(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
			_ = a.Close()
		}
	})
	return WithDatabase(ServerURL(), name)
}

// Unavailable skips t because service is unreachable, or fails it when CI=true.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required when CI=true: %v", service, err)
	}
	t.Skipf("%s not reachable (set CI=true to fail instead): %v", service, err)
}

// ensureTemplate creates (once per migration set, shared by every test binary) a
// migrated template database named after a hash of the migration files.
func ensureTemplate(ctx context.Context, admin *bun.DB) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	name := "canteen_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]

	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(4242001)"); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(4242001)") //nolint:errcheck
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = ?)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	_, _ = conn.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building))
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, WithDatabase(ServerURL(), building), 2)
	if err != nil {
		return "", err
	}
	m, err := postgres.NewMigrator(db)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err = m.Up(ctx)
		cancel()
	}
	_ = db.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", err
	}
	return name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
