package postgres_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/canteen-oss/canteen/internal/postgres"

	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

func TestFailedMigrationIsNotRecorded(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Empty(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys := fstest.MapFS{
		"000001_ok.tx.up.sql":    {Data: []byte("CREATE TABLE ok_t (id int);")},
		"000001_ok.tx.down.sql":  {Data: []byte("DROP TABLE ok_t;")},
		"000002_bad.tx.up.sql":   {Data: []byte("CREATE TABLE bad_t (id int);\nSELECT no_such_function();")},
		"000002_bad.tx.down.sql": {Data: []byte("DROP TABLE bad_t;")},
	}
	m, err := postgres.NewMigratorFS(db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err == nil {
		t.Fatal("want the bad migration to fail")
	}
	pending, err := m.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0] != "000002_bad" {
		t.Fatalf("pending = %v, want [000002_bad]", pending)
	}
	var n int
	if err := db.NewRaw("SELECT count(*) FROM pg_tables WHERE tablename = 'bad_t'").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the failed migration's transaction was not rolled back")
	}
}
