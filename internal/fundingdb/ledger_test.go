package fundingdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// TestHoldNeverOverspends: 200 orders, each in its own transaction, each holding 500 fen of
// a pledge funded with 10,000: exactly 20 succeed, the rest are told the budget is
// exhausted, and the balance and journal agree.
func TestHoldNeverOverspends(t *testing.T) {
	e := newEnv(t)
	p := e.rangePledge(e.sc, "助餐专项", 10_000)
	pol := e.policy(e.sc, p.ID)

	const orders = 200
	errs := make([]error, orders)
	var wg sync.WaitGroup
	done := make(chan struct{})
	checked := make(chan error, 1)
	go func() { // the check proves the ledger while the holds run
		var err error
		for err == nil {
			select {
			case <-done:
				checked <- nil
				return
			default:
				err = e.ledger.Check(e.ctx, e.db, e.sc.CommunityID)
			}
		}
		checked <- err
	}()
	for i := range orders {
		wg.Go(func() {
			errs[i] = e.hold(int64(i+1), today, funding.Hold{PledgeID: p.ID, PolicyID: pol.ID, PolicyVersion: pol.Version, Fen: 500})
		})
	}
	wg.Wait()
	close(done)
	if err := <-checked; err != nil {
		t.Fatalf("check during the holds: %v", err)
	}
	ok, exhausted := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, funding.ErrBudgetExhausted):
			exhausted++
			var be *funding.BudgetError
			if !errors.As(err, &be) || be.PledgeID != p.ID || be.Period != funding.RangePeriod {
				t.Fatalf("order %d: budget error does not name the pledge: %v", i+1, err)
			}
			if apperr.KindOf(err) != apperr.Conflict {
				t.Fatalf("order %d: kind %v, want conflict", i+1, apperr.KindOf(err))
			}
		default:
			t.Fatalf("order %d: %v", i+1, err)
		}
	}
	if ok != 20 || exhausted != orders-20 {
		t.Fatalf("%d holds succeeded and %d were refused, want 20 and %d", ok, exhausted, orders-20)
	}
	if diff := cmp.Diff(bal(p.ID, funding.RangePeriod, 10_000, 0, 10_000, 0), e.balance(p.ID, funding.RangePeriod)); diff != "" {
		t.Fatalf("balance (-want +got):\n%s", diff)
	}
	if n := e.count("SELECT count(*) FROM order_holds"); n != 20 {
		t.Fatalf("%d order holds, want 20", n)
	}
	if n := e.count("SELECT count(*) FROM order_funding"); n != 20 {
		t.Fatalf("%d order_funding rows, want 20 (refused orders roll back)", n)
	}
	e.check(e.sc)
}

// TestCommitReverse: hold, commit (twice), then refunds of a third and of the rest give the
// subsidy back in proportion, exactly to the fen, and no more.
func TestCommitReverse(t *testing.T) {
	e := newEnv(t)
	a := e.monthlyPledge(e.sc, "爱心午餐", 10_000)
	b := e.rangePledge(e.sc, "区级补贴", 5_000)
	pol := e.policy(e.sc, b.ID, a.ID)
	nov := funding.MonthPeriod(funding.MonthOf(today))

	// The diner pays 900 of a 1900 meal: 700 from pledge a, 300 from pledge b.
	e.mustHold(1, funding.Hold{PledgeID: a.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 700},
		funding.Hold{PledgeID: b.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 300})
	e.commit(1)
	entries := e.count("SELECT count(*) FROM ledger_entries")
	e.commit(1)
	if n := e.count("SELECT count(*) FROM ledger_entries"); n != entries {
		t.Fatalf("second commit wrote %d entries", n-entries)
	}
	e.release(1) // after commit: does nothing
	want := []funding.Balance{bal(a.ID, nov, 10_000, 9_300, 0, 700), bal(b.ID, funding.RangePeriod, 5_000, 4_700, 0, 300)}
	e.assertBalances(want)

	// A third of the paid 900 back: floor(1000 × 300/900) = 333 fen, split 700:300 by
	// largest remainder: 233.1 -> 233, 99.9 -> 100.
	if err := e.reverse(1, 300, 900); err != nil {
		t.Fatal(err)
	}
	want = []funding.Balance{bal(a.ID, nov, 10_000, 9_533, 0, 467), bal(b.ID, funding.RangePeriod, 5_000, 4_800, 0, 200)}
	e.assertBalances(want)
	// The rest: everything is back.
	if err := e.reverse(1, 600, 900); err != nil {
		t.Fatal(err)
	}
	want = []funding.Balance{bal(a.ID, nov, 10_000, 10_000, 0, 0), bal(b.ID, funding.RangePeriod, 5_000, 5_000, 0, 0)}
	e.assertBalances(want)
	for _, tc := range []struct {
		name           string
		refunded, paid int64
	}{{"past the paid total", 1, 900}, {"another paid total", 1, 1000}} {
		if err := e.reverse(1, tc.refunded, tc.paid); !errors.Is(err, funding.ErrRefundExceedsPaid) {
			t.Fatalf("%s: %v, want ErrRefundExceedsPaid", tc.name, err)
		}
	}
	var reversed []int64
	if err := e.db.NewRaw("SELECT reversed_fen FROM order_holds WHERE order_id = 1 ORDER BY pledge_id").Scan(e.ctx, &reversed); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{700, 300}, reversed); diff != "" {
		t.Fatalf("reversed per hold (-want +got):\n%s", diff)
	}
	e.check(e.sc)
}

func (e *env) assertBalances(want []funding.Balance) {
	e.t.Helper()
	var got []funding.Balance
	for _, w := range want {
		got = append(got, e.balance(w.PledgeID, w.Period))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		e.t.Fatalf("balances (-want +got):\n%s", diff)
	}
}

// TestHoldRelease: releasing gives the money back; releasing twice, and committing or
// reversing a released order, change nothing.
func TestHoldRelease(t *testing.T) {
	e := newEnv(t)
	p := e.rangePledge(e.sc, "助餐专项", 1_000)
	pol := e.policy(e.sc, p.ID)
	e.mustHold(7, funding.Hold{PledgeID: p.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 400})
	e.assertBalances([]funding.Balance{bal(p.ID, funding.RangePeriod, 1_000, 600, 400, 0)})
	if err := e.reverse(7, 100, 500); !errors.Is(err, funding.ErrOrderNotCommitted) {
		t.Fatalf("reverse of a held order: %v, want ErrOrderNotCommitted", err)
	}
	e.release(7)
	entries := e.count("SELECT count(*) FROM ledger_entries")
	e.release(7)
	e.commit(7)
	if err := e.reverse(7, 100, 500); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count(*) FROM ledger_entries"); n != entries {
		t.Fatalf("moves after release wrote %d entries", n-entries)
	}
	e.assertBalances([]funding.Balance{bal(p.ID, funding.RangePeriod, 1_000, 1_000, 0, 0)})
	// Orders without subsidy: every move is a no-op.
	e.commit(99)
	e.release(99)
	if err := e.reverse(99, 1, 1); err != nil {
		t.Fatal(err)
	}
	e.check(e.sc)
}

// TestPartialRefundsAccumulate: random sequences of partial refunds over random holds always
// give back floor(spent × refunded/paid) in all, never more than a hold spent, and
// everything once the whole amount is refunded.
func TestPartialRefundsAccumulate(t *testing.T) {
	e := newEnv(t)
	var pledges []funding.Pledge
	for i := range 3 {
		pledges = append(pledges, e.rangePledge(e.sc, fmt.Sprintf("认捐%d", i), 1_000_000))
	}
	pol := e.policy(e.sc, pledges[0].ID, pledges[1].ID, pledges[2].ID)
	rng := rand.New(rand.NewPCG(1, 2))
	for order := int64(1); order <= 30; order++ {
		var holds []funding.Hold
		var spent int64
		for _, p := range pledges[:1+rng.IntN(3)] {
			fen := 1 + rng.Int64N(1_500)
			spent += fen
			holds = append(holds, funding.Hold{PledgeID: p.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: fen})
		}
		e.mustHold(order, holds...)
		e.commit(order)
		paid := 1 + rng.Int64N(2_000)
		var refunded int64
		for refunded < paid {
			r := min(paid-refunded, 1+rng.Int64N(paid))
			if err := e.reverse(order, r, paid); err != nil {
				t.Fatal(err)
			}
			refunded += r
			var rows []struct {
				Committed int64 `bun:"committed_fen"`
				Reversed  int64 `bun:"reversed_fen"`
			}
			if err := e.db.NewRaw("SELECT committed_fen, reversed_fen FROM order_holds WHERE order_id = ?", order).Scan(e.ctx, &rows); err != nil {
				t.Fatal(err)
			}
			var reversed int64
			for _, row := range rows {
				if row.Reversed > row.Committed {
					t.Fatalf("order %d: a hold reversed %d of %d", order, row.Reversed, row.Committed)
				}
				reversed += row.Reversed
			}
			if want := funding.MulDiv(spent, refunded, paid); reversed != want {
				t.Fatalf("order %d: after %d of %d refunded, %d reversed, want %d", order, refunded, paid, reversed, want)
			}
		}
	}
	for _, p := range pledges {
		if b := e.balance(p.ID, funding.RangePeriod); b.AvailableFen != 1_000_000 || b.SpentFen != 0 {
			t.Fatalf("after full refunds: %+v", b)
		}
	}
	e.check(e.sc)
}

// TestConcurrentOrderLifecycles: orders over two pledges hold, then commit, release or are
// refunded concurrently, in different pledge orders; no deadlock, and every fen is accounted for.
func TestConcurrentOrderLifecycles(t *testing.T) {
	e := newEnv(t)
	a := e.rangePledge(e.sc, "甲", 100_000)
	b := e.monthlyPledge(e.sc, "乙", 100_000)
	pol := e.policy(e.sc, a.ID, b.ID)
	const orders = 60
	errs := make([]error, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			order := int64(i + 1)
			// Listed in either order: Hold sorts them, so the locks are taken alike.
			holds := []funding.Hold{{PledgeID: a.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 300}, {PledgeID: b.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 200}}
			if i%2 == 1 {
				holds[0], holds[1] = holds[1], holds[0]
			}
			err := e.hold(order, today, holds...)
			switch {
			case err != nil:
			case i%3 == 0:
				err = e.inTx(func(tx bun.Tx) error { return e.ledger.Release(e.ctx, tx, e.sc.CommunityID, order) })
			default:
				err = e.inTx(func(tx bun.Tx) error { return e.ledger.Commit(e.ctx, tx, e.sc.CommunityID, order) })
				if err == nil && i%3 == 2 {
					err = e.reverse(order, 100, 400)
				}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("order %d: %v", i+1, err)
		}
	}
	// 20 released, 40 committed, 20 of them refunded a quarter: floor(500 × 100/400) = 125,
	// split 300:200 -> 75 and 50.
	nov := funding.MonthPeriod(funding.MonthOf(today))
	e.assertBalances([]funding.Balance{
		bal(a.ID, funding.RangePeriod, 100_000, 100_000-40*300+20*75, 0, 40*300-20*75),
		bal(b.ID, nov, 100_000, 100_000-40*200+20*50, 0, 40*200-20*50),
	})
	e.check(e.sc)
}

// TestMonthlyPeriodOpensOnce: 20 orders touching a new month at once fund it once.
func TestMonthlyPeriodOpensOnce(t *testing.T) {
	e := newEnv(t)
	p := e.monthlyPledge(e.sc, "爱心午餐", 5_000)
	pol := e.policy(e.sc, p.ID)
	dec := civil.Date{Year: 2026, Month: 12, Day: 1}
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = e.hold(int64(100+i), dec, funding.Hold{PledgeID: p.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 100})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("order %d: %v", 100+i, err)
		}
	}
	if n := e.count("SELECT count(*) FROM ledger_entries WHERE kind = 'fund' AND account = 'source' AND period = '2026-12'"); n != 1 {
		t.Fatalf("%d fund entries for 2026-12, want 1", n)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE entity = 'pledge_balance' AND action = 'open'"); n != 1 {
		t.Fatalf("%d audit records of opening, want 1", n)
	}
	e.assertBalances([]funding.Balance{bal(p.ID, "2026-12", 5_000, 3_000, 2_000, 0)})
	// November was never touched: it is not opened, and quoting sees the pledge amount.
	avail, err := e.ledger.Available(e.ctx, e.db, e.sc.CommunityID, []int64{p.ID}, today)
	if err != nil {
		t.Fatal(err)
	}
	if avail[p.ID] != 5_000 {
		t.Fatalf("available in an untouched month = %d, want 5000", avail[p.ID])
	}
	e.check(e.sc)
}

// TestLedgerTablesRefuse: the journal cannot be changed or emptied, a ledger transaction
// that does not balance cannot commit, and balances cannot go negative.
func TestLedgerTablesRefuse(t *testing.T) {
	e := newEnv(t)
	p := e.rangePledge(e.sc, "助餐专项", 1_000)
	pol := e.policy(e.sc, p.ID)
	e.mustHold(1, funding.Hold{PledgeID: p.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 100})
	for _, q := range []string{
		"UPDATE ledger_entries SET amount_fen = amount_fen * 2",
		"DELETE FROM ledger_entries",
		"TRUNCATE ledger_entries CASCADE",
	} {
		if _, err := e.db.ExecContext(e.ctx, q); err == nil || !contains(err, "append-only") {
			t.Fatalf("%s: %v, want refused as append-only", q, err)
		}
	}
	_, err := e.db.ExecContext(e.ctx, "UPDATE pledge_balances SET available_fen = available_fen - 1000, funded_fen = funded_fen - 1000")
	if !postgres.IsCheckViolation(err, "pledge_balances_nonnegative") {
		t.Fatalf("negative available: %v, want pledge_balances_nonnegative", err)
	}
	err = e.inTx(func(tx bun.Tx) error {
		_, err := tx.ExecContext(e.ctx, `INSERT INTO ledger_entries (txn_id, community_id, pledge_id, period, account, amount_fen, kind, actor_kind, actor_name)
			VALUES (nextval('ledger_txn_id_seq'), ?, ?, 'range', 'available', 5, 'adjust', 'system', 'test')`, e.sc.CommunityID, p.ID)
		return err
	})
	if err == nil || !contains(err, "does not balance") {
		t.Fatalf("unbalanced ledger transaction: %v, want refused at commit", err)
	}
	if n := e.count("SELECT count(*) FROM ledger_entries WHERE memo = '' AND actor_name = 'test'"); n != 0 {
		t.Fatalf("the unbalanced entry was kept")
	}
	e.check(e.sc)
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

// TestCheckFindsDisagreement: a balance changed behind the journal's back is reported.
func TestCheckFindsDisagreement(t *testing.T) {
	e := newEnv(t)
	p := e.rangePledge(e.sc, "助餐专项", 1_000)
	pol := e.policy(e.sc, p.ID)
	e.mustHold(1, funding.Hold{PledgeID: p.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 100})
	e.check(e.sc)
	if _, err := e.db.ExecContext(e.ctx, "UPDATE pledge_balances SET available_fen = available_fen + 1, held_fen = held_fen - 1"); err != nil {
		t.Fatal(err)
	}
	err := e.ledger.Check(e.ctx, e.db, e.sc.CommunityID)
	if !errors.Is(err, funding.ErrLedgerMismatch) || !contains(err, fmt.Sprintf("%d/range", p.ID)) {
		t.Fatalf("check after tampering: %v, want ErrLedgerMismatch naming %d/range", err, p.ID)
	}
	e.check(e.other) // the other community is untouched
}

// TestHoldRefusals: what Hold refuses, and that a refused hold leaves nothing behind.
func TestHoldRefusals(t *testing.T) {
	e := newEnv(t)
	p := e.rangePledge(e.sc, "助餐专项", 1_000)
	pol := e.policy(e.sc, p.ID)
	foreign := e.rangePledge(e.other, "外社区", 1_000)
	unnamed := e.rangePledge(e.sc, "别的认捐", 1_000)
	off := e.rangePledge(e.sc, "停用", 1_000)
	if _, err := e.svc.UpdatePledge(e.ctx, e.sc, off.ID, funding.PledgePatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	hold := func(pledge, fen int64) funding.Hold {
		return funding.Hold{PledgeID: pledge, PolicyID: pol.ID, PolicyVersion: 1, Fen: fen}
	}
	e.mustHold(1, hold(p.ID, 100))
	tests := []struct {
		name  string
		order int64
		day   civil.Date
		holds []funding.Hold
		want  error
	}{
		{"again for the same order", 1, today, []funding.Hold{hold(p.ID, 1)}, funding.ErrOrderHeld},
		{"more than available", 2, today, []funding.Hold{hold(p.ID, 901)}, funding.ErrBudgetExhausted},
		{"inactive pledge", 2, today, []funding.Hold{hold(off.ID, 1)}, funding.ErrBudgetExhausted},
		{"a day the pledge does not fund", 2, civil.Date{Year: 2027, Month: 1, Day: 1}, []funding.Hold{hold(p.ID, 1)}, funding.ErrBudgetExhausted},
		{"another community's pledge", 2, today, []funding.Hold{hold(foreign.ID, 1)}, funding.ErrPledgeNotFound},
		{"unknown policy version", 2, today, []funding.Hold{{PledgeID: p.ID, PolicyID: pol.ID, PolicyVersion: 9, Fen: 1}}, funding.ErrPolicyNotFound},
		{"a pledge the policy does not name", 2, today, []funding.Hold{hold(unnamed.ID, 1)}, funding.ErrPolicyNotFound},
		{"one short pledge fails all", 2, today, []funding.Hold{hold(p.ID, 10), {PledgeID: off.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 1}}, funding.ErrBudgetExhausted},
	}
	entries := e.count("SELECT count(*) FROM ledger_entries")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.hold(tc.order, tc.day, tc.holds...); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if err := e.hold(2, today, funding.Hold{PledgeID: p.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: -1}); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("negative hold: %v, want invalid", err)
	}
	if n := e.count("SELECT count(*) FROM ledger_entries"); n != entries {
		t.Fatalf("refused holds wrote %d entries", n-entries)
	}
	e.assertBalances([]funding.Balance{bal(p.ID, funding.RangePeriod, 1_000, 900, 100, 0)})
	// Zero amounts and no holds at all do nothing.
	if err := e.hold(3, today, hold(p.ID, 0)); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count(*) FROM order_funding WHERE order_id = 3"); n != 0 {
		t.Fatalf("an order without subsidy got a funding row")
	}
	e.check(e.sc)
}

// TestAvailable: what quoting sees for opened, untouched, inactive and unknown pledges.
func TestAvailable(t *testing.T) {
	e := newEnv(t)
	opened := e.rangePledge(e.sc, "已用", 1_000)
	untouched := e.monthlyPledge(e.sc, "未用", 2_000)
	off := e.rangePledge(e.sc, "停用", 3_000)
	foreign := e.rangePledge(e.other, "外社区", 4_000)
	pol := e.policy(e.sc, opened.ID)
	e.mustHold(1, funding.Hold{PledgeID: opened.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 250})
	sponsorOff, err := e.svc.GetPledge(e.ctx, e.sc.CommunityID, off.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateSponsor(e.ctx, e.sc, sponsorOff.SponsorID, funding.SponsorPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	got, err := e.ledger.Available(e.ctx, e.db, e.sc.CommunityID, []int64{opened.ID, untouched.ID, off.ID, foreign.ID, 999}, today)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]int64{opened.ID: 750, untouched.ID: 2_000, off.ID: 0, foreign.ID: 0, 999: 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("available (-want +got):\n%s", diff)
	}
	got, err = e.ledger.Available(e.ctx, e.db, e.sc.CommunityID, []int64{opened.ID}, civil.Date{Year: 2027, Month: 1, Day: 1})
	if err != nil || got[opened.ID] != 0 {
		t.Fatalf("after the range: %v, %v; want 0", got, err)
	}
}

// TestHoldInCallerTransaction: a hold rolled back with the order's transaction leaves nothing.
func TestHoldInCallerTransaction(t *testing.T) {
	e := newEnv(t)
	p := e.monthlyPledge(e.sc, "爱心午餐", 1_000)
	pol := e.policy(e.sc, p.ID)
	boom := errors.New("the order failed after the hold")
	err := e.db.RunInTx(e.ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := e.ledger.Hold(ctx, tx, e.sc.CommunityID, 1, today, []funding.Hold{{PledgeID: p.ID, PolicyID: pol.ID, PolicyVersion: 1, Fen: 100}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	for _, table := range []string{"ledger_entries", "pledge_balances", "order_holds", "order_funding"} {
		if n := e.count("SELECT count(*) FROM " + table); n != 0 {
			t.Fatalf("%s has %d rows after the rollback", table, n)
		}
	}
}

func ptr[T any](v T) *T { return &v }
