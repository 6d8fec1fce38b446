package settlementdb_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/settlement"
)

// settlementCounts counts the rows month end writes.
func (f *fixture) settlementCounts() map[string]int64 {
	f.t.Helper()
	out := map[string]int64{}
	for _, tb := range []string{"month_closes", "close_attempts", "statements", "statement_lines", "statement_signoffs", "settlement_adjustments", "audit_log"} {
		out[tb] = f.count("SELECT count(*) FROM " + tb)
	}
	return out
}

func TestCloseExactlyOnceUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	f.october()
	f.now = at(day(time.November, 1), 2)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if i%2 == 0 {
				_, errs[i] = f.svc.Close(f.ctx, f.financeScope(), october, settlement.CloseRequest{})
			} else { // the monthly task, on another worker
				_, errs[i] = f.svc.CloseDue(f.ctx)
			}
		}()
	}
	close(start)
	wg.Wait()
	manual := 0
	for i, err := range errs {
		switch {
		case err == nil && i%2 == 0:
			manual++
		case err == nil:
		case errors.Is(err, settlement.ErrMonthClosed) && i%2 == 0:
		default:
			t.Errorf("closer %d: %v", i, err)
		}
	}
	if got := f.count("SELECT count(*) FROM month_closes WHERE community_id = ? AND month = '2026-10'", f.cid); got != 1 {
		t.Fatalf("%d close rows for October, want 1", got)
	}
	if got := f.count("SELECT count(*) FROM statements WHERE community_id = ?", f.cid); got != 4 {
		t.Fatalf("%d statements, want 4: the month was closed more than once", got)
	}
	if got := f.count("SELECT count(*) FROM close_attempts WHERE outcome = 'closed'"); got != 1 {
		t.Fatalf("%d closed attempts, want 1", got)
	}
	if got := f.count("SELECT count(*) FROM audit_log WHERE action = 'close'"); got != 1 {
		t.Fatalf("%d close audit records, want 1", got)
	}
	if manual > 1 {
		t.Fatalf("%d manual closes succeeded", manual)
	}
	// Once more, by hand: a clear conflict, nothing written.
	before := f.settlementCounts()
	_, err := f.svc.Close(f.ctx, f.financeScope(), october, settlement.CloseRequest{})
	if !errors.Is(err, settlement.ErrMonthClosed) || apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("closing a closed month: %v", err)
	}
	if d := diffCounts(before, f.settlementCounts()); d != "" {
		t.Fatalf("a refused close wrote: %s", d)
	}
}

func diffCounts(a, b map[string]int64) string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	return strings.Join(out, ", ")
}

func TestCloseRefusesFutureUnendedAndOutOfOrderMonths(t *testing.T) {
	f := newFixture(t)
	f.october()
	f.now = at(day(time.November, 20), 9)
	cases := []struct {
		name  string
		month settlement.Month
		req   settlement.CloseRequest
		want  error
	}{
		{"future month", december, settlement.CloseRequest{}, settlement.ErrMonthInFuture},
		{"current month", november, settlement.CloseRequest{}, settlement.ErrMonthNotEnded},
		{"override without a reason", october, settlement.CloseRequest{Override: true}, nil},
		{"a reason without override", october, settlement.CloseRequest{Reason: "就这样"}, nil},
		{"invalid month", settlement.Month{Year: 2026, Month: 13}, settlement.CloseRequest{}, nil},
	}
	before := f.settlementCounts()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Close(f.ctx, f.financeScope(), tc.month, tc.req)
			switch {
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			case tc.want == nil && apperr.KindOf(err) != apperr.Invalid:
				t.Fatalf("got %v, want Invalid", err)
			}
		})
	}
	// October has ended at midnight, but money stamped in its last moments may still be
	// committing: it closes only CloseSettle later (the refusal writes nothing either).
	f.now = settlement.End(october).Add(settlement.CloseSettle - time.Second)
	if _, err := f.svc.Close(f.ctx, f.financeScope(), october, settlement.CloseRequest{}); !errors.Is(err, settlement.ErrMonthNotEnded) {
		t.Fatalf("closing October a moment after midnight: %v; want ErrMonthNotEnded", err)
	}
	// November cannot close before October, even once it has ended.
	f.now = at(day(time.December, 2), 9)
	_, err := f.svc.Close(f.ctx, f.financeScope(), november, settlement.CloseRequest{})
	if !errors.Is(err, settlement.ErrPreviousOpen) {
		t.Fatalf("closing November with October open: %v", err)
	}
	if d := diffCounts(before, f.settlementCounts()); d != "" {
		t.Fatalf("refused closes wrote: %s", d)
	}
	f.closeMonth(october)
	f.closeMonth(november)
}

// plantBillDifference records a payment of order on WeChat's bill of d that our
// records lack, unresolved.
func (f *fixture) plantBillDifference(orderID int64, d string) {
	f.t.Helper()
	f.exec(`INSERT INTO trade_bills (mchid, day, raw, sha1, row_count, amount_fen, settlement_fen, refund_fen, requested_refund_fen, fee_milli_fen)
		VALUES ('1900000109', ?, '', repeat('0', 40), 0, 0, 0, 0, 0, 0) ON CONFLICT DO NOTHING`, d)
	f.exec(`INSERT INTO reconciliation_entries (mchid, day, kind, ref, community_id, order_id, our_fen, bill_fen, outcome, checked_at)
		VALUES ('1900000109', ?, 'payment', 'CT-planted', ?, ?, 300, 400, 'amount_mismatch', now())`, d, f.cid, orderID)
}

func TestOverrideIsRequiredAndRecorded(t *testing.T) {
	f := newFixture(t)
	m := f.october()
	f.plantBillDifference(m.elderWeChat.ID, "2026-10-05")
	f.now = at(day(time.November, 2), 9)
	before := f.settlementCounts()

	_, err := f.svc.Close(f.ctx, f.financeScope(), october, settlement.CloseRequest{})
	if !errors.Is(err, settlement.ErrFindings) || apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("closing with findings and no override: %v", err)
	}
	found := settlement.FindingsOf(err)
	if len(found) != 1 || found[0].Code != settlement.FindingBillUnresolved || len(found[0].OrderIDs) != 1 || found[0].OrderIDs[0] != m.elderWeChat.ID {
		t.Fatalf("findings carried by the error: %+v", found)
	}
	if d := diffCounts(before, f.settlementCounts()); d != "" {
		t.Fatalf("a refused close wrote: %s", d)
	}

	reason := "微信账单差异已与商户核实，下月调整 / checked with the merchant, corrected next month"
	c, err := f.svc.Close(f.ctx, f.financeScope(), october, settlement.CloseRequest{Override: true, Reason: "  " + reason + " "})
	f.check(err)
	if !c.Override || c.OverrideReason != reason || c.Actor.ID != f.finance || len(c.Findings) != 1 {
		t.Fatalf("close: %+v", c)
	}
	var row struct {
		Override bool   `bun:"override"`
		Reason   string `bun:"override_reason"`
		ActorID  int64  `bun:"actor_id"`
	}
	f.scan("SELECT override, override_reason, actor_id FROM month_closes WHERE id = ?", &row, c.ID)
	if !row.Override || row.Reason != reason || row.ActorID != f.finance {
		t.Fatalf("close row: %+v", row)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'close' AND entity = ? AND entity_id = '2026-10'
		AND actor_id = ? AND after ->> 'override_reason' = ? AND jsonb_array_length(after -> 'findings') = 1`,
		settlement.EntityMonth, f.finance, reason); n != 1 {
		t.Fatalf("%d audit records of the override", n)
	}
	closes, err := f.svc.Closes(f.ctx, f.cid)
	f.check(err)
	if len(closes) != 1 || len(closes[0].Findings) != 1 || closes[0].Findings[0].Code != settlement.FindingBillUnresolved || closes[0].Statements != 4 {
		t.Fatalf("closes: %+v", closes)
	}
}

func TestScheduledCloseWithFindingsRecordsAttempt(t *testing.T) {
	f := newFixture(t)
	m := f.october()
	f.plantBillDifference(m.rider.ID, "2026-10-05")
	f.now = at(day(time.November, 1), 2)
	res, err := f.svc.CloseDue(f.ctx)
	f.check(err)
	if len(res) != 1 || res[0].Blocked == nil || len(res[0].Closed) != 0 {
		t.Fatalf("monthly task: %+v", res)
	}
	if n := f.count("SELECT count(*) FROM month_closes"); n != 0 {
		t.Fatalf("%d months closed despite findings", n)
	}
	attempts, err := f.svc.Attempts(f.ctx, f.cid)
	f.check(err)
	if len(attempts) != 1 || attempts[0].Outcome != settlement.Blocked || attempts[0].Trigger != settlement.Scheduled ||
		attempts[0].Month != october || len(attempts[0].Findings) != 1 || attempts[0].Findings[0].OrderIDs[0] != m.rider.ID {
		t.Fatalf("attempts: %+v", attempts)
	}

	// Finance resolves the difference; the next run closes October, and a month later
	// the task closes November.
	f.exec(`INSERT INTO reconciliation_resolutions (mchid, day, kind, ref, community_id, note, noted_by, noted_by_name, noted_at)
		VALUES ('1900000109', '2026-10-05', 'payment', 'CT-planted', ?, '已核实', ?, '财务小李', now())`, f.cid, f.finance)
	res, err = f.svc.CloseDue(f.ctx)
	f.check(err)
	if len(res) != 1 || len(res[0].Closed) != 1 || res[0].Closed[0].Month != october || res[0].Closed[0].Trigger != settlement.Scheduled {
		t.Fatalf("monthly task after the fix: %+v", res)
	}
	f.now = at(day(time.December, 1), 2)
	res, err = f.svc.CloseDue(f.ctx)
	f.check(err)
	if len(res) != 1 || len(res[0].Closed) != 1 || res[0].Closed[0].Month != november {
		t.Fatalf("December's run: %+v", res)
	}
	if res, err = f.svc.CloseDue(f.ctx); err != nil || len(res) != 0 {
		t.Fatalf("a second run the same day: %+v, %v", res, err)
	}
}

func TestClosedMonthIsImmutable(t *testing.T) {
	f := newFixture(t)
	m := f.october()
	c := f.closeMonth(october)
	stmts := f.statements(october)
	shop := stmts[f.sponsorParty(f.shop)]
	f.now = at(day(time.November, 5), 9)
	a, err := f.svc.Adjust(f.ctx, f.financeScope(), settlement.AdjustmentInput{StatementID: shop.ID, Fen: 10, Reason: "补差"})
	f.check(err)
	_, err = f.svc.Dispute(f.ctx, f.financeScope(), f.donor, shop.ID, "金额不对")
	f.check(err)

	cases := []struct{ name, query string }{
		{"update a close", "UPDATE month_closes SET override_reason = 'x' WHERE id = " + itoa(c.ID)},
		{"delete a close", "DELETE FROM month_closes WHERE id = " + itoa(c.ID)},
		{"update a statement", "UPDATE statements SET total_fen = total_fen + 1 WHERE id = " + itoa(shop.ID)},
		{"delete a statement", "DELETE FROM statements WHERE id = " + itoa(shop.ID)},
		{"update a line", "UPDATE statement_lines SET fen = fen + 1 WHERE statement_id = " + itoa(shop.ID)},
		{"delete a line", "DELETE FROM statement_lines WHERE statement_id = " + itoa(shop.ID)},
		{"add a line to a closed statement", `INSERT INTO statement_lines (statement_id, line_no, kind, adjustment, at, fen)
			VALUES (` + itoa(shop.ID) + `, 999, 'subsidy', false, now(), 100)`},
		{"add a statement to a closed month", `INSERT INTO statements (community_id, close_id, month, kind, merchant_id, party_name, meals,
			subsidy_fen, reversal_fen, payment_fen, cash_fen, refund_fen, adjustment_fen, ledger_fen, total_fen, line_count)
			VALUES (` + itoa(f.cid) + `, ` + itoa(c.ID) + `, '2026-10', 'operator', ` + itoa(f.donor) + `, 'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)`},
		{"update a sign-off", "UPDATE statement_signoffs SET status = 'confirmed' WHERE statement_id = " + itoa(shop.ID)},
		{"delete a sign-off", "DELETE FROM statement_signoffs WHERE statement_id = " + itoa(shop.ID)},
		{"update an attempt", "UPDATE close_attempts SET findings = '[]'"},
		{"update an adjustment", "UPDATE settlement_adjustments SET fen = 1000 WHERE id = " + itoa(a.ID)},
		{"delete an adjustment", "DELETE FROM settlement_adjustments WHERE id = " + itoa(a.ID)},
		{"truncate the lines", "TRUNCATE statement_lines"},
		{"sign-off out of sequence", `INSERT INTO statement_signoffs (community_id, statement_id, seq, status, actor_kind, actor_name)
			VALUES (` + itoa(f.cid) + `, ` + itoa(shop.ID) + `, 5, 'confirmed', 'staff', 'x')`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.db.ExecContext(f.ctx, tc.query)
			// Refused by the triggers: insufficient_privilege, or check_violation for the sequence.
			if err == nil || !strings.Contains(err.Error(), "SQLSTATE 42501") && !strings.Contains(err.Error(), "SQLSTATE 23514") {
				t.Fatalf("the database allowed it, or refused it for another reason: %v", err)
			}
		})
	}
	if d := cmpStatements(stmts, f.statements(october)); d != "" {
		t.Fatalf("October changed (-before +after):\n%s", d)
	}
	if n := f.count("SELECT count(*) FROM statement_lines WHERE order_id = ?", m.elderWeChat.ID); n == 0 {
		t.Fatal("the order's lines are gone")
	}
}

// cmpStatements compares statements, leaving out their sign-off status and history,
// which grow by design.
func cmpStatements(a, b map[settlement.Party]settlement.Statement) string {
	return cmp.Diff(a, b, cmpopts.IgnoreFields(settlement.Statement{}, "Status", "Signoffs"))
}
