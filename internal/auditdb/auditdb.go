// Package auditdb writes and reads audit records in PostgreSQL.
package auditdb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
)

type row struct {
	bun.BaseModel `bun:"table:audit_log"`
	ID            int64           `bun:"id,pk,autoincrement"`
	CommunityID   int64           `bun:"community_id"`
	ActorKind     string          `bun:"actor_kind"`
	ActorID       *int64          `bun:"actor_id"`
	ActorName     string          `bun:"actor_name"`
	Action        string          `bun:"action"`
	Entity        string          `bun:"entity"`
	EntityID      string          `bun:"entity_id"`
	Before        json.RawMessage `bun:"before,type:jsonb,nullzero"`
	After         json.RawMessage `bun:"after,type:jsonb,nullzero"`
	At            time.Time       `bun:"at,nullzero,notnull,default:current_timestamp"`
}

// Write appends a record inside db, which should be the transaction that made the
// change. before and after are marshalled to JSON; nil stays null.
func Write(ctx context.Context, db bun.IDB, communityID int64, actor audit.Actor, action, entity, entityID string, before, after any) error {
	r := row{CommunityID: communityID, ActorKind: string(actor.Kind), ActorName: actor.Name,
		Action: action, Entity: entity, EntityID: entityID}
	if actor.ID != 0 {
		r.ActorID = &actor.ID
	}
	var err error
	if r.Before, err = marshal(before); err != nil {
		return fmt.Errorf("auditdb: marshal before: %w", err)
	}
	if r.After, err = marshal(after); err != nil {
		return fmt.Errorf("auditdb: marshal after: %w", err)
	}
	if _, err := db.NewInsert().Model(&r).Exec(ctx); err != nil {
		return fmt.Errorf("auditdb: insert %s %s/%s: %w", action, entity, entityID, err)
	}
	return nil
}

func marshal(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// Store reads audit records.
type Store struct{ db *bun.DB }

// New returns a Store on db.
func New(db *bun.DB) *Store { return &Store{db: db} }

// List returns a community's records, newest first.
func (s *Store) List(ctx context.Context, communityID int64, f audit.Filter) ([]audit.Record, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var rows []row
	q := s.db.NewSelect().Model(&rows).Where("community_id = ?", communityID).OrderExpr("id DESC").Limit(int64(f.Limit))
	if f.Entity != "" {
		q.Where("entity = ?", f.Entity)
	}
	if f.EntityID != "" {
		q.Where("entity_id = ?", f.EntityID)
	}
	if f.BeforeID > 0 {
		q.Where("id < ?", f.BeforeID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("auditdb: list: %w", err)
	}
	out := make([]audit.Record, len(rows))
	for i, r := range rows {
		out[i] = audit.Record{ID: r.ID, CommunityID: r.CommunityID,
			Actor:  audit.Actor{Kind: audit.ActorKind(r.ActorKind), Name: r.ActorName},
			Action: r.Action, Entity: r.Entity, EntityID: r.EntityID, Before: r.Before, After: r.After, At: r.At}
		if r.ActorID != nil {
			out[i].Actor.ID = *r.ActorID
		}
	}
	return out, nil
}
