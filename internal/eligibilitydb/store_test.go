package eligibilitydb_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/eligibilitydb"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/subsidy"
	"github.com/canteen-oss/canteen/migrations"
)

var today = civil.Date{Year: 2026, Month: time.November, Day: 30}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	db    *bun.DB
	store *eligibilitydb.Store
	a, b  int64
	staff int64 // a reviewer of A
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, _ := pgtest.New(t)
	f := &fixture{t: t, ctx: context.Background(), db: db, store: eligibilitydb.New(db, secure.DemoKeyring())}
	f.a = f.id("INSERT INTO communities (code, name) VALUES ('comm-a', 'A') RETURNING id")
	f.b = f.id("INSERT INTO communities (code, name) VALUES ('comm-b', 'B') RETURNING id")
	f.staff = f.id("INSERT INTO staff (community_id, username, display_name, password_hash, roles) VALUES (?, 'rev-a', '审核员', 'x', ARRAY['reviewer']) RETURNING id", f.a)
	return f
}

func (f *fixture) id(query string, args ...any) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.NewRaw(query, args...).Scan(f.ctx, &id); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return id
}

func (f *fixture) exec(query string, args ...any) error {
	_, err := f.db.NewRaw(query, args...).Exec(f.ctx)
	return err
}

func (f *fixture) scope() eligibility.Scope {
	return eligibility.Scope{CommunityID: f.a, Actor: audit.Actor{Kind: audit.Staff, ID: f.staff, Name: "审核员"}, Reviewer: true}
}

// TestSchemaRefuses: the constraints hold even against SQL that bypasses the Service.
func TestSchemaRefuses(t *testing.T) {
	f := newFixture(t)
	wx := f.id("INSERT INTO diners (community_id, app_id, openid) VALUES (?, 'app', 'o-1') RETURNING id", f.a)
	tests := []struct {
		name  string
		query string
		args  []any
	}{
		{"diner with neither openid nor registering staff", "INSERT INTO diners (community_id, name) VALUES (?, '黄伯')", []any{f.a}},
		{"counter diner without a name", "INSERT INTO diners (community_id, registered_by) VALUES (?, ?)", []any{f.a, f.staff}},
		{"counter diner registered by staff of another community", "INSERT INTO diners (community_id, name, registered_by) VALUES (?, '黄伯', ?)", []any{f.b, f.staff}},
		{"openid without app", "INSERT INTO diners (community_id, openid) VALUES (?, 'o-2')", []any{f.a}},
		{"phone without its index", "UPDATE diners SET phone_enc = '\\x01', phone_key = 'k' WHERE id = ?", []any{wx}},
		{"elderly without an ID number", `INSERT INTO eligibilities (community_id, diner_id, grp, real_name, applied_at, applied_by_kind, applied_by)
			VALUES (?, ?, 'elderly', '陈伯', now(), 'diner', ?)`, []any{f.a, wx, wx}},
		{"worker without platform", `INSERT INTO eligibilities (community_id, diner_id, grp, real_name, applied_at, applied_by_kind, applied_by, worker_id)
			VALUES (?, ?, 'worker', '小刘', now(), 'diner', ?, 'X1')`, []any{f.a, wx, wx}},
		{"approved without validity", `INSERT INTO eligibilities (community_id, diner_id, grp, real_name, applied_at, applied_by_kind, applied_by, platform, worker_id, status, reviewed_at, reviewed_by)
			VALUES (?, ?, 'worker', '小刘', now(), 'diner', ?, '美团', 'X1', 'approved', now(), ?)`, []any{f.a, wx, wx, f.staff}},
		{"rejected without reason", `INSERT INTO eligibilities (community_id, diner_id, grp, real_name, applied_at, applied_by_kind, applied_by, platform, worker_id, status, reviewed_at, reviewed_by)
			VALUES (?, ?, 'worker', '小刘', now(), 'diner', ?, '美团', 'X1', 'rejected', now(), ?)`, []any{f.a, wx, wx, f.staff}},
		{"eligibility of another community's diner", `INSERT INTO eligibilities (community_id, diner_id, grp, real_name, applied_at, applied_by_kind, applied_by, platform, worker_id)
			VALUES (?, ?, 'worker', '小刘', now(), 'diner', ?, '美团', 'X1')`, []any{f.b, wx, wx}},
		{"unknown flag", `INSERT INTO eligibilities (community_id, diner_id, grp, real_name, applied_at, applied_by_kind, applied_by, platform, worker_id, flags)
			VALUES (?, ?, 'worker', '小刘', now(), 'diner', ?, '美团', 'X1', '{rich}')`, []any{f.a, wx, wx}},
		{"binding to oneself", `INSERT INTO family_bindings (community_id, family_diner_id, elder_diner_id, relation, requested_at, requested_by_kind, requested_by)
			VALUES (?, ?, ?, '本人', now(), 'diner', ?)`, []any{f.a, wx, wx, wx}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.exec(tc.query, tc.args...)
			if err == nil {
				t.Fatal("the database accepted it")
			}
			// Refused by a constraint, not by a mistake in the statement.
			if !postgres.IsCheckViolation(err, "") && !postgres.IsForeignKeyViolation(err, "") {
				t.Fatalf("refused for another reason: %v", err)
			}
		})
	}
}

// TestSealedNumberIsBoundToItsRow: a ciphertext copied onto another row does not open there.
func TestSealedNumberIsBoundToItsRow(t *testing.T) {
	f := newFixture(t)
	sc := f.scope()
	mk := func(name, id string) eligibility.Eligibility {
		d, e, err := f.store.Register(f.ctx, sc, eligibility.NewDiner{Name: name, RegisteredBy: f.staff},
			eligibility.Eligibility{Group: "elderly", Status: eligibility.Applied, Name: name, District: "天河区",
				AppliedAt: time.Now(), AppliedByKind: audit.Staff, AppliedBy: f.staff}, mustID(t, id), today)
		if err != nil || d.ID == 0 {
			t.Fatalf("register: %v", err)
		}
		return e
	}
	e1 := mk("陈伯", idNumber("44010619500101123"))
	e2 := mk("黄伯", idNumber("44010419450202456"))
	if err := f.exec(`UPDATE eligibilities SET id_number_enc = (SELECT id_number_enc FROM eligibilities WHERE id = ?),
		id_number_key = (SELECT id_number_key FROM eligibilities WHERE id = ?) WHERE id = ?`, e1.ID, e1.ID, e2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Eligibility(f.ctx, f.a, e1.ID); err != nil {
		t.Fatalf("the original row: %v", err)
	}
	_, err := f.store.Eligibility(f.ctx, f.a, e2.ID)
	if !errors.Is(err, secure.ErrOpen) {
		t.Fatalf("copied ciphertext: err = %v, want secure.ErrOpen", err)
	}
	// Staff of another community cannot register: the FK maps to NotFound.
	other := eligibility.Scope{CommunityID: f.b, Actor: sc.Actor, Reviewer: true}
	_, _, err = f.store.Register(f.ctx, other, eligibility.NewDiner{Name: "林伯", RegisteredBy: f.staff},
		eligibility.Eligibility{Group: "elderly", Status: eligibility.Applied, Name: "林伯", District: "天河区",
			AppliedAt: time.Now(), AppliedByKind: audit.Staff, AppliedBy: f.staff}, mustID(t, idNumber("44010619480808777")), today)
	if apperr.KindOf(err) != apperr.NotFound || !errors.Is(err, eligibility.ErrStaffNotFound) {
		t.Fatalf("register with staff of another community: %v", err)
	}
}

// TestDownMigrationRestoresDiners: 000003 down deletes counter-only diners and restores the
// original diners table; up again works on the same data.
func TestDownMigrationRestoresDiners(t *testing.T) {
	f := newFixture(t)
	wx := f.id("INSERT INTO diners (community_id, app_id, openid) VALUES (?, 'app', 'o-1') RETURNING id", f.a)
	counter := f.id("INSERT INTO diners (community_id, name, registered_by) VALUES (?, '黄伯', ?) RETURNING id", f.a, f.staff)
	run := func(file string) {
		t.Helper()
		sql, err := fs.ReadFile(migrations.FS, file)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.db.RunInTx(f.ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.ExecContext(ctx, string(sql))
			return err
		}); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	run("000003_eligibility.tx.down.sql")
	var ids []int64
	if err := f.db.NewRaw("SELECT id FROM diners ORDER BY id").Scan(f.ctx, &ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != wx {
		t.Errorf("diners after down = %v, want only the WeChat diner %d (counter diner %d gone)", ids, wx, counter)
	}
	var nullable []string
	if err := f.db.NewRaw(`SELECT column_name || ':' || is_nullable FROM information_schema.columns
		WHERE table_name = 'diners' AND column_name IN ('app_id', 'openid', 'name', 'phone_enc', 'registered_by') ORDER BY column_name`).
		Scan(f.ctx, &nullable); err != nil {
		t.Fatal(err)
	}
	if len(nullable) != 2 || nullable[0] != "app_id:NO" || nullable[1] != "openid:NO" {
		t.Errorf("diners columns after down: %v", nullable)
	}
	if err := f.exec("INSERT INTO diners (community_id, app_id) VALUES (?, 'app')", f.a); err == nil {
		t.Errorf("openid is nullable after down")
	}
	run("000003_eligibility.tx.up.sql")
}

func mustID(t *testing.T, s string) subsidy.IDNumber {
	t.Helper()
	id, err := subsidy.ParseIDNumber(s)
	if err != nil {
		t.Fatalf("test ID number %s: %v", s, err)
	}
	return id
}

// idNumber appends the check character to 17 digits.
func idNumber(body string) string { return subsidy.CompleteIDNumber(body) }
