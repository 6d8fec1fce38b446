package eligibility_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// TestApplyElderly: an application is stored with the ID number masked, the birth date and
// tier derived from it, and one audit record that holds no clear number.
func TestApplyElderly(t *testing.T) {
	f := newFixture(t)
	d := f.diner(f.a, "o-1")
	id := idNumber("440106", "19500101", "123")
	in := elder(" 陈伯 ", id)
	in.Flags = []subsidy.StatusFlag{subsidy.Dibao, subsidy.LivingAlone}
	in.EvidenceRef = "uploads/2026/11/dibao-1.jpg"
	e := f.apply(f.a, d, in)

	want := eligibility.Eligibility{ID: e.ID, CommunityID: f.a, DinerID: d, Group: subsidy.Elderly,
		Status: eligibility.Applied, Name: "陈伯", IDNumberMasked: "4401**********" + id[14:],
		BirthDate: date("1950-01-01"), Tier: subsidy.Tier70,
		Flags:       []subsidy.StatusFlag{subsidy.Dibao, subsidy.LivingAlone},
		EvidenceRef: "uploads/2026/11/dibao-1.jpg", District: "天河区",
		AppliedAt: f.now, AppliedByKind: "diner", AppliedBy: d}
	ignore := []string{"CreatedAt", "UpdatedAt", "AppliedAt"}
	if diff := cmp.Diff(want, e, cmpIgnore(ignore...)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if !e.AppliedAt.Equal(f.now) {
		t.Errorf("applied at %v, want %v", e.AppliedAt, f.now)
	}
	got, err := f.svc.Get(f.ctx, f.a, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got, cmpIgnore("AppliedAt", "CreatedAt", "UpdatedAt")); diff != "" {
		t.Errorf("read back (-applied +read):\n%s", diff)
	}
	js, _ := json.Marshal(got)
	for _, secret := range []string{id, "1950-01-01", "19500101", "birth"} {
		if strings.Contains(string(js), secret) {
			t.Errorf("JSON %s contains %q", js, secret)
		}
	}
	if !strings.Contains(string(js), `"id_number_masked":"4401**********`) {
		t.Errorf("JSON %s lacks the masked ID number", js)
	}
	recs := f.audits(f.a, eligibility.EntityEligibility)
	if diff := cmp.Diff([]string{"apply"}, actions(recs)); diff != "" {
		t.Fatalf("audit actions (-want +got):\n%s", diff)
	}
	if r := recs[0]; r.Actor.Kind != "diner" || r.Actor.ID != d || r.Before != nil || strings.Contains(string(r.After), id) {
		t.Errorf("audit record %+v (after %s)", r, r.After)
	}
}

// TestDuplicatePerson: one person, one live eligibility per group, whoever applies, and
// the conflict names no personal data; a rejected, revoked or expired one no longer counts.
func TestDuplicatePerson(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	d1, d2 := f.diner(a, "o-1"), f.diner(a, "o-2")
	id := idNumber("440106", "19500101", "123")
	first := f.apply(a, d1, elder("陈伯", id))

	check := func(name string, err error) {
		t.Helper()
		wantIs(t, err, eligibility.ErrExists)
		wantErr(t, err, apperr.Conflict, "")
		e, _ := apperr.As(err)
		for _, secret := range []string{id, "陈伯", itoa(d1), itoa(first.ID)} {
			if strings.Contains(e.Detail, secret) {
				t.Errorf("%s: conflict detail %q names %q", name, e.Detail, secret)
			}
		}
	}
	before := f.snapshot()
	// The same ID number from another diner, lower-case x and spaces or not.
	_, err := f.svc.ApplyElderly(ctx, as(a, d2), d2, elder("陈伯", " "+strings.ToLower(id)+" "))
	check("same person, other diner", err)
	// The same diner with another ID number.
	_, err = f.svc.ApplyElderly(ctx, as(a, d1), d1, elder("陈伯", idNumber("440106", "19480808", "777")))
	check("same diner, other number", err)
	// Staff registering the same person at the counter creates no diner either.
	_, err = f.svc.RegisterAtCounter(ctx, f.reviewerA, eligibility.CounterRegistration{Name: "陈伯", IDNumber: id, District: "天河区", Approve: true})
	check("same person at the counter", err)
	if after := f.snapshot(); !equal(before, after) {
		t.Errorf("a conflict wrote something (a diner?)")
	}
	if strings.Contains(err.Error(), id) {
		t.Errorf("error %q holds the ID number", err)
	}
	// Workers: the same platform account from two diners.
	if _, err := f.svc.ApplyWorker(ctx, as(a, d1), d1, worker("小刘", "美团", "MT1001")); err != nil {
		t.Fatal(err)
	}
	before = f.snapshot()
	_, err = f.svc.ApplyWorker(ctx, as(a, d2), d2, worker("小刘", "美团", "MT1001"))
	check("same platform account", err)
	if after := f.snapshot(); !equal(before, after) {
		t.Errorf("a conflict wrote something")
	}
	// Another platform account is another worker.
	if _, err := f.svc.ApplyWorker(ctx, as(a, d2), d2, worker("小周", "饿了么", "ELM7")); err != nil {
		t.Fatalf("another account: %v", err)
	}

	// After rejection the person may apply again, from either diner.
	if _, err := f.svc.Reject(ctx, f.reviewerA, first.ID, "照片看不清"); err != nil {
		t.Fatal(err)
	}
	again := f.apply(a, d2, elder("陈伯", id))
	// After revocation too.
	f.approve(f.reviewerA, again.ID, civil.Date{}, civil.Date{})
	if _, err := f.svc.Revoke(ctx, f.reviewerA, again.ID, "户籍已迁出"); err != nil {
		t.Fatal(err)
	}
	third := f.apply(a, d2, elder("陈伯", id))
	if third.Status != eligibility.Applied {
		t.Fatalf("third application %s", third.Status)
	}
}

// TestConcurrentApplicationsOnePerson: many diners applying with one ID number at once
// leave exactly one live application.
func TestConcurrentApplicationsOnePerson(t *testing.T) {
	f := newFixture(t)
	id := idNumber("440106", "19500101", "123")
	const n = 8
	diners := make([]int64, n)
	for i := range diners {
		diners[i] = f.diner(f.a, "o-"+itoa(int64(i)))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, d := range diners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.ApplyElderly(f.ctx, as(f.a, d), d, elder("陈伯", id))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case apperr.KindOf(err) != apperr.Conflict:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d applications succeeded, want 1", ok)
	}
}

// TestTransitions: approve and reject only an application; revoke and renew only an
// approved eligibility; every legal move is audited with before and after.
func TestTransitions(t *testing.T) {
	f := newFixture(t)
	ctx, a, r := f.ctx, f.a, f.reviewerA
	n := 0
	fresh := func() eligibility.Eligibility {
		n++
		d := f.diner(a, "o-"+itoa(int64(n)))
		return f.apply(a, d, elder("陈伯", idNumber("440106", "19500101", fmt.Sprintf("%03d", n))))
	}
	approved := func() eligibility.Eligibility { return f.approve(r, fresh().ID, civil.Date{}, civil.Date{}) }
	rejected := func() eligibility.Eligibility {
		e, err := f.svc.Reject(ctx, r, fresh().ID, "材料不全")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	revoked := func() eligibility.Eligibility {
		e, err := f.svc.Revoke(ctx, r, approved().ID, "已迁出本区")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	doApprove := func(id int64) error { _, err := f.svc.Approve(ctx, r, id, civil.Date{}, civil.Date{}); return err }
	doReject := func(id int64) error { _, err := f.svc.Reject(ctx, r, id, "材料不全"); return err }
	doRevoke := func(id int64) error { _, err := f.svc.Revoke(ctx, r, id, "已迁出本区"); return err }
	doRenew := func(id int64) error { _, err := f.svc.Renew(ctx, r, id, date("2028-06-30")); return err }

	tests := []struct {
		name string
		from func() eligibility.Eligibility
		do   func(int64) error
		want error // nil: allowed
	}{
		{"approve applied", fresh, doApprove, nil},
		{"reject applied", fresh, doReject, nil},
		{"revoke approved", approved, doRevoke, nil},
		{"renew approved", approved, doRenew, nil},
		{"approve approved", approved, doApprove, eligibility.ErrNotApplied},
		{"approve rejected", rejected, doApprove, eligibility.ErrNotApplied},
		{"approve revoked", revoked, doApprove, eligibility.ErrNotApplied},
		{"reject approved", approved, doReject, eligibility.ErrNotApplied},
		{"reject rejected", rejected, doReject, eligibility.ErrNotApplied},
		{"revoke applied", fresh, doRevoke, eligibility.ErrNotApproved},
		{"revoke rejected", rejected, doRevoke, eligibility.ErrNotApproved},
		{"revoke revoked", revoked, doRevoke, eligibility.ErrNotApproved},
		{"renew applied", fresh, doRenew, eligibility.ErrNotApproved},
		{"renew revoked", revoked, doRenew, eligibility.ErrNotApproved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.from()
			before := f.snapshot()
			err := tc.do(e.ID)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				recs := f.audits(a, eligibility.EntityEligibility)
				last := recs[len(recs)-1]
				if last.EntityID != itoa(e.ID) || last.Before == nil || last.After == nil || last.Actor.ID != r.Actor.ID {
					t.Errorf("last audit record %+v", last)
				}
				return
			}
			wantIs(t, err, tc.want)
			wantErr(t, err, apperr.FailedPrecondition, "")
			if after := f.snapshot(); !equal(before, after) {
				t.Errorf("an illegal transition wrote something")
			}
		})
	}
}

// TestReview: approval defaults to one year from today; the queue is oldest first and
// filters by group; reject and revoke keep their reasons and reviewers.
func TestReview(t *testing.T) {
	f := newFixture(t)
	ctx, a, r := f.ctx, f.a, f.reviewerA
	d1, d2, d3 := f.diner(a, "o-1"), f.diner(a, "o-2"), f.diner(a, "o-3")
	e1 := f.apply(a, d1, elder("陈伯", idNumber("440106", "19500101", "123")))
	f.now = f.now.Add(time.Minute)
	w2, err := f.svc.ApplyWorker(ctx, as(a, d2), d2, worker("小刘", "美团", "MT1001"))
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	e3, err := f.svc.ApplyElderly(ctx, f.counterA, d3, elder("林婆婆", idNumber("440106", "19450303", "222")))
	if err != nil {
		t.Fatal(err)
	}
	if e3.AppliedByKind != "staff" || e3.AppliedBy != f.counterA.Actor.ID {
		t.Errorf("applied by %s %d, want the counter clerk", e3.AppliedByKind, e3.AppliedBy)
	}
	ids := func(es []eligibility.Eligibility) []int64 {
		out := []int64{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		group subsidy.Group
		limit int
		want  []int64
	}{
		{"", 0, []int64{e1.ID, w2.ID, e3.ID}},
		{"", 2, []int64{e1.ID, w2.ID}},
		{subsidy.Elderly, 0, []int64{e1.ID, e3.ID}},
		{subsidy.Worker, 0, []int64{w2.ID}},
	} {
		got, err := f.svc.Pending(ctx, a, tc.group, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("pending %q limit %d (-want +got):\n%s", tc.group, tc.limit, diff)
		}
	}

	ok := f.approve(r, e1.ID, civil.Date{}, civil.Date{})
	if ok.Status != eligibility.Approved || ok.ValidFrom != monday || ok.ValidUntil != date("2027-11-29") ||
		ok.ReviewedBy != r.Actor.ID || ok.ReviewedAt == nil {
		t.Errorf("approved %+v", ok)
	}
	later := f.approve(r, e3.ID, monday.AddDays(10), date("2029-12-09"))
	if later.ValidFrom != monday.AddDays(10) || later.ValidUntil != date("2029-12-09") {
		t.Errorf("approved from %s until %s", later.ValidFrom, later.ValidUntil)
	}
	rej, err := f.svc.Reject(ctx, r, w2.ID, "  工作证明照片看不清  ")
	if err != nil {
		t.Fatal(err)
	}
	if rej.Status != eligibility.Rejected || rej.RejectReason != "工作证明照片看不清" || rej.ReviewedBy != r.Actor.ID {
		t.Errorf("rejected %+v", rej)
	}
	rev, err := f.svc.Revoke(ctx, r, e1.ID, "已迁出本区")
	if err != nil {
		t.Fatal(err)
	}
	if rev.Status != eligibility.Revoked || rev.RevokeReason != "已迁出本区" || rev.RevokedBy != r.Actor.ID || rev.RevokedAt == nil {
		t.Errorf("revoked %+v", rev)
	}
	if got, _ := f.svc.Pending(ctx, a, "", 0); len(got) != 0 {
		t.Errorf("pending after review: %v", ids(got))
	}
	want := []string{"apply", "apply", "apply", "approve", "approve", "reject", "revoke"}
	if diff := cmp.Diff(want, actions(f.audits(a, eligibility.EntityEligibility))); diff != "" {
		t.Errorf("audit actions (-want +got):\n%s", diff)
	}
}

// TestExpiryComputedOnRead: an approved eligibility past its last day reads as expired, with
// no job; pricing no longer sees it; the diner may apply again, which closes it as expired.
func TestExpiryComputedOnRead(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	d := f.diner(a, "o-1")
	id := idNumber("440106", "19500101", "123")
	e := f.approve(f.reviewerA, f.apply(a, d, elder("陈伯", id)).ID, monday, monday.AddDays(10))

	for _, tc := range []struct {
		day    civil.Date
		want   eligibility.Status
		active int
	}{
		{monday, eligibility.Approved, 1},
		{monday.AddDays(10), eligibility.Approved, 1}, // the last day is valid
		{monday.AddDays(11), eligibility.Expired, 0},
		{monday.AddDays(400), eligibility.Expired, 0},
	} {
		f.now = tc.day.Start().Add(23 * time.Hour) // late evening, Shanghai
		got, err := f.svc.Get(ctx, a, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		mine, err := f.svc.ForDiner(ctx, a, d)
		if err != nil {
			t.Fatal(err)
		}
		act, err := f.svc.ActiveFor(ctx, a, d, f.now)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tc.want || mine[0].Status != tc.want || len(act) != tc.active {
			t.Errorf("on %s: status %s / %s, %d active; want %s, %d active", tc.day, got.Status, mine[0].Status, len(act), tc.want, tc.active)
		}
	}
	// Still expired (and the same ID) for a reviewer: it cannot be approved again.
	_, err := f.svc.Approve(ctx, f.reviewerA, e.ID, civil.Date{}, civil.Date{})
	wantIs(t, err, eligibility.ErrNotApplied)

	// Re-applying closes the expired one and lets the new one in.
	again := f.apply(a, d, elder("陈伯", id))
	old, err := f.svc.Get(ctx, a, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Status != eligibility.Expired || again.Status != eligibility.Applied {
		t.Errorf("old %s, new %s", old.Status, again.Status)
	}
	var stored string
	if err := f.db.NewRaw("SELECT status FROM eligibilities WHERE id = ?", e.ID).Scan(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	if stored != "expired" {
		t.Errorf("stored status of the replaced eligibility = %q, want expired", stored)
	}
	recs := f.audits(a, eligibility.EntityEligibility)
	want := []string{"apply", "approve", "expire", "apply"}
	if diff := cmp.Diff(want, actions(recs)); diff != "" {
		t.Errorf("audit actions (-want +got):\n%s", diff)
	}
	if recs[2].Actor.Kind != "system" {
		t.Errorf("expiry recorded by %+v, want the system", recs[2].Actor)
	}
}

// TestExpiringSoon lists approved eligibilities ending within the next N days, soonest
// first, and nothing else.
func TestExpiringSoon(t *testing.T) {
	f := newFixture(t)
	ctx, a, r := f.ctx, f.a, f.reviewerA
	mk := func(n int, until civil.Date) eligibility.Eligibility {
		d := f.diner(a, "o-"+itoa(int64(n)))
		e := f.apply(a, d, elder("长者"+itoa(int64(n)), idNumber("440106", "19500101", fmt.Sprintf("%03d", n))))
		if until.IsZero() {
			return e
		}
		return f.approve(r, e.ID, monday, until)
	}
	in20 := mk(1, monday.AddDays(20))
	in5 := mk(2, monday.AddDays(5))
	mk(3, monday.AddDays(40))
	today := mk(4, monday.AddDays(1))
	revoked := mk(5, monday.AddDays(6))
	if _, err := f.svc.Revoke(ctx, r, revoked.ID, "已迁出本区"); err != nil {
		t.Fatal(err)
	}
	mk(6, civil.Date{}) // applied only
	f.now = f.now.AddDate(0, 0, 1)

	got, err := f.svc.ExpiringSoon(ctx, a, 30)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if diff := cmp.Diff([]int64{today.ID, in5.ID, in20.ID}, ids); diff != "" {
		t.Errorf("expiring within 30 days (-want +got):\n%s", diff)
	}
	if other, _ := f.svc.ExpiringSoon(ctx, f.b, 30); len(other) != 0 {
		t.Errorf("community B sees %d of A's", len(other))
	}
	// Renewing takes one off the list without a gap.
	if _, err := f.svc.Renew(ctx, r, in5.ID, monday.AddDays(365)); err != nil {
		t.Fatal(err)
	}
	got, _ = f.svc.ExpiringSoon(ctx, a, 30)
	if len(got) != 2 {
		t.Errorf("after renewal %d expiring, want 2", len(got))
	}
	_, err = f.svc.Renew(ctx, r, in20.ID, monday.AddDays(3))
	wantErr(t, err, apperr.Invalid, "valid_until")
}

// TestTierMovesUpOnBirthday: pricing sees the 80 tier from the 80th birthday on, with no
// change to any row.
func TestTierMovesUpOnBirthday(t *testing.T) {
	f := newFixture(t)
	d := f.diner(f.a, "o-1")
	e := f.apply(f.a, d, elder("陈伯", idNumber("440106", "19470315", "123")))
	f.approve(f.reviewerA, e.ID, monday, date("2028-11-29"))
	at := func(day string) []eligibility.Active {
		t.Helper()
		got, err := f.svc.ActiveFor(f.ctx, f.a, d, date(day).Start().Add(12*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := func(tier subsidy.AgeTier) []eligibility.Active {
		return []eligibility.Active{{EligibilityID: e.ID, Group: subsidy.Elderly, BirthDate: date("1947-03-15"),
			Tier: tier, Flags: []subsidy.StatusFlag{}, District: "天河区", ValidUntil: date("2028-11-29")}}
	}
	if diff := cmp.Diff(want(subsidy.Tier70), at("2027-03-14")); diff != "" {
		t.Errorf("the day before the 80th birthday (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want(subsidy.Tier80), at("2027-03-15")); diff != "" {
		t.Errorf("on the 80th birthday (-want +got):\n%s", diff)
	}
	// Shanghai midnight decides the day: 16:30 UTC on the 14th is already the 15th there.
	got, err := f.svc.ActiveFor(f.ctx, f.a, d, time.Date(2027, 3, 14, 16, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Tier != subsidy.Tier80 {
		t.Errorf("16:30 UTC on 14 March: %+v, want tier 80", got)
	}
	if got := at("2026-11-29"); len(got) != 0 {
		t.Errorf("before valid_from: %+v", got)
	}
}
