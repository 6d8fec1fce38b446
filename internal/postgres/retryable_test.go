package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

// TestSerializationFailureIsTransient makes PostgreSQL refuse one of two conflicting
// serializable transactions and checks the error is classified as retryable.
func TestSerializationFailureIsTransient(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Empty(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (v int)"); err != nil {
		t.Fatal(err)
	}
	opts := &sql.TxOptions{Isolation: sql.LevelSerializable}
	tx1, err := db.BeginTx(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback()
	tx2, err := db.BeginTx(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tx2.Rollback()
	// Each reads what the other writes: one of them cannot commit.
	for _, tx := range []interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}{tx1, tx2} {
		if _, err := tx.ExecContext(ctx, "INSERT INTO t SELECT count(*) FROM t"); err != nil {
			t.Fatal(err)
		}
	}
	err1 := tx1.Commit()
	err2 := tx2.Commit()
	failed := err1
	if failed == nil {
		failed = err2
	}
	if failed == nil {
		t.Fatal("both conflicting serializable transactions committed")
	}
	if k := apperr.KindOf(failed); k != apperr.Transient {
		t.Fatalf("kind of %v = %v, want transient", failed, k)
	}
}
