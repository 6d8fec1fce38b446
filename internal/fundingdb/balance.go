package fundingdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/postgres"
)

type balanceRow struct {
	bun.BaseModel `bun:"table:pledge_balances,alias:b"`
	CommunityID   int64     `bun:"community_id"`
	PledgeID      int64     `bun:"pledge_id,pk"`
	Period        string    `bun:"period,pk"`
	FundedFen     int64     `bun:"funded_fen"`
	AvailableFen  int64     `bun:"available_fen"`
	HeldFen       int64     `bun:"held_fen"`
	SpentFen      int64     `bun:"spent_fen"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r balanceRow) balance() funding.Balance {
	return funding.Balance{PledgeID: r.PledgeID, Period: funding.Period(r.Period), FundedFen: r.FundedFen,
		AvailableFen: r.AvailableFen, HeldFen: r.HeldFen, SpentFen: r.SpentFen, Opened: true}
}

// balanceColumn is the column of an account other than the source.
var balanceColumn = map[funding.Account]string{
	funding.Available: "available_fen",
	funding.Held:      "held_fen",
	funding.Spent:     "spent_fen",
}

// moveBalance applies m to its balance row with one conditional UPDATE: the row changes
// only if the account money leaves holds at least m.fen, so no account goes negative, and
// concurrent moves on one row serialise on its lock. Money from the source raises
// funded_fen; money to the source lowers it. It reports whether the row changed.
func moveBalance(ctx context.Context, db bun.IDB, communityID int64, m move) (bool, error) {
	var set []string
	q := "UPDATE pledge_balances SET "
	args := []any{}
	cond := ""
	if m.from == funding.Source {
		set = append(set, "funded_fen = funded_fen + ?")
		args = append(args, m.fen)
	} else {
		col := balanceColumn[m.from]
		set = append(set, col+" = "+col+" - ?")
		args = append(args, m.fen)
		cond = " AND " + col + " >= ?"
	}
	if m.to == funding.Source {
		set = append(set, "funded_fen = funded_fen - ?")
	} else {
		col := balanceColumn[m.to]
		set = append(set, col+" = "+col+" + ?")
	}
	args = append(args, m.fen, communityID, m.key.PledgeID, string(m.key.Period))
	if cond != "" {
		args = append(args, m.fen)
	}
	q += strings.Join(set, ", ") + ", updated_at = now() WHERE community_id = ? AND pledge_id = ? AND period = ?" + cond
	res, err := db.NewRaw(q, args...).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("fundingdb: move %d fen %s -> %s of %s: %w", m.fen, m.from, m.to, balanceID(m.key.PledgeID, m.key.Period), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("fundingdb: move rows affected: %w", err)
	}
	return n == 1, nil
}

// openPeriod creates the balance of one period of pledge p if it does not exist, funded
// with the pledge's amount at this moment by a 'fund' ledger transaction, and audited.
// Concurrent first touches serialise on the unique keys: exactly one inserts the row and
// writes the fund entry, the others find it (ON CONFLICT without a target, since the row
// has two unique keys and a racing insert may trip either). It reports whether it opened the period.
func openPeriod(ctx context.Context, db bun.IDB, communityID int64, p funding.Pledge, period funding.Period) (bool, error) {
	var funded []int64
	err := db.NewRaw(`INSERT INTO pledge_balances (community_id, pledge_id, period, funded_fen, available_fen)
		SELECT community_id, id, ?, amount_fen, amount_fen FROM pledges WHERE community_id = ? AND id = ?
		ON CONFLICT DO NOTHING
		RETURNING funded_fen`, string(period), communityID, p.ID).Scan(ctx, &funded)
	if err != nil && !postgres.IsNoRows(err) {
		return false, fmt.Errorf("fundingdb: open %s: %w", balanceID(p.ID, period), err)
	}
	if len(funded) == 0 {
		return false, nil
	}
	key := funding.BalanceKey{PledgeID: p.ID, Period: period}
	_, err = writeJournal(ctx, db, communityID, journalTxn{kind: funding.KindFund, actor: audit.SystemActor,
		memo: "funded with the pledge amount", moves: []move{{key: key, from: funding.Source, to: funding.Available, fen: funded[0]}}})
	if err != nil {
		return false, err
	}
	b := funding.Balance{PledgeID: p.ID, Period: period, FundedFen: funded[0], AvailableFen: funded[0], Opened: true}
	err = auditdb.Write(ctx, db, communityID, audit.SystemActor, funding.ActionOpen, funding.EntityBalance, balanceID(p.ID, period), nil, b)
	return err == nil, err
}

func readBalance(ctx context.Context, db bun.IDB, communityID int64, key funding.BalanceKey) (funding.Balance, error) {
	var r balanceRow
	err := db.NewSelect().Model(&r).Where("b.community_id = ? AND b.pledge_id = ? AND b.period = ?",
		communityID, key.PledgeID, string(key.Period)).Scan(ctx)
	if err != nil {
		return funding.Balance{}, fmt.Errorf("fundingdb: read balance %s: %w", balanceID(key.PledgeID, key.Period), err)
	}
	return r.balance(), nil
}

// Balances returns the opened balances among keys.
func (s *Store) Balances(ctx context.Context, communityID int64, keys []funding.BalanceKey) (map[funding.BalanceKey]funding.Balance, error) {
	return balances(ctx, s.db, communityID, keys)
}

func balances(ctx context.Context, db bun.IDB, communityID int64, keys []funding.BalanceKey) (map[funding.BalanceKey]funding.Balance, error) {
	out := map[funding.BalanceKey]funding.Balance{}
	if len(keys) == 0 {
		return out, nil
	}
	ids := make([]int64, len(keys))
	periods := make([]string, len(keys))
	for i, k := range keys {
		ids[i], periods[i] = k.PledgeID, string(k.Period)
	}
	var rows []balanceRow
	err := db.NewSelect().Model(&rows).
		Where("b.community_id = ? AND b.pledge_id IN (?) AND b.period IN (?)", communityID, bun.List(ids), bun.List(periods)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("fundingdb: read balances: %w", err)
	}
	want := map[funding.BalanceKey]bool{}
	for _, k := range keys {
		want[k] = true
	}
	for _, r := range rows {
		b := r.balance()
		if k := (funding.BalanceKey{PledgeID: b.PledgeID, Period: b.Period}); want[k] {
			out[k] = b
		}
	}
	return out, nil
}

// PledgeBalances returns every opened period of a pledge, by period.
func (s *Store) PledgeBalances(ctx context.Context, communityID, pledgeID int64) ([]funding.Balance, error) {
	if _, err := readPledge(ctx, s.db, communityID, pledgeID, ""); err != nil {
		return nil, err
	}
	var rows []balanceRow
	if err := s.db.NewSelect().Model(&rows).Where("b.community_id = ? AND b.pledge_id = ?", communityID, pledgeID).
		OrderExpr("b.period").Scan(ctx); err != nil {
		return nil, fmt.Errorf("fundingdb: read balances of pledge %d: %w", pledgeID, err)
	}
	out := make([]funding.Balance, len(rows))
	for i, r := range rows {
		out[i] = r.balance()
	}
	return out, nil
}

// Fund writes a top-up or an adjustment of one period, opening it first if needed, with
// the journal entries and the audit record, in one transaction.
func (s *Store) Fund(ctx context.Context, sc funding.Scope, m funding.Movement, check func(funding.Pledge) error) (funding.Balance, error) {
	var out funding.Balance
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		p, err := readPledge(ctx, tx, sc.CommunityID, m.PledgeID, "KEY SHARE")
		if err != nil {
			return err
		}
		if err := check(p); err != nil {
			return err
		}
		if _, err := openPeriod(ctx, tx, sc.CommunityID, p, m.Period); err != nil {
			return err
		}
		key := funding.BalanceKey{PledgeID: p.ID, Period: m.Period}
		before, err := readBalance(ctx, tx, sc.CommunityID, key)
		if err != nil {
			return err
		}
		mv := move{key: key, from: funding.Source, to: funding.Available, fen: m.Fen}
		if m.Fen < 0 {
			mv = move{key: key, from: funding.Available, to: funding.Source, fen: -m.Fen}
		}
		ok, err := moveBalance(ctx, tx, sc.CommunityID, mv)
		if err != nil {
			return err
		}
		if !ok {
			return funding.WithField(funding.ErrBalanceBelowZero, "fen",
				fmt.Sprintf("可用 %d 分，不能减少 %d 分 / %d fen available, cannot take %d", before.AvailableFen, -m.Fen, before.AvailableFen, -m.Fen), nil)
		}
		if _, err := writeJournal(ctx, tx, sc.CommunityID, journalTxn{kind: m.Kind, actor: sc.Actor, memo: m.Memo, moves: []move{mv}}); err != nil {
			return err
		}
		if out, err = readBalance(ctx, tx, sc.CommunityID, key); err != nil {
			return err
		}
		action := funding.ActionTopUp
		if m.Kind == funding.KindAdjust {
			action = funding.ActionAdjust
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, action, funding.EntityBalance, balanceID(p.ID, m.Period),
			before, funding.BalanceChange{Balance: out, Fen: m.Fen, Memo: m.Memo})
	})
	return out, err
}
