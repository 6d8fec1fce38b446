package eligibility_test

import (
	"strings"
	"testing"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// TestValidationWritesNothing runs every input rule: each call fails with the expected kind
// naming the offending field, never repeats an ID number, and leaves every table as it was.
func TestValidationWritesNothing(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	d := f.diner(a, "o-1")
	d2 := f.diner(a, "o-2")
	good := idNumber("440106", "19500101", "123")
	applied := f.apply(a, d, elder("陈伯", good))
	w, err := f.svc.ApplyWorker(ctx, as(a, d2), d2, worker("小刘", "美团", "MT1001"))
	if err != nil {
		t.Fatal(err)
	}

	long := func(n int) string { return strings.Repeat("字", n) }
	under60 := idNumber("440106", "19700505", "321")
	badBirth := idNumber("440106", "19501301", "123") // month 13, valid check digit
	future := idNumber("440106", "20270101", "123")   // born after today
	applyElder := func(in eligibility.ElderlyApplication) error {
		if in.Name == "" {
			in.Name = "王婆婆"
		}
		if in.District == "" {
			in.District = "天河区"
		}
		_, err := f.svc.ApplyElderly(ctx, as(a, d2), d2, in)
		return err
	}
	applyWorker := func(in eligibility.WorkerApplication) error {
		_, err := f.svc.ApplyWorker(ctx, as(a, d), d, in)
		return err
	}
	register := func(in eligibility.CounterRegistration) error {
		if in.Name == "" {
			in.Name = "黄伯"
		}
		if in.IDNumber == "" {
			in.IDNumber = idNumber("440104", "19450202", "456")
		}
		if in.District == "" {
			in.District = "越秀区"
		}
		_, err := f.svc.RegisterAtCounter(ctx, f.reviewerA, in)
		return err
	}
	approve := func(from, until civil.Date) error {
		_, err := f.svc.Approve(ctx, f.reviewerA, applied.ID, from, until)
		return err
	}

	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"name missing", func() error { return applyElder(eligibility.ElderlyApplication{Name: "  ", IDNumber: good}) }, "name"},
		{"name too long", func() error { return applyElder(eligibility.ElderlyApplication{Name: long(51), IDNumber: good}) }, "name"},
		{"name control character", func() error { return applyElder(eligibility.ElderlyApplication{Name: "王\x07婆", IDNumber: good}) }, "name"},
		{"id number missing", func() error { return applyElder(eligibility.ElderlyApplication{}) }, "id_number"},
		{"id number short", func() error { return applyElder(eligibility.ElderlyApplication{IDNumber: good[:17]}) }, "id_number"},
		{"id number check digit", func() error {
			return applyElder(eligibility.ElderlyApplication{IDNumber: withWrongCheck(idNumber("440106", "19480808", "777"))})
		}, "id_number"},
		{"id number birth date", func() error { return applyElder(eligibility.ElderlyApplication{IDNumber: badBirth}) }, "id_number"},
		{"id number born in the future", func() error { return applyElder(eligibility.ElderlyApplication{IDNumber: future}) }, "id_number"},
		{"under 60", func() error { return applyElder(eligibility.ElderlyApplication{IDNumber: under60}) }, "id_number"},
		{"district too long", func() error {
			return applyElder(eligibility.ElderlyApplication{IDNumber: idNumber("440106", "19480808", "777"), District: long(31)})
		}, "district"},
		{"unknown flag", func() error {
			return applyElder(eligibility.ElderlyApplication{IDNumber: idNumber("440106", "19480808", "777"), Flags: []subsidy.StatusFlag{"rich"}})
		}, "flags[0]"},
		{"duplicate flag", func() error {
			return applyElder(eligibility.ElderlyApplication{IDNumber: idNumber("440106", "19480808", "777"),
				Flags: []subsidy.StatusFlag{subsidy.Dibao, subsidy.Dibao}})
		}, "flags[1]"},
		{"evidence is a photo, not a reference", func() error {
			return applyElder(eligibility.ElderlyApplication{IDNumber: idNumber("440106", "19480808", "777"),
				EvidenceRef: "data:image/png;base64,iVBORw0KGgo="})
		}, "evidence_ref"},
		{"worker name missing", func() error {
			return applyWorker(eligibility.WorkerApplication{Platform: "美团", WorkerID: "X1", ProofRef: "p/1.jpg"})
		}, "name"},
		{"worker platform missing", func() error {
			return applyWorker(eligibility.WorkerApplication{Name: "小刘", WorkerID: "X1", ProofRef: "p/1.jpg"})
		}, "platform"},
		{"worker id with spaces", func() error {
			return applyWorker(eligibility.WorkerApplication{Name: "小刘", Platform: "美团", WorkerID: "X 1", ProofRef: "p/1.jpg"})
		}, "worker_id"},
		{"worker proof missing", func() error {
			return applyWorker(eligibility.WorkerApplication{Name: "小刘", Platform: "美团", WorkerID: "X1"})
		}, "proof_ref"},
		{"worker proof too long", func() error {
			return applyWorker(eligibility.WorkerApplication{Name: "小刘", Platform: "美团", WorkerID: "X1", ProofRef: strings.Repeat("a", 201)})
		}, "proof_ref"},
		{"counter phone", func() error { return register(eligibility.CounterRegistration{Phone: "12345"}) }, "phone"},
		{"counter under 60", func() error { return register(eligibility.CounterRegistration{IDNumber: under60}) }, "id_number"},
		{"counter district missing", func() error {
			_, err := f.svc.RegisterAtCounter(ctx, f.reviewerA, eligibility.CounterRegistration{Name: "黄伯", IDNumber: idNumber("440104", "19450202", "456")})
			return err
		}, "district"},
		{"counter valid days without approve", func() error { return register(eligibility.CounterRegistration{ValidDays: 30}) }, "valid_days"},
		{"counter valid days negative", func() error { return register(eligibility.CounterRegistration{Approve: true, ValidDays: -1}) }, "valid_days"},
		{"counter valid days over 3 years", func() error { return register(eligibility.CounterRegistration{Approve: true, ValidDays: 3 * 366}) }, "valid_days"},
		{"approve from the past", func() error { return approve(monday.AddDays(-1), civil.Date{}) }, "valid_from"},
		{"approve from too far ahead", func() error { return approve(monday.AddDays(91), civil.Date{}) }, "valid_from"},
		{"approve until not after from", func() error { return approve(monday, monday) }, "valid_until"},
		{"approve over 3 years", func() error { return approve(monday, date("2029-11-30")) }, "valid_until"},
		{"approve invalid until", func() error { return approve(monday, civil.Date{Year: 2027, Month: 2, Day: 30}) }, "valid_until"},
		{"reject without reason", func() error { _, err := f.svc.Reject(ctx, f.reviewerA, applied.ID, " "); return err }, "reason"},
		{"reject reason too short", func() error { _, err := f.svc.Reject(ctx, f.reviewerA, applied.ID, "x"); return err }, "reason"},
		{"reject reason too long", func() error { _, err := f.svc.Reject(ctx, f.reviewerA, applied.ID, long(201)); return err }, "reason"},
		{"revoke without reason", func() error { _, err := f.svc.Revoke(ctx, f.reviewerA, w.ID, ""); return err }, "reason"},
		{"renew invalid date", func() error { _, err := f.svc.Renew(ctx, f.reviewerA, w.ID, civil.Date{}); return err }, "valid_until"},
		{"pending group", func() error { _, err := f.svc.Pending(ctx, a, subsidy.General, 10); return err }, "group"},
		{"pending limit", func() error { _, err := f.svc.Pending(ctx, a, "", 201); return err }, "limit"},
		{"expiring within 0", func() error { _, err := f.svc.ExpiringSoon(ctx, a, 0); return err }, "within_days"},
		{"find mistyped number", func() error { _, err := f.svc.FindDiners(ctx, a, "1381234567"); return err }, "query"},
		{"find empty", func() error { _, err := f.svc.FindDiners(ctx, a, "  "); return err }, "query"},
		{"binding relation missing", func() error { _, err := f.svc.RequestBinding(ctx, as(a, d), d, d2, ""); return err }, "relation"},
		{"binding to oneself", func() error { _, err := f.svc.RequestBinding(ctx, as(a, d), d, d, "本人"); return err }, "elder_diner_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			err := tc.call()
			wantErr(t, err, apperr.Invalid, tc.field)
			for _, n := range []string{good, under60, badBirth, future, under60[6:14]} {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q repeats an ID number or birth date", err)
				}
			}
			if after := f.snapshot(); !equal(before, after) {
				t.Errorf("a failed call wrote something:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestForbiddenWritesNothing: only the diner themselves or staff apply; only reviewers
// review, unmask or approve at the counter; a family member cannot confirm their own request.
func TestForbiddenWritesNothing(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	d := f.diner(a, "o-1")
	other := f.diner(a, "o-2")
	e := f.apply(a, d, elder("陈伯", idNumber("440106", "19500101", "123")))
	b, err := f.svc.RequestBinding(ctx, as(a, other), other, d, "女儿")
	if err != nil {
		t.Fatal(err)
	}
	counterNotStaff := eligibility.Scope{CommunityID: a, Actor: f.counterA.Actor, Reviewer: false}
	claimsReviewer := eligibility.Scope{CommunityID: a, Actor: audit.Actor{Kind: audit.Diner, ID: d, Name: "x"}, Reviewer: true}
	system := eligibility.Scope{CommunityID: a, Actor: audit.SystemActor}
	reg := eligibility.CounterRegistration{Name: "黄伯", IDNumber: idNumber("440104", "19450202", "456"), District: "越秀区"}

	tests := []struct {
		name string
		call func() error
	}{
		{"diner applies for another diner", func() error {
			_, err := f.svc.ApplyElderly(ctx, as(a, other), d, elder("陈伯", idNumber("440106", "19480808", "777")))
			return err
		}},
		{"system applies", func() error {
			_, err := f.svc.ApplyWorker(ctx, system, d, worker("小刘", "美团", "MT1"))
			return err
		}},
		{"counter clerk approves", func() error { _, err := f.svc.Approve(ctx, f.counterA, e.ID, civil.Date{}, civil.Date{}); return err }},
		{"diner claiming reviewer approves", func() error {
			_, err := f.svc.Approve(ctx, claimsReviewer, e.ID, civil.Date{}, civil.Date{})
			return err
		}},
		{"counter clerk rejects", func() error { _, err := f.svc.Reject(ctx, f.counterA, e.ID, "材料不全"); return err }},
		{"counter clerk unmasks", func() error { _, err := f.svc.Unmask(ctx, f.counterA, e.ID); return err }},
		{"diner unmasks own", func() error { _, err := f.svc.Unmask(ctx, as(a, d), e.ID); return err }},
		{"counter clerk approves at the counter", func() error {
			in := reg
			in.Approve = true
			_, err := f.svc.RegisterAtCounter(ctx, counterNotStaff, in)
			return err
		}},
		{"diner registers at the counter", func() error { _, err := f.svc.RegisterAtCounter(ctx, as(a, d), reg); return err }},
		{"family member confirms own request", func() error { _, err := f.svc.ConfirmBinding(ctx, as(a, other), b.ID); return err }},
		{"counter clerk confirms a binding", func() error { _, err := f.svc.ConfirmBinding(ctx, f.counterA, b.ID); return err }},
		{"stranger revokes a binding", func() error {
			stranger := f.diner(a, "o-stranger")
			_, err := f.svc.RevokeBinding(ctx, as(a, stranger), b.ID)
			return err
		}},
		{"diner requests a binding for someone else", func() error { _, err := f.svc.RequestBinding(ctx, as(a, d), other, d, "儿子"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			err := tc.call()
			wantErr(t, err, apperr.Forbidden, "")
			after := f.snapshot()
			delete(before, "diners") // the stranger case inserts its diner first
			delete(after, "diners")
			if !equal(before, after) {
				t.Errorf("a refused call wrote something:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
