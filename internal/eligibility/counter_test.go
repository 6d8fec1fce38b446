package eligibility_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// TestRegisterAtCounter: staff register an elder without WeChat; a reviewer may approve at
// once, a clerk leaves the application in the queue.
func TestRegisterAtCounter(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	id := idNumber("440104", "19450202", "456")
	reg, err := f.svc.RegisterAtCounter(ctx, f.reviewerA, eligibility.CounterRegistration{
		Name: "黄伯", Phone: "+86 138-1234-5678", IDNumber: id, District: "越秀区",
		Flags: []subsidy.StatusFlag{subsidy.Tekun}, Approve: true, ValidDays: 180})
	if err != nil {
		t.Fatal(err)
	}
	d, e := reg.Diner, reg.Eligibility
	if d.ID == 0 || d.Name != "黄伯" || d.PhoneMasked != "138****5678" || d.RegisteredBy != f.reviewerA.Actor.ID ||
		d.IDNumberMasked != "4401**********"+id[14:] {
		t.Errorf("diner %+v", d)
	}
	if e.DinerID != d.ID || e.Status != eligibility.Approved || e.ValidFrom != monday || e.ValidUntil != monday.AddDays(180) ||
		e.ReviewedBy != f.reviewerA.Actor.ID || e.Tier != subsidy.Tier80 || e.AppliedByKind != "staff" {
		t.Errorf("eligibility %+v", e)
	}
	var openid *string
	var registeredBy int64
	if err := f.db.NewRaw("SELECT openid, registered_by FROM diners WHERE id = ?", d.ID).Scan(ctx, &openid, &registeredBy); err != nil {
		t.Fatal(err)
	}
	if openid != nil || registeredBy != f.reviewerA.Actor.ID {
		t.Errorf("stored openid %v, registered_by %d", openid, registeredBy)
	}
	if act, _ := f.svc.ActiveFor(ctx, a, d.ID, f.now); len(act) != 1 {
		t.Errorf("active at once: %+v", act)
	}
	if diff := cmp.Diff([]string{"register"}, actions(f.audits(a, eligibility.EntityDiner))); diff != "" {
		t.Errorf("diner audit (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"apply", "approve"}, actions(f.audits(a, eligibility.EntityEligibility))); diff != "" {
		t.Errorf("eligibility audit (-want +got):\n%s", diff)
	}

	// A counter clerk registers without approving: the application waits for a reviewer.
	reg2, err := f.svc.RegisterAtCounter(ctx, f.counterA, eligibility.CounterRegistration{
		Name: "林婆婆", IDNumber: idNumber("440104", "19400404", "111"), District: "越秀区"})
	if err != nil {
		t.Fatal(err)
	}
	if reg2.Eligibility.Status != eligibility.Applied || reg2.Diner.PhoneMasked != "" {
		t.Errorf("registration %+v", reg2)
	}
	pending, _ := f.svc.Pending(ctx, a, subsidy.Elderly, 0)
	if len(pending) != 1 || pending[0].ID != reg2.Eligibility.ID {
		t.Errorf("pending %+v", pending)
	}
	js, _ := json.Marshal(reg)
	if strings.Contains(string(js), id) || strings.Contains(string(js), "13812345678") {
		t.Errorf("registration JSON reveals a number: %s", js)
	}
}

// TestUnmask: a reviewer reads the clear number; the read is audited without the number.
func TestUnmask(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	d := f.diner(a, "o-1")
	id := idNumber("440106", "19500101", "123")
	e := f.apply(a, d, elder("陈伯", strings.ToLower(id)))
	got, err := f.svc.Unmask(ctx, f.reviewerA, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != id {
		t.Fatalf("unmasked %q, want the normalised number", got)
	}
	recs := f.audits(a, eligibility.EntityEligibility)
	last := recs[len(recs)-1]
	if last.Action != "unmask" || last.Actor.ID != f.reviewerA.Actor.ID || last.EntityID != itoa(e.ID) || last.At.IsZero() {
		t.Errorf("unmask record %+v", last)
	}
	raw, _ := json.Marshal(last)
	if strings.Contains(string(raw), id) || strings.Contains(string(raw), id[6:14]) {
		t.Errorf("unmask record holds the number: %s", raw)
	}
	w, err := f.svc.ApplyWorker(ctx, as(a, f.diner(a, "o-2")), 0, worker("小刘", "美团", "MT1"))
	wantErr(t, err, apperr.Forbidden, "") // a diner applies only for themselves
	d2 := f.diner(a, "o-3")
	if w, err = f.svc.ApplyWorker(ctx, as(a, d2), d2, worker("小刘", "美团", "MT1")); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Unmask(ctx, f.reviewerA, w.ID)
	wantIs(t, err, eligibility.ErrNoIDNumber)
	_, err = f.svc.Unmask(ctx, f.reviewerA, 999999)
	wantIs(t, err, eligibility.ErrNotFound)
}

// TestNoClearNumbersInDatabase: after every kind of change, no row of any table holds an ID
// number or a phone number in clear, nor the birth date as the number writes it.
func TestNoClearNumbersInDatabase(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	d := f.diner(a, "o-1")
	id1 := idNumber("440106", "19500101", "123")
	id2 := idNumber("440104", "19450202", "456")
	phone := "13812345678"
	e := f.apply(a, d, elder("陈伯", id1))
	f.approve(f.reviewerA, e.ID, civil.Date{}, civil.Date{})
	if _, err := f.svc.Unmask(ctx, f.reviewerA, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Revoke(ctx, f.reviewerA, e.ID, "核查后撤销"); err != nil {
		t.Fatal(err)
	}
	reg, err := f.svc.RegisterAtCounter(ctx, f.reviewerA, eligibility.CounterRegistration{Name: "黄伯", Phone: phone,
		IDNumber: id2, District: "越秀区", Approve: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RequestBinding(ctx, as(a, d), d, reg.Diner.ID, "邻居"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"diners", "eligibilities", "family_bindings", "audit_log"} {
		var rows []string
		if err := f.db.NewRaw("SELECT t::text FROM "+table+" t").Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			t.Errorf("%s is empty: the test proves nothing", table)
		}
		for _, row := range rows {
			for _, secret := range []string{id1, id2, id1[6:14], id2[6:14], phone} {
				if strings.Contains(row, secret) {
					t.Errorf("%s row holds %s in clear: %s", table, secret, row)
				}
			}
		}
	}
}

// TestFindDiners: the counter finds diners by exact phone, exact ID number or name prefix;
// results are masked and say nothing about groups.
func TestFindDiners(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	id := idNumber("440104", "19450202", "456")
	reg, err := f.svc.RegisterAtCounter(ctx, f.counterA, eligibility.CounterRegistration{Name: "黄伯", Phone: "13812345678",
		IDNumber: id, District: "越秀区"})
	if err != nil {
		t.Fatal(err)
	}
	spouse, err := f.svc.RegisterAtCounter(ctx, f.counterA, eligibility.CounterRegistration{Name: "黄婆婆", Phone: "138 1234 5678",
		IDNumber: idNumber("440104", "19470707", "222"), District: "越秀区"})
	if err != nil {
		t.Fatal(err)
	}
	wx := f.diner(a, "o-1") // a WeChat diner known by the real name of their application
	wxID := idNumber("440106", "19500101", "123")
	f.apply(a, wx, elder("黄大伯", wxID))
	f.diner(a, "o-2") // no name at all
	other, err := f.svc.RegisterAtCounter(ctx, f.reviewerB, eligibility.CounterRegistration{Name: "黄先生", Phone: "13812345678",
		IDNumber: id, District: "海珠区"})
	if err != nil {
		t.Fatal(err) // another community: another register, same person allowed
	}

	type hit struct {
		ID    int64
		Name  string
		Phone string
		IDNo  string
	}
	find := func(q string) []hit {
		t.Helper()
		ds, err := f.svc.FindDiners(ctx, a, q)
		if err != nil {
			t.Fatalf("find %q: %v", q, err)
		}
		out := []hit{}
		for _, d := range ds {
			if d.CommunityID != a {
				t.Errorf("find %q returned a diner of community %d", q, d.CommunityID)
			}
			out = append(out, hit{d.ID, d.Name, d.PhoneMasked, d.IDNumberMasked})
		}
		return out
	}
	huang := hit{reg.Diner.ID, "黄伯", "138****5678", "4401**********" + id[14:]}
	wife := hit{spouse.Diner.ID, "黄婆婆", "138****5678", spouse.Diner.IDNumberMasked}
	wxHit := hit{wx, "黄大伯", "", "4401**********" + wxID[14:]}
	for _, tc := range []struct {
		q    string
		want []hit
	}{
		{"13812345678", []hit{huang, wife}},
		{"+86 138-1234-5678", []hit{huang, wife}},
		{"13900000000", []hit{}},
		{id, []hit{huang}},
		{strings.ToLower(wxID), []hit{wxHit}},
		{"黄", []hit{huang, wife, wxHit}},
		{"黄婆", []hit{wife}},
		{"黄大", []hit{wxHit}},
		{"%", []hit{}},
		{"_伯", []hit{}},
		{"陈", []hit{}},
	} {
		if diff := cmp.Diff(tc.want, find(tc.q)); diff != "" {
			t.Errorf("find %q (-want +got):\n%s", tc.q, diff)
		}
	}
	if got := find("黄先生"); len(got) != 0 {
		t.Errorf("community A finds B's diner %d: %+v", other.Diner.ID, got)
	}
	ds, _ := f.svc.FindDiners(ctx, a, "黄")
	js, _ := json.Marshal(ds)
	for _, leak := range []string{"elderly", "group", "tekun", "status", id, "13812345678"} {
		if strings.Contains(string(js), leak) {
			t.Errorf("counter results mention %q: %s", leak, js)
		}
	}
}
