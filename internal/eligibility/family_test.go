package eligibility_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
)

// TestFamilyBinding: a family member asks, the elder (or a reviewer, for an elder without
// WeChat) confirms, and only then may the family member order for the elder; either side
// may end it.
func TestFamilyBinding(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	daughter := f.diner(a, "o-daughter")
	grandpa := f.diner(a, "o-grandpa")
	f.approve(f.reviewerA, f.apply(a, grandpa, elder("陈伯", idNumber("440106", "19450101", "123"))).ID, civil.Date{}, civil.Date{})
	reg, err := f.svc.RegisterAtCounter(ctx, f.reviewerA, eligibility.CounterRegistration{Name: "陈婆婆",
		IDNumber: idNumber("440106", "19470202", "222"), District: "天河区", Approve: true})
	if err != nil {
		t.Fatal(err)
	}
	grandma := reg.Diner.ID

	can := func(actor, elder int64) bool {
		t.Helper()
		ok, err := f.svc.CanOrderFor(ctx, a, actor, elder)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !can(daughter, daughter) || can(daughter, grandpa) {
		t.Fatal("before any binding: may order for herself only")
	}

	b, err := f.svc.RequestBinding(ctx, as(a, daughter), daughter, grandpa, " 女儿 ")
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != eligibility.BindingPending || b.Relation != "女儿" || b.RequestedBy != daughter {
		t.Errorf("requested %+v", b)
	}
	_, err = f.svc.RequestBinding(ctx, as(a, daughter), daughter, grandpa, "女儿")
	wantIs(t, err, eligibility.ErrBindingExists)
	if can(daughter, grandpa) {
		t.Error("a pending binding lets her order")
	}
	mine, err := f.svc.BindingsOf(ctx, a, grandpa)
	if err != nil || len(mine) != 1 || mine[0].ID != b.ID {
		t.Errorf("grandpa sees %+v, %v", mine, err)
	}
	b, err = f.svc.ConfirmBinding(ctx, as(a, grandpa), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != eligibility.BindingConfirmed || b.ConfirmedByKind != eligibility.ByElder || b.ConfirmedBy != grandpa || b.ConfirmedAt == nil {
		t.Errorf("confirmed %+v", b)
	}
	_, err = f.svc.ConfirmBinding(ctx, as(a, grandpa), b.ID)
	wantIs(t, err, eligibility.ErrBindingState)
	if !can(daughter, grandpa) || can(grandpa, daughter) {
		t.Error("after confirmation: she orders for him, not he for her")
	}

	// Grandma has no WeChat: staff request for the daughter, a reviewer confirms.
	b2, err := f.svc.RequestBinding(ctx, f.counterA, daughter, grandma, "女儿")
	if err != nil {
		t.Fatal(err)
	}
	if pend, _ := f.svc.PendingBindings(ctx, a, 0); len(pend) != 1 || pend[0].ID != b2.ID {
		t.Errorf("pending bindings %+v", pend)
	}
	b2, err = f.svc.ConfirmBinding(ctx, f.reviewerA, b2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b2.ConfirmedByKind != eligibility.ByReviewer || b2.ConfirmedBy != f.reviewerA.Actor.ID {
		t.Errorf("confirmed %+v", b2)
	}
	elders, err := f.svc.EldersOf(ctx, a, daughter)
	if err != nil {
		t.Fatal(err)
	}
	want := []eligibility.Elder{
		{BindingID: b.ID, DinerID: grandpa, Name: "陈伯", Relation: "女儿"},
		{BindingID: b2.ID, DinerID: grandma, Name: "陈婆婆", Relation: "女儿"},
	}
	if diff := cmp.Diff(want, elders); diff != "" {
		t.Errorf("elders of the daughter (-want +got):\n%s", diff)
	}

	// The elder ends it; she may ask again afterwards.
	b, err = f.svc.RevokeBinding(ctx, as(a, grandpa), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != eligibility.BindingRevoked || b.RevokedBy != grandpa || b.RevokedByKind != "diner" {
		t.Errorf("revoked %+v", b)
	}
	_, err = f.svc.RevokeBinding(ctx, as(a, daughter), b.ID)
	wantErr(t, err, apperr.FailedPrecondition, "")
	if can(daughter, grandpa) {
		t.Error("a revoked binding still lets her order")
	}
	if elders, _ := f.svc.EldersOf(ctx, a, daughter); len(elders) != 1 {
		t.Errorf("elders after revocation: %+v", elders)
	}
	if _, err := f.svc.RequestBinding(ctx, as(a, daughter), daughter, grandpa, "女儿"); err != nil {
		t.Fatalf("asking again: %v", err)
	}
	want2 := []string{"request", "confirm", "request", "confirm", "revoke", "request"}
	if diff := cmp.Diff(want2, actions(f.audits(a, eligibility.EntityBinding))); diff != "" {
		t.Errorf("binding audit (-want +got):\n%s", diff)
	}
	_, err = f.svc.RequestBinding(ctx, as(a, daughter), daughter, 999999, "女儿")
	wantIs(t, err, eligibility.ErrDinerNotFound)
}
