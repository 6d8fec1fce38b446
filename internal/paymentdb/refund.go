package paymentdb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/postgres"
)

var _ payment.RefundStore = (*Store)(nil)

type refundRow struct {
	bun.BaseModel `bun:"table:refunds,alias:rf"`
	ID            int64           `bun:"id,pk,autoincrement"`
	CommunityID   int64           `bun:"community_id"`
	OrderID       int64           `bun:"order_id"`
	PaymentID     int64           `bun:"payment_id"`
	OutRefundNo   string          `bun:"out_refund_no"`
	AmountFen     int64           `bun:"amount_fen"`
	Reason        string          `bun:"reason"`
	RequestedBy   string          `bun:"requested_by"`
	Kind          string          `bun:"kind"`
	Lines         json.RawMessage `bun:"lines,type:jsonb"`
	Status        string          `bun:"status"`
	RefundID      string          `bun:"refund_id"`
	CreatedAt     time.Time       `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	SettledAt     *time.Time      `bun:"settled_at"`
	// Read with the payment it returns.
	OutTradeNo string `bun:"out_trade_no,scanonly"`
	PaidFen    int64  `bun:"paid_fen,scanonly"`
}

func (r refundRow) refund() payment.Refund {
	out := payment.Refund{ID: r.ID, OrderID: r.OrderID, OutRefundNo: r.OutRefundNo, OutTradeNo: r.OutTradeNo, PaidFen: r.PaidFen,
		AmountFen: r.AmountFen, Reason: r.Reason, Kind: r.Kind, Status: r.Status, CreatedAt: r.CreatedAt, Lines: []payment.RefundLine{}}
	_ = json.Unmarshal(r.Lines, &out.Lines)
	return out
}

func selectRefund(db bun.IDB, rows any) *bun.SelectQuery {
	return db.NewSelect().Model(rows).ColumnExpr("rf.*, p.out_trade_no, p.amount_fen AS paid_fen").
		Join("JOIN payments AS p ON p.id = rf.payment_id")
}

// RequestRefund implements payment.RefundStore: against the order's credited WeChat
// payment, never more than it paid in all, idempotent on the out_refund_no.
func (s *Store) RequestRefund(ctx context.Context, r payment.Refund, communityID int64) (payment.Refund, error) {
	var out payment.Refund
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var prev refundRow
		err := selectRefund(tx, &prev).Where("rf.out_refund_no = ?", r.OutRefundNo).Scan(ctx)
		if err == nil {
			if prev.AmountFen != r.AmountFen || prev.OrderID != r.OrderID {
				return apperr.New(apperr.Conflict, "idempotency_key_reused", "这个幂等键已用于另一笔退款 / this Idempotency-Key was used for a different refund")
			}
			out = prev.refund()
			return nil
		}
		if !postgres.IsNoRows(err) {
			return err
		}
		var pay paymentRow
		err = tx.NewSelect().Model(&pay).Where("community_id = ? AND order_id = ? AND outcome = 'credited'", communityID, r.OrderID).For("UPDATE").Scan(ctx)
		if postgres.IsNoRows(err) {
			return apperr.New(apperr.FailedPrecondition, "not_paid_by_wechat", "这个订单没有微信支付记录 / the order has no WeChat payment")
		}
		if err != nil {
			return err
		}
		var asked int64
		if err := tx.NewRaw("SELECT coalesce(sum(amount_fen), 0) FROM refunds WHERE payment_id = ? AND status NOT IN ('closed', 'abnormal')", pay.ID).Scan(ctx, &asked); err != nil {
			return err
		}
		if asked+r.AmountFen > pay.AmountFen {
			return apperr.New(apperr.Conflict, "refund_exceeds_paid", fmt.Sprintf("最多还能退 %d 分 / at most %d fen is left to refund", pay.AmountFen-asked, pay.AmountFen-asked))
		}
		lines, _ := json.Marshal(r.Lines)
		row := refundRow{CommunityID: communityID, OrderID: r.OrderID, PaymentID: pay.ID, OutRefundNo: r.OutRefundNo,
			AmountFen: r.AmountFen, Reason: r.Reason, RequestedBy: "order", Kind: "order", Lines: lines, Status: "requested"}
		if _, err := tx.NewInsert().Model(&row).Returning("id, created_at").Exec(ctx); err != nil {
			return err
		}
		row.OutTradeNo, row.PaidFen = pay.OutTradeNo, pay.AmountFen
		out = row.refund()
		return nil
	})
	if err != nil {
		return payment.Refund{}, fmt.Errorf("paymentdb: request refund: %w", err)
	}
	return out, nil
}

// RefundByNo implements payment.RefundStore.
func (s *Store) RefundByNo(ctx context.Context, no string) (payment.Refund, error) {
	var r refundRow
	err := selectRefund(s.db, &r).Where("rf.out_refund_no = ?", no).Scan(ctx)
	if postgres.IsNoRows(err) {
		return payment.Refund{}, apperr.New(apperr.NotFound, "refund_not_found", "no such refund")
	}
	if err != nil {
		return payment.Refund{}, fmt.Errorf("paymentdb: refund %s: %w", no, err)
	}
	return r.refund(), nil
}

// MarkSent implements payment.RefundStore.
func (s *Store) MarkSent(ctx context.Context, no, refundID string) error {
	_, err := s.db.NewUpdate().Table("refunds").Set("status = 'processing', refund_id = ?", refundID).
		Where("out_refund_no = ? AND status = 'requested'", no).Exec(ctx)
	if err != nil {
		return fmt.Errorf("paymentdb: mark refund %s sent: %w", no, err)
	}
	return nil
}

// Settle implements payment.RefundStore.
func (s *Store) Settle(ctx context.Context, no, status, refundID string) (bool, error) {
	final := map[string]string{payment.RefundSuccess: "success", payment.RefundClosed: "closed", payment.RefundAbnormal: "abnormal"}[status]
	if final == "" {
		return false, apperr.New(apperr.Invalid, "refund_status", "not a final refund status: "+status)
	}
	changed := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var r refundRow
		err := tx.NewSelect().Model(&r).Where("out_refund_no = ?", no).For("UPDATE").Scan(ctx)
		if postgres.IsNoRows(err) {
			return apperr.New(apperr.Invalid, "unknown_refund", "unknown out_refund_no")
		}
		if err != nil {
			return err
		}
		if r.Status == "success" || r.Status == "closed" || r.Status == "abnormal" {
			return nil // settled before: a duplicate notification or query
		}
		if refundID == "" {
			refundID = r.RefundID
		}
		if _, err := tx.NewUpdate().Table("refunds").Set("status = ?, refund_id = ?, settled_at = now()", final, refundID).
			Where("id = ?", r.ID).Exec(ctx); err != nil {
			return err
		}
		changed = true
		if final == "success" && r.Kind == "order" {
			if _, err := s.orders.Refunded(ctx, tx, r.CommunityID, r.OrderID, r.AmountFen); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("paymentdb: settle refund %s: %w", no, err)
	}
	return changed, nil
}

// RefundsDue implements payment.RefundStore: refunds not sent yet, and those sent
// before sentBefore that have no final state.
func (s *Store) RefundsDue(ctx context.Context, sentBefore time.Time, limit int) ([]payment.Refund, error) {
	var rows []refundRow
	err := selectRefund(s.db, &rows).
		Where("rf.status = 'requested' OR (rf.status = 'processing' AND rf.created_at < ?)", sentBefore).
		OrderExpr("rf.id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("paymentdb: refunds due: %w", err)
	}
	out := make([]payment.Refund, len(rows))
	for i, r := range rows {
		out[i] = r.refund()
	}
	return out, nil
}
