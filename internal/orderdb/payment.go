package orderdb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Payable returns an order and the WeChat openid of the diner who placed it ("" when
// staff placed it or the diner has no WeChat login).
func (s *Store) Payable(ctx context.Context, communityID, orderID int64) (order.Order, string, error) {
	o, err := s.Get(ctx, communityID, orderID)
	if err != nil {
		return order.Order{}, "", err
	}
	if o.PlacedByKind != "diner" {
		return o, "", nil
	}
	var openid *string
	err = s.db.NewRaw("SELECT openid FROM diners WHERE community_id = ? AND id = ?", communityID, o.PlacedByID).Scan(ctx, &openid)
	if err != nil && !postgres.IsNoRows(err) {
		return order.Order{}, "", fmt.Errorf("orderdb: payer of order %d: %w", orderID, err)
	}
	if openid == nil {
		return o, "", nil
	}
	return o, *openid, nil
}

// MarkPaid, inside the caller's transaction db, moves a pending order to paid by WeChat
// at the given time, commits its subsidy holds and writes the order.paid outbox row.
// An order that is not pending is returned with a FailedPrecondition error and left alone.
func (s *Store) MarkPaid(ctx context.Context, db bun.IDB, communityID, orderID int64, at time.Time) (order.Order, error) {
	var r orderRow
	err := db.NewSelect().Model(&r).Where("community_id = ? AND id = ?", communityID, orderID).For("UPDATE").Scan(ctx)
	if postgres.IsNoRows(err) {
		return order.Order{}, order.ErrNotFound
	}
	if err != nil {
		return order.Order{}, fmt.Errorf("orderdb: lock order %d: %w", orderID, err)
	}
	if _, err := order.Status(r.Status).Transition(order.Paid); err != nil {
		return r.order(), err
	}
	r.Status, r.PaidAt, r.PaymentMethod = string(order.Paid), &at, string(order.WeChat)
	if _, err := db.NewUpdate().Model(&r).Column("status", "paid_at", "payment_method").Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
		return order.Order{}, fmt.Errorf("orderdb: mark order %d paid: %w", orderID, err)
	}
	if err := s.ledger.Commit(ctx, db, communityID, orderID); err != nil {
		return order.Order{}, err
	}
	o := r.order()
	if err := outbox(ctx, db, communityID, "order.paid", o); err != nil {
		return order.Order{}, err
	}
	return o, nil
}

// Refunded, inside the caller's transaction db, records that amountFen of a paid order
// went back to the diner: refunded_fen grows, the order becomes refunded when all of
// it is, the subsidy it spent is reversed in the same proportion, and an outbox row is
// written. FailedPrecondition when the order was not paid or the amount is too much.
func (s *Store) Refunded(ctx context.Context, db bun.IDB, communityID, orderID, amountFen int64) (order.Order, error) {
	var r orderRow
	err := db.NewSelect().Model(&r).Where("community_id = ? AND id = ?", communityID, orderID).For("UPDATE").Scan(ctx)
	if postgres.IsNoRows(err) {
		return order.Order{}, order.ErrNotFound
	}
	if err != nil {
		return order.Order{}, fmt.Errorf("orderdb: lock order %d: %w", orderID, err)
	}
	if r.PaidAt == nil || r.RefundedFen+amountFen > r.PayFen || amountFen <= 0 {
		return r.order(), apperr.New(apperr.FailedPrecondition, "refund_exceeds_paid", "退款超过实付金额 / the refund exceeds what was paid")
	}
	r.RefundedFen += amountFen
	cols := []string{"refunded_fen"}
	if r.RefundedFen == r.PayFen {
		if _, err := order.Status(r.Status).Transition(order.Refunded); err != nil {
			return r.order(), err
		}
		r.Status = string(order.Refunded)
		cols = append(cols, "status")
	}
	if _, err := db.NewUpdate().Model(&r).Column(cols...).Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
		return order.Order{}, fmt.Errorf("orderdb: refund order %d: %w", orderID, err)
	}
	if r.SubsidyFen > 0 {
		if err := s.ledger.Reverse(ctx, db, communityID, orderID, amountFen, r.PayFen); err != nil {
			return order.Order{}, err
		}
	}
	if r.Status == string(order.Refunded) {
		if err := restoreClaims(ctx, db, orderID); err != nil {
			return order.Order{}, err
		}
	}
	o := r.order()
	if err := outbox(ctx, db, communityID, "order.refunded", o); err != nil {
		return order.Order{}, err
	}
	return o, nil
}

// restoreClaims gives back, for a fully refunded order, the limit claims whose policy
// version says RestoreOnRefund.
func restoreClaims(ctx context.Context, db bun.IDB, orderID int64) error {
	var claims []claimRow
	if err := db.NewSelect().Model(&claims).Where("order_id = ? AND NOT released", orderID).Scan(ctx); err != nil {
		return fmt.Errorf("orderdb: claims of order %d: %w", orderID, err)
	}
	for _, c := range claims {
		var rules []byte
		err := db.NewRaw(`SELECT pv.rules FROM policy_versions pv
			WHERE pv.policy_id = ? AND pv.version = (SELECT max(policy_version) FROM order_subsidies WHERE order_id = ? AND policy_id = ?)`,
			c.PolicyID, orderID, c.PolicyID).Scan(ctx, &rules)
		if err != nil {
			return fmt.Errorf("orderdb: policy of claim: %w", err)
		}
		var p subsidy.Policy
		if err := json.Unmarshal(rules, &p); err != nil {
			return fmt.Errorf("orderdb: policy rules: %w", err)
		}
		restore := false
		for _, l := range p.Limits {
			restore = restore || (l.RestoreOnRefund && windowOf(c.WindowKey) == l.Window)
		}
		if !restore {
			continue
		}
		if _, err := db.NewRaw(`UPDATE limit_usage SET used_count = used_count - ?, used_fen = used_fen - ?
			WHERE policy_id = ? AND diner_id = ? AND window_key = ?`, c.Count, c.Fen, c.PolicyID, c.DinerID, c.WindowKey).Exec(ctx); err != nil {
			return err
		}
		if _, err := db.NewRaw("UPDATE order_claims SET released = true WHERE order_id = ? AND policy_id = ? AND window_key = ?",
			orderID, c.PolicyID, c.WindowKey).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// windowOf tells a stored window key's kind: "2026-11-28/lunch", "2026-11-28" or "2026-11".
func windowOf(key string) subsidy.LimitWindow {
	switch {
	case strings.Contains(key, "/"):
		return subsidy.PerMeal
	case len(key) == len("2026-11-28"):
		return subsidy.PerDay
	}
	return subsidy.PerMonth
}
