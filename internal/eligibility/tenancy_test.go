package eligibility_test

import (
	"testing"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// TestTenancy: community B can neither see nor change community A's eligibilities, diners
// and bindings; each attempt is NotFound (or an empty result) and writes nothing.
func TestTenancy(t *testing.T) {
	f := newFixture(t)
	ctx, a, b := f.ctx, f.a, f.b
	elderA := f.diner(a, "o-elder")
	familyA := f.diner(a, "o-family")
	dinerB := f.diner(b, "o-b")
	applied := f.apply(a, elderA, elder("陈伯", idNumber("440106", "19500101", "123")))
	w, err := f.svc.ApplyWorker(ctx, as(a, familyA), familyA, worker("小刘", "美团", "MT1"))
	if err != nil {
		t.Fatal(err)
	}
	approved := f.approve(f.reviewerA, w.ID, civil.Date{}, civil.Date{})
	bind, err := f.svc.RequestBinding(ctx, as(a, familyA), familyA, elderA, "女儿")
	if err != nil {
		t.Fatal(err)
	}
	rb := f.reviewerB

	notFound := []struct {
		name string
		call func() error
	}{
		{"get", func() error { _, err := f.svc.Get(ctx, b, applied.ID); return err }},
		{"approve", func() error { _, err := f.svc.Approve(ctx, rb, applied.ID, civil.Date{}, civil.Date{}); return err }},
		{"reject", func() error { _, err := f.svc.Reject(ctx, rb, applied.ID, "材料不全"); return err }},
		{"revoke", func() error { _, err := f.svc.Revoke(ctx, rb, approved.ID, "材料不全"); return err }},
		{"renew", func() error { _, err := f.svc.Renew(ctx, rb, approved.ID, date("2028-01-01")); return err }},
		{"unmask", func() error { _, err := f.svc.Unmask(ctx, rb, applied.ID); return err }},
		{"staff of B applies for A's diner", func() error {
			_, err := f.svc.ApplyElderly(ctx, rb, elderA, elder("陈伯", idNumber("440106", "19480808", "777")))
			return err
		}},
		{"A's diner applies in B", func() error {
			_, err := f.svc.ApplyWorker(ctx, as(b, familyA), familyA, worker("小刘", "美团", "MT2"))
			return err
		}},
		{"bind B's diner to A's elder", func() error { _, err := f.svc.RequestBinding(ctx, as(b, dinerB), dinerB, elderA, "儿子"); return err }},
		{"confirm A's binding", func() error { _, err := f.svc.ConfirmBinding(ctx, rb, bind.ID); return err }},
		{"revoke A's binding", func() error { _, err := f.svc.RevokeBinding(ctx, rb, bind.ID); return err }},
		{"get A's binding", func() error { _, err := f.svc.GetBinding(ctx, b, bind.ID); return err }},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			wantErr(t, tc.call(), apperr.NotFound, "")
			if after := f.snapshot(); !equal(before, after) {
				t.Errorf("a refused call wrote something")
			}
		})
	}

	empty := []struct {
		name string
		call func() (int, error)
	}{
		{"pending", func() (int, error) { es, err := f.svc.Pending(ctx, b, "", 0); return len(es), err }},
		{"for diner", func() (int, error) { es, err := f.svc.ForDiner(ctx, b, elderA); return len(es), err }},
		{"active for", func() (int, error) { es, err := f.svc.ActiveFor(ctx, b, familyA, f.now); return len(es), err }},
		{"expiring soon", func() (int, error) { es, err := f.svc.ExpiringSoon(ctx, b, 366); return len(es), err }},
		{"find by name", func() (int, error) { ds, err := f.svc.FindDiners(ctx, b, "陈"); return len(ds), err }},
		{"find by ID", func() (int, error) {
			ds, err := f.svc.FindDiners(ctx, b, idNumber("440106", "19500101", "123"))
			return len(ds), err
		}},
		{"bindings of", func() (int, error) { bs, err := f.svc.BindingsOf(ctx, b, elderA); return len(bs), err }},
		{"pending bindings", func() (int, error) { bs, err := f.svc.PendingBindings(ctx, b, 0); return len(bs), err }},
		{"elders of", func() (int, error) {
			if _, err := f.svc.ConfirmBinding(ctx, as(a, elderA), bind.ID); err != nil && apperr.KindOf(err) != apperr.FailedPrecondition {
				return 0, err
			}
			es, err := f.svc.EldersOf(ctx, b, familyA)
			return len(es), err
		}},
		{"can order for", func() (int, error) {
			ok, err := f.svc.CanOrderFor(ctx, b, familyA, elderA)
			if ok {
				return 1, err
			}
			return 0, err
		}},
	}
	for _, tc := range empty {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.call()
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("community B sees %d of A's", n)
			}
		})
	}
	// Community A still sees its own.
	if ok, _ := f.svc.CanOrderFor(ctx, a, familyA, elderA); !ok {
		t.Error("A's confirmed binding does not work in A")
	}
	if es, _ := f.svc.Pending(ctx, a, "", 0); len(es) != 1 {
		t.Errorf("A's queue has %d", len(es))
	}
}
