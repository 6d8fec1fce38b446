package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/migrations"
)

func tables(t *testing.T, dsn string) []string {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var names []string
	err = db.NewRaw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'
		AND tablename NOT LIKE 'bun_%' ORDER BY tablename`).Scan(context.Background(), &names)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestUpDownUp(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Empty(t)
	db, err := postgres.Open(ctx, dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := postgres.NewMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := m.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := migrations.FS.ReadDir(".")
	if want := len(files) / 2; len(applied) != want {
		t.Fatalf("applied %d migrations, want %d", len(applied), want)
	}
	afterUp := tables(t, dsn)
	if len(afterUp) == 0 {
		t.Fatal("no tables after up")
	}
	// Roll back one migration at a time until nothing is left.
	for {
		pending, err := m.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == len(applied) {
			break
		}
		if _, err := m.Down(ctx); err != nil {
			t.Fatalf("down: %v", err)
		}
	}
	if left := tables(t, dsn); len(left) != 0 {
		t.Fatalf("tables left after down: %v", left)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("second up: %v", err)
	}
	if again := tables(t, dsn); strings.Join(again, ",") != strings.Join(afterUp, ",") {
		t.Fatalf("up-down-up tables %v, want %v", again, afterUp)
	}
	if pending, _ := m.Pending(ctx); len(pending) != 0 {
		t.Fatalf("pending after up: %v", pending)
	}
}

func TestConcurrentMigrateIsSafe(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Empty(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	counts := make([]int, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(ctx, dsn, 4)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			m, err := postgres.NewMigrator(db)
			if err != nil {
				errs[i] = err
				return
			}
			names, err := m.Up(ctx)
			counts[i], errs[i] = len(names), err
		}()
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrator %d: %v", i, err)
		}
		total += counts[i]
	}
	files, _ := migrations.FS.ReadDir(".")
	if total != len(files)/2 {
		t.Fatalf("migrations applied %d times in all, want each once (%d)", total, len(files)/2)
	}
}

func TestCreateNumbersNextPair(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"000001_a.tx.up.sql", "000001_a.tx.down.sql", "000007_b.tx.up.sql"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths, err := postgres.Create(dir, "Add Pledges")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "000008_add_pledges.tx.up.sql"), filepath.Join(dir, "000008_add_pledges.tx.down.sql")}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", paths, want)
	}
	if _, err := postgres.Create(dir, "bad;name"); err == nil {
		t.Fatal("want an error for a bad name")
	}
}
