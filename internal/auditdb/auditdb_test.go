package auditdb_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

func TestWriteListAndAppendOnly(t *testing.T) {
	ctx := context.Background()
	db, _ := pgtest.New(t)
	var cid int64
	if err := db.NewRaw("INSERT INTO communities (code, name) VALUES ('c1', 'C1') RETURNING id").Scan(ctx, &cid); err != nil {
		t.Fatal(err)
	}
	actor := audit.Actor{Kind: audit.Staff, ID: 0, Name: "王阿姨"}
	if err := auditdb.Write(ctx, db, cid, actor, "update", "dish", "7", map[string]int{"price_fen": 1200}, map[string]int{"price_fen": 1500}); err != nil {
		t.Fatal(err)
	}
	recs, err := auditdb.New(db).List(ctx, cid, audit.Filter{Entity: "dish"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("got %d records", len(recs))
	}
	var after map[string]int
	if err := json.Unmarshal(recs[0].After, &after); err != nil || after["price_fen"] != 1500 {
		t.Fatalf("after = %s (%v)", recs[0].After, err)
	}
	if recs[0].Actor.Name != "王阿姨" || recs[0].EntityID != "7" {
		t.Fatalf("record = %+v", recs[0])
	}
	if _, err := db.ExecContext(ctx, "UPDATE audit_log SET actor_name = 'someone else'"); err == nil {
		t.Fatal("audit_log accepted an UPDATE")
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM audit_log"); err == nil {
		t.Fatal("audit_log accepted a DELETE")
	}
}
