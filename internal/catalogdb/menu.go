package catalogdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/postgres"
)

type menuRow struct {
	bun.BaseModel `bun:"table:menus,alias:m"`
	ID            int64      `bun:"id,pk,autoincrement"`
	CommunityID   int64      `bun:"community_id"`
	CanteenID     int64      `bun:"canteen_id"`
	Day           date       `bun:"day"`
	Period        string     `bun:"period"`
	Status        string     `bun:"status"`
	PublishedAt   *time.Time `bun:"published_at"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

type menuItemRow struct {
	bun.BaseModel `bun:"table:menu_items,alias:mi"`
	ID            int64 `bun:"id,pk,autoincrement"`
	CommunityID   int64 `bun:"community_id"`
	MenuID        int64 `bun:"menu_id"`
	DishID        int64 `bun:"dish_id"`
	PriceFen      int64 `bun:"price_fen"`
	Supply        int   `bun:"supply"`
	Sold          int   `bun:"sold"`
	Position      int   `bun:"position"`
}

// itemView is a menu item joined with its dish.
type itemView struct {
	MenuID   int64    `bun:"menu_id"`
	DishID   int64    `bun:"dish_id"`
	PriceFen int64    `bun:"price_fen"`
	Supply   int      `bun:"supply"`
	Sold     int      `bun:"sold"`
	Name     string   `bun:"name"`
	Category string   `bun:"category"`
	Kind     string   `bun:"kind"`
	DietTags []string `bun:"diet_tags,array"`
	PhotoURL string   `bun:"photo_url"`
}

const periodOrder = "CASE m.period WHEN 'breakfast' THEN 1 WHEN 'lunch' THEN 2 ELSE 3 END"

// readMenus returns the canteen's menus that filter selects, with their items, by day and
// period. With lock, the menus and their items are locked for update.
func readMenus(ctx context.Context, db bun.IDB, communityID, canteenID int64, lock bool, filter func(*bun.SelectQuery)) ([]catalog.Menu, error) {
	var rows []menuRow
	q := db.NewSelect().Model(&rows).
		Where("m.community_id = ? AND m.canteen_id = ?", communityID, canteenID).
		OrderExpr("m.day, " + periodOrder)
	filter(q)
	if lock {
		q.For("NO KEY UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalogdb: read menus of canteen %d: %w", canteenID, err)
	}
	menus := make([]catalog.Menu, len(rows))
	if len(rows) == 0 {
		return menus, nil
	}
	index := map[int64]int{}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		menus[i] = catalog.Menu{ID: r.ID, CommunityID: r.CommunityID, CanteenID: r.CanteenID, Day: civil.Date(r.Day),
			Period: catalog.Period(r.Period), Status: catalog.MenuStatus(r.Status), PublishedAt: r.PublishedAt,
			Items: []catalog.MenuItem{}}
		index[r.ID] = i
		ids[i] = r.ID
	}
	var items []itemView
	iq := db.NewSelect().TableExpr("menu_items AS mi").
		Join("JOIN dishes AS d ON d.community_id = mi.community_id AND d.id = mi.dish_id").
		ColumnExpr("mi.menu_id, mi.dish_id, mi.price_fen, mi.supply, mi.sold").
		ColumnExpr("d.name, d.category, d.kind, d.diet_tags, d.photo_url").
		Where("mi.community_id = ? AND mi.menu_id IN (?)", communityID, bun.List(ids)).
		OrderExpr("mi.menu_id, mi.position, mi.id")
	if lock {
		iq.For("NO KEY UPDATE OF mi")
	}
	if err := iq.Scan(ctx, &items); err != nil {
		return nil, fmt.Errorf("catalogdb: read menu items of canteen %d: %w", canteenID, err)
	}
	for _, it := range items {
		tags := it.DietTags
		if tags == nil {
			tags = []string{}
		}
		m := &menus[index[it.MenuID]]
		m.Items = append(m.Items, catalog.MenuItem{DishID: it.DishID, Name: it.Name, Category: it.Category,
			Kind: catalog.DishKind(it.Kind), DietTags: tags, PhotoURL: it.PhotoURL, PriceFen: it.PriceFen,
			Supply: it.Supply, Sold: it.Sold, Remaining: it.Supply - it.Sold})
	}
	return menus, nil
}

// Menu returns one menu with its items.
func (s *Store) Menu(ctx context.Context, communityID, canteenID int64, day civil.Date, period catalog.Period) (catalog.Menu, error) {
	ms, err := readMenus(ctx, s.db, communityID, canteenID, false, func(q *bun.SelectQuery) {
		q.Where("m.day = ? AND m.period = ?", date(day), string(period))
	})
	if err != nil {
		return catalog.Menu{}, err
	}
	if len(ms) == 0 {
		return catalog.Menu{}, fmt.Errorf("catalogdb: read menu %d/%s/%s: %w", canteenID, day, period, catalog.ErrMenuNotFound)
	}
	return ms[0], nil
}

// Menus returns the canteen's menus matching f, by day and period.
func (s *Store) Menus(ctx context.Context, communityID, canteenID int64, f catalog.MenuFilter) ([]catalog.Menu, error) {
	return readMenus(ctx, s.db, communityID, canteenID, false, func(q *bun.SelectQuery) {
		q.Where("m.day BETWEEN ? AND ?", date(f.From), date(f.To))
		if f.Status != "" {
			q.Where("m.status = ?", string(f.Status))
		}
	})
}

// ChangeMenus locks the canteen (serialising its menu changes), reads its closures and
// menus on q.Days and the dishes involved, lets change decide, and saves what it returns
// with one audit record per menu.
func (s *Store) ChangeMenus(ctx context.Context, sc catalog.Scope, q catalog.MenuQuery, change func(catalog.MenuState) ([]catalog.MenuChange, error)) ([]catalog.Menu, error) {
	var saved []catalog.Menu
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		saved = nil
		c, err := lockCanteen(ctx, tx, sc.CommunityID, q.CanteenID)
		if err != nil {
			return err
		}
		st := catalog.MenuState{Canteen: c, Closures: []catalog.Closure{}, Menus: []catalog.Menu{}}
		if len(q.Days) > 0 {
			var closures []closureRow
			err := tx.NewSelect().Model(&closures).
				Where("cc.community_id = ? AND cc.canteen_id = ? AND cc.day IN (?)", sc.CommunityID, q.CanteenID, bun.List(dates(q.Days))).
				OrderExpr("cc.day").Scan(ctx)
			if err != nil {
				return fmt.Errorf("catalogdb: read closures of canteen %d: %w", q.CanteenID, err)
			}
			st.Closures = closuresOf(closures)
			st.Menus, err = readMenus(ctx, tx, sc.CommunityID, q.CanteenID, true, func(sq *bun.SelectQuery) {
				sq.Where("m.day IN (?)", bun.List(dates(q.Days)))
			})
			if err != nil {
				return err
			}
		}
		ids := append([]int64{}, q.DishIDs...)
		loaded := map[int64]catalog.Menu{}
		for _, m := range st.Menus {
			loaded[m.ID] = m
			for _, it := range m.Items {
				ids = append(ids, it.DishID)
			}
		}
		if st.Dishes, err = dishesByID(ctx, tx, sc.CommunityID, ids, "SHARE"); err != nil {
			return err
		}

		changes, err := change(st)
		if err != nil {
			return err
		}
		for _, ch := range changes {
			var before any // untyped nil, so a creation's audit record has a null before
			var old *catalog.Menu
			if ch.Menu.ID != 0 {
				m, ok := loaded[ch.Menu.ID]
				if !ok {
					return fmt.Errorf("catalogdb: change of menu %d, which was not read", ch.Menu.ID)
				}
				before, old = m, &m
			}
			id, err := saveMenu(ctx, tx, sc.CommunityID, q.CanteenID, old, ch.Menu)
			if err != nil {
				return err
			}
			ms, err := readMenus(ctx, tx, sc.CommunityID, q.CanteenID, false, func(sq *bun.SelectQuery) { sq.Where("m.id = ?", id) })
			if err != nil {
				return err
			}
			if len(ms) != 1 {
				return fmt.Errorf("catalogdb: menu %d vanished after saving", id)
			}
			if err := auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, ch.Action, catalog.EntityMenu, itoa(id), before, ms[0]); err != nil {
				return err
			}
			saved = append(saved, ms[0])
		}
		return nil
	})
	return saved, err
}

// saveMenu writes m (a new menu when old is nil) and makes its items match m.Items,
// returning the menu's ID. Items with sales are never deleted, nor given a supply below
// what was sold (ErrMenuItemSold).
func saveMenu(ctx context.Context, tx bun.Tx, communityID, canteenID int64, old *catalog.Menu, m catalog.Menu) (int64, error) {
	r := menuRow{ID: m.ID, CommunityID: communityID, CanteenID: canteenID, Day: date(m.Day),
		Period: string(m.Period), Status: string(m.Status), PublishedAt: m.PublishedAt}
	if old == nil {
		r.ID = 0
		if _, err := tx.NewInsert().Model(&r).Returning("id").Exec(ctx); err != nil {
			if postgres.IsUniqueViolation(err, "menus_canteen_day_period_key") {
				err = fieldErr(catalog.ErrMenuExists, "day", "该餐次已有菜单 / a menu exists for this day and period", err)
			}
			return 0, fmt.Errorf("catalogdb: insert menu %d/%s/%s: %w", canteenID, m.Day, m.Period, err)
		}
	} else {
		_, err := tx.NewUpdate().Model(&r).Column("status", "published_at").Set("updated_at = now()").
			Where("community_id = ? AND id = ?", communityID, old.ID).Exec(ctx)
		if err != nil {
			return 0, fmt.Errorf("catalogdb: update menu %d: %w", old.ID, err)
		}
	}

	type prev struct {
		item     catalog.MenuItem
		position int
	}
	existing := map[int64]prev{}
	if old != nil {
		for i, it := range old.Items {
			existing[it.DishID] = prev{it, i}
		}
	}
	keep := map[int64]bool{}
	var inserts []menuItemRow
	for i, it := range m.Items {
		keep[it.DishID] = true
		p, ok := existing[it.DishID]
		if !ok {
			inserts = append(inserts, menuItemRow{CommunityID: communityID, MenuID: r.ID, DishID: it.DishID,
				PriceFen: it.PriceFen, Supply: it.Supply, Position: i})
			continue
		}
		if p.item.PriceFen == it.PriceFen && p.item.Supply == it.Supply && p.position == i {
			continue
		}
		_, err := tx.NewUpdate().Model((*menuItemRow)(nil)).
			Set("price_fen = ?, supply = ?, position = ?", it.PriceFen, it.Supply, i).
			Where("community_id = ? AND menu_id = ? AND dish_id = ?", communityID, r.ID, it.DishID).Exec(ctx)
		if err != nil {
			return 0, itemErr(r.ID, it.DishID, err)
		}
	}
	var removed []int64
	for dishID := range existing {
		if !keep[dishID] {
			removed = append(removed, dishID)
		}
	}
	if len(removed) > 0 {
		res, err := tx.NewDelete().Model((*menuItemRow)(nil)).
			Where("community_id = ? AND menu_id = ? AND dish_id IN (?) AND sold = 0", communityID, r.ID, bun.List(removed)).
			Exec(ctx)
		if err != nil {
			return 0, fmt.Errorf("catalogdb: delete items of menu %d: %w", r.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(removed)) {
			return 0, fmt.Errorf("catalogdb: delete items of menu %d: %w", r.ID, catalog.ErrMenuItemSold)
		}
	}
	if len(inserts) > 0 {
		if _, err := tx.NewInsert().Model(&inserts).Exec(ctx); err != nil {
			return 0, itemErr(r.ID, 0, err)
		}
	}
	return r.ID, nil
}

func itemErr(menuID, dishID int64, err error) error {
	switch {
	case postgres.IsCheckViolation(err, "menu_items_check"): // sold <= supply
		err = fieldErr(catalog.ErrMenuItemSold, "items", fmt.Sprintf("菜品 %d 的供应量低于已售数 / supply of dish %d below sold", dishID, dishID), err)
	case postgres.IsForeignKeyViolation(err, ""):
		err = fieldErr(catalog.ErrDishNotFound, "items", "本社区没有该菜品 / no such dish in this community", err)
	}
	return fmt.Errorf("catalogdb: write item %d of menu %d: %w", dishID, menuID, err)
}
