// Package orderdb stores orders in PostgreSQL. Placing an order is one transaction that
// takes supply from the menu (menu_items.sold, never above supply), holds the subsidy in
// the ledger, claims limit slots (limit_usage, whose CHECKs make a double claim
// impossible), and writes the order with its outbox rows.
package orderdb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Ledger moves subsidy money inside the caller's transaction (fundingdb.Ledger).
type Ledger interface {
	Hold(ctx context.Context, db bun.IDB, communityID, orderID int64, day civil.Date, holds []funding.Hold) error
	Commit(ctx context.Context, db bun.IDB, communityID, orderID int64) error
	Release(ctx context.Context, db bun.IDB, communityID, orderID int64) error
	Reverse(ctx context.Context, db bun.IDB, communityID, orderID int64, refundedFen, orderPaidTotalFen int64) error
	Available(ctx context.Context, db bun.IDB, communityID int64, pledgeIDs []int64, day civil.Date) (map[int64]int64, error)
}

// Store implements order.Store.
type Store struct {
	db     *bun.DB
	ledger Ledger
}

var _ order.Store = (*Store)(nil)

// New returns a Store on db moving subsidy money through ledger.
func New(db *bun.DB, ledger Ledger) *Store { return &Store{db: db, ledger: ledger} }

type orderRow struct {
	bun.BaseModel   `bun:"table:orders,alias:o"`
	ID              int64         `bun:"id,pk,autoincrement"`
	CommunityID     int64         `bun:"community_id"`
	CanteenID       int64         `bun:"canteen_id"`
	MenuID          int64         `bun:"menu_id"`
	DinerID         *int64        `bun:"diner_id"`
	PlacedByKind    string        `bun:"placed_by_kind"`
	PlacedByID      int64         `bun:"placed_by_id"`
	Day             postgres.Date `bun:"day,type:date"`
	Period          string        `bun:"period"`
	Kind            string        `bun:"kind"`
	DeliveryAddress string        `bun:"delivery_address"`
	Status          string        `bun:"status"`
	PaymentMethod   string        `bun:"payment_method"`
	StandardFen     int64         `bun:"standard_fen"`
	SubsidyFen      int64         `bun:"subsidy_fen"`
	PayFen          int64         `bun:"pay_fen"`
	RefundedFen     int64         `bun:"refunded_fen"`
	IdempotencyKey  string        `bun:"idempotency_key"`
	RequestHash     []byte        `bun:"request_hash"`
	PayDeadline     time.Time     `bun:"pay_deadline"`
	PaidAt          *time.Time    `bun:"paid_at"`
	CancelledAt     *time.Time    `bun:"cancelled_at"`
	CancelReason    string        `bun:"cancel_reason"`
	NotifyReady     bool          `bun:"notify_ready"`
	CreatedAt       time.Time     `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	PickupNo        *string       `bun:"pickup_no,scanonly"` // from the order's ticket; see selectOrders
}

type lineRow struct {
	bun.BaseModel `bun:"table:order_lines,alias:ol"`
	CommunityID   int64  `bun:"community_id"`
	OrderID       int64  `bun:"order_id,pk"`
	LineNo        int    `bun:"line_no,pk"`
	DishID        int64  `bun:"dish_id"`
	Name          string `bun:"name"`
	Category      string `bun:"category"`
	Qty           int    `bun:"qty"`
	UnitFen       int64  `bun:"unit_fen"`
	StandardFen   int64  `bun:"standard_fen"`
	SubsidyFen    int64  `bun:"subsidy_fen"`
	PayFen        int64  `bun:"pay_fen"`
	Note          string `bun:"note"`
}

type partRow struct {
	bun.BaseModel `bun:"table:order_subsidies,alias:os"`
	CommunityID   int64  `bun:"community_id"`
	OrderID       int64  `bun:"order_id"`
	LineNo        int    `bun:"line_no"`
	PolicyID      int64  `bun:"policy_id"`
	PolicyVersion int64  `bun:"policy_version"`
	PledgeID      int64  `bun:"pledge_id"`
	SponsorID     int64  `bun:"sponsor_id"`
	Label         string `bun:"label"`
	Fen           int64  `bun:"fen"`
}

type claimRow struct {
	bun.BaseModel `bun:"table:order_claims"`
	OrderID       int64  `bun:"order_id"`
	PolicyID      int64  `bun:"policy_id"`
	DinerID       int64  `bun:"diner_id"`
	WindowKey     string `bun:"window_key"`
	Count         int    `bun:"count"`
	Fen           int64  `bun:"fen"`
	Released      bool   `bun:"released"`
}

func (r orderRow) order() order.Order {
	return order.Order{ID: r.ID, CommunityID: r.CommunityID, CanteenID: r.CanteenID, MenuID: r.MenuID, DinerID: r.DinerID,
		PlacedByKind: r.PlacedByKind, PlacedByID: r.PlacedByID, Day: civil.Date(r.Day), Period: catalog.Period(r.Period),
		Kind: order.Kind(r.Kind), DeliveryAddress: r.DeliveryAddress, Status: order.Status(r.Status),
		Payment: order.Payment(r.PaymentMethod), StandardFen: r.StandardFen, SubsidyFen: r.SubsidyFen, PayFen: r.PayFen,
		RefundedFen: r.RefundedFen, PayDeadline: r.PayDeadline, PaidAt: r.PaidAt, CancelledAt: r.CancelledAt,
		CancelReason: r.CancelReason, NotifyReady: r.NotifyReady, CreatedAt: r.CreatedAt, Lines: []order.Line{},
		PickupNo: r.PickupNo}
}

// selectOrders selects orders into rows with the pickup number of each order's ticket
// (NULL while the kitchen has none).
func (s *Store) selectOrders(rows any) *bun.SelectQuery {
	return s.db.NewSelect().Model(rows).ColumnExpr("?TableColumns").
		ColumnExpr("(SELECT t.pickup_no FROM tickets AS t WHERE t.order_id = o.id) AS pickup_no")
}

// outbox announces an order change to the task relay, in tx.
func outbox(ctx context.Context, tx bun.IDB, communityID int64, topic string, o order.Order) error {
	return postgres.WriteOutbox(ctx, tx, communityID, topic,
		postgres.OrderEvent{OrderID: o.ID, Status: string(o.Status), CanteenID: o.CanteenID})
}

// Place implements order.Store.
func (s *Store) Place(ctx context.Context, p order.Placement) (order.Order, error) {
	o := p.Order
	r := orderRow{CommunityID: o.CommunityID, CanteenID: o.CanteenID, MenuID: o.MenuID, DinerID: o.DinerID,
		PlacedByKind: o.PlacedByKind, PlacedByID: o.PlacedByID, Day: postgres.Date(o.Day), Period: string(o.Period),
		Kind: string(o.Kind), DeliveryAddress: o.DeliveryAddress, Status: string(o.Status), PaymentMethod: string(o.Payment),
		StandardFen: o.StandardFen, SubsidyFen: o.SubsidyFen, PayFen: o.PayFen, IdempotencyKey: p.IdempotencyKey,
		RequestHash: p.RequestHash, PayDeadline: o.PayDeadline, PaidAt: o.PaidAt, CreatedAt: o.CreatedAt, NotifyReady: o.NotifyReady}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&r).Returning("id, created_at").Exec(ctx); err != nil {
			if postgres.IsUniqueViolation(err, "orders_idempotency_key") {
				return order.ErrIdempotencyReuse
			}
			return err
		}
		o.ID, o.CreatedAt = r.ID, r.CreatedAt
		if err := s.takeSupply(ctx, tx, o); err != nil {
			return err
		}
		for _, l := range o.Lines {
			lr := lineRow{CommunityID: o.CommunityID, OrderID: o.ID, LineNo: l.LineNo, DishID: l.DishID, Name: l.Name,
				Category: l.Category, Qty: l.Qty, UnitFen: l.UnitFen, StandardFen: l.StandardFen, SubsidyFen: l.SubsidyFen,
				PayFen: l.PayFen, Note: l.Note}
			if _, err := tx.NewInsert().Model(&lr).Exec(ctx); err != nil {
				return err
			}
			for _, part := range l.Parts {
				pr := partRow{CommunityID: o.CommunityID, OrderID: o.ID, LineNo: l.LineNo, PolicyID: part.PolicyID,
					PolicyVersion: part.PolicyVersion, PledgeID: part.PledgeID, SponsorID: part.SponsorID, Label: part.Label, Fen: part.Fen}
				if _, err := tx.NewInsert().Model(&pr).Exec(ctx); err != nil {
					return err
				}
			}
		}
		if len(p.Holds) > 0 {
			if err := s.ledger.Hold(ctx, tx, o.CommunityID, o.ID, o.Day, p.Holds); err != nil {
				return err
			}
		}
		if err := s.claim(ctx, tx, o, p.Claims); err != nil {
			return err
		}
		topic := "order.placed"
		if o.Status == order.Paid {
			topic = "order.paid"
			if len(p.Holds) > 0 {
				if err := s.ledger.Commit(ctx, tx, o.CommunityID, o.ID); err != nil {
					return err
				}
			}
		}
		return outbox(ctx, tx, o.CommunityID, topic, o)
	})
	if err != nil {
		return order.Order{}, fmt.Errorf("orderdb: place: %w", err)
	}
	return o, nil
}

// takeSupply raises sold for every line, in dish order so concurrent orders lock alike.
func (s *Store) takeSupply(ctx context.Context, tx bun.IDB, o order.Order) error {
	lines := slices.Clone(o.Lines)
	slices.SortFunc(lines, func(a, b order.Line) int { return int(a.DishID - b.DishID) })
	for _, l := range lines {
		res, err := tx.NewUpdate().Table("menu_items").Set("sold = sold + ?", l.Qty).
			Where("community_id = ? AND menu_id = ? AND dish_id = ? AND sold + ? <= supply", o.CommunityID, o.MenuID, l.DishID, l.Qty).
			Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			e := *order.ErrSoldOut
			e.Detail = fmt.Sprintf("%s 已售罄 / %s is sold out", l.Name, l.Name)
			e.Fields = []apperr.FieldError{{Field: fmt.Sprintf("lines[%d].qty", l.LineNo-1), Reason: "more than is left"}}
			return &e
		}
	}
	return nil
}

// claim records the order's limit claims. Concurrent claims of one diner serialise on the
// limit_usage row, and the CHECKs refuse the one that would pass the limit.
func (s *Store) claim(ctx context.Context, tx bun.IDB, o order.Order, claims []order.ClaimRow) error {
	if len(claims) == 0 {
		return nil
	}
	if o.DinerID == nil {
		return fmt.Errorf("orderdb: limit claims without a diner")
	}
	for _, c := range claims {
		_, err := tx.NewRaw(`INSERT INTO limit_usage (community_id, policy_id, diner_id, window_key, max_count, max_fen, used_count, used_fen)
			VALUES (?, ?, ?, ?, NULLIF(?, 0), NULLIF(?, 0), ?, ?)
			ON CONFLICT (policy_id, diner_id, window_key) DO UPDATE SET
				used_count = limit_usage.used_count + EXCLUDED.used_count,
				used_fen = limit_usage.used_fen + EXCLUDED.used_fen,
				max_count = EXCLUDED.max_count, max_fen = EXCLUDED.max_fen`,
			o.CommunityID, c.PolicyID, *o.DinerID, c.WindowKey, c.MaxCount, c.MaxFen, c.Count, c.Fen).Exec(ctx)
		if postgres.IsCheckViolation(err, "") {
			return order.ErrLimitReached
		}
		if err != nil {
			return err
		}
		cr := claimRow{OrderID: o.ID, PolicyID: c.PolicyID, DinerID: *o.DinerID, WindowKey: c.WindowKey, Count: c.Count, Fen: c.Fen}
		if _, err := tx.NewInsert().Model(&cr).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Available implements order.Store.
func (s *Store) Available(ctx context.Context, communityID int64, pledgeIDs []int64, day civil.Date) (map[int64]int64, error) {
	return s.ledger.Available(ctx, s.db, communityID, pledgeIDs, day)
}

// Usage implements order.Store.
func (s *Store) Usage(ctx context.Context, communityID, dinerID int64, windows []order.Window) (map[subsidy.UsageKey]subsidy.Usage, error) {
	out := map[subsidy.UsageKey]subsidy.Usage{}
	if dinerID == 0 {
		return out, nil
	}
	for _, w := range windows {
		var u struct {
			Count int   `bun:"used_count"`
			Fen   int64 `bun:"used_fen"`
		}
		err := s.db.NewRaw(`SELECT used_count, used_fen FROM limit_usage
			WHERE community_id = ? AND policy_id = ? AND diner_id = ? AND window_key = ?`,
			communityID, w.Key.PolicyID, dinerID, w.WindowKey).Scan(ctx, &u)
		if postgres.IsNoRows(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("orderdb: usage: %w", err)
		}
		out[w.Key] = subsidy.Usage{Count: u.Count, AmountFen: u.Fen}
	}
	return out, nil
}

// ByIdempotencyKey implements order.Store.
func (s *Store) ByIdempotencyKey(ctx context.Context, communityID int64, kind string, byID int64, key string) (order.Order, []byte, error) {
	var r orderRow
	err := s.selectOrders(&r).Where("community_id = ? AND placed_by_kind = ? AND placed_by_id = ? AND idempotency_key = ?",
		communityID, kind, byID, key).Scan(ctx)
	if postgres.IsNoRows(err) {
		return order.Order{}, nil, order.ErrNotFound
	}
	if err != nil {
		return order.Order{}, nil, fmt.Errorf("orderdb: by idempotency key: %w", err)
	}
	os, err := s.withLines(ctx, s.db, []orderRow{r})
	if err != nil {
		return order.Order{}, nil, err
	}
	return os[0], r.RequestHash, nil
}

// Get implements order.Store.
func (s *Store) Get(ctx context.Context, communityID, id int64) (order.Order, error) {
	var r orderRow
	err := s.selectOrders(&r).Where("community_id = ? AND id = ?", communityID, id).Scan(ctx)
	if postgres.IsNoRows(err) {
		return order.Order{}, order.ErrNotFound
	}
	if err != nil {
		return order.Order{}, fmt.Errorf("orderdb: get %d: %w", id, err)
	}
	os, err := s.withLines(ctx, s.db, []orderRow{r})
	if err != nil {
		return order.Order{}, err
	}
	return os[0], nil
}

// ListForDiner implements order.Store: orders for the diner or placed by them.
func (s *Store) ListForDiner(ctx context.Context, communityID, dinerID int64, limit int) ([]order.Order, error) {
	var rows []orderRow
	err := s.selectOrders(&rows).
		Where("community_id = ? AND (diner_id = ? OR (placed_by_kind = 'diner' AND placed_by_id = ?))", communityID, dinerID, dinerID).
		OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("orderdb: list: %w", err)
	}
	return s.withLines(ctx, s.db, rows)
}

// DuePending implements order.Store.
func (s *Store) DuePending(ctx context.Context, before time.Time, limit int) ([]order.Order, error) {
	var rows []orderRow
	err := s.db.NewSelect().Model(&rows).Where("status = 'pending' AND pay_deadline < ?", before).
		OrderExpr("pay_deadline").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("orderdb: due pending: %w", err)
	}
	out := make([]order.Order, len(rows))
	for i, r := range rows {
		out[i] = r.order()
	}
	return out, nil
}

func (s *Store) withLines(ctx context.Context, db bun.IDB, rows []orderRow) ([]order.Order, error) {
	out := make([]order.Order, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	index := map[int64]int{}
	for i, r := range rows {
		out[i] = r.order()
		ids[i] = r.ID
		index[r.ID] = i
	}
	var lines []lineRow
	if err := db.NewSelect().Model(&lines).Where("order_id IN (?)", bun.List(ids)).OrderExpr("order_id, line_no").Scan(ctx); err != nil {
		return nil, fmt.Errorf("orderdb: lines: %w", err)
	}
	var parts []partRow
	if err := db.NewSelect().Model(&parts).Where("order_id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("orderdb: subsidy parts: %w", err)
	}
	for _, l := range lines {
		o := &out[index[l.OrderID]]
		line := order.Line{LineNo: l.LineNo, DishID: l.DishID, Name: l.Name, Category: l.Category, Qty: l.Qty, UnitFen: l.UnitFen,
			StandardFen: l.StandardFen, SubsidyFen: l.SubsidyFen, PayFen: l.PayFen, Note: l.Note, Parts: []subsidy.Part{}}
		for _, p := range parts {
			if p.OrderID == l.OrderID && p.LineNo == l.LineNo {
				line.Parts = append(line.Parts, subsidy.Part{PolicyID: p.PolicyID, PolicyVersion: p.PolicyVersion,
					PledgeID: p.PledgeID, SponsorID: p.SponsorID, Label: p.Label, Fen: p.Fen})
			}
		}
		o.Lines = append(o.Lines, line)
	}
	return out, nil
}

// Cancel implements order.Store: it moves the order to cancelled or expired, restores
// supply, releases the subsidy hold and frees the limit claims, in one transaction.
func (s *Store) Cancel(ctx context.Context, communityID, id int64, to order.Status, reason string, now time.Time) (order.Order, error) {
	var out order.Order
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var r orderRow
		err := tx.NewSelect().Model(&r).Where("community_id = ? AND id = ?", communityID, id).For("UPDATE").Scan(ctx)
		if postgres.IsNoRows(err) {
			return order.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := order.Status(r.Status).Transition(to); err != nil {
			return err
		}
		r.Status, r.CancelledAt, r.CancelReason = string(to), &now, reason
		if _, err := tx.NewUpdate().Model(&r).Column("status", "cancelled_at", "cancel_reason").Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
			return err
		}
		os, err := s.withLines(ctx, tx, []orderRow{r})
		if err != nil {
			return err
		}
		out = os[0]
		lines := slices.Clone(out.Lines)
		slices.SortFunc(lines, func(a, b order.Line) int { return int(a.DishID - b.DishID) })
		for _, l := range lines {
			if _, err := tx.NewUpdate().Table("menu_items").Set("sold = sold - ?", l.Qty).
				Where("community_id = ? AND menu_id = ? AND dish_id = ?", r.CommunityID, r.MenuID, l.DishID).Exec(ctx); err != nil {
				return err
			}
		}
		if err := s.ledger.Release(ctx, tx, r.CommunityID, r.ID); err != nil {
			return err
		}
		var claims []claimRow
		if err := tx.NewSelect().Model(&claims).Where("order_id = ? AND NOT released", r.ID).Scan(ctx); err != nil {
			return err
		}
		for _, c := range claims {
			if _, err := tx.NewRaw(`UPDATE limit_usage SET used_count = used_count - ?, used_fen = used_fen - ?
				WHERE policy_id = ? AND diner_id = ? AND window_key = ?`, c.Count, c.Fen, c.PolicyID, c.DinerID, c.WindowKey).Exec(ctx); err != nil {
				return err
			}
		}
		if _, err := tx.NewUpdate().Table("order_claims").Set("released = true").Where("order_id = ?", r.ID).Exec(ctx); err != nil {
			return err
		}
		return outbox(ctx, tx, r.CommunityID, "order."+string(to), out)
	})
	if err != nil {
		return order.Order{}, fmt.Errorf("orderdb: %s order %d: %w", to, id, err)
	}
	return out, nil
}
