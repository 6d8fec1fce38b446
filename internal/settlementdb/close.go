package settlementdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

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
const lineBatch = 25000

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

// insertLinesSQL writes lines from one array per column; zero ids, empty periods and
// groups, zero days and tier -1 become NULL, and an operator only with a canteen.
const insertLinesSQL = `INSERT INTO statement_lines (statement_id, line_no, kind, adjustment, ref_statement_id, order_id,
		canteen_id, operator_id, sponsor_id, pledge_id, day, period, grp, tier, at, fen, ref, memo)
	SELECT ?, u.line_no, u.kind, u.adjustment, nullif(u.ref_statement_id, 0), nullif(u.order_id, 0),
		nullif(u.canteen_id, 0), nullif(u.operator_id, 0), nullif(u.sponsor_id, 0), nullif(u.pledge_id, 0),
		nullif(u.day, '')::date, nullif(u.period, ''), nullif(u.grp, ''), nullif(u.tier, -1)::smallint,
		u.at::timestamptz, u.fen, u.ref, u.memo
	FROM unnest(?::integer[], ?::text[], ?::boolean[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[],
		?::bigint[], ?::text[], ?::text[], ?::text[], ?::integer[], ?::text[], ?::bigint[], ?::text[], ?::text[])
		AS u (line_no, kind, adjustment, ref_statement_id, order_id, canteen_id, operator_id, sponsor_id, pledge_id,
			day, period, grp, tier, at, fen, ref, memo)`

// atLayout is how a line's instant travels to a timestamptz (microseconds, as stored).
const atLayout = "2006-01-02 15:04:05.999999Z07:00"

// insertLines writes lines of statement id with one INSERT.
func insertLines(ctx context.Context, tx bun.IDB, id int64, lines []settlement.Line) error {
	n := len(lines)
	lineNo, tier := make([]int32, n), make([]int32, n)
	kind, day, period, grp, at, ref, memo := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	adj := make([]bool, n)
	refStmt, order, canteen, operator, sponsor, pledge, fen := make([]int64, n), make([]int64, n), make([]int64, n),
		make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, l := range lines {
		lineNo[i], kind[i], adj[i] = int32(l.No), string(l.Kind), l.Adjustment
		refStmt[i], order[i], canteen[i], sponsor[i], pledge[i] = l.RefStatementID, l.OrderID, l.CanteenID, l.SponsorID, l.PledgeID
		if l.CanteenID != 0 {
			operator[i] = l.OperatorID
		}
		if !l.Day.IsZero() {
			day[i] = l.Day.String()
		}
		period[i], grp[i] = string(l.Period), string(l.Group)
		tier[i] = -1
		if l.Tier != nil {
			tier[i] = int32(*l.Tier)
		}
		at[i] = l.At.Format(atLayout)
		fen[i], ref[i], memo[i] = l.Fen, l.Ref, l.Memo
	}
	_, err := tx.NewRaw(insertLinesSQL, id, pgdialect.Array(lineNo), pgdialect.Array(kind), pgdialect.Array(adj),
		pgdialect.Array(refStmt), pgdialect.Array(order), pgdialect.Array(canteen), pgdialect.Array(operator),
		pgdialect.Array(sponsor), pgdialect.Array(pledge), pgdialect.Array(day), pgdialect.Array(period),
		pgdialect.Array(grp), pgdialect.Array(tier), pgdialect.Array(at), pgdialect.Array(fen), pgdialect.Array(ref),
		pgdialect.Array(memo)).Exec(ctx)
	return err
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
		if err := insertLines(ctx, tx, r.ID, st.Lines[i:min(i+lineBatch, len(st.Lines))]); err != nil {
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
