package kitchendb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Outbox reads the outbox table for the task relay (jobs.RelayOutbox).
type Outbox struct{ db *bun.DB }

// NewOutbox returns an Outbox on db.
func NewOutbox(db *bun.DB) *Outbox { return &Outbox{db: db} }

// Relay takes up to limit unsent rows, oldest first, skipping rows another relay holds
// (FOR UPDATE SKIP LOCKED), calls send for each in order and marks as sent those send
// accepted, all in one transaction. It stops at the first error of send and returns it
// with the number sent before it.
func (o *Outbox) Relay(ctx context.Context, limit int, send func(ctx context.Context, key string, communityID int64, topic string, payload []byte) error) (int, error) {
	sent := 0
	var sendErr error
	err := o.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var rows []struct {
			ID          int64           `bun:"id"`
			CreatedAt   time.Time       `bun:"created_at"`
			CommunityID int64           `bun:"community_id"`
			Topic       string          `bun:"topic"`
			Payload     json.RawMessage `bun:"payload"`
		}
		if err := tx.NewRaw(`SELECT id, created_at, community_id, topic, payload FROM outbox WHERE sent_at IS NULL
			ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`, limit).Scan(ctx, &rows); err != nil {
			return fmt.Errorf("read outbox: %w", err)
		}
		ids := make([]int64, 0, len(rows))
		for _, r := range rows {
			key := fmt.Sprintf("%d-%d", r.ID, r.CreatedAt.UnixMicro())
			if sendErr = send(ctx, key, r.CommunityID, r.Topic, r.Payload); sendErr != nil {
				break
			}
			ids = append(ids, r.ID)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := tx.NewRaw("UPDATE outbox SET sent_at = now() WHERE id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
			return fmt.Errorf("mark sent: %w", err)
		}
		sent = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("kitchendb: relay outbox: %w", err)
	}
	if sendErr != nil {
		return sent, fmt.Errorf("kitchendb: relay outbox: %w", sendErr)
	}
	return sent, nil
}
