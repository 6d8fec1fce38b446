package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/uptrace/bun"
)

// WriteOutbox adds a row to the outbox inside db, the transaction of the change it
// announces; the worker's relay carries it to the task queue after commit. payload is
// marshalled to JSON.
func WriteOutbox(ctx context.Context, db bun.IDB, communityID int64, topic string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("postgres: outbox %s payload: %w", topic, err)
	}
	if _, err := db.NewRaw("INSERT INTO outbox (community_id, topic, payload) VALUES (?, ?, ?)",
		communityID, topic, string(b)).Exec(ctx); err != nil {
		return fmt.Errorf("postgres: outbox %s: %w", topic, err)
	}
	return nil
}

// OrderEvent is the payload of every order.* outbox row.
type OrderEvent struct {
	OrderID   int64  `json:"order_id"`
	Status    string `json:"status"`
	CanteenID int64  `json:"canteen_id"`
}
