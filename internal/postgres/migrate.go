package postgres

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/canteen-oss/canteen/migrations"
)

// migrationLockKey is the pg_advisory_lock key that serialises migrating processes.
const migrationLockKey = 7_212_027_531

// Migrator applies the embedded migrations. Two processes migrating at once are
// serialised by a session advisory lock, which PostgreSQL releases if a process dies;
// a migration that fails is not recorded as applied.
type Migrator struct {
	db *bun.DB
	m  *migrate.Migrator
}

// NewMigrator returns a Migrator for db over the embedded migrations.
func NewMigrator(db *bun.DB) (*Migrator, error) { return newMigrator(db, migrations.FS) }

func newMigrator(db *bun.DB, fsys fs.FS) (*Migrator, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(fsys); err != nil {
		return nil, fmt.Errorf("postgres: discover migrations: %w", err)
	}
	return &Migrator{db: db, m: migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true))}, nil
}

func (m *Migrator) locked(ctx context.Context, fn func(ctx context.Context) error) error {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migration lock connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", migrationLockKey); err != nil {
		return fmt.Errorf("postgres: take migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", migrationLockKey) //nolint:errcheck // released with the session anyway
	if err := m.m.Init(ctx); err != nil {
		return fmt.Errorf("postgres: init migration tables: %w", err)
	}
	return fn(ctx)
}

// Up applies every pending migration and returns the names applied.
func (m *Migrator) Up(ctx context.Context) ([]string, error) {
	var names []string
	err := m.locked(ctx, func(ctx context.Context) error {
		g, err := m.m.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("postgres: migrate up: %w", err)
		}
		for _, mg := range g.Migrations {
			names = append(names, mg.Name+"_"+mg.Comment)
		}
		return nil
	})
	return names, err
}

// Down rolls back the last applied group and returns the names rolled back.
func (m *Migrator) Down(ctx context.Context) ([]string, error) {
	var names []string
	err := m.locked(ctx, func(ctx context.Context) error {
		g, err := m.m.Rollback(ctx)
		if err != nil {
			return fmt.Errorf("postgres: migrate down: %w", err)
		}
		for _, mg := range g.Migrations {
			names = append(names, mg.Name+"_"+mg.Comment)
		}
		return nil
	})
	return names, err
}

// Pending returns the names of migrations not yet applied.
func (m *Migrator) Pending(ctx context.Context) ([]string, error) {
	ms, err := m.m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration status: %w", err)
	}
	var out []string
	for _, mg := range ms.Unapplied() {
		out = append(out, mg.Name+"_"+mg.Comment)
	}
	return out, nil
}

// Status writes one line per migration: applied or pending.
func (m *Migrator) Status(ctx context.Context, w io.Writer) error {
	if err := m.locked(ctx, func(context.Context) error { return nil }); err != nil {
		return err
	}
	ms, err := m.m.MigrationsWithStatus(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migration status: %w", err)
	}
	for _, mg := range ms {
		state := "pending"
		if mg.IsApplied() {
			state = fmt.Sprintf("applied (group %d, %s)", mg.GroupID, mg.MigratedAt.Format("2006-01-02 15:04:05Z07:00"))
		}
		fmt.Fprintf(w, "%s_%s\t%s\n", mg.Name, mg.Comment, state)
	}
	return nil
}

// Create writes an empty up/down pair of transactional SQL files in dir, numbered one
// past the highest existing migration, and returns their paths.
func Create(dir, name string) ([]string, error) {
	name = strings.ToLower(strings.Join(strings.Fields(name), "_"))
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("postgres: migration name %q: use lower-case letters, digits and _", name)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("postgres: read migrations dir: %w", err)
	}
	next := 1
	for _, e := range entries {
		if m := numbered.FindStringSubmatch(e.Name()); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= next {
				next = n + 1
			}
		}
	}
	var out []string
	for _, dir2 := range []string{"up", "down"} {
		p := filepath.Join(dir, fmt.Sprintf("%06d_%s.tx.%s.sql", next, name, dir2))
		if err := os.WriteFile(p, []byte("-- "+dir2+": "+name+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("postgres: write %s: %w", p, err)
		}
		out = append(out, p)
	}
	return out, nil
}

var (
	validName = regexp.MustCompile(`^[a-z0-9_]+$`)
	numbered  = regexp.MustCompile(`^(\d+)_`)
)
