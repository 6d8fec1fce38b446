package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/uptrace/bun"
)

// OutboxChannel is the NOTIFY channel WriteOutbox signals on: PostgreSQL delivers the
// signal when the row's transaction commits, and the worker's relay (listening through
// Listen) then carries the row at once instead of at its next poll. The payload is empty.
const OutboxChannel = "canteen_outbox"

// WriteOutbox adds a row to the outbox inside db, the transaction of the change it
// announces, and signals OutboxChannel; the worker's relay carries the row to the task
// queue after commit. payload is marshalled to JSON.
func WriteOutbox(ctx context.Context, db bun.IDB, communityID int64, topic string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("postgres: outbox %s payload: %w", topic, err)
	}
	// One round trip; identical notifications of one transaction are folded into one.
	if _, err := db.NewRaw(`WITH written AS (INSERT INTO outbox (community_id, topic, payload) VALUES (?, ?, ?) RETURNING id)
		SELECT pg_notify(?, '') FROM written`,
		communityID, topic, string(b), OutboxChannel).Exec(ctx); err != nil {
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
