// Package paymentdb stores WeChat Pay intents, payments and refunds in PostgreSQL.
// Recording a payment is one transaction: the payment row (unique on transaction_id,
// so a duplicate changes nothing), the checks against the order, and the order's move
// to paid with its ledger commit and outbox row.
package paymentdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// Orders moves an order to paid inside the caller's transaction (orderdb.Store).
type Orders interface {
	MarkPaid(ctx context.Context, db bun.IDB, communityID, orderID int64, at time.Time) (order.Order, error)
	Refunded(ctx context.Context, db bun.IDB, communityID, orderID, amountFen int64) (order.Order, error)
}

// Store implements payment.Store.
type Store struct {
	db     *bun.DB
	orders Orders
}

var _ payment.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *bun.DB, orders Orders) *Store { return &Store{db: db, orders: orders} }

type intentRow struct {
	bun.BaseModel `bun:"table:payment_intents,alias:pi"`
	ID            int64      `bun:"id,pk,autoincrement"`
	CommunityID   int64      `bun:"community_id"`
	OrderID       int64      `bun:"order_id"`
	OutTradeNo    string     `bun:"out_trade_no"`
	AmountFen     int64      `bun:"amount_fen"`
	PayerOpenID   string     `bun:"payer_openid"`
	PrepayID      string     `bun:"prepay_id"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	Status        string     `bun:"status"`
	LastQueriedAt *time.Time `bun:"last_queried_at"`
	Queries       int        `bun:"queries"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

func (r intentRow) intent() payment.Intent {
	return payment.Intent{ID: r.ID, CommunityID: r.CommunityID, OrderID: r.OrderID, OutTradeNo: r.OutTradeNo,
		AmountFen: r.AmountFen, PayerOpenID: r.PayerOpenID, PrepayID: r.PrepayID, ExpiresAt: r.ExpiresAt,
		Status: r.Status, CreatedAt: r.CreatedAt}
}

// OpenIntent implements payment.Store.
func (s *Store) OpenIntent(ctx context.Context, orderID int64) (payment.Intent, error) {
	var r intentRow
	err := s.db.NewSelect().Model(&r).Where("order_id = ? AND status = 'open'", orderID).Scan(ctx)
	if postgres.IsNoRows(err) {
		return payment.Intent{}, apperr.New(apperr.NotFound, "intent_not_found", "no open payment")
	}
	if err != nil {
		return payment.Intent{}, fmt.Errorf("paymentdb: open intent of order %d: %w", orderID, err)
	}
	return r.intent(), nil
}

// NewIntent implements payment.Store: it closes the order's open intent, if any, and
// opens one with a new out_trade_no.
func (s *Store) NewIntent(ctx context.Context, in payment.Intent) (payment.Intent, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	r := intentRow{CommunityID: in.CommunityID, OrderID: in.OrderID, OutTradeNo: fmt.Sprintf("CT%d%s", in.OrderID, hex.EncodeToString(b)),
		AmountFen: in.AmountFen, PayerOpenID: in.PayerOpenID, ExpiresAt: in.ExpiresAt, Status: "open", CreatedAt: in.CreatedAt}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Table("payment_intents").Set("status = 'closed', updated_at = now()").
			Where("order_id = ? AND status = 'open'", in.OrderID).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(&r).Returning("id, created_at").Exec(ctx)
		return err
	})
	if postgres.IsUniqueViolation(err, "") {
		return payment.Intent{}, apperr.New(apperr.Conflict, "payment_in_progress", "正在发起支付，请稍候 / a payment is being started, try again")
	}
	if err != nil {
		return payment.Intent{}, fmt.Errorf("paymentdb: new intent for order %d: %w", in.OrderID, err)
	}
	return r.intent(), nil
}

// SetPrepay implements payment.Store.
func (s *Store) SetPrepay(ctx context.Context, intentID int64, prepayID string) error {
	_, err := s.db.NewUpdate().Table("payment_intents").Set("prepay_id = ?, updated_at = now()", prepayID).Where("id = ?", intentID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("paymentdb: set prepay of intent %d: %w", intentID, err)
	}
	return nil
}

// DueForQuery implements payment.Store: open intents older than olderThan whose last
// query is older than a backoff that doubles with each query (1, 2, 4 … up to 30 minutes).
func (s *Store) DueForQuery(ctx context.Context, olderThan, now time.Time, limit int) ([]payment.Intent, error) {
	var rows []intentRow
	err := s.db.NewSelect().Model(&rows).
		Where("status = 'open' AND created_at < ?", olderThan).
		Where("last_queried_at IS NULL OR last_queried_at < ?::timestamptz - make_interval(secs => least(60 * power(2, queries), 1800))", now).
		OrderExpr("coalesce(last_queried_at, created_at)").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("paymentdb: due for query: %w", err)
	}
	out := make([]payment.Intent, len(rows))
	for i, r := range rows {
		out[i] = r.intent()
	}
	return out, nil
}

// MarkQueried implements payment.Store.
func (s *Store) MarkQueried(ctx context.Context, intentID int64, at time.Time) error {
	_, err := s.db.NewUpdate().Table("payment_intents").Set("last_queried_at = ?, queries = queries + 1", at).Where("id = ?", intentID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("paymentdb: mark intent %d queried: %w", intentID, err)
	}
	return nil
}

// CloseIntent implements payment.Store.
func (s *Store) CloseIntent(ctx context.Context, intentID int64) error {
	_, err := s.db.NewUpdate().Table("payment_intents").Set("status = 'closed', updated_at = now()").
		Where("id = ? AND status = 'open'", intentID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("paymentdb: close intent %d: %w", intentID, err)
	}
	return nil
}

type paymentRow struct {
	bun.BaseModel `bun:"table:payments"`
	ID            int64      `bun:"id,pk,autoincrement"`
	CommunityID   int64      `bun:"community_id"`
	OrderID       int64      `bun:"order_id"`
	IntentID      int64      `bun:"intent_id"`
	TransactionID string     `bun:"transaction_id"`
	OutTradeNo    string     `bun:"out_trade_no"`
	AmountFen     int64      `bun:"amount_fen"`
	PayerOpenID   string     `bun:"payer_openid"`
	MchID         string     `bun:"mchid"`
	AppID         string     `bun:"appid"`
	SuccessTime   *time.Time `bun:"success_time"`
	Source        string     `bun:"source"`
	Outcome       string     `bun:"outcome"`
	FlagReason    string     `bun:"flag_reason"`
}

// Record implements payment.Store.
func (s *Store) Record(ctx context.Context, t payment.Transaction, src payment.Source, want payment.Merchant) (payment.Outcome, error) {
	var outcome payment.Outcome
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var in intentRow
		err := tx.NewSelect().Model(&in).Where("out_trade_no = ?", t.OutTradeNo).For("UPDATE").Scan(ctx)
		if postgres.IsNoRows(err) {
			return payment.ErrUnknownTrade
		}
		if err != nil {
			return err
		}
		p := paymentRow{CommunityID: in.CommunityID, OrderID: in.OrderID, IntentID: in.ID, TransactionID: t.TransactionID,
			OutTradeNo: t.OutTradeNo, AmountFen: t.AmountFen, PayerOpenID: t.PayerOpenID, MchID: t.MchID, AppID: t.AppID,
			Source: string(src), Outcome: string(payment.Credited)}
		if !t.SuccessTime.IsZero() {
			p.SuccessTime = &t.SuccessTime
		}
		res, err := tx.NewInsert().Model(&p).On("CONFLICT (transaction_id) DO NOTHING").Returning("id").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			outcome = payment.Duplicate
			return nil
		}
		switch {
		case t.MchID != want.MchID || t.AppID != want.AppID:
			outcome, p.FlagReason = payment.Flagged, fmt.Sprintf("merchant %s / app %s is not ours", t.MchID, t.AppID)
		case t.AmountFen != in.AmountFen:
			outcome, p.FlagReason = payment.Flagged, fmt.Sprintf("paid %d fen, the order asks %d fen", t.AmountFen, in.AmountFen)
		default:
			at := t.SuccessTime
			if at.IsZero() {
				at = time.Now()
			}
			_, err := s.orders.MarkPaid(ctx, tx, in.CommunityID, in.OrderID, at)
			switch {
			case err == nil:
				outcome = payment.Credited
				if _, err := tx.NewUpdate().Table("payment_intents").Set("status = 'paid', updated_at = now()").Where("id = ?", in.ID).Exec(ctx); err != nil {
					return err
				}
			case apperr.KindOf(err) == apperr.FailedPrecondition:
				outcome, p.FlagReason = payment.RefundDue, "the order was no longer awaiting payment"
				if err := s.refundDue(ctx, tx, p); err != nil {
					return err
				}
			default:
				return err
			}
		}
		p.Outcome = string(outcome)
		_, err = tx.NewUpdate().Model(&p).Column("outcome", "flag_reason").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("paymentdb: record %s: %w", t.TransactionID, err)
	}
	return outcome, nil
}

// refundDue records the automatic refund of a payment the order cannot take, for the
// refund task to carry out.
func (s *Store) refundDue(ctx context.Context, tx bun.IDB, p paymentRow) error {
	no := "RF" + p.TransactionID
	if len(no) > 64 {
		no = no[:64]
	}
	if _, err := tx.NewRaw(`INSERT INTO refunds (community_id, order_id, payment_id, out_refund_no, amount_fen, reason, requested_by, kind)
		VALUES (?, ?, ?, ?, ?, 'order cancelled or expired before payment arrived', 'system', 'return')`,
		p.CommunityID, p.OrderID, p.ID, no, p.AmountFen).Exec(ctx); err != nil {
		return err
	}
	return postgres.WriteOutbox(ctx, tx, p.CommunityID, "payment.refund_due",
		map[string]any{"order_id": p.OrderID, "out_refund_no": no})
}

// PaymentsOf implements payment.Store.
func (s *Store) PaymentsOf(ctx context.Context, orderID int64) ([]payment.Payment, error) {
	var rows []paymentRow
	if err := s.db.NewSelect().Model(&rows).Where("order_id = ?", orderID).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("paymentdb: payments of order %d: %w", orderID, err)
	}
	out := make([]payment.Payment, len(rows))
	for i, r := range rows {
		out[i] = r.payment()
	}
	return out, nil
}

// NeedingAttention implements payment.Store: the community's flagged payments and those
// sent back, newest first.
func (s *Store) NeedingAttention(ctx context.Context, communityID int64, limit int) ([]payment.Payment, error) {
	var rows []paymentRow
	err := s.db.NewSelect().Model(&rows).Where("community_id = ? AND outcome IN ('flagged', 'refund_due')", communityID).
		OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("paymentdb: payments needing attention: %w", err)
	}
	out := make([]payment.Payment, len(rows))
	for i, r := range rows {
		out[i] = r.payment()
	}
	return out, nil
}

func (r paymentRow) payment() payment.Payment {
	return payment.Payment{ID: r.ID, OrderID: r.OrderID, TransactionID: r.TransactionID, OutTradeNo: r.OutTradeNo,
		AmountFen: r.AmountFen, Source: payment.Source(r.Source), Outcome: payment.Outcome(r.Outcome), FlagReason: r.FlagReason}
}
