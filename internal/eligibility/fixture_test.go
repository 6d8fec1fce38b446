package eligibility_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr/apperrtest"
	"github.com/canteen-oss/canteen/internal/subsidy"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/eligibilitydb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/secure"
)

// monday is the fixture's today: Monday 2026-11-30 in Asia/Shanghai.
var monday = civil.Date{Year: 2026, Month: time.November, Day: 30}

// fixture is a fresh database with two communities (A and B), each with a reviewer and a
// counter clerk, a service on a clock the test moves, and helpers.
type fixture struct {
	t   *testing.T
	ctx context.Context
	db  *bun.DB
	svc *eligibility.Service
	now time.Time

	a, b      int64             // community IDs
	reviewerA eligibility.Scope // staff of A with the reviewer role
	counterA  eligibility.Scope // staff of A without it
	reviewerB eligibility.Scope // staff of B with the reviewer role
	staffIDs  map[string]int64  // by username
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, _ := pgtest.New(t)
	f := &fixture{t: t, ctx: context.Background(), db: db,
		now:      time.Date(2026, 11, 30, 8, 0, 0, 0, civil.Shanghai()),
		staffIDs: map[string]int64{}}
	f.svc = eligibility.NewService(eligibilitydb.New(db, secure.DemoKeyring()), func() time.Time { return f.now })
	f.a = f.community("comm-a")
	f.b = f.community("comm-b")
	f.reviewerA = eligibility.Scope{CommunityID: f.a, Actor: f.staff(f.a, "reviewer-a", "审核员张", "reviewer"), Reviewer: true}
	f.counterA = eligibility.Scope{CommunityID: f.a, Actor: f.staff(f.a, "counter-a", "前台李", "counter")}
	f.reviewerB = eligibility.Scope{CommunityID: f.b, Actor: f.staff(f.b, "reviewer-b", "审核员王", "reviewer"), Reviewer: true}
	return f
}

// community inserts a community row and returns its ID.
func (f *fixture) community(code string) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.NewRaw("INSERT INTO communities (code, name) VALUES (?, ?) RETURNING id", code, "社区 "+code).Scan(f.ctx, &id); err != nil {
		f.t.Fatalf("insert community: %v", err)
	}
	return id
}

// staff inserts a staff member and returns them as an actor.
func (f *fixture) staff(communityID int64, username, name, role string) audit.Actor {
	f.t.Helper()
	var id int64
	err := f.db.NewRaw("INSERT INTO staff (community_id, username, display_name, password_hash, roles) VALUES (?, ?, ?, 'x', ARRAY[?]) RETURNING id",
		communityID, username, name, role).Scan(f.ctx, &id)
	if err != nil {
		f.t.Fatalf("insert staff: %v", err)
	}
	f.staffIDs[username] = id
	return audit.Actor{Kind: audit.Staff, ID: id, Name: name}
}

// diner inserts a WeChat diner of communityID and returns their ID.
func (f *fixture) diner(communityID int64, openid string) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.NewRaw("INSERT INTO diners (community_id, app_id, openid, nickname) VALUES (?, 'wx-app', ?, ?) RETURNING id",
		communityID, openid, "昵称"+openid).Scan(f.ctx, &id); err != nil {
		f.t.Fatalf("insert diner: %v", err)
	}
	return id
}

// as returns the scope of diner id acting for themselves in communityID.
func as(communityID, dinerID int64) eligibility.Scope {
	return eligibility.Scope{CommunityID: communityID, Actor: audit.Actor{Kind: audit.Diner, ID: dinerID, Name: "diner"}}
}

// idNumber returns a valid ID number for region, birth ("YYYYMMDD") and a 3-digit sequence.
func idNumber(region, birth, seq string) string {
	return subsidy.CompleteIDNumber(region + birth + seq)
}

// withWrongCheck returns id with a different, wrong check character.
func withWrongCheck(id string) string {
	last := id[17]
	for _, c := range "0123456789X" {
		if byte(c) != last {
			return id[:17] + string(c)
		}
	}
	panic("unreachable")
}

func elder(name, id string) eligibility.ElderlyApplication {
	return eligibility.ElderlyApplication{Name: name, IDNumber: id, District: "天河区"}
}

func worker(name, platform, workerID string) eligibility.WorkerApplication {
	return eligibility.WorkerApplication{Name: name, Platform: platform, WorkerID: workerID,
		ProofRef: "uploads/2026/11/" + workerID + ".jpg", District: "越秀区"}
}

// apply files an elderly application for dinerID by the diner, failing the test on error.
func (f *fixture) apply(communityID, dinerID int64, in eligibility.ElderlyApplication) eligibility.Eligibility {
	f.t.Helper()
	e, err := f.svc.ApplyElderly(f.ctx, as(communityID, dinerID), dinerID, in)
	if err != nil {
		f.t.Fatalf("apply elderly: %v", err)
	}
	return e
}

func (f *fixture) approve(sc eligibility.Scope, id int64, from, until civil.Date) eligibility.Eligibility {
	f.t.Helper()
	e, err := f.svc.Approve(f.ctx, sc, id, from, until)
	if err != nil {
		f.t.Fatalf("approve %d: %v", id, err)
	}
	return e
}

// snapshot fingerprints every table this package writes and the audit log, so a test can
// prove that a failed call wrote nothing at all.
func (f *fixture) snapshot() map[string]string {
	f.t.Helper()
	out := map[string]string{}
	for _, table := range []string{"diners", "eligibilities", "family_bindings", "audit_log"} {
		var sum string
		q := fmt.Sprintf("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM %s t", table)
		if err := f.db.NewRaw(q).Scan(f.ctx, &sum); err != nil {
			f.t.Fatalf("snapshot %s: %v", table, err)
		}
		out[table] = sum
	}
	return out
}

// audits returns the community's audit records for entity, oldest first.
func (f *fixture) audits(communityID int64, entity string) []audit.Record {
	f.t.Helper()
	recs, err := auditdb.New(f.db).List(f.ctx, communityID, audit.Filter{Entity: entity, Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Reverse(recs)
	return recs
}

// actions returns the actions of recs.
func actions(recs []audit.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Action
	}
	return out
}

// wantErr and wantIs are the shared apperr assertions.
var (
	wantErr = apperrtest.Want
	wantIs  = apperrtest.WantIs
)

func date(s string) civil.Date {
	d, err := civil.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func itoa(id int64) string { return fmt.Sprint(id) }

// cmpIgnore ignores the named fields of eligibility.Eligibility.
func cmpIgnore(fields ...string) cmp.Option {
	return cmpopts.IgnoreFields(eligibility.Eligibility{}, fields...)
}
