package fundingdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/funding"
)

// maxProblems bounds how many disagreements Check names.
const maxProblems = 20

// Check proves the community's ledger: every ledger transaction sums to zero; every
// balance equals the journal sums of its pledge period per account (funded = minus the
// source account); and held and spent equal what the order holds say. It returns nil, or
// ErrLedgerMismatch (kind Internal) naming up to 20 disagreements. It only reads. Given a
// *bun.DB it reads in a read-only REPEATABLE READ transaction, so concurrent orders cannot
// make it see half a move; given a transaction it sees what that transaction sees.
func (l *Ledger) Check(ctx context.Context, db bun.IDB, communityID int64) error {
	if d, ok := db.(*bun.DB); ok {
		opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
		return d.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error { return check(ctx, tx, communityID) })
	}
	return check(ctx, db, communityID)
}

func check(ctx context.Context, db bun.IDB, communityID int64) error {
	var problems []string
	var txns []struct {
		TxnID int64 `bun:"txn_id"`
		Sum   int64 `bun:"sum"`
	}
	err := db.NewRaw(`SELECT txn_id, sum(amount_fen) AS sum FROM ledger_entries WHERE community_id = ?
		GROUP BY txn_id HAVING sum(amount_fen) <> 0 ORDER BY txn_id LIMIT ?`, communityID, maxProblems).Scan(ctx, &txns)
	if err != nil {
		return fmt.Errorf("fundingdb: check ledger transactions: %w", err)
	}
	for _, t := range txns {
		problems = append(problems, fmt.Sprintf("ledger transaction %d sums to %d fen", t.TxnID, t.Sum))
	}

	var rows []struct {
		PledgeID   int64  `bun:"pledge_id"`
		Period     string `bun:"period"`
		Opened     bool   `bun:"opened"`
		Funded     int64  `bun:"funded"`
		Available  int64  `bun:"available"`
		Held       int64  `bun:"held"`
		Spent      int64  `bun:"spent"`
		JFunded    int64  `bun:"j_funded"`
		JAvailable int64  `bun:"j_available"`
		JHeld      int64  `bun:"j_held"`
		JSpent     int64  `bun:"j_spent"`
		OHeld      int64  `bun:"o_held"`
		OSpent     int64  `bun:"o_spent"`
	}
	err = db.NewRaw(`
		WITH j AS (
			SELECT pledge_id, period,
				-coalesce(sum(amount_fen) FILTER (WHERE account = 'source'), 0) AS funded,
				coalesce(sum(amount_fen) FILTER (WHERE account = 'available'), 0) AS available,
				coalesce(sum(amount_fen) FILTER (WHERE account = 'held'), 0) AS held,
				coalesce(sum(amount_fen) FILTER (WHERE account = 'spent'), 0) AS spent
			FROM ledger_entries WHERE community_id = ? GROUP BY pledge_id, period
		), o AS (
			SELECT pledge_id, period,
				sum(held_fen - committed_fen - released_fen) AS held,
				sum(committed_fen - reversed_fen) AS spent
			FROM order_holds WHERE community_id = ? GROUP BY pledge_id, period
		), b AS (
			SELECT * FROM pledge_balances WHERE community_id = ?
		)
		SELECT coalesce(b.pledge_id, j.pledge_id, o.pledge_id) AS pledge_id,
			coalesce(b.period, j.period, o.period) AS period,
			b.pledge_id IS NOT NULL AS opened,
			coalesce(b.funded_fen, 0) AS funded, coalesce(b.available_fen, 0) AS available,
			coalesce(b.held_fen, 0) AS held, coalesce(b.spent_fen, 0) AS spent,
			coalesce(j.funded, 0) AS j_funded, coalesce(j.available, 0) AS j_available,
			coalesce(j.held, 0) AS j_held, coalesce(j.spent, 0) AS j_spent,
			coalesce(o.held, 0) AS o_held, coalesce(o.spent, 0) AS o_spent
		FROM b
		FULL JOIN j ON j.pledge_id = b.pledge_id AND j.period = b.period
		FULL JOIN o ON o.pledge_id = coalesce(b.pledge_id, j.pledge_id) AND o.period = coalesce(b.period, j.period)
		WHERE b.pledge_id IS NULL
			OR (b.funded_fen, b.available_fen, b.held_fen, b.spent_fen)
				IS DISTINCT FROM (coalesce(j.funded, 0), coalesce(j.available, 0), coalesce(j.held, 0), coalesce(j.spent, 0))
			OR (b.held_fen, b.spent_fen) IS DISTINCT FROM (coalesce(o.held, 0), coalesce(o.spent, 0))
		ORDER BY 1, 2 LIMIT ?`, communityID, communityID, communityID, maxProblems).Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("fundingdb: check balances: %w", err)
	}
	for _, r := range rows {
		key := balanceID(r.PledgeID, funding.Period(r.Period))
		if !r.Opened {
			problems = append(problems, fmt.Sprintf("%s has journal entries or holds but no balance", key))
			continue
		}
		problems = append(problems, fmt.Sprintf(
			"%s balance funded/available/held/spent %d/%d/%d/%d, journal %d/%d/%d/%d, order holds held/spent %d/%d",
			key, r.Funded, r.Available, r.Held, r.Spent, r.JFunded, r.JAvailable, r.JHeld, r.JSpent, r.OHeld, r.OSpent))
	}
	if len(problems) == 0 {
		return nil
	}
	if len(problems) > maxProblems {
		problems = problems[:maxProblems]
	}
	e := funding.ErrLedgerMismatch
	return &apperr.Error{Kind: e.Kind, Code: e.Code, Detail: e.Detail,
		Err: fmt.Errorf("fundingdb: check community %d: %s", communityID, strings.Join(problems, "; "))}
}
