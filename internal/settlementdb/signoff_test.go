package settlementdb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/settlement"
)

func TestMerchantSeesOnlyItsOwnStatements(t *testing.T) {
	f := newFixture(t)
	f.october()
	f.closeMonth(october)
	stmts := f.statements(october)
	cases := []struct {
		merchant int64
		want     []settlement.Party
	}{
		{f.operator, []settlement.Party{f.operatorParty(f.operator)}}, // cooks in canteen A
		{f.donor, []settlement.Party{f.sponsorParty(f.shop)}},         // behind the merchant sponsor
	}
	for _, tc := range cases {
		list, err := f.svc.MerchantStatements(f.ctx, f.cid, tc.merchant, settlement.Month{})
		f.check(err)
		if len(list) != len(tc.want) || list[0].Party != tc.want[0] || *list[0].MerchantID != tc.merchant {
			t.Fatalf("merchant %d sees %+v, want %v", tc.merchant, list, tc.want)
		}
		for p, s := range stmts {
			_, err := f.svc.MerchantStatement(f.ctx, f.cid, tc.merchant, s.ID, settlement.LinePage{})
			own := p == tc.want[0]
			if own && err != nil || !own && !errors.Is(err, settlement.ErrStatementNotFound) {
				t.Errorf("merchant %d reading %v: %v", tc.merchant, p, err)
			}
		}
	}
	// Another community's merchant user sees nothing of this one.
	var other int64
	f.scan("INSERT INTO communities (code, name) VALUES ('c2', '别的社区') RETURNING id", &other)
	for _, s := range stmts {
		if _, err := f.svc.Statement(f.ctx, other, s.ID, settlement.LinePage{}); !errors.Is(err, settlement.ErrStatementNotFound) {
			t.Errorf("another community read statement %d: %v", s.ID, err)
		}
	}
}

func TestSignoffIsAppendOnly(t *testing.T) {
	f := newFixture(t)
	f.october()
	f.closeMonth(october)
	op := f.statements(october)[f.operatorParty(f.operator)]
	user := settlement.Scope{CommunityID: f.cid, Actor: audit.Actor{Kind: audit.Staff, ID: 99, Name: "阳光餐饮 对账员"}}
	f.now = at(day(time.November, 3), 10)

	if _, err := f.svc.Confirm(f.ctx, user, f.donor, op.ID, ""); !errors.Is(err, settlement.ErrStatementNotFound) {
		t.Fatalf("another merchant confirming: %v", err)
	}
	if _, err := f.svc.Dispute(f.ctx, user, f.operator, op.ID, " "); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("a dispute without a comment: %v", err)
	}
	so, err := f.svc.Dispute(f.ctx, user, f.operator, op.ID, "10月20日退款金额不符")
	f.check(err)
	if so.Seq != 2 || so.Status != settlement.Disputed {
		t.Fatalf("dispute: %+v", so)
	}
	if _, err := f.svc.Dispute(f.ctx, user, f.operator, op.ID, "补充：现金也不对"); err != nil {
		t.Fatalf("a second dispute: %v", err)
	}
	if _, err := f.svc.Confirm(f.ctx, user, f.operator, op.ID, "已与财务核对"); err != nil {
		t.Fatalf("confirming after a dispute: %v", err)
	}
	for _, fn := range []func() error{
		func() error { _, err := f.svc.Confirm(f.ctx, user, f.operator, op.ID, ""); return err },
		func() error { _, err := f.svc.Dispute(f.ctx, user, f.operator, op.ID, "又不对了"); return err },
	} {
		if err := fn(); !errors.Is(err, settlement.ErrSignoffNotAllowed) {
			t.Fatalf("after confirming: %v", err)
		}
	}
	got, err := f.svc.MerchantStatement(f.ctx, f.cid, f.operator, op.ID, settlement.LinePage{})
	f.check(err)
	var statuses []settlement.SignoffStatus
	for _, s := range got.Signoffs {
		statuses = append(statuses, s.Status)
	}
	want := []settlement.SignoffStatus{settlement.Issued, settlement.Disputed, settlement.Disputed, settlement.Confirmed}
	if len(statuses) != len(want) || got.Status != settlement.Confirmed || got.Signoffs[1].Comment != "10月20日退款金额不符" {
		t.Fatalf("history %v (status %s), want %v", statuses, got.Status, want)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("history %v, want %v", statuses, want)
		}
	}
	if n := f.count("SELECT count(*) FROM audit_log WHERE entity = 'statement' AND entity_id = ? AND action IN ('confirm', 'dispute')", itoa(op.ID)); n != 3 {
		t.Fatalf("%d sign-off audit records, want 3", n)
	}
	// The statement itself is what it was when issued.
	if got.Totals != op.Totals || got.LineCount != op.LineCount {
		t.Fatalf("the statement changed with its sign-off: %+v", got.Totals)
	}
}
