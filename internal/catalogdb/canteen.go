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
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/postgres"
)

type canteenRow struct {
	bun.BaseModel `bun:"table:canteens,alias:c"`
	ID            int64     `bun:"id,pk,autoincrement"`
	CommunityID   int64     `bun:"community_id"`
	Name          string    `bun:"name"`
	Address       string    `bun:"address"`
	District      string    `bun:"district"`
	MerchantID    *int64    `bun:"merchant_id"`
	OpenWeekdays  []int     `bun:"open_weekdays,array"`
	Closed        bool      `bun:"closed"`
	ClosedReason  string    `bun:"closed_reason"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r canteenRow) canteen(periods []catalog.MealPeriod) catalog.Canteen {
	if periods == nil {
		periods = []catalog.MealPeriod{}
	}
	return catalog.Canteen{ID: r.ID, CommunityID: r.CommunityID, Name: r.Name, Address: r.Address,
		District: r.District, MerchantID: r.MerchantID, OpenWeekdays: r.OpenWeekdays, Closed: r.Closed,
		ClosedReason: r.ClosedReason, Periods: periods, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func canteenRowOf(c catalog.Canteen) canteenRow {
	return canteenRow{ID: c.ID, CommunityID: c.CommunityID, Name: c.Name, Address: c.Address,
		District: c.District, MerchantID: c.MerchantID, OpenWeekdays: c.OpenWeekdays, Closed: c.Closed,
		ClosedReason: c.ClosedReason}
}

type mealPeriodRow struct {
	bun.BaseModel `bun:"table:meal_periods,alias:mp"`
	CommunityID   int64  `bun:"community_id"`
	CanteenID     int64  `bun:"canteen_id,pk"`
	Period        string `bun:"period,pk"`
	ServeStart    clock  `bun:"serve_start"`
	ServeEnd      clock  `bun:"serve_end"`
	OrderCutoff   clock  `bun:"order_cutoff"`
	PreorderDays  int    `bun:"preorder_days"`
	Enabled       bool   `bun:"enabled"`
}

func (r mealPeriodRow) mealPeriod() catalog.MealPeriod {
	return catalog.MealPeriod{Period: catalog.Period(r.Period), ServeStart: catalog.ClockTime(r.ServeStart),
		ServeEnd: catalog.ClockTime(r.ServeEnd), OrderCutoff: catalog.ClockTime(r.OrderCutoff),
		PreorderDays: r.PreorderDays, Enabled: r.Enabled}
}

type closureRow struct {
	bun.BaseModel `bun:"table:canteen_closures,alias:cc"`
	CommunityID   int64  `bun:"community_id"`
	CanteenID     int64  `bun:"canteen_id,pk"`
	Day           date   `bun:"day,pk"`
	Reason        string `bun:"reason"`
}

func (r closureRow) closure() catalog.Closure {
	return catalog.Closure{Day: civil.Date(r.Day), Reason: r.Reason}
}

// canteenErr maps the errors of writing a canteen row.
func canteenErr(op string, err error) error {
	switch {
	case postgres.IsUniqueViolation(err, "canteens_community_name_key"):
		err = fieldErr(catalog.ErrCanteenNameTaken, "name", "已有同名食堂 / a canteen with this name exists", err)
	case postgres.IsForeignKeyViolation(err, "canteens_merchant_fkey"):
		err = fieldErr(catalog.ErrMerchantNotFound, "merchant_id", "本社区没有该商户 / no such merchant in this community", err)
	}
	return fmt.Errorf("catalogdb: %s: %w", op, err)
}

// CreateCanteen inserts c with the audit record.
func (s *Store) CreateCanteen(ctx context.Context, sc catalog.Scope, c catalog.Canteen) (catalog.Canteen, error) {
	var out catalog.Canteen
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r := canteenRowOf(c)
		r.ID, r.CommunityID = 0, sc.CommunityID
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			return canteenErr("insert canteen", err)
		}
		out = r.canteen(nil)
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, catalog.ActionCreate, catalog.EntityCanteen, itoa(out.ID), nil, out)
	})
	return out, err
}

// UpdateCanteen locks the canteen, applies the change and saves it with the audit record.
func (s *Store) UpdateCanteen(ctx context.Context, sc catalog.Scope, id int64, apply func(*catalog.Canteen) error) (catalog.Canteen, error) {
	var out catalog.Canteen
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		before, err := lockCanteen(ctx, tx, sc.CommunityID, id)
		if err != nil {
			return err
		}
		c := before
		c.OpenWeekdays = slices.Clone(before.OpenWeekdays)
		c.Periods = slices.Clone(before.Periods)
		if err := apply(&c); err != nil {
			return err
		}
		r := canteenRowOf(c)
		_, err = tx.NewUpdate().Model(&r).
			Column("name", "address", "district", "merchant_id", "open_weekdays", "closed", "closed_reason").
			Set("updated_at = now()").
			Where("community_id = ? AND id = ?", sc.CommunityID, id).
			Returning("*").Exec(ctx)
		if err != nil {
			return canteenErr(fmt.Sprintf("update canteen %d", id), err)
		}
		out = r.canteen(before.Periods)
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, catalog.ActionUpdate, catalog.EntityCanteen, itoa(id), before, out)
	})
	return out, err
}

// lockCanteen reads a canteen with its meal periods and locks its row against concurrent
// changes of the canteen and its configuration (FOR NO KEY UPDATE: foreign keys still pass).
// Every change of a canteen's periods, closures and menus takes this lock first.
func lockCanteen(ctx context.Context, db bun.IDB, communityID, id int64) (catalog.Canteen, error) {
	return readCanteen(ctx, db, communityID, id, "NO KEY UPDATE")
}

func readCanteen(ctx context.Context, db bun.IDB, communityID, id int64, lock string) (catalog.Canteen, error) {
	var r canteenRow
	q := db.NewSelect().Model(&r).Where("c.community_id = ? AND c.id = ?", communityID, id)
	if lock != "" {
		q.For(lock)
	}
	if err := q.Scan(ctx); err != nil {
		if postgres.IsNoRows(err) {
			err = catalog.ErrCanteenNotFound
		}
		return catalog.Canteen{}, fmt.Errorf("catalogdb: read canteen %d: %w", id, err)
	}
	periods, err := mealPeriods(ctx, db, communityID, []int64{id})
	if err != nil {
		return catalog.Canteen{}, err
	}
	return r.canteen(periods[id]), nil
}

// mealPeriods returns the meal periods of canteens, by canteen, in serving order.
func mealPeriods(ctx context.Context, db bun.IDB, communityID int64, canteenIDs []int64) (map[int64][]catalog.MealPeriod, error) {
	out := map[int64][]catalog.MealPeriod{}
	if len(canteenIDs) == 0 {
		return out, nil
	}
	var rows []mealPeriodRow
	err := db.NewSelect().Model(&rows).
		Where("mp.community_id = ? AND mp.canteen_id IN (?)", communityID, bun.List(canteenIDs)).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalogdb: read meal periods: %w", err)
	}
	for _, r := range rows {
		out[r.CanteenID] = append(out[r.CanteenID], r.mealPeriod())
	}
	for _, ps := range out {
		slices.SortFunc(ps, func(a, b catalog.MealPeriod) int { return cmp.Compare(a.Period.Rank(), b.Period.Rank()) })
	}
	return out, nil
}

// Canteen returns a canteen of the community with its meal periods.
func (s *Store) Canteen(ctx context.Context, communityID, id int64) (catalog.Canteen, error) {
	return readCanteen(ctx, s.db, communityID, id, "")
}

// Canteens returns the community's canteens by ID.
func (s *Store) Canteens(ctx context.Context, communityID int64) ([]catalog.Canteen, error) {
	var rows []canteenRow
	if err := s.db.NewSelect().Model(&rows).Where("c.community_id = ?", communityID).OrderExpr("c.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalogdb: list canteens: %w", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	periods, err := mealPeriods(ctx, s.db, communityID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]catalog.Canteen, len(rows))
	for i, r := range rows {
		out[i] = r.canteen(periods[r.ID])
	}
	return out, nil
}

// PutMealPeriod creates or replaces one meal period with the audit record.
func (s *Store) PutMealPeriod(ctx context.Context, sc catalog.Scope, canteenID int64, mp catalog.MealPeriod) (catalog.MealPeriod, error) {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		c, err := lockCanteen(ctx, tx, sc.CommunityID, canteenID)
		if err != nil {
			return err
		}
		r := mealPeriodRow{CommunityID: sc.CommunityID, CanteenID: canteenID, Period: string(mp.Period),
			ServeStart: clock(mp.ServeStart), ServeEnd: clock(mp.ServeEnd), OrderCutoff: clock(mp.OrderCutoff),
			PreorderDays: mp.PreorderDays, Enabled: mp.Enabled}
		_, err = tx.NewInsert().Model(&r).
			On("CONFLICT (canteen_id, period) DO UPDATE").
			Set("serve_start = EXCLUDED.serve_start, serve_end = EXCLUDED.serve_end, order_cutoff = EXCLUDED.order_cutoff").
			Set("preorder_days = EXCLUDED.preorder_days, enabled = EXCLUDED.enabled").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("catalogdb: put meal period %d/%s: %w", canteenID, mp.Period, err)
		}
		if _, err := tx.NewUpdate().Table("canteens").Set("updated_at = now()").
			Where("community_id = ? AND id = ?", sc.CommunityID, canteenID).Exec(ctx); err != nil {
			return fmt.Errorf("catalogdb: touch canteen %d: %w", canteenID, err)
		}
		action, before := catalog.ActionCreate, any(nil)
		if old, ok := c.MealPeriod(mp.Period); ok {
			action, before = catalog.ActionUpdate, old
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, action, catalog.EntityMealPeriod,
			fmt.Sprintf("%d/%s", canteenID, mp.Period), before, mp)
	})
	if err != nil {
		return catalog.MealPeriod{}, err
	}
	return mp, nil
}

// AddClosure inserts a closure with the audit record.
func (s *Store) AddClosure(ctx context.Context, sc catalog.Scope, canteenID int64, c catalog.Closure) (catalog.Closure, error) {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := lockCanteen(ctx, tx, sc.CommunityID, canteenID); err != nil {
			return err
		}
		r := closureRow{CommunityID: sc.CommunityID, CanteenID: canteenID, Day: date(c.Day), Reason: c.Reason}
		if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
			if postgres.IsUniqueViolation(err, "") {
				err = fieldErr(catalog.ErrClosureExists, "day", "该日已安排停业 / already closed that day", err)
			}
			return fmt.Errorf("catalogdb: add closure %d/%s: %w", canteenID, c.Day, err)
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, catalog.ActionCreate, catalog.EntityClosure,
			fmt.Sprintf("%d/%s", canteenID, c.Day), nil, c)
	})
	if err != nil {
		return catalog.Closure{}, err
	}
	return c, nil
}

// RemoveClosure deletes a closure with the audit record.
func (s *Store) RemoveClosure(ctx context.Context, sc catalog.Scope, canteenID int64, day civil.Date) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := lockCanteen(ctx, tx, sc.CommunityID, canteenID); err != nil {
			return err
		}
		var r closureRow
		err := tx.NewDelete().Model(&r).
			Where("community_id = ? AND canteen_id = ? AND day = ?", sc.CommunityID, canteenID, date(day)).
			Returning("*").Scan(ctx)
		if err != nil {
			if postgres.IsNoRows(err) {
				err = catalog.ErrClosureNotFound
			}
			return fmt.Errorf("catalogdb: remove closure %d/%s: %w", canteenID, day, err)
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, catalog.ActionDelete, catalog.EntityClosure,
			fmt.Sprintf("%d/%s", canteenID, day), r.closure(), nil)
	})
}

// Closures returns the canteen's closures from..to by day.
func (s *Store) Closures(ctx context.Context, communityID, canteenID int64, from, to civil.Date) ([]catalog.Closure, error) {
	exists, err := s.db.NewSelect().Table("canteens").
		Where("community_id = ? AND id = ?", communityID, canteenID).Exists(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalogdb: read canteen %d: %w", canteenID, err)
	}
	if !exists {
		return nil, fmt.Errorf("catalogdb: list closures %d: %w", canteenID, catalog.ErrCanteenNotFound)
	}
	var rows []closureRow
	err = s.db.NewSelect().Model(&rows).
		Where("cc.community_id = ? AND cc.canteen_id = ? AND cc.day BETWEEN ? AND ?", communityID, canteenID, date(from), date(to)).
		OrderExpr("cc.day").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalogdb: list closures %d: %w", canteenID, err)
	}
	return closuresOf(rows), nil
}

func closuresOf(rows []closureRow) []catalog.Closure {
	out := make([]catalog.Closure, len(rows))
	for i, r := range rows {
		out[i] = r.closure()
	}
	return out
}
