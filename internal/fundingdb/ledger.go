package fundingdb

import (
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// Ledger moves pledge money for orders. Every method works inside db, the caller's
// transaction (ordering and payments call it from their own), and leaves it to the caller
// to commit or roll back: on an error the caller must roll back, and nothing it did here
// survives. Rows of each pledge period are changed in pledge-ID order, so concurrent
// orders never deadlock on them. Every move is a balanced ledger transaction in the
// journal, tagged with the order ID; the journal is the audit trail of these moves.
type Ledger struct{}

// NewLedger returns a Ledger.
func NewLedger() *Ledger { return &Ledger{} }

type orderFundingRow struct {
	bun.BaseModel `bun:"table:order_funding,alias:of"`
	CommunityID   int64  `bun:"community_id,pk"`
	OrderID       int64  `bun:"order_id,pk"`
	Day           date   `bun:"day,type:date"`
	State         string `bun:"state"`
	PaidTotalFen  *int64 `bun:"paid_total_fen"`
	RefundedFen   int64  `bun:"refunded_fen"`
}

type holdRow struct {
	bun.BaseModel `bun:"table:order_holds,alias:oh"`
	CommunityID   int64  `bun:"community_id,pk"`
	OrderID       int64  `bun:"order_id,pk"`
	PledgeID      int64  `bun:"pledge_id,pk"`
	PolicyID      int64  `bun:"policy_id,pk"`
	Period        string `bun:"period"`
	PolicyVersion int64  `bun:"policy_version"`
	HeldFen       int64  `bun:"held_fen"`
	CommittedFen  int64  `bun:"committed_fen"`
	ReleasedFen   int64  `bun:"released_fen"`
	ReversedFen   int64  `bun:"reversed_fen"`
}

func (r holdRow) key() funding.BalanceKey {
	return funding.BalanceKey{PledgeID: r.PledgeID, Period: funding.Period(r.Period)}
}

// Hold moves, for each hold, Fen from available to held in the period of its pledge that
// funds day, creating the period first if it was never touched. An order places its holds
// once, all in one call (holds of one pledge and policy are summed; zero amounts are
// skipped; no holds at all does nothing). Errors: ErrBudgetExhausted naming the first
// pledge (by ID) that is short, inactive (or its sponsor is), or does not fund day
// (errors.As gives a *funding.BudgetError); ErrPledgeNotFound; ErrPolicyNotFound when a
// policy version is not the community's or does not name the pledge in its funding;
// ErrOrderHeld when the order already holds; Invalid for bad input.
func (l *Ledger) Hold(ctx context.Context, db bun.IDB, communityID, orderID int64, day civil.Date, holds []funding.Hold) error {
	var f apperr.Fields
	f.Check(orderID > 0, "order_id", "必须是正整数 / must be a positive id")
	f.Check(day.IsValid(), "day", "不是有效日期 / not a real date")
	if err := f.Err(); err != nil {
		return err
	}
	lines, err := funding.MergeHolds(holds)
	if err != nil || len(lines) == 0 {
		return err
	}
	res, err := db.NewInsert().Model(&orderFundingRow{CommunityID: communityID, OrderID: orderID, Day: date(day), State: "held"}).
		On("CONFLICT (community_id, order_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("fundingdb: hold for order %d: %w", orderID, err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = funding.ErrOrderHeld
	}
	if err != nil {
		return fmt.Errorf("fundingdb: hold for order %d: %w", orderID, err)
	}
	ids := make([]int64, 0, len(lines))
	for _, h := range lines {
		ids = append(ids, h.PledgeID)
	}
	ids = slices.Compact(ids) // lines are sorted by pledge
	pledges, err := pledgesByID(ctx, db, communityID, ids)
	if err != nil {
		return err
	}
	t := journalTxn{kind: funding.KindHold, orderID: orderID, actor: orderActor}
	rows := make([]holdRow, 0, len(lines))
	for _, id := range ids {
		p, ok := pledges[id]
		if !ok {
			return fmt.Errorf("fundingdb: hold for order %d: %w", orderID,
				funding.WithField(funding.ErrPledgeNotFound, "pledge_id", fmt.Sprintf("本社区没有认捐 %d / no pledge %d in this community", id, id), nil))
		}
		period, covers := p.PeriodOf(day)
		switch {
		case !p.Usable:
			return fmt.Errorf("fundingdb: hold for order %d: %w", orderID, funding.BudgetExhausted(id, period, "pledge or sponsor inactive"))
		case !covers:
			return fmt.Errorf("fundingdb: hold for order %d: %w", orderID, funding.BudgetExhausted(id, period, "pledge does not fund "+day.String()))
		}
		if _, err := openPeriod(ctx, db, communityID, p.Pledge, period); err != nil {
			return err
		}
		var fen int64
		for _, h := range lines {
			if h.PledgeID == id {
				fen += h.Fen
				rows = append(rows, holdRow{CommunityID: communityID, OrderID: orderID, PledgeID: id, PolicyID: h.PolicyID,
					Period: string(period), PolicyVersion: h.PolicyVersion, HeldFen: h.Fen})
			}
		}
		m := move{key: funding.BalanceKey{PledgeID: id, Period: period}, from: funding.Available, to: funding.Held, fen: fen}
		ok, err := moveBalance(ctx, db, communityID, m)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("fundingdb: hold for order %d: %w", orderID, funding.BudgetExhausted(id, period, fmt.Sprintf("less than %d fen available", fen)))
		}
		t.moves = append(t.moves, m)
	}
	if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		switch {
		case postgres.IsForeignKeyViolation(err, "order_holds_policy_fkey"):
			err = funding.WithField(funding.ErrPolicyNotFound, "policy_id", "本社区没有该规则版本 / no such policy version in this community", err)
		case postgres.IsForeignKeyViolation(err, "order_holds_policy_pledge_fkey"):
			err = funding.WithField(funding.ErrPolicyNotFound, "pledge_id", "该规则版本不由此认捐资助 / the policy version does not draw on this pledge", err)
		}
		return fmt.Errorf("fundingdb: hold for order %d: insert holds: %w", orderID, err)
	}
	_, err = writeJournal(ctx, db, communityID, t)
	return err
}

// Commit moves everything the order holds to spent (the order is paid). It does nothing
// for an order without holds, one already committed, or one released (a payment for a
// cancelled order is refunded, not spent).
func (l *Ledger) Commit(ctx context.Context, db bun.IDB, communityID, orderID int64) error {
	return l.settle(ctx, db, communityID, orderID, "committed", funding.Spent, funding.KindCommit)
}

// Release moves everything the order holds back to available (cancelled or expired). It
// does nothing for an order without holds, one already released, or one committed.
func (l *Ledger) Release(ctx context.Context, db bun.IDB, communityID, orderID int64) error {
	return l.settle(ctx, db, communityID, orderID, "released", funding.Available, funding.KindRelease)
}

// settle ends the held state of an order: state "committed" or "released", moving every
// held fen to account to.
func (l *Ledger) settle(ctx context.Context, db bun.IDB, communityID, orderID int64, state string, to funding.Account, kind funding.EntryKind) error {
	res, err := db.NewUpdate().Model((*orderFundingRow)(nil)).Set("state = ?, updated_at = now()", state).
		Where("community_id = ? AND order_id = ? AND state = 'held'", communityID, orderID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("fundingdb: %s order %d: %w", kind, orderID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // nil when nothing is held: no holds, or settled already
	}
	rows, err := orderHolds(ctx, db, communityID, orderID)
	if err != nil {
		return err
	}
	t := journalTxn{kind: kind, orderID: orderID, actor: orderActor}
	held := make([]int64, len(rows))
	for i, r := range rows {
		held[i] = r.HeldFen
	}
	for _, m := range movesByPeriod(rows, held, funding.Held, to) {
		if err := mustMove(ctx, db, communityID, m); err != nil {
			return fmt.Errorf("fundingdb: %s order %d: %w", kind, orderID, err)
		}
		t.moves = append(t.moves, m)
	}
	col := "committed_fen"
	if state == "released" {
		col = "released_fen"
	}
	if _, err := db.NewUpdate().Model((*holdRow)(nil)).Set(col+" = held_fen").
		Where("community_id = ? AND order_id = ?", communityID, orderID).Exec(ctx); err != nil {
		return fmt.Errorf("fundingdb: %s order %d: update holds: %w", kind, orderID, err)
	}
	_, err = writeJournal(ctx, db, communityID, t)
	return err
}

// Reverse gives back to available, for a refund of refundedFen out of the
// orderPaidTotalFen the diner paid, the same share of the subsidy the order spent. Refunds
// accumulate: after refunds totalling R the order has given back floor(spent × R / paid),
// so the last refund of the whole amount gives back everything, to the fen. Each refund's
// amount is split among the order's pledges in proportion to what each still has spent
// (largest remainder), never more than that. Call it once per refund (payments dedupe
// refunds by their own id). An order paid 0 is wholly reversed with refundedFen =
// orderPaidTotalFen = 1. It does nothing for an order without holds or a released one.
// Errors: ErrOrderNotCommitted (still held); ErrRefundExceedsPaid (refunds pass the paid
// total, or it differs from an earlier call's); Invalid.
func (l *Ledger) Reverse(ctx context.Context, db bun.IDB, communityID, orderID int64, refundedFen, orderPaidTotalFen int64) error {
	var f apperr.Fields
	f.Check(orderPaidTotalFen > 0 && orderPaidTotalFen <= funding.MaxFen, "order_paid_total_fen", "应为正数 / must be positive")
	f.Check(refundedFen > 0 && refundedFen <= orderPaidTotalFen, "refunded_fen", "应为 1 到实付金额 / must be 1 to the paid total")
	if err := f.Err(); err != nil {
		return err
	}
	var of orderFundingRow
	err := db.NewSelect().Model(&of).Where("of.community_id = ? AND of.order_id = ?", communityID, orderID).For("UPDATE").Scan(ctx)
	switch {
	case postgres.IsNoRows(err):
		return nil // the order holds no subsidy
	case err != nil:
		return fmt.Errorf("fundingdb: reverse order %d: %w", orderID, err)
	case of.State == "released":
		return nil
	case of.State == "held":
		return fmt.Errorf("fundingdb: reverse order %d: %w", orderID, funding.ErrOrderNotCommitted)
	case of.PaidTotalFen != nil && *of.PaidTotalFen != orderPaidTotalFen:
		return fmt.Errorf("fundingdb: reverse order %d: %w", orderID, funding.WithField(funding.ErrRefundExceedsPaid, "order_paid_total_fen",
			fmt.Sprintf("此前为 %d 分 / was %d fen before", *of.PaidTotalFen, *of.PaidTotalFen), nil))
	case of.RefundedFen+refundedFen > orderPaidTotalFen:
		return fmt.Errorf("fundingdb: reverse order %d: %w", orderID, funding.WithField(funding.ErrRefundExceedsPaid, "refunded_fen",
			fmt.Sprintf("已退 %d 分 / %d fen refunded already", of.RefundedFen, of.RefundedFen), nil))
	}
	rows, err := orderHolds(ctx, db, communityID, orderID)
	if err != nil {
		return err
	}
	refunded := of.RefundedFen + refundedFen
	var spent, reversed int64
	rooms := make([]int64, len(rows))
	for i, r := range rows {
		spent += r.CommittedFen
		reversed += r.ReversedFen
		rooms[i] = r.CommittedFen - r.ReversedFen
	}
	due := funding.MulDiv(spent, refunded, orderPaidTotalFen) - reversed
	parts := funding.Apportion(due, rooms)
	t := journalTxn{kind: funding.KindReverse, orderID: orderID, actor: orderActor}
	for _, m := range movesByPeriod(rows, parts, funding.Spent, funding.Available) {
		if err := mustMove(ctx, db, communityID, m); err != nil {
			return fmt.Errorf("fundingdb: reverse order %d: %w", orderID, err)
		}
		t.moves = append(t.moves, m)
	}
	for i, r := range rows {
		if parts[i] == 0 {
			continue
		}
		if _, err := db.NewUpdate().Model((*holdRow)(nil)).Set("reversed_fen = reversed_fen + ?", parts[i]).
			Where("community_id = ? AND order_id = ? AND pledge_id = ? AND policy_id = ?", communityID, orderID, r.PledgeID, r.PolicyID).
			Exec(ctx); err != nil {
			return fmt.Errorf("fundingdb: reverse order %d: update hold: %w", orderID, err)
		}
	}
	if _, err := db.NewUpdate().Model((*orderFundingRow)(nil)).
		Set("refunded_fen = ?, paid_total_fen = ?, updated_at = now()", refunded, orderPaidTotalFen).
		Where("community_id = ? AND order_id = ?", communityID, orderID).Exec(ctx); err != nil {
		return fmt.Errorf("fundingdb: reverse order %d: %w", orderID, err)
	}
	_, err = writeJournal(ctx, db, communityID, t)
	return err
}

// orderHolds returns the holds of an order by pledge and policy.
func orderHolds(ctx context.Context, db bun.IDB, communityID, orderID int64) ([]holdRow, error) {
	var rows []holdRow
	if err := db.NewSelect().Model(&rows).Where("oh.community_id = ? AND oh.order_id = ?", communityID, orderID).
		OrderExpr("oh.pledge_id, oh.policy_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("fundingdb: read holds of order %d: %w", orderID, err)
	}
	return rows, nil
}

// movesByPeriod sums amounts[i] per pledge period of rows[i] (rows sorted by pledge) into
// moves from -> to, skipping zero sums, in pledge order.
func movesByPeriod(rows []holdRow, amounts []int64, from, to funding.Account) []move {
	var out []move
	for i, r := range rows {
		fen := amounts[i]
		if fen == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].key == r.key() {
			out[n-1].fen += fen
			continue
		}
		out = append(out, move{key: r.key(), from: from, to: to, fen: fen})
	}
	return out
}

// mustMove applies a move the order's own holds guarantee; a refusal means the balances
// and the holds disagree.
func mustMove(ctx context.Context, db bun.IDB, communityID int64, m move) error {
	ok, err := moveBalance(ctx, db, communityID, m)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Wrap(fmt.Errorf("%s has less than %d fen %s", balanceID(m.key.PledgeID, m.key.Period), m.fen, m.from),
			funding.ErrLedgerMismatch.Kind, funding.ErrLedgerMismatch.Code, funding.ErrLedgerMismatch.Detail)
	}
	return nil
}

// Available returns, for quoting, the money available on day from each of pledgeIDs: the
// balance of the period that funds day, or the pledge amount when that period was never
// touched. A pledge that is unknown in the community, inactive (or its sponsor is), or
// does not fund day has 0. Every requested ID is in the map. It only reads.
func (l *Ledger) Available(ctx context.Context, db bun.IDB, communityID int64, pledgeIDs []int64, day civil.Date) (map[int64]int64, error) {
	out := make(map[int64]int64, len(pledgeIDs))
	for _, id := range pledgeIDs {
		out[id] = 0
	}
	if !day.IsValid() {
		var f apperr.Fields
		f.Add("day", "不是有效日期 / not a real date")
		return nil, f.Err()
	}
	pledges, err := pledgesByID(ctx, db, communityID, pledgeIDs)
	if err != nil {
		return nil, err
	}
	keys := []funding.BalanceKey{}
	for _, p := range pledges {
		if period, ok := p.PeriodOf(day); ok && p.Usable {
			keys = append(keys, funding.BalanceKey{PledgeID: p.ID, Period: period})
		}
	}
	bs, err := balances(ctx, db, communityID, keys)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if b, ok := bs[k]; ok {
			out[k.PledgeID] = b.AvailableFen
		} else {
			out[k.PledgeID] = pledges[k.PledgeID].AmountFen
		}
	}
	return out, nil
}
