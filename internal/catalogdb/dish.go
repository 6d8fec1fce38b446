package catalogdb

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/postgres"
)

type dishRow struct {
	bun.BaseModel `bun:"table:dishes,alias:d"`
	ID            int64     `bun:"id,pk,autoincrement"`
	CommunityID   int64     `bun:"community_id"`
	Kind          string    `bun:"kind"`
	Name          string    `bun:"name"`
	Category      string    `bun:"category"`
	DietTags      []string  `bun:"diet_tags,array"`
	Description   string    `bun:"description"`
	PhotoURL      string    `bun:"photo_url"`
	PriceFen      int64     `bun:"price_fen"`
	Active        bool      `bun:"active"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r dishRow) dish(components []catalog.SetItem) catalog.Dish {
	if components == nil {
		components = []catalog.SetItem{}
	}
	tags := r.DietTags
	if tags == nil {
		tags = []string{}
	}
	return catalog.Dish{ID: r.ID, CommunityID: r.CommunityID, Kind: catalog.DishKind(r.Kind), Name: r.Name,
		Category: r.Category, DietTags: tags, Description: r.Description, PhotoURL: r.PhotoURL,
		PriceFen: r.PriceFen, Active: r.Active, Components: components, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func dishRowOf(d catalog.Dish) dishRow {
	tags := d.DietTags
	if tags == nil {
		tags = []string{}
	}
	return dishRow{ID: d.ID, CommunityID: d.CommunityID, Kind: string(d.Kind), Name: d.Name, Category: d.Category,
		DietTags: tags, Description: d.Description, PhotoURL: d.PhotoURL, PriceFen: d.PriceFen, Active: d.Active}
}

type setItemRow struct {
	bun.BaseModel `bun:"table:set_meal_items,alias:si"`
	CommunityID   int64 `bun:"community_id"`
	SetID         int64 `bun:"set_id,pk"`
	DishID        int64 `bun:"dish_id,pk"`
	Quantity      int   `bun:"quantity"`
}

// dishErr maps the errors of writing a dish or its components.
func dishErr(op string, err error) error {
	switch {
	case postgres.IsUniqueViolation(err, "dishes_community_name_key"):
		err = fieldErr(catalog.ErrDishNameTaken, "name", "已有同名菜品 / a dish with this name exists", err)
	case postgres.IsForeignKeyViolation(err, ""):
		err = fieldErr(catalog.ErrDishNotFound, "components", "本社区没有该菜品 / no such dish in this community", err)
	}
	return fmt.Errorf("catalogdb: %s: %w", op, err)
}

// CreateDish inserts d and its components, once check accepts them, with the audit record.
func (s *Store) CreateDish(ctx context.Context, sc catalog.Scope, d catalog.Dish, check func(catalog.Dish, catalog.DishRefs) error) (catalog.Dish, error) {
	var out catalog.Dish
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		d.ID, d.CommunityID = 0, sc.CommunityID
		refs, err := dishRefs(ctx, tx, d)
		if err != nil {
			return err
		}
		if err := check(d, refs); err != nil {
			return err
		}
		r := dishRowOf(d)
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			return dishErr("insert dish", err)
		}
		if err := putComponents(ctx, tx, sc.CommunityID, r.ID, d.Components); err != nil {
			return err
		}
		if out, err = readDish(ctx, tx, sc.CommunityID, r.ID, ""); err != nil {
			return err
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, catalog.ActionCreate, catalog.EntityDish, itoa(out.ID), nil, out)
	})
	return out, err
}

// UpdateDish locks the dish, applies the change, checks what it refers to and saves it
// with the audit record.
func (s *Store) UpdateDish(ctx context.Context, sc catalog.Scope, id int64, apply func(*catalog.Dish) error, check func(catalog.Dish, catalog.DishRefs) error) (catalog.Dish, error) {
	var out catalog.Dish
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		before, err := readDish(ctx, tx, sc.CommunityID, id, "NO KEY UPDATE")
		if err != nil {
			return err
		}
		d := before
		d.DietTags = slices.Clone(before.DietTags)
		d.Components = slices.Clone(before.Components)
		if err := apply(&d); err != nil {
			return err
		}
		d.ID, d.CommunityID, d.Kind = before.ID, before.CommunityID, before.Kind
		refs, err := dishRefs(ctx, tx, d)
		if err != nil {
			return err
		}
		if err := check(d, refs); err != nil {
			return err
		}
		r := dishRowOf(d)
		_, err = tx.NewUpdate().Model(&r).
			Column("name", "category", "diet_tags", "description", "photo_url", "price_fen", "active").
			Set("updated_at = now()").
			Where("community_id = ? AND id = ?", sc.CommunityID, id).
			Exec(ctx)
		if err != nil {
			return dishErr(fmt.Sprintf("update dish %d", id), err)
		}
		if !slices.Equal(sortedItems(d.Components), before.Components) {
			if _, err := tx.NewDelete().Model((*setItemRow)(nil)).
				Where("community_id = ? AND set_id = ?", sc.CommunityID, id).Exec(ctx); err != nil {
				return fmt.Errorf("catalogdb: clear components of %d: %w", id, err)
			}
			if err := putComponents(ctx, tx, sc.CommunityID, id, d.Components); err != nil {
				return err
			}
		}
		if out, err = readDish(ctx, tx, sc.CommunityID, id, ""); err != nil {
			return err
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, catalog.ActionUpdate, catalog.EntityDish, itoa(id), before, out)
	})
	return out, err
}

func putComponents(ctx context.Context, tx bun.Tx, communityID, setID int64, items []catalog.SetItem) error {
	if len(items) == 0 {
		return nil
	}
	rows := make([]setItemRow, len(items))
	for i, it := range items {
		rows[i] = setItemRow{CommunityID: communityID, SetID: setID, DishID: it.DishID, Quantity: it.Quantity}
	}
	if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return dishErr(fmt.Sprintf("insert components of %d", setID), err)
	}
	return nil
}

// dishRefs reads, and share-locks, the rows d depends on: its components, and the active
// set meals that contain it.
func dishRefs(ctx context.Context, tx bun.Tx, d catalog.Dish) (catalog.DishRefs, error) {
	refs := catalog.DishRefs{Components: map[int64]catalog.Dish{}, InActiveSets: []int64{}}
	ids := make([]int64, len(d.Components))
	for i, c := range d.Components {
		ids[i] = c.DishID
	}
	ds, err := dishesByID(ctx, tx, d.CommunityID, ids, "SHARE")
	if err != nil {
		return refs, err
	}
	refs.Components = ds
	if d.ID != 0 && d.Kind == catalog.KindDish {
		err := tx.NewSelect().TableExpr("dishes AS s").ColumnExpr("s.id").
			Where("s.community_id = ? AND s.active", d.CommunityID).
			Where("EXISTS (SELECT 1 FROM set_meal_items si WHERE si.community_id = s.community_id AND si.set_id = s.id AND si.dish_id = ?)", d.ID).
			OrderExpr("s.id").For("SHARE").Scan(ctx, &refs.InActiveSets)
		if err != nil {
			return refs, fmt.Errorf("catalogdb: read sets containing %d: %w", d.ID, err)
		}
	}
	return refs, nil
}

// dishesByID returns the community's dishes among ids (without components), locked as lock says.
func dishesByID(ctx context.Context, db bun.IDB, communityID int64, ids []int64, lock string) (map[int64]catalog.Dish, error) {
	out := map[int64]catalog.Dish{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []dishRow
	q := db.NewSelect().Model(&rows).Where("d.community_id = ? AND d.id IN (?)", communityID, bun.List(ids)).OrderExpr("d.id")
	if lock != "" {
		q.For(lock)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalogdb: read dishes: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.dish(nil)
	}
	return out, nil
}

func readDish(ctx context.Context, db bun.IDB, communityID, id int64, lock string) (catalog.Dish, error) {
	var r dishRow
	q := db.NewSelect().Model(&r).Where("d.community_id = ? AND d.id = ?", communityID, id)
	if lock != "" {
		q.For(lock)
	}
	if err := q.Scan(ctx); err != nil {
		if postgres.IsNoRows(err) {
			err = catalog.ErrDishNotFound
		}
		return catalog.Dish{}, fmt.Errorf("catalogdb: read dish %d: %w", id, err)
	}
	comps, err := components(ctx, db, communityID, []int64{id})
	if err != nil {
		return catalog.Dish{}, err
	}
	return r.dish(comps[id]), nil
}

// components returns the components of set meals, by set, ordered by dish ID.
func components(ctx context.Context, db bun.IDB, communityID int64, setIDs []int64) (map[int64][]catalog.SetItem, error) {
	out := map[int64][]catalog.SetItem{}
	if len(setIDs) == 0 {
		return out, nil
	}
	var rows []setItemRow
	err := db.NewSelect().Model(&rows).
		Where("si.community_id = ? AND si.set_id IN (?)", communityID, bun.List(setIDs)).
		OrderExpr("si.set_id, si.dish_id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalogdb: read set meal items: %w", err)
	}
	for _, r := range rows {
		out[r.SetID] = append(out[r.SetID], catalog.SetItem{DishID: r.DishID, Quantity: r.Quantity})
	}
	return out, nil
}

func sortedItems(items []catalog.SetItem) []catalog.SetItem {
	out := slices.Clone(items)
	slices.SortFunc(out, func(a, b catalog.SetItem) int { return cmp.Compare(a.DishID, b.DishID) })
	if out == nil {
		out = []catalog.SetItem{}
	}
	return out
}

// Dish returns a dish of the community with its components.
func (s *Store) Dish(ctx context.Context, communityID, id int64) (catalog.Dish, error) {
	return readDish(ctx, s.db, communityID, id, "")
}

// Dishes returns the community's dishes matching f, by category, name and ID.
func (s *Store) Dishes(ctx context.Context, communityID int64, f catalog.DishFilter) ([]catalog.Dish, error) {
	var rows []dishRow
	q := s.db.NewSelect().Model(&rows).Where("d.community_id = ?", communityID).OrderExpr("d.category, d.name, d.id")
	if f.Category != "" {
		q.Where("d.category = ?", f.Category)
	}
	if f.Kind != "" {
		q.Where("d.kind = ?", string(f.Kind))
	}
	if f.ActiveOnly {
		q.Where("d.active")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalogdb: list dishes: %w", err)
	}
	var sets []int64
	for _, r := range rows {
		if r.Kind == string(catalog.KindSet) {
			sets = append(sets, r.ID)
		}
	}
	comps, err := components(ctx, s.db, communityID, sets)
	if err != nil {
		return nil, err
	}
	out := make([]catalog.Dish, len(rows))
	for i, r := range rows {
		out[i] = r.dish(comps[r.ID])
	}
	return out, nil
}
