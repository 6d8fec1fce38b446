package orderdb

import (
	"context"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/postgres"
)

var _ order.ReadyNotices = (*Store)(nil)

// ReadyNotice implements order.ReadyNotices.
func (s *Store) ReadyNotice(ctx context.Context, communityID, orderID int64) (order.ReadyMessage, bool, error) {
	var row struct {
		OpenID *string `bun:"openid"`
		Pickup string  `bun:"pickup_no"`
	}
	err := s.db.NewRaw(`SELECT d.openid, t.pickup_no FROM orders o
		JOIN tickets t ON t.order_id = o.id
		JOIN diners d ON d.community_id = o.community_id AND d.id = o.placed_by_id
		WHERE o.community_id = ? AND o.id = ? AND o.placed_by_kind = 'diner' AND o.notify_ready
			AND o.ready_notified_at IS NULL AND o.status IN ('ready', 'picked_up')`, communityID, orderID).Scan(ctx, &row)
	if postgres.IsNoRows(err) || (err == nil && row.OpenID == nil) {
		return order.ReadyMessage{}, false, nil
	}
	if err != nil {
		return order.ReadyMessage{}, false, fmt.Errorf("orderdb: ready notice of order %d: %w", orderID, err)
	}
	o, err := s.Get(ctx, communityID, orderID)
	if err != nil {
		return order.ReadyMessage{}, false, err
	}
	return order.ReadyMessage{OrderID: orderID, OpenID: *row.OpenID, Pickup: row.Pickup, Dishes: order.DishSummary(o.Lines, 20)}, true, nil
}

// MarkReadyNotified implements order.ReadyNotices.
func (s *Store) MarkReadyNotified(ctx context.Context, communityID, orderID int64, at time.Time) error {
	_, err := s.db.NewRaw("UPDATE orders SET ready_notified_at = ? WHERE community_id = ? AND id = ? AND ready_notified_at IS NULL",
		at, communityID, orderID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("orderdb: mark order %d notified: %w", orderID, err)
	}
	return nil
}
