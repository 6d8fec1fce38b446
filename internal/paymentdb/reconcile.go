package paymentdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// ReconcileStore implements payment.ReconcileStore on reconciliation_entries,
// reconciliation_runs and reconciliation_resolutions, reading trade bills, payments,
// refunds and payment intents.
type ReconcileStore struct{ db *bun.DB }

var _ payment.ReconcileStore = (*ReconcileStore)(nil)

// NewReconcileStore returns a ReconcileStore on db.
func NewReconcileStore(db *bun.DB) *ReconcileStore { return &ReconcileStore{db: db} }

// entriesPerInsert bounds the size of one INSERT of findings.
const entriesPerInsert = 500

type entryRow struct {
	bun.BaseModel `bun:"table:reconciliation_entries,alias:e"`
	MchID         string        `bun:"mchid,pk"`
	Day           postgres.Date `bun:"day,pk,type:date"`
	Kind          string        `bun:"kind,pk"`
	Ref           string        `bun:"ref,pk"`
	CommunityID   *int64        `bun:"community_id"`
	OrderID       *int64        `bun:"order_id"`
	OurFen        *int64        `bun:"our_fen"`
	BillFen       *int64        `bun:"bill_fen"`
	Outcome       string        `bun:"outcome"`
	CheckedAt     time.Time     `bun:"checked_at"`
	OutTradeNo    string        `bun:"out_trade_no"`
	Detail        string        `bun:"detail"`
}

func nonZero(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func entryOf(f payment.Finding) entryRow {
	return entryRow{MchID: f.MchID, Day: postgres.Date(f.Day), Kind: string(f.Kind), Ref: f.Ref,
		CommunityID: nonZero(f.CommunityID), OrderID: nonZero(f.OrderID), OurFen: f.OurFen, BillFen: f.BillFen,
		Outcome: string(f.Outcome), CheckedAt: f.CheckedAt, OutTradeNo: f.OutTradeNo, Detail: f.Detail}
}

func (r entryRow) finding() payment.Finding {
	f := payment.Finding{MchID: r.MchID, Day: civil.Date(r.Day), Kind: payment.FindingKind(r.Kind), Ref: r.Ref,
		OurFen: r.OurFen, BillFen: r.BillFen, Outcome: payment.MatchOutcome(r.Outcome), CheckedAt: r.CheckedAt,
		OutTradeNo: r.OutTradeNo, Detail: r.Detail}
	if r.CommunityID != nil {
		f.CommunityID = *r.CommunityID
	}
	if r.OrderID != nil {
		f.OrderID = *r.OrderID
	}
	return f
}

// ReconcileDay implements payment.ReconcileStore. The day's bill row is locked for the
// transaction, so runs of one day follow each other; each reads what the one before
// committed.
func (s *ReconcileStore) ReconcileDay(ctx context.Context, mchID string, day civil.Date, at time.Time) (payment.ReconcileRun, error) {
	run := payment.ReconcileRun{MchID: mchID, Day: day, CheckedAt: at}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewRaw("SELECT sha1 FROM trade_bills WHERE mchid = ? AND day = ? FOR NO KEY UPDATE",
			mchID, postgres.Date(day)).Scan(ctx, &run.BillSHA1)
		if postgres.IsNoRows(err) {
			return payment.ErrNoBill
		}
		if err != nil {
			return err
		}
		in, err := loadDay(ctx, tx, mchID, day)
		if err != nil {
			return err
		}
		in.CheckedAt = at
		findings := payment.Reconcile(in)
		run.Counts = payment.CountOutcomes(findings)
		if _, err := tx.NewDelete().Model((*entryRow)(nil)).Where("mchid = ? AND day = ?", mchID, postgres.Date(day)).Exec(ctx); err != nil {
			return err
		}
		rows := make([]entryRow, len(findings))
		for i, f := range findings {
			rows[i] = entryOf(f)
		}
		for start := 0; start < len(rows); start += entriesPerInsert {
			chunk := rows[start:min(start+entriesPerInsert, len(rows))]
			if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
				return err
			}
		}
		c := run.Counts
		return tx.NewRaw(`INSERT INTO reconciliation_runs AS r (mchid, day, bill_sha1, checked_at, matched, missing_ours, missing_wechat, amount_mismatch)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (mchid, day) DO UPDATE SET bill_sha1 = EXCLUDED.bill_sha1, checked_at = EXCLUDED.checked_at,
				runs = r.runs + 1, matched = EXCLUDED.matched, missing_ours = EXCLUDED.missing_ours,
				missing_wechat = EXCLUDED.missing_wechat, amount_mismatch = EXCLUDED.amount_mismatch
			RETURNING runs`, mchID, postgres.Date(day), run.BillSHA1, at, c.Matched, c.MissingOurs, c.MissingWeChat, c.AmountMismatch).
			Scan(ctx, &run.Runs)
	})
	if err != nil {
		return payment.ReconcileRun{}, fmt.Errorf("paymentdb: reconcile %s of %s: %w", day, mchID, err)
	}
	return run, nil
}

type billLine struct {
	TradeTime   time.Time `bun:"trade_time"`
	OutTradeNo  string    `bun:"out_trade_no"`
	TradeState  string    `bun:"trade_state"`
	AmountFen   int64     `bun:"amount_fen"`
	OutRefundNo string    `bun:"out_refund_no"`
	RefundFen   int64     `bun:"refund_fen"`
	RefundState string    `bun:"refund_state"`
}

type ourPayment struct {
	ID            int64     `bun:"id"`
	CommunityID   int64     `bun:"community_id"`
	OrderID       int64     `bun:"order_id"`
	TransactionID string    `bun:"transaction_id"`
	OutTradeNo    string    `bun:"out_trade_no"`
	AmountFen     int64     `bun:"amount_fen"`
	At            time.Time `bun:"at"`
}

type ourRefund struct {
	ID          int64      `bun:"id"`
	CommunityID int64      `bun:"community_id"`
	OrderID     int64      `bun:"order_id"`
	OutRefundNo string     `bun:"out_refund_no"`
	OutTradeNo  string     `bun:"out_trade_no"`
	AmountFen   int64      `bun:"amount_fen"`
	Status      string     `bun:"status"`
	SettledAt   *time.Time `bun:"settled_at"`
}

type tradeOwner struct {
	OutTradeNo  string `bun:"out_trade_no"`
	CommunityID int64  `bun:"community_id"`
	OrderID     int64  `bun:"order_id"`
}

type listedElsewhere struct {
	Day  postgres.Date `bun:"day"`
	Kind string        `bun:"kind"`
	Ref  string        `bun:"ref"`
}

// loadDay reads what payment.Reconcile needs for mchID's day: the bill, our payments and
// refunds of the day or on the bill, the orders of the bill's numbers, and the other
// bill days that list ours.
func loadDay(ctx context.Context, db bun.IDB, mchID string, day civil.Date) (payment.ReconcileInput, error) {
	in := payment.ReconcileInput{MchID: mchID, Day: day, Owners: map[string]payment.TradeOwner{},
		Elsewhere: map[payment.FindingKey]civil.Date{}}
	d, start, end := postgres.Date(day), day.Start(), day.AddDays(1).Start()

	var lines []billLine
	if err := db.NewRaw(`SELECT trade_time, out_trade_no, trade_state, amount_fen, coalesce(out_refund_no, '') AS out_refund_no,
			refund_fen, coalesce(refund_state, '') AS refund_state
		FROM trade_bill_rows WHERE mchid = ? AND day = ? ORDER BY line_no`, mchID, d).Scan(ctx, &lines); err != nil {
		return in, fmt.Errorf("bill lines: %w", err)
	}
	in.Bill = make([]payment.BillRow, len(lines))
	for i, l := range lines {
		in.Bill[i] = payment.BillRow{TradeTime: l.TradeTime, OutTradeNo: l.OutTradeNo, TradeState: l.TradeState,
			AmountFen: l.AmountFen, OutRefundNo: l.OutRefundNo, RefundFen: l.RefundFen, RefundState: l.RefundState}
	}

	// Ours: succeeded on the day (recorded on the day when WeChat gave no time), or on the bill.
	var pays []ourPayment
	if err := db.NewRaw(`
		SELECT p.id, p.community_id, p.order_id, p.transaction_id, p.out_trade_no, p.amount_fen, coalesce(p.success_time, p.created_at) AS at
		FROM payments p WHERE p.mchid = ?0 AND p.success_time >= ?2 AND p.success_time < ?3
		UNION
		SELECT p.id, p.community_id, p.order_id, p.transaction_id, p.out_trade_no, p.amount_fen, p.created_at
		FROM payments p WHERE p.mchid = ?0 AND p.success_time IS NULL AND p.created_at >= ?2 AND p.created_at < ?3
		UNION
		SELECT p.id, p.community_id, p.order_id, p.transaction_id, p.out_trade_no, p.amount_fen, coalesce(p.success_time, p.created_at)
		FROM payments p JOIN trade_bill_rows t ON t.out_trade_no = p.out_trade_no
		WHERE t.mchid = ?0 AND t.day = ?1 AND t.trade_state = 'SUCCESS' AND p.mchid = ?0
		ORDER BY 1`, mchID, d, start, end).Scan(ctx, &pays); err != nil {
		return in, fmt.Errorf("payments: %w", err)
	}
	for _, p := range pays {
		in.Payments = append(in.Payments, payment.OurPayment{CommunityID: p.CommunityID, OrderID: p.OrderID,
			TransactionID: p.TransactionID, OutTradeNo: p.OutTradeNo, AmountFen: p.AmountFen, At: p.At})
	}

	var refs []ourRefund
	if err := db.NewRaw(`
		SELECT rf.id, rf.community_id, rf.order_id, rf.out_refund_no, p.out_trade_no, rf.amount_fen, rf.status, rf.settled_at
		FROM refunds rf JOIN payments p ON p.id = rf.payment_id
		WHERE p.mchid = ?0 AND rf.status = 'success' AND rf.settled_at >= ?2 AND rf.settled_at < ?3
		UNION
		SELECT rf.id, rf.community_id, rf.order_id, rf.out_refund_no, p.out_trade_no, rf.amount_fen, rf.status, rf.settled_at
		FROM refunds rf JOIN payments p ON p.id = rf.payment_id JOIN trade_bill_rows t ON t.out_refund_no = rf.out_refund_no
		WHERE t.mchid = ?0 AND t.day = ?1 AND t.trade_state = 'REFUND' AND p.mchid = ?0
		ORDER BY 1`, mchID, d, start, end).Scan(ctx, &refs); err != nil {
		return in, fmt.Errorf("refunds: %w", err)
	}
	for _, r := range refs {
		o := payment.OurRefund{CommunityID: r.CommunityID, OrderID: r.OrderID, OutRefundNo: r.OutRefundNo,
			OutTradeNo: r.OutTradeNo, AmountFen: r.AmountFen, Status: r.Status}
		if r.SettledAt != nil {
			o.SettledAt = *r.SettledAt
		}
		in.Refunds = append(in.Refunds, o)
	}

	var owners []tradeOwner
	if err := db.NewRaw(`SELECT pi.out_trade_no, pi.community_id, pi.order_id FROM payment_intents pi
		WHERE pi.out_trade_no IN (SELECT t.out_trade_no FROM trade_bill_rows t WHERE t.mchid = ? AND t.day = ?)`,
		mchID, d).Scan(ctx, &owners); err != nil {
		return in, fmt.Errorf("payment intents: %w", err)
	}
	for _, o := range owners {
		in.Owners[o.OutTradeNo] = payment.TradeOwner{CommunityID: o.CommunityID, OrderID: o.OrderID}
	}

	// Other bill days that list ours: those are their findings.
	tradeNos, refundNos := []string{""}, []string{""}
	for _, p := range in.Payments {
		tradeNos = append(tradeNos, p.OutTradeNo)
	}
	for _, r := range in.Refunds {
		refundNos = append(refundNos, r.OutRefundNo)
	}
	var elsewhere []listedElsewhere
	if err := db.NewRaw(`
		SELECT t.day, 'payment' AS kind, t.out_trade_no AS ref FROM trade_bill_rows t
		WHERE t.mchid = ?0 AND t.day <> ?1 AND t.trade_state = 'SUCCESS' AND t.out_trade_no IN (?2)
		UNION
		SELECT t.day, 'refund', t.out_refund_no FROM trade_bill_rows t
		WHERE t.mchid = ?0 AND t.day <> ?1 AND t.trade_state = 'REFUND' AND t.out_refund_no IN (?3)
		ORDER BY 1`, mchID, d, bun.List(tradeNos), bun.List(refundNos)).Scan(ctx, &elsewhere); err != nil {
		return in, fmt.Errorf("other bill days: %w", err)
	}
	for _, e := range elsewhere {
		k := payment.FindingKey{Kind: payment.FindingKind(e.Kind), Ref: e.Ref}
		if _, ok := in.Elsewhere[k]; !ok {
			in.Elsewhere[k] = civil.Date(e.Day)
		}
	}

	if err := db.NewRaw("SELECT EXISTS (SELECT 1 FROM trade_bills WHERE mchid = ? AND day = ?)",
		mchID, postgres.Date(day.AddDays(1))).Scan(ctx, &in.NextBillStored); err != nil {
		return in, fmt.Errorf("next bill: %w", err)
	}
	return in, nil
}

// DueDays implements payment.ReconcileStore. A day is due when it has no run, or when
// after its run (less settle) a payment was recorded or a refund became final that
// succeeded on the day or is on its bill, or the bill of an adjacent day was stored.
func (s *ReconcileStore) DueDays(ctx context.Context, mchID string, from civil.Date, settle time.Duration, limit int) ([]civil.Date, error) {
	var days []struct {
		Day postgres.Date `bun:"day"`
	}
	err := s.db.NewRaw(`
		WITH w AS (
			SELECT b.day, r.checked_at
			FROM trade_bills b LEFT JOIN reconciliation_runs r ON r.mchid = b.mchid AND r.day = b.day
			WHERE b.mchid = ?0 AND b.day >= ?1
		), since AS (
			SELECT coalesce(min(w.checked_at), 'infinity') - ?2 * interval '1 second' AS t FROM w
		), changes (day, at) AS (
			SELECT (coalesce(p.success_time, p.created_at) AT TIME ZONE 'Asia/Shanghai')::date, p.created_at
			FROM payments p, since WHERE p.mchid = ?0 AND p.created_at > since.t
			UNION ALL
			SELECT t.day, p.created_at
			FROM payments p JOIN trade_bill_rows t ON t.mchid = p.mchid AND t.out_trade_no = p.out_trade_no AND t.trade_state = 'SUCCESS', since
			WHERE p.mchid = ?0 AND p.created_at > since.t
			UNION ALL
			SELECT (rf.settled_at AT TIME ZONE 'Asia/Shanghai')::date, rf.settled_at
			FROM refunds rf JOIN payments p ON p.id = rf.payment_id, since
			WHERE p.mchid = ?0 AND rf.settled_at > since.t
			UNION ALL
			SELECT t.day, rf.settled_at
			FROM refunds rf JOIN payments p ON p.id = rf.payment_id
			JOIN trade_bill_rows t ON t.mchid = p.mchid AND t.out_refund_no = rf.out_refund_no AND t.trade_state = 'REFUND', since
			WHERE p.mchid = ?0 AND rf.settled_at > since.t
			UNION ALL
			SELECT n.day + v.d, n.fetched_at
			FROM trade_bills n CROSS JOIN (VALUES (-1), (1)) AS v (d), since
			WHERE n.mchid = ?0 AND n.fetched_at > since.t
		)
		SELECT w.day FROM w
		WHERE w.checked_at IS NULL
			OR EXISTS (SELECT 1 FROM changes c WHERE c.day = w.day AND c.at > w.checked_at - ?2 * interval '1 second')
		ORDER BY w.day LIMIT ?3`, mchID, postgres.Date(from), settle.Seconds(), limit).Scan(ctx, &days)
	if err != nil {
		return nil, fmt.Errorf("paymentdb: days due for reconciliation of %s: %w", mchID, err)
	}
	out := make([]civil.Date, len(days))
	for i, d := range days {
		out[i] = civil.Date(d.Day)
	}
	return out, nil
}

type findingRow struct {
	entryRow
	OrderRef     *int64        `bun:"o_id"`
	CanteenID    *int64        `bun:"o_canteen_id"`
	CanteenName  *string       `bun:"o_canteen_name"`
	OrderDay     postgres.Date `bun:"o_day"`
	OrderStatus  *string       `bun:"o_status"`
	OrderPayFen  *int64        `bun:"o_pay_fen"`
	Note         *string       `bun:"note"`
	NotedBy      *int64        `bun:"noted_by"`
	NotedByName  *string       `bun:"noted_by_name"`
	NotedAt      *time.Time    `bun:"noted_at"`
	ResolutionOf *string       `bun:"res_ref"`
}

// visible limits e (reconciliation_entries) joined to o (its order) to scope: the
// community's findings, in its canteens when it has a list, and those no community owns
// from a merchant account the community takes payments on (as the month close reads them).
func visible(q *bun.SelectQuery, scope payment.ReconcileScope) *bun.SelectQuery {
	q = q.Where(`(e.community_id = ?0 OR (e.community_id IS NULL
		AND EXISTS (SELECT 1 FROM payments AS p WHERE p.community_id = ?0 AND p.mchid = e.mchid)))`, scope.CommunityID)
	if len(scope.CanteenIDs) > 0 {
		q = q.Where("(o.canteen_id IS NULL OR o.canteen_id IN (?))", bun.List(scope.CanteenIDs))
	}
	return q
}

// Findings implements payment.ReconcileStore. Orders are joined for the caller's
// community only, so a finding no community owns never carries another's order.
func (s *ReconcileStore) Findings(ctx context.Context, mchID string, from, to civil.Date, scope payment.ReconcileScope) ([]payment.Finding, []payment.BillDay, error) {
	var rows []findingRow
	q := s.db.NewSelect().TableExpr("reconciliation_entries AS e").
		ColumnExpr("e.*").
		ColumnExpr("o.id AS o_id, o.canteen_id AS o_canteen_id, c.name AS o_canteen_name, o.day AS o_day, o.status AS o_status, o.pay_fen AS o_pay_fen").
		ColumnExpr("res.note, res.noted_by, res.noted_by_name, res.noted_at, res.ref AS res_ref").
		Join("LEFT JOIN orders AS o ON e.community_id = ? AND o.community_id = e.community_id AND o.id = e.order_id", scope.CommunityID).
		Join("LEFT JOIN canteens AS c ON c.community_id = o.community_id AND c.id = o.canteen_id").
		Join(`LEFT JOIN reconciliation_resolutions AS res ON res.mchid = e.mchid AND res.day = e.day AND res.kind = e.kind
			AND res.ref = e.ref AND res.community_id = ?`, scope.CommunityID).
		Where("e.mchid = ? AND e.day BETWEEN ? AND ?", mchID, postgres.Date(from), postgres.Date(to))
	err := visible(q, scope).
		OrderExpr(`CASE e.outcome WHEN 'amount_mismatch' THEN 0 WHEN 'missing_ours' THEN 1 WHEN 'missing_wechat' THEN 2 ELSE 3 END,
			e.day, e.kind, e.ref`).
		Scan(ctx, &rows)
	if err != nil {
		return nil, nil, fmt.Errorf("paymentdb: reconciliation findings of %s: %w", mchID, err)
	}
	out := make([]payment.Finding, len(rows))
	for i, r := range rows {
		f := r.finding()
		if r.OrderRef != nil {
			f.Order = &payment.FindingOrder{ID: *r.OrderRef, CanteenID: deref(r.CanteenID), CanteenName: deref(r.CanteenName),
				Day: civil.Date(r.OrderDay), Status: deref(r.OrderStatus), PayFen: deref(r.OrderPayFen)}
		}
		if r.ResolutionOf != nil {
			f.Resolution = &payment.Resolution{MchID: f.MchID, Day: f.Day, Kind: f.Kind, Ref: f.Ref, Note: deref(r.Note),
				NotedBy: deref(r.NotedBy), NotedByName: deref(r.NotedByName), NotedAt: deref(r.NotedAt)}
		}
		out[i] = f
	}

	var days []struct {
		Day       postgres.Date `bun:"day"`
		Empty     bool          `bun:"empty"`
		CheckedAt *time.Time    `bun:"checked_at"`
	}
	if err := s.db.NewRaw(`SELECT b.day, length(b.raw) = 0 AS empty, r.checked_at
		FROM trade_bills b LEFT JOIN reconciliation_runs r ON r.mchid = b.mchid AND r.day = b.day
		WHERE b.mchid = ? AND b.day BETWEEN ? AND ? ORDER BY b.day`, mchID, postgres.Date(from), postgres.Date(to)).Scan(ctx, &days); err != nil {
		return nil, nil, fmt.Errorf("paymentdb: reconciled days of %s: %w", mchID, err)
	}
	bd := make([]payment.BillDay, len(days))
	for i, d := range days {
		bd[i] = payment.BillDay{Day: civil.Date(d.Day), Empty: d.Empty, CheckedAt: d.CheckedAt}
	}
	return out, bd, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

type resolutionRow struct {
	bun.BaseModel `bun:"table:reconciliation_resolutions,alias:res"`
	MchID         string        `bun:"mchid,pk"`
	Day           postgres.Date `bun:"day,pk,type:date"`
	Kind          string        `bun:"kind,pk"`
	Ref           string        `bun:"ref,pk"`
	CommunityID   int64         `bun:"community_id,pk"`
	Note          string        `bun:"note"`
	NotedBy       int64         `bun:"noted_by"`
	NotedByName   string        `bun:"noted_by_name"`
	NotedAt       time.Time     `bun:"noted_at"`
}

func (r resolutionRow) resolution() payment.Resolution {
	return payment.Resolution{MchID: r.MchID, Day: civil.Date(r.Day), Kind: payment.FindingKind(r.Kind), Ref: r.Ref,
		Note: r.Note, NotedBy: r.NotedBy, NotedByName: r.NotedByName, NotedAt: r.NotedAt}
}

// Resolve implements payment.ReconcileStore.
func (s *ReconcileStore) Resolve(ctx context.Context, res payment.Resolution, scope payment.ReconcileScope) (payment.Resolution, error) {
	row := resolutionRow{MchID: res.MchID, Day: postgres.Date(res.Day), Kind: string(res.Kind), Ref: res.Ref,
		CommunityID: scope.CommunityID, Note: res.Note, NotedBy: res.NotedBy, NotedByName: res.NotedByName, NotedAt: res.NotedAt}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().TableExpr("reconciliation_entries AS e").ColumnExpr("e.ref").
			Join("LEFT JOIN orders AS o ON e.community_id = ? AND o.community_id = e.community_id AND o.id = e.order_id", scope.CommunityID).
			Where("e.mchid = ? AND e.day = ? AND e.kind = ? AND e.ref = ?", row.MchID, row.Day, row.Kind, row.Ref)
		var ref string
		err := visible(q, scope).For("SHARE OF e").Scan(ctx, &ref)
		if postgres.IsNoRows(err) {
			return payment.ErrFindingNotFound
		}
		if err != nil {
			return err
		}
		var before any // nil, not a nil pointer, so a first note has no "before"
		var prev resolutionRow
		err = tx.NewSelect().Model(&prev).
			Where("res.mchid = ? AND res.day = ? AND res.kind = ? AND res.ref = ? AND res.community_id = ?",
				row.MchID, row.Day, row.Kind, row.Ref, row.CommunityID).For("UPDATE").Scan(ctx)
		switch {
		case err == nil:
			before = prev.resolution()
		case !postgres.IsNoRows(err):
			return err
		}
		if _, err := tx.NewInsert().Model(&row).
			On("CONFLICT (mchid, day, kind, ref, community_id) DO UPDATE").
			Set("note = EXCLUDED.note, noted_by = EXCLUDED.noted_by, noted_by_name = EXCLUDED.noted_by_name, noted_at = EXCLUDED.noted_at").
			Exec(ctx); err != nil {
			return err
		}
		action := "update"
		if before == nil {
			action = "create"
		}
		return auditdb.Write(ctx, tx, scope.CommunityID, scope.Actor, action, "reconciliation_resolution",
			fmt.Sprintf("%s/%s/%s/%s", row.MchID, res.Day, row.Kind, row.Ref), before, row.resolution())
	})
	if err != nil {
		return payment.Resolution{}, fmt.Errorf("paymentdb: resolve %s %s of %s: %w", res.Kind, res.Ref, res.Day, err)
	}
	return row.resolution(), nil
}
