package kitchendb

import (
	"context"
	"fmt"

	"github.com/canteen-oss/canteen/internal/kitchen"
)

// Stations implements kitchen.Store.
func (s *Store) Stations(ctx context.Context, communityID, canteenID int64) ([]kitchen.Station, error) {
	var rows []struct {
		ID         int64    `bun:"id"`
		Name       string   `bun:"name"`
		Categories []string `bun:"categories,array"`
	}
	if err := s.db.NewRaw("SELECT id, name, categories FROM kitchen_stations WHERE community_id = ? AND canteen_id = ? ORDER BY id",
		communityID, canteenID).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("kitchendb: stations of canteen %d: %w", canteenID, err)
	}
	out := make([]kitchen.Station, len(rows))
	for i, r := range rows {
		out[i] = kitchen.Station{ID: r.ID, CanteenID: canteenID, Name: r.Name, Categories: r.Categories}
		if out[i].Categories == nil {
			out[i].Categories = []string{}
		}
	}
	return out, nil
}
