package settlementdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/settlement"
)

type statementRow struct {
	bun.BaseModel `bun:"table:statements,alias:s"`
	ID            int64           `bun:"id,pk,autoincrement"`
	CommunityID   int64           `bun:"community_id"`
	CloseID       int64           `bun:"close_id"`
	Month         string          `bun:"month"`
	Kind          string          `bun:"kind"`
	SponsorID     *int64          `bun:"sponsor_id"`
	MerchantID    *int64          `bun:"merchant_id"`
	PartyName     string          `bun:"party_name"`
	Meals         int             `bun:"meals"`
	SubsidyFen    int64           `bun:"subsidy_fen"`
	ReversalFen   int64           `bun:"reversal_fen"`
	PaymentFen    int64           `bun:"payment_fen"`
	CashFen       int64           `bun:"cash_fen"`
	RefundFen     int64           `bun:"refund_fen"`
	AdjustmentFen int64           `bun:"adjustment_fen"`
	LedgerFen     int64           `bun:"ledger_fen"`
	TotalFen      int64           `bun:"total_fen"`
	Counterparts  json.RawMessage `bun:"counterparts,type:jsonb"`
	LineCount     int             `bun:"line_count"`
	CreatedAt     time.Time       `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	Status        string          `bun:"status,scanonly"`
}

func (r statementRow) statement() settlement.Statement {
	s := settlement.Statement{ID: r.ID, CommunityID: r.CommunityID, CloseID: r.CloseID, Month: parseMonth(r.Month),
		Party: party(r.Kind, r.SponsorID, r.MerchantID), MerchantID: r.MerchantID, PartyName: r.PartyName,
		Totals: settlement.Totals{Meals: r.Meals, SubsidyFen: r.SubsidyFen, ReversalFen: r.ReversalFen, PaymentFen: r.PaymentFen,
			CashFen: r.CashFen, RefundFen: r.RefundFen, AdjustmentFen: r.AdjustmentFen, LedgerFen: r.LedgerFen, TotalFen: r.TotalFen},
		LineCount: r.LineCount, Status: settlement.SignoffStatus(r.Status), CreatedAt: r.CreatedAt, Counterparts: []settlement.Counterpart{}}
	_ = json.Unmarshal(r.Counterparts, &s.Counterparts)
	return s
}

type lineRow struct {
	bun.BaseModel  `bun:"table:statement_lines,alias:l"`
	StatementID    int64     `bun:"statement_id,pk"`
	LineNo         int       `bun:"line_no,pk"`
	Kind           string    `bun:"kind"`
	Adjustment     bool      `bun:"adjustment"`
	RefStatementID *int64    `bun:"ref_statement_id"`
	OrderID        *int64    `bun:"order_id"`
	CanteenID      *int64    `bun:"canteen_id"`
	OperatorID     *int64    `bun:"operator_id"`
	SponsorID      *int64    `bun:"sponsor_id"`
	PledgeID       *int64    `bun:"pledge_id"`
	Day            date      `bun:"day,type:date"`
	Period         *string   `bun:"period"`
	Group          *string   `bun:"grp"`
	Tier           *int16    `bun:"tier"`
	At             time.Time `bun:"at"`
	Fen            int64     `bun:"fen"`
	Ref            string    `bun:"ref"`
	Memo           string    `bun:"memo"`
}

func newLineRow(statementID int64, l settlement.Line) lineRow {
	r := lineRow{StatementID: statementID, LineNo: l.No, Kind: string(l.Kind), Adjustment: l.Adjustment,
		RefStatementID: nullID(l.RefStatementID), OrderID: nullID(l.OrderID), CanteenID: nullID(l.CanteenID),
		SponsorID: nullID(l.SponsorID), PledgeID: nullID(l.PledgeID), Day: date(l.Day), At: l.At, Fen: l.Fen, Ref: l.Ref, Memo: l.Memo}
	if l.CanteenID != 0 {
		r.OperatorID = nullID(l.OperatorID)
	}
	if l.Period != "" {
		r.Period = ptr(string(l.Period))
	}
	if l.Group != "" {
		r.Group = ptr(string(l.Group))
	}
	if l.Tier != nil {
		r.Tier = ptr(int16(*l.Tier))
	}
	return r
}

type signoffRow struct {
	bun.BaseModel `bun:"table:statement_signoffs,alias:so"`
	ID            int64     `bun:"id,pk,autoincrement"`
	CommunityID   int64     `bun:"community_id"`
	StatementID   int64     `bun:"statement_id"`
	Seq           int       `bun:"seq"`
	Status        string    `bun:"status"`
	Comment       string    `bun:"comment"`
	ActorKind     string    `bun:"actor_kind"`
	ActorID       *int64    `bun:"actor_id"`
	ActorName     string    `bun:"actor_name"`
	At            time.Time `bun:"at,nullzero,notnull,default:current_timestamp"`
}

func (r signoffRow) signoff() settlement.Signoff {
	return settlement.Signoff{Seq: r.Seq, Status: settlement.SignoffStatus(r.Status), Comment: r.Comment,
		Actor: actorOf(r.ActorKind, r.ActorID, r.ActorName), At: r.At}
}

type attemptRow struct {
	bun.BaseModel `bun:"table:close_attempts,alias:a"`
	ID            int64           `bun:"id,pk,autoincrement"`
	CommunityID   int64           `bun:"community_id"`
	Month         string          `bun:"month"`
	Trigger       string          `bun:"trigger"`
	Outcome       string          `bun:"outcome"`
	Findings      json.RawMessage `bun:"findings,type:jsonb"`
	CloseID       *int64          `bun:"close_id"`
	ActorKind     string          `bun:"actor_kind"`
	ActorID       *int64          `bun:"actor_id"`
	ActorName     string          `bun:"actor_name"`
	At            time.Time       `bun:"at,nullzero,notnull,default:current_timestamp"`
}

func (r attemptRow) attempt() settlement.Attempt {
	a := settlement.Attempt{ID: r.ID, CommunityID: r.CommunityID, Month: parseMonth(r.Month), Trigger: settlement.Trigger(r.Trigger),
		Outcome: settlement.Outcome(r.Outcome), CloseID: deref(r.CloseID), Actor: actorOf(r.ActorKind, r.ActorID, r.ActorName),
		At: r.At, Findings: []settlement.Finding{}}
	_ = json.Unmarshal(r.Findings, &a.Findings)
	return a
}

func findingsJSON(fs []settlement.Finding) (json.RawMessage, error) {
	if fs == nil {
		fs = []settlement.Finding{}
	}
	return json.Marshal(fs)
}

// lineBatch is how many lines one INSERT writes.
const lineBatch = 1000

// closeAudit is the audit record of a close.
type closeAudit struct {
	settlement.Close
	Totals []statementTotal `json:"statements_totals"`
}

type statementTotal struct {
	ID        int64            `json:"id"`
	Party     settlement.Party `json:"party"`
	LedgerFen int64            `json:"ledger_fen"`
	TotalFen  int64            `json:"total_fen"`
}

// Close implements settlement.Store.
func (s *Store) Close(ctx context.Context, sc settlement.Scope, c settlement.Close,
	decide func(settlement.Facts) ([]settlement.Statement, []settlement.Finding, error)) (settlement.Close, error) {
	c.CommunityID = sc.CommunityID
	c.Actor = sc.Actor
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The key first: a concurrent closer of the same month waits here for this
		// transaction and then finds the month closed.
		err := tx.NewRaw(`INSERT INTO month_closes (community_id, month, trigger, override, override_reason, actor_kind, actor_id, actor_name)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (community_id, month) DO NOTHING RETURNING id, closed_at`,
			c.CommunityID, c.Month.String(), string(c.Trigger), c.Override, c.OverrideReason, string(c.Actor.Kind),
			actorID(c.Actor), c.Actor.Name).Scan(ctx, &c.ID, &c.ClosedAt)
		if postgres.IsNoRows(err) {
			return settlement.ErrMonthClosed
		}
		if err != nil {
			return fmt.Errorf("insert close: %w", err)
		}
		if err := lockCommunity(ctx, tx, c.CommunityID); err != nil {
			return err
		}
		f, err := readFacts(ctx, tx, c.CommunityID, c.Month)
		if err != nil {
			return err
		}
		stmts, findings, err := decide(f)
		if err != nil {
			return err
		}
		c.Findings = findings
		if c.Findings == nil {
			c.Findings = []settlement.Finding{}
		}
		c.Statements = len(stmts)
		rec := closeAudit{Close: c, Totals: []statementTotal{}}
		for _, st := range stmts {
			id, err := writeStatement(ctx, tx, c, st)
			if err != nil {
				return err
			}
			rec.Totals = append(rec.Totals, statementTotal{ID: id, Party: st.Party, LedgerFen: st.Totals.LedgerFen, TotalFen: st.Totals.TotalFen})
		}
		fj, err := findingsJSON(c.Findings)
		if err != nil {
			return err
		}
		closeID := c.ID
		if _, err := tx.NewInsert().Model(&attemptRow{CommunityID: c.CommunityID, Month: c.Month.String(), Trigger: string(c.Trigger),
			Outcome: string(settlement.Closed), Findings: fj, CloseID: &closeID, ActorKind: string(c.Actor.Kind),
			ActorID: actorID(c.Actor), ActorName: c.Actor.Name}).Exec(ctx); err != nil {
			return fmt.Errorf("insert attempt: %w", err)
		}
		return auditdb.Write(ctx, tx, c.CommunityID, c.Actor, settlement.ActionClose, settlement.EntityMonth, c.Month.String(), nil, rec)
	})
	if err != nil {
		return settlement.Close{}, fmt.Errorf("settlementdb: close %s: %w", c.Month, err)
	}
	return c, nil
}

// writeStatement writes st of close c with its lines and its Issued sign-off.
func writeStatement(ctx context.Context, tx bun.IDB, c settlement.Close, st settlement.Statement) (int64, error) {
	cp, err := json.Marshal(st.Counterparts)
	if err != nil {
		return 0, err
	}
	t := st.Totals
	r := statementRow{CommunityID: c.CommunityID, CloseID: c.ID, Month: c.Month.String(), Kind: string(st.Party.Kind),
		MerchantID: st.MerchantID, PartyName: st.PartyName, Meals: t.Meals, SubsidyFen: t.SubsidyFen, ReversalFen: t.ReversalFen,
		PaymentFen: t.PaymentFen, CashFen: t.CashFen, RefundFen: t.RefundFen, AdjustmentFen: t.AdjustmentFen,
		LedgerFen: t.LedgerFen, TotalFen: t.TotalFen, Counterparts: cp, LineCount: len(st.Lines)}
	if st.Party.Kind == settlement.Sponsor {
		r.SponsorID = ptr(st.Party.ID)
	}
	if _, err := tx.NewInsert().Model(&r).Returning("id").Exec(ctx); err != nil {
		return 0, fmt.Errorf("insert statement of %s %d: %w", st.Party.Kind, st.Party.ID, err)
	}
	for i := 0; i < len(st.Lines); i += lineBatch {
		batch := st.Lines[i:min(i+lineBatch, len(st.Lines))]
		rows := make([]lineRow, len(batch))
		for j, l := range batch {
			rows[j] = newLineRow(r.ID, l)
		}
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return 0, fmt.Errorf("insert lines of statement %d: %w", r.ID, err)
		}
	}
	if _, err := tx.NewInsert().Model(&signoffRow{CommunityID: c.CommunityID, StatementID: r.ID, Seq: 1,
		Status: string(settlement.Issued), ActorKind: string(c.Actor.Kind), ActorID: actorID(c.Actor),
		ActorName: c.Actor.Name}).Exec(ctx); err != nil {
		return 0, fmt.Errorf("issue statement %d: %w", r.ID, err)
	}
	return r.ID, nil
}

// RecordAttempt implements settlement.Store.
func (s *Store) RecordAttempt(ctx context.Context, a settlement.Attempt) (settlement.Attempt, error) {
	if a.Outcome != settlement.Blocked {
		return settlement.Attempt{}, errors.New("settlementdb: only blocked attempts are recorded alone")
	}
	fj, err := findingsJSON(a.Findings)
	if err != nil {
		return settlement.Attempt{}, err
	}
	r := attemptRow{CommunityID: a.CommunityID, Month: a.Month.String(), Trigger: string(a.Trigger), Outcome: string(a.Outcome),
		Findings: fj, ActorKind: string(a.Actor.Kind), ActorID: actorID(a.Actor), ActorName: a.Actor.Name}
	if _, err := s.db.NewInsert().Model(&r).Returning("id, at").Exec(ctx); err != nil {
		return settlement.Attempt{}, fmt.Errorf("settlementdb: record attempt %s: %w", a.Month, err)
	}
	return r.attempt(), nil
}

// Closes implements settlement.Store.
func (s *Store) Closes(ctx context.Context, communityID int64) ([]settlement.Close, error) {
	var rows []struct {
		ID             int64           `bun:"id"`
		CommunityID    int64           `bun:"community_id"`
		Month          string          `bun:"month"`
		Trigger        string          `bun:"trigger"`
		Override       bool            `bun:"override"`
		OverrideReason string          `bun:"override_reason"`
		ActorKind      string          `bun:"actor_kind"`
		ActorID        *int64          `bun:"actor_id"`
		ActorName      string          `bun:"actor_name"`
		ClosedAt       time.Time       `bun:"closed_at"`
		Findings       json.RawMessage `bun:"findings"`
		Statements     int             `bun:"statements"`
	}
	err := s.db.NewRaw(`SELECT c.id, c.community_id, c.month, c.trigger, c.override, c.override_reason, c.actor_kind, c.actor_id,
			c.actor_name, c.closed_at, coalesce((SELECT a.findings FROM close_attempts a WHERE a.close_id = c.id), '[]') AS findings,
			(SELECT count(*) FROM statements st WHERE st.close_id = c.id) AS statements
		FROM month_closes c WHERE c.community_id = ? ORDER BY c.month DESC`, communityID).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("settlementdb: closes: %w", err)
	}
	out := make([]settlement.Close, len(rows))
	for i, r := range rows {
		out[i] = settlement.Close{ID: r.ID, CommunityID: r.CommunityID, Month: parseMonth(r.Month), Trigger: settlement.Trigger(r.Trigger),
			Override: r.Override, OverrideReason: r.OverrideReason, Actor: actorOf(r.ActorKind, r.ActorID, r.ActorName),
			ClosedAt: r.ClosedAt, Statements: r.Statements, Findings: []settlement.Finding{}}
		_ = json.Unmarshal(r.Findings, &out[i].Findings)
	}
	return out, nil
}

// Attempts implements settlement.Store.
func (s *Store) Attempts(ctx context.Context, communityID int64, limit int) ([]settlement.Attempt, error) {
	var rows []attemptRow
	if err := s.db.NewSelect().Model(&rows).Where("community_id = ?", communityID).OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("settlementdb: attempts: %w", err)
	}
	out := make([]settlement.Attempt, len(rows))
	for i, r := range rows {
		out[i] = r.attempt()
	}
	return out, nil
}

// Calendar implements settlement.Store.
func (s *Store) Calendar(ctx context.Context, communityID int64) (settlement.Month, []settlement.Month, error) {
	return calendar(ctx, s.db, communityID)
}

// Communities implements settlement.Store.
func (s *Store) Communities(ctx context.Context) ([]int64, error) {
	var ids []int64
	if err := s.db.NewRaw("SELECT id FROM communities ORDER BY id").Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("settlementdb: communities: %w", err)
	}
	return ids, nil
}
