package settlementdb

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// latestStatus is the latest sign-off status of statement s.
const latestStatus = `(SELECT so.status FROM statement_signoffs so WHERE so.statement_id = s.id ORDER BY so.seq DESC LIMIT 1) AS status`

// Statements implements settlement.Store.
func (s *Store) Statements(ctx context.Context, communityID int64, q settlement.StatementQuery) ([]settlement.Statement, error) {
	var rows []statementRow
	sel := s.db.NewSelect().Model(&rows).ColumnExpr("s.*").ColumnExpr(latestStatus).Where("s.community_id = ?", communityID)
	if !q.Month.IsZero() {
		sel.Where("s.month = ?", q.Month.String())
	}
	if q.MerchantID > 0 {
		sel.Where("s.merchant_id = ?", q.MerchantID)
	}
	if q.Kind != "" {
		sel.Where("s.kind = ?", string(q.Kind))
	}
	if err := sel.OrderExpr("s.month DESC, s.kind = 'operator', coalesce(s.sponsor_id, s.merchant_id, 0), s.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("settlementdb: statements: %w", err)
	}
	out := make([]settlement.Statement, len(rows))
	for i, r := range rows {
		out[i] = r.statement()
	}
	return out, nil
}

// Statement implements settlement.Store.
func (s *Store) Statement(ctx context.Context, communityID, id int64) (settlement.Statement, error) {
	var out settlement.Statement
	err := snapshot(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		st, err := readStatement(ctx, tx, communityID, id, "")
		if err != nil {
			return err
		}
		var lines []lineRow
		if err := tx.NewSelect().Model(&lines).Where("statement_id = ?", id).OrderExpr("line_no").Scan(ctx); err != nil {
			return err
		}
		st.Lines = make([]settlement.Line, len(lines))
		for i, l := range lines {
			st.Lines[i] = l.line()
		}
		out = st
		return nil
	})
	if err != nil {
		return settlement.Statement{}, fmt.Errorf("settlementdb: statement %d: %w", id, err)
	}
	return out, nil
}

// readStatement reads statement id of the community, locked as lock says ("" for none),
// with its sign-off history. ErrStatementNotFound.
func readStatement(ctx context.Context, db bun.IDB, communityID, id int64, lock string) (settlement.Statement, error) {
	var r statementRow
	q := db.NewSelect().Model(&r).ColumnExpr("s.*").Where("s.community_id = ? AND s.id = ?", communityID, id)
	if lock != "" {
		q.For(lock)
	}
	err := q.Scan(ctx)
	if postgres.IsNoRows(err) {
		return settlement.Statement{}, settlement.ErrStatementNotFound
	}
	if err != nil {
		return settlement.Statement{}, err
	}
	st := r.statement()
	var signoffs []signoffRow
	if err := db.NewSelect().Model(&signoffs).Where("statement_id = ?", id).OrderExpr("seq").Scan(ctx); err != nil {
		return settlement.Statement{}, err
	}
	for _, so := range signoffs {
		st.Signoffs = append(st.Signoffs, so.signoff())
		st.Status = settlement.SignoffStatus(so.Status)
	}
	return st, nil
}

func (r lineRow) line() settlement.Line {
	l := settlement.Line{No: r.LineNo, Kind: settlement.LineKind(r.Kind), Adjustment: r.Adjustment, RefStatementID: deref(r.RefStatementID),
		OrderID: deref(r.OrderID), CanteenID: deref(r.CanteenID), OperatorID: deref(r.OperatorID), SponsorID: deref(r.SponsorID),
		PledgeID: deref(r.PledgeID), Day: civil.Date(r.Day), At: r.At, Fen: r.Fen, Ref: r.Ref, Memo: r.Memo}
	if r.Period != nil {
		l.Period = catalog.Period(*r.Period)
	}
	if r.Group != nil {
		l.Group = subsidy.Group(*r.Group)
	}
	if r.Tier != nil {
		l.Tier = ptr(subsidy.AgeTier(*r.Tier))
	}
	return l
}

// signoffAudit is the audit record of a sign-off.
type signoffAudit struct {
	StatementID int64 `json:"statement_id"`
	settlement.Signoff
}

// Signoff implements settlement.Store.
func (s *Store) Signoff(ctx context.Context, sc settlement.Scope, id int64, decide func(settlement.Statement) (settlement.Signoff, error)) (settlement.Signoff, error) {
	var out settlement.Signoff
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		st, err := readStatement(ctx, tx, sc.CommunityID, id, "UPDATE")
		if err != nil {
			return err
		}
		so, err := decide(st)
		if err != nil {
			return err
		}
		so.Seq = len(st.Signoffs) + 1
		so.Actor = sc.Actor
		r := signoffRow{CommunityID: sc.CommunityID, StatementID: id, Seq: so.Seq, Status: string(so.Status), Comment: so.Comment,
			ActorKind: string(sc.Actor.Kind), ActorID: actorID(sc.Actor), ActorName: sc.Actor.Name}
		if _, err := tx.NewInsert().Model(&r).Returning("at").Exec(ctx); err != nil {
			if postgres.IsUniqueViolation(err, "statement_signoffs_seq_key") || postgres.IsCheckViolation(err, "statement_signoffs_sequence") {
				return settlement.ErrSignoffNotAllowed
			}
			return err
		}
		so.At = r.At
		out = so
		action := settlement.ActionConfirm
		if so.Status == settlement.Disputed {
			action = settlement.ActionDispute
		}
		var before any
		if n := len(st.Signoffs); n > 0 {
			before = signoffAudit{StatementID: id, Signoff: st.Signoffs[n-1]}
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, action, settlement.EntityStatement, itoa(id), before,
			signoffAudit{StatementID: id, Signoff: so})
	})
	if err != nil {
		return settlement.Signoff{}, fmt.Errorf("settlementdb: sign off statement %d: %w", id, err)
	}
	return out, nil
}

// Adjust implements settlement.Store.
func (s *Store) Adjust(ctx context.Context, sc settlement.Scope, in settlement.AdjustmentInput,
	target func(statement settlement.Month, closed []settlement.Month) (settlement.Month, error)) (settlement.Adjustment, error) {
	var out settlement.Adjustment
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := lockCommunity(ctx, tx, sc.CommunityID); err != nil {
			return err
		}
		st, err := readStatement(ctx, tx, sc.CommunityID, in.StatementID, "")
		if err != nil {
			return err
		}
		if in.OrderID != 0 {
			var found struct {
				Order  bool `bun:"order"`
				OnLine bool `bun:"on_line"`
			}
			if err := tx.NewRaw(`SELECT EXISTS (SELECT 1 FROM orders WHERE community_id = ? AND id = ?) AS "order",
				EXISTS (SELECT 1 FROM statement_lines WHERE statement_id = ? AND order_id = ?) AS on_line`,
				sc.CommunityID, in.OrderID, in.StatementID, in.OrderID).Scan(ctx, &found); err != nil {
				return err
			}
			switch {
			case !found.Order:
				return settlement.ErrOrderNotFound
			case !found.OnLine:
				return settlement.ErrOrderNotOnStatement
			}
		}
		_, closed, err := calendar(ctx, tx, sc.CommunityID)
		if err != nil {
			return err
		}
		m, err := target(st.Month, closed)
		if err != nil {
			return err
		}
		var id int64
		var orderID *int64
		if in.OrderID != 0 {
			orderID = &in.OrderID
		}
		if err := tx.NewRaw(`INSERT INTO settlement_adjustments (community_id, month, statement_id, order_id, fen, reason, actor_kind, actor_id, actor_name)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, sc.CommunityID, m.String(), in.StatementID, orderID, in.Fen, in.Reason,
			string(sc.Actor.Kind), actorID(sc.Actor), sc.Actor.Name).Scan(ctx, &id); err != nil {
			return err
		}
		var r adjustmentRow
		if err := tx.NewRaw(selectAdjustments+" WHERE a.id = ?", id).Scan(ctx, &r); err != nil {
			return err
		}
		out = r.adjustment()
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, settlement.ActionCreate, settlement.EntityAdjustment, itoa(id), nil, out)
	})
	if err != nil {
		return settlement.Adjustment{}, fmt.Errorf("settlementdb: adjust statement %d: %w", in.StatementID, err)
	}
	return out, nil
}
