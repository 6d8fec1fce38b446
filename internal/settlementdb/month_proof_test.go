package settlementdb_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlement/monthgen"
	"github.com/canteen-oss/canteen/internal/settlementdb"
)

// proofOrdersEnv sets how many orders the month of TestMonthEndAtScale has.
const proofOrdersEnv = "CANTEEN_PROOF_ORDERS"

// ordersFromEnv reads a positive order count from the environment variable name.
func ordersFromEnv(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number of orders", name, s)
	}
	return n
}

// partyTotals is what a statement should say, summed here straight from the ledger,
// payments, orders and refunds.
type partyTotals struct {
	Lines    int   `bun:"lines"`
	Meals    int   `bun:"meals"`
	Subsidy  int64 `bun:"subsidy"`
	Reversal int64 `bun:"reversal"`
	Payment  int64 `bun:"payment"`
	Cash     int64 `bun:"cash"`
	Refund   int64 `bun:"refund"`
	Adjust   int64 `bun:"adjust"`
	Ledger   int64 `bun:"ledger"`
	Total    int64 `bun:"total"`
}

func statementTotals(s settlement.Statement) partyTotals {
	t := s.Totals
	return partyTotals{Lines: s.LineCount, Meals: t.Meals, Subsidy: t.SubsidyFen, Reversal: t.ReversalFen, Payment: t.PaymentFen,
		Cash: t.CashFen, Refund: t.RefundFen, Adjust: t.AdjustmentFen, Ledger: t.LedgerFen, Total: t.TotalFen}
}

// moneyMoves lists every money move of a community in [?1, ?2) by canteen and sponsor:
// spent-account ledger entries, credited WeChat payments (by success time), cash taken
// at the counter and refunds of orders that succeeded.
const moneyMoves = `WITH mv AS (
		SELECT le.order_id, o.canteen_id, p.sponsor_id, le.kind AS what, le.amount_fen AS fen
		FROM ledger_entries le
		JOIN pledges p ON p.community_id = le.community_id AND p.id = le.pledge_id
		LEFT JOIN orders o ON o.community_id = le.community_id AND o.id = le.order_id
		WHERE le.community_id = ?0 AND le.account = 'spent' AND le.created_at >= ?1 AND le.created_at < ?2
		UNION ALL
		SELECT x.order_id, o.canteen_id, NULL, 'payment', x.amount_fen FROM payments x JOIN orders o ON o.id = x.order_id
		WHERE x.community_id = ?0 AND x.outcome = 'credited'
		  AND coalesce(x.success_time, x.created_at) >= ?1 AND coalesce(x.success_time, x.created_at) < ?2
		UNION ALL
		SELECT o.id, o.canteen_id, NULL, 'cash', o.pay_fen FROM orders o
		WHERE o.community_id = ?0 AND o.payment_method = 'cash' AND o.pay_fen > 0 AND o.paid_at >= ?1 AND o.paid_at < ?2
		UNION ALL
		SELECT x.order_id, o.canteen_id, NULL, 'refund', -x.amount_fen FROM refunds x JOIN orders o ON o.id = x.order_id
		WHERE x.community_id = ?0 AND x.kind = 'order' AND x.status = 'success' AND x.settled_at >= ?1 AND x.settled_at < ?2)`

// sums are the partyTotals columns over the moves mv; adjustments are ledger entries other
// than commits and reversals (none are written by orders).
const sums = `count(*) AS lines,
		count(DISTINCT mv.order_id) FILTER (WHERE mv.what IN ('commit', 'payment', 'cash')) AS meals,
		coalesce(sum(mv.fen) FILTER (WHERE mv.what = 'commit'), 0) AS subsidy,
		coalesce(sum(mv.fen) FILTER (WHERE mv.what = 'reverse'), 0) AS reversal,
		coalesce(sum(mv.fen) FILTER (WHERE mv.what = 'payment'), 0) AS payment,
		coalesce(sum(mv.fen) FILTER (WHERE mv.what = 'cash'), 0) AS cash,
		coalesce(sum(mv.fen) FILTER (WHERE mv.what = 'refund'), 0) AS refund,
		coalesce(sum(mv.fen) FILTER (WHERE mv.what NOT IN ('commit', 'reverse', 'payment', 'cash', 'refund')), 0) AS adjust,
		coalesce(sum(mv.fen) FILTER (WHERE mv.what NOT IN ('payment', 'cash', 'refund')), 0) AS ledger,
		sum(mv.fen) AS total`

// expectedTotals sums the month's money by sponsor and by canteen operator (0: the
// community's own canteens), independently of settlement's queries.
func expectedTotals(t *testing.T, ctx context.Context, db *bun.DB, communityID int64, m settlement.Month) (map[settlement.Party]partyTotals, int64) {
	t.Helper()
	from, to := settlement.Start(m), settlement.End(m)
	out := map[settlement.Party]partyTotals{}
	var bySponsor []struct {
		ID int64 `bun:"id"`
		partyTotals
	}
	if err := db.NewRaw(moneyMoves+" SELECT mv.sponsor_id AS id, "+sums+" FROM mv WHERE mv.sponsor_id IS NOT NULL GROUP BY mv.sponsor_id",
		communityID, from, to).Scan(ctx, &bySponsor); err != nil {
		t.Fatal(err)
	}
	var spent int64
	for _, r := range bySponsor {
		out[settlement.Party{Kind: settlement.Sponsor, ID: r.ID}] = r.partyTotals
		spent += r.Ledger
	}
	var byOperator []struct {
		ID int64 `bun:"id"`
		partyTotals
	}
	if err := db.NewRaw(moneyMoves+" SELECT coalesce(c.merchant_id, 0) AS id, "+sums+
		" FROM mv JOIN canteens c ON c.id = mv.canteen_id GROUP BY coalesce(c.merchant_id, 0)",
		communityID, from, to).Scan(ctx, &byOperator); err != nil {
		t.Fatal(err)
	}
	for _, r := range byOperator {
		out[settlement.Party{Kind: settlement.Operator, ID: r.ID}] = r.partyTotals
	}
	return out, spent
}

// closedState fingerprints everything the closes of a community wrote: closes,
// attempts, statements, lines and sign-offs; of month m only when m is not zero.
func closedState(t *testing.T, ctx context.Context, db *bun.DB, communityID int64, m settlement.Month) string {
	t.Helper()
	month := ""
	if !m.IsZero() {
		month = m.String()
	}
	var fp string
	err := db.NewRaw(`WITH c AS (SELECT * FROM month_closes WHERE community_id = ?0 AND (?1 = '' OR month = ?1)),
			s AS (SELECT * FROM statements WHERE close_id IN (SELECT id FROM c))
		SELECT md5(coalesce((SELECT string_agg(c::text, '|' ORDER BY c.id) FROM c), '') ||
		coalesce((SELECT string_agg(a::text, '|' ORDER BY a.id) FROM close_attempts a WHERE a.close_id IN (SELECT id FROM c)), '') ||
		coalesce((SELECT string_agg(s::text, '|' ORDER BY s.id) FROM s), '') ||
		coalesce((SELECT string_agg(l::text, '|' ORDER BY l.statement_id, l.line_no) FROM statement_lines l
			WHERE l.statement_id IN (SELECT id FROM s)), '') ||
		coalesce((SELECT string_agg(so::text, '|' ORDER BY so.id) FROM statement_signoffs so WHERE so.statement_id IN (SELECT id FROM s)), ''))`,
		communityID, month).Scan(ctx, &fp)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// TestMonthEndAtScale closes a generated month of CANTEEN_PROOF_ORDERS orders (100,000
// by default) and proves its statements: every sponsor's and operator's totals equal
// sums taken straight from the ledger, payments, orders and refunds, to the fen; the
// sponsors' statements add up to the month's spent moves; every payment and refund is
// matched with WeChat Pay's bills, whose totals equal ours; a refund after the close
// becomes one adjustment line per party in the next month, referring to the statement
// that covered the order; and closing again changes nothing.
func TestMonthEndAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("a month of orders takes minutes to generate and close")
	}
	n := ordersFromEnv(t, proofOrdersEnv, 100_000)
	ctx := context.Background()
	db, _ := pgtest.New(t)
	start := time.Now()
	w, err := monthgen.Generate(ctx, db, monthgen.Options{Orders: n, Seed: 20261001, Bills: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	t.Logf("generated %d orders in %s: %+v", n, time.Since(start).Round(time.Millisecond), w.Stats)
	m, cid := w.Month, w.CommunityID
	store := settlementdb.New(db)
	svc := settlement.NewService(store, w.Clock.Now)
	sc := settlement.Scope{CommunityID: cid, Actor: w.Finance}

	var orders int
	if err := db.NewRaw("SELECT count(*) FROM orders WHERE community_id = ? AND day BETWEEN ? AND ?", cid,
		m.First().String(), m.Last().String()).Scan(ctx, &orders); err != nil {
		t.Fatal(err)
	}
	if orders != n {
		t.Fatalf("the month has %d orders, want %d", orders, n)
	}

	// The month closes on the 2nd of the next month, the checks finding nothing.
	w.Clock.Set(settlement.End(m).Add(26 * time.Hour))
	closeStart := time.Now()
	closed, err := svc.Close(ctx, sc, m, settlement.CloseRequest{})
	if fs := settlement.FindingsOf(err); len(fs) > 0 {
		t.Fatalf("the checks of the generated month found %d problems, the first: %+v", len(fs), fs[0])
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(closed.Findings) > 0 || closed.Override {
		t.Fatalf("closed with findings %+v", closed.Findings)
	}
	t.Logf("closed %s in %s: %d statements", m, time.Since(closeStart).Round(time.Millisecond), closed.Statements)

	// Every statement's totals are the sums of the month's money moves of its party, and
	// the lines stored with it add up to them.
	want, spent := expectedTotals(t, ctx, db, cid, m)
	list, err := store.Statements(ctx, cid, settlement.StatementQuery{Month: m})
	if err != nil {
		t.Fatal(err)
	}
	var stored []struct {
		ID     int64 `bun:"id"`
		Lines  int   `bun:"lines"`
		Total  int64 `bun:"total"`
		Ledger int64 `bun:"ledger"`
	}
	if err := db.NewRaw(`SELECT s.id, count(l.line_no) AS lines, coalesce(sum(l.fen), 0) AS total,
			coalesce(sum(l.fen) FILTER (WHERE l.kind IN ('subsidy', 'reversal', 'ledger_adjust')), 0) AS ledger
		FROM statements s LEFT JOIN statement_lines l ON l.statement_id = s.id
		WHERE s.community_id = ? AND s.month = ? GROUP BY s.id`, cid, m.String()).Scan(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	lines := map[int64][3]int64{}
	for _, r := range stored {
		lines[r.ID] = [3]int64{int64(r.Lines), r.Total, r.Ledger}
	}
	got := map[settlement.Party]partyTotals{}
	original := map[settlement.Party]int64{}
	var sponsorLedger, sponsors, operators int64
	for _, s := range list {
		got[s.Party] = statementTotals(s)
		original[s.Party] = s.ID
		if s.Party.Kind == settlement.Sponsor {
			sponsorLedger += s.Totals.LedgerFen
			sponsors++
		} else {
			operators++
		}
		if l := lines[s.ID]; l != [3]int64{int64(s.LineCount), s.Totals.TotalFen, s.Totals.LedgerFen} {
			t.Errorf("%s: %d stored lines sum to %d fen (ledger %d), the statement says %d lines, %d fen (ledger %d)",
				s.Party, l[0], l[1], l[2], s.LineCount, s.Totals.TotalFen, s.Totals.LedgerFen)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statement totals differ from the sums of ledger, payments, cash and refunds (-sums +statements):\n%s", diff)
	}
	if sponsors != int64(len(w.Sponsors)) || operators != int64(len(w.Canteens)) {
		t.Errorf("%d sponsor and %d operator statements, want %d and %d", sponsors, operators, len(w.Sponsors), len(w.Canteens))
	}
	if sponsorLedger != spent || spent == 0 {
		t.Errorf("the sponsors' statements add up to %d fen, the month's spent moves to %d fen", sponsorLedger, spent)
	}

	// Reconciliation: nothing unmatched on any day of the month, and WeChat's bills say
	// what our payments and refunds say, to the fen.
	var rec struct {
		Unmatched int   `bun:"unmatched"`
		Matched   int   `bun:"matched"`
		Days      int   `bun:"days"`
		BillFen   int64 `bun:"bill_fen"`
		OursFen   int64 `bun:"ours_fen"`
		Ours      int   `bun:"ours"`
	}
	err = db.NewRaw(`SELECT
		(SELECT count(*) FROM reconciliation_entries WHERE mchid = ?0 AND day BETWEEN ?1 AND ?2 AND outcome <> 'matched') AS unmatched,
		(SELECT count(*) FROM reconciliation_entries WHERE mchid = ?0 AND day BETWEEN ?1 AND ?2 AND outcome = 'matched') AS matched,
		(SELECT count(*) FROM reconciliation_runs WHERE mchid = ?0 AND day BETWEEN ?1 AND ?2) AS days,
		(SELECT sum(amount_fen - refund_fen) FROM trade_bills WHERE mchid = ?0 AND day BETWEEN ?1 AND ?2) AS bill_fen,
		(SELECT sum(amount_fen) FROM payments WHERE community_id = ?5 AND success_time >= ?3 AND success_time < ?4)
		  - (SELECT coalesce(sum(amount_fen), 0) FROM refunds WHERE community_id = ?5 AND status = 'success' AND settled_at >= ?3 AND settled_at < ?4) AS ours_fen,
		(SELECT count(*) FROM payments WHERE community_id = ?5 AND success_time >= ?3 AND success_time < ?4)
		  + (SELECT count(*) FROM refunds WHERE community_id = ?5 AND status = 'success' AND settled_at >= ?3 AND settled_at < ?4) AS ours`,
		w.MchID, m.First().String(), m.Last().String(), settlement.Start(m), settlement.End(m), cid).Scan(ctx, &rec)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Unmatched != 0 || rec.Matched != rec.Ours || rec.Days != m.Last().Day {
		t.Errorf("reconciliation: %d findings unmatched, %d matched of our %d payments and refunds, %d days run", rec.Unmatched, rec.Matched, rec.Ours, rec.Days)
	}
	if rec.BillFen != rec.OursFen || rec.BillFen == 0 {
		t.Errorf("WeChat's bills total %d fen, our payments less refunds %d fen", rec.BillFen, rec.OursFen)
	}

	// Closing again changes nothing: the month is closed, the task skips it.
	before := closedState(t, ctx, db, cid, settlement.Month{})
	if _, err := svc.Close(ctx, sc, m, settlement.CloseRequest{}); !errors.Is(err, settlement.ErrMonthClosed) {
		t.Errorf("closing %s again: %v, want ErrMonthClosed", m, err)
	}
	due, err := svc.CloseDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range due {
		if r.CommunityID == cid {
			t.Errorf("the monthly task acted on the closed month: %+v", r)
		}
	}
	if after := closedState(t, ctx, db, cid, settlement.Month{}); after != before {
		t.Error("closing again changed what the close wrote")
	}

	// A refund after the close lands in the next month as adjustments referring to the
	// statements that covered the order.
	late, err := w.LateRefund(ctx, at(m.Next().First().AddDays(2), 15))
	if err != nil {
		t.Fatal(err)
	}
	if late.RefundFen <= 0 || len(late.ReversedFen) == 0 {
		t.Fatalf("the late refund returned %d fen and reversed %v", late.RefundFen, late.ReversedFen)
	}
	next := m.Next()
	w.Clock.Set(settlement.End(next).Add(26 * time.Hour))
	if _, err := svc.Close(ctx, sc, next, settlement.CloseRequest{}); err != nil {
		t.Fatal(err)
	}
	nextList, err := store.Statements(ctx, cid, settlement.StatementQuery{Month: next})
	if err != nil {
		t.Fatal(err)
	}
	lineKey := func(p settlement.Party, k settlement.LineKind) string { return p.String() + " " + string(k) }
	gotLines := map[string][]settlement.Line{}
	for _, s := range nextList {
		full, err := store.Statement(ctx, cid, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range full.Lines {
			gotLines[lineKey(s.Party, l.Kind)] = append(gotLines[lineKey(s.Party, l.Kind)], l)
		}
	}
	op := settlement.Party{Kind: settlement.Operator, ID: late.OperatorID}
	wantLines := map[string][]settlement.Line{
		lineKey(op, settlement.LineRefund): {{Kind: settlement.LineRefund, Adjustment: true, RefStatementID: original[op], OrderID: late.OrderID,
			Fen: -late.RefundFen}},
	}
	var reversed int64
	for sponsor, fen := range late.ReversedFen {
		sp := settlement.Party{Kind: settlement.Sponsor, ID: sponsor}
		wantLines[lineKey(sp, settlement.LineReversal)] = []settlement.Line{{Kind: settlement.LineReversal, Adjustment: true,
			RefStatementID: original[sp], OrderID: late.OrderID, Fen: -fen}}
		reversed += fen
	}
	var opReversed int64
	for _, l := range gotLines[lineKey(op, settlement.LineReversal)] {
		opReversed += l.Fen
		if !l.Adjustment || l.RefStatementID != original[op] || l.OrderID != late.OrderID {
			t.Errorf("the operator's reversal line %+v is not an adjustment of order %d referring to statement %d", l, late.OrderID, original[op])
		}
	}
	if opReversed != -reversed {
		t.Errorf("the operator's reversal lines sum to %d fen, want %d", opReversed, -reversed)
	}
	delete(gotLines, lineKey(op, settlement.LineReversal))
	trim := cmp.Transformer("line", func(l settlement.Line) settlement.Line {
		return settlement.Line{Kind: l.Kind, Adjustment: l.Adjustment, RefStatementID: l.RefStatementID, OrderID: l.OrderID, Fen: l.Fen}
	})
	if diff := cmp.Diff(wantLines, gotLines, trim); diff != "" {
		t.Errorf("the next month's lines (-want +got):\n%s", diff)
	}
	// The first month's close did not change.
	if after := closedState(t, ctx, db, cid, m); after != before {
		t.Errorf("%s changed after the late refund and the close of %s", m, next)
	}
}
