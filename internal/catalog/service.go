package catalog

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// Service manages a community's catalogue. Dates are Asia/Shanghai dates counted from
// the injected clock. Input errors are apperr Invalid naming every offending field;
// rows of another community are NotFound.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service on store. now is the clock (time.Now when nil).
func NewService(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

func (s *Service) today() civil.Date { return civil.Today(s.now()) }

// CreateCanteen creates a canteen, open every day of OpenWeekdays, with no meal period yet.
// Invalid, Conflict (ErrCanteenNameTaken), NotFound (ErrMerchantNotFound).
func (s *Service) CreateCanteen(ctx context.Context, sc Scope, in CanteenInput) (Canteen, error) {
	c, err := in.canteen(sc.CommunityID)
	if err != nil {
		return Canteen{}, err
	}
	c, err = s.store.CreateCanteen(ctx, sc, c)
	if err != nil {
		return Canteen{}, fmt.Errorf("catalog: create canteen: %w", err)
	}
	return c, nil
}

// UpdateCanteen changes the fields p sets. Invalid, NotFound, Conflict (ErrCanteenNameTaken).
func (s *Service) UpdateCanteen(ctx context.Context, sc Scope, id int64, p CanteenPatch) (Canteen, error) {
	// Bad input fails before the store is touched; apply checks again against the row.
	if err := p.validate(); err != nil {
		return Canteen{}, err
	}
	c, err := s.store.UpdateCanteen(ctx, sc, id, p.apply)
	if err != nil {
		return Canteen{}, fmt.Errorf("catalog: update canteen %d: %w", id, err)
	}
	return c, nil
}

// GetCanteen returns a canteen of the community with its meal periods. NotFound.
func (s *Service) GetCanteen(ctx context.Context, communityID, id int64) (Canteen, error) {
	c, err := s.store.Canteen(ctx, communityID, id)
	if err != nil {
		return Canteen{}, fmt.Errorf("catalog: get canteen %d: %w", id, err)
	}
	return c, nil
}

// ListCanteens returns the community's canteens with their meal periods.
func (s *Service) ListCanteens(ctx context.Context, communityID int64) ([]Canteen, error) {
	cs, err := s.store.Canteens(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("catalog: list canteens: %w", err)
	}
	return cs, nil
}

// SetMealPeriod creates or replaces the canteen's configuration of mp.Period. Serving must
// start before it ends, orders close no later than serving ends, and preorder_days is
// 0..14. Invalid, NotFound.
func (s *Service) SetMealPeriod(ctx context.Context, sc Scope, canteenID int64, mp MealPeriod) (MealPeriod, error) {
	if err := mp.validate(); err != nil {
		return MealPeriod{}, err
	}
	mp, err := s.store.PutMealPeriod(ctx, sc, canteenID, mp)
	if err != nil {
		return MealPeriod{}, fmt.Errorf("catalog: set meal period %d/%s: %w", canteenID, mp.Period, err)
	}
	return mp, nil
}

// AddClosure closes the canteen on c.Day (today or later). Menus of that day can then be
// neither made nor published, and diners do not see them. Invalid, NotFound, Conflict.
func (s *Service) AddClosure(ctx context.Context, sc Scope, canteenID int64, c Closure) (Closure, error) {
	var f apperr.Fields
	c.Reason = strings.TrimSpace(c.Reason)
	if checkDay(&f, "day", c.Day) {
		f.Check(!c.Day.Before(s.today()), "day", reasonText[ReasonDayPast])
	}
	checkText(&f, "reason", c.Reason, 0, maxClosedReason)
	if err := f.Err(); err != nil {
		return Closure{}, err
	}
	c, err := s.store.AddClosure(ctx, sc, canteenID, c)
	if err != nil {
		return Closure{}, fmt.Errorf("catalog: add closure %d/%s: %w", canteenID, c.Day, err)
	}
	return c, nil
}

// RemoveClosure reopens the canteen on day. Invalid, NotFound.
func (s *Service) RemoveClosure(ctx context.Context, sc Scope, canteenID int64, day civil.Date) error {
	var f apperr.Fields
	checkDay(&f, "day", day)
	if err := f.Err(); err != nil {
		return err
	}
	if err := s.store.RemoveClosure(ctx, sc, canteenID, day); err != nil {
		return fmt.Errorf("catalog: remove closure %d/%s: %w", canteenID, day, err)
	}
	return nil
}

// ListClosures returns the canteen's closures from..to (inclusive, at most 366 days).
// Invalid, NotFound.
func (s *Service) ListClosures(ctx context.Context, communityID, canteenID int64, from, to civil.Date) ([]Closure, error) {
	if err := checkRange(from, to, maxClosureSpan); err != nil {
		return nil, err
	}
	cs, err := s.store.Closures(ctx, communityID, canteenID, from, to)
	if err != nil {
		return nil, fmt.Errorf("catalog: list closures %d: %w", canteenID, err)
	}
	return cs, nil
}

// CreateDish creates an active dish or set meal. Invalid, NotFound (a component that is
// not a dish of the community), Conflict (ErrDishNameTaken).
func (s *Service) CreateDish(ctx context.Context, sc Scope, in DishInput) (Dish, error) {
	d, err := in.dish(sc.CommunityID)
	if err != nil {
		return Dish{}, err
	}
	d, err = s.store.CreateDish(ctx, sc, d, checkDishRefs)
	if err != nil {
		return Dish{}, fmt.Errorf("catalog: create dish: %w", err)
	}
	return d, nil
}

// UpdateDish changes the fields p sets. A dish in an active set meal cannot be made
// inactive (ErrDishInSet). Invalid, NotFound, Conflict.
func (s *Service) UpdateDish(ctx context.Context, sc Scope, id int64, p DishPatch) (Dish, error) {
	// Bad input fails before the store is touched; apply checks again against the row.
	if err := p.validate(); err != nil {
		return Dish{}, err
	}
	d, err := s.store.UpdateDish(ctx, sc, id, p.apply, checkDishRefs)
	if err != nil {
		return Dish{}, fmt.Errorf("catalog: update dish %d: %w", id, err)
	}
	return d, nil
}

// GetDish returns a dish of the community. NotFound.
func (s *Service) GetDish(ctx context.Context, communityID, id int64) (Dish, error) {
	d, err := s.store.Dish(ctx, communityID, id)
	if err != nil {
		return Dish{}, fmt.Errorf("catalog: get dish %d: %w", id, err)
	}
	return d, nil
}

// ListDishes returns the community's dishes matching f, by category and name.
func (s *Service) ListDishes(ctx context.Context, communityID int64, f DishFilter) ([]Dish, error) {
	if f.Kind != "" && !f.Kind.Valid() {
		var fs apperr.Fields
		fs.Add("kind", "应为 dish 或 set / must be dish or set")
		return nil, fs.Err()
	}
	ds, err := s.store.Dishes(ctx, communityID, f)
	if err != nil {
		return nil, fmt.Errorf("catalog: list dishes: %w", err)
	}
	return ds, nil
}

// PutMenu creates the draft menu of canteen × day × period, or replaces the items of the
// existing one (a published menu stays published). The canteen must serve that day and
// period; day is today..today+60; 1..100 distinct active dishes of the community, each at
// its given price (the dish's standard price when nil) with a supply of 0..100000.
// An item may not lose sold portions: its supply cannot go below its sold count and an item
// with sales cannot be removed (ErrMenuItemSold). Invalid, NotFound, Conflict.
func (s *Service) PutMenu(ctx context.Context, sc Scope, canteenID int64, day civil.Date, period Period, items []MenuItemInput) (Menu, error) {
	today := s.today()
	var f apperr.Fields
	if checkMenuKey(&f, day, period) {
		f.Check(!day.Before(today), "day", reasonText[ReasonDayPast])
		f.Check(!day.After(today.AddDays(MenuDaysAhead)), "day", reasonText[ReasonTooFarAhead])
	}
	if len(items) < 1 || len(items) > MaxMenuItems {
		f.Add("items", fmt.Sprintf("应有 1 到 %d 个菜品 / a menu has 1 to %d items", MaxMenuItems, MaxMenuItems))
	}
	ids := make([]int64, 0, len(items))
	seen := map[int64]bool{}
	for i, it := range items {
		switch {
		case it.DishID <= 0:
			f.Add(fmt.Sprintf("items[%d].dish_id", i), "必须是正整数 / must be a positive id")
		case seen[it.DishID]:
			f.Add(fmt.Sprintf("items[%d].dish_id", i), "重复 / duplicate dish")
		}
		seen[it.DishID] = true
		ids = append(ids, it.DishID)
		if it.PriceFen != nil {
			checkPrice(&f, fmt.Sprintf("items[%d].price_fen", i), *it.PriceFen)
		}
		f.Check(it.Supply >= 0 && it.Supply <= MaxSupply, fmt.Sprintf("items[%d].supply", i),
			fmt.Sprintf("应为 0 到 %d / must be 0 to %d", MaxSupply, MaxSupply))
	}
	if err := f.Err(); err != nil {
		return Menu{}, err
	}

	q := MenuQuery{CanteenID: canteenID, Days: []civil.Date{day}, DishIDs: ids}
	saved, err := s.store.ChangeMenus(ctx, sc, q, func(st MenuState) ([]MenuChange, error) {
		var f apperr.Fields
		checkServes(&f, st, day, period)
		var missing []apperr.FieldError
		for i, it := range items {
			field := fmt.Sprintf("items[%d].dish_id", i)
			if d, ok := st.Dishes[it.DishID]; !ok {
				missing = append(missing, apperr.FieldError{Field: field, Reason: "菜品不存在 / no such dish"})
			} else if !d.Active {
				f.Add(field, reasonText[ReasonDishInactive])
			}
		}
		if len(missing) > 0 {
			return nil, withFields(ErrDishNotFound, missing)
		}
		if err := f.Err(); err != nil {
			return nil, err
		}

		next := Menu{CommunityID: sc.CommunityID, CanteenID: canteenID, Day: day, Period: period, Status: Draft}
		action := ActionCreate
		sold := map[int64]int{}
		cur := st.Menu(day, period)
		if cur != nil {
			next.ID, next.Status, next.PublishedAt = cur.ID, cur.Status, cur.PublishedAt
			action = ActionUpdate
			for _, it := range cur.Items {
				sold[it.DishID] = it.Sold
			}
		}
		var conflicts []apperr.FieldError
		for i, it := range items {
			d := st.Dishes[it.DishID]
			price := d.PriceFen
			if it.PriceFen != nil {
				price = *it.PriceFen
			}
			if n := sold[it.DishID]; it.Supply < n {
				conflicts = append(conflicts, apperr.FieldError{Field: fmt.Sprintf("items[%d].supply", i),
					Reason: fmt.Sprintf("已售 %d 份，供应量不能更少 / %d already sold", n, n)})
			}
			next.Items = append(next.Items, itemOf(d, price, it.Supply, sold[it.DishID]))
		}
		if cur != nil {
			for _, it := range cur.Items {
				if it.Sold > 0 && !seen[it.DishID] {
					conflicts = append(conflicts, apperr.FieldError{Field: "items",
						Reason: fmt.Sprintf("菜品 %d（%s）已售 %d 份，不能移除 / dish %d has %d sold and cannot be removed",
							it.DishID, it.Name, it.Sold, it.DishID, it.Sold)})
				}
			}
		}
		if len(conflicts) > 0 {
			return nil, withFields(ErrMenuItemSold, conflicts)
		}
		return []MenuChange{{Action: action, Menu: next}}, nil
	})
	if err != nil {
		return Menu{}, fmt.Errorf("catalog: put menu %d/%s/%s: %w", canteenID, day, period, err)
	}
	return saved[0], nil
}

// PublishMenu shows the menu of canteen × day × period to diners. day is today..today+7,
// the canteen must serve that day and period, and every item's dish must still be active.
// Publishing a published menu changes nothing. Invalid, NotFound.
func (s *Service) PublishMenu(ctx context.Context, sc Scope, canteenID int64, day civil.Date, period Period) (Menu, error) {
	today := s.today()
	var f apperr.Fields
	if checkMenuKey(&f, day, period) {
		f.Check(!day.Before(today), "day", reasonText[ReasonDayPast])
		f.Check(!day.After(today.AddDays(PublishDaysAhead)), "day", "最多提前 7 天发布 / menus can be published at most 7 days ahead")
	}
	if err := f.Err(); err != nil {
		return Menu{}, err
	}
	var unchanged Menu
	q := MenuQuery{CanteenID: canteenID, Days: []civil.Date{day}}
	saved, err := s.store.ChangeMenus(ctx, sc, q, func(st MenuState) ([]MenuChange, error) {
		cur := st.Menu(day, period)
		if cur == nil {
			return nil, ErrMenuNotFound
		}
		if cur.Status == Published {
			unchanged = *cur
			return nil, nil
		}
		var f apperr.Fields
		checkServes(&f, st, day, period)
		f.Check(len(cur.Items) > 0, "items", "菜单没有菜品 / the menu has no items")
		for i, it := range cur.Items {
			f.Check(st.Dishes[it.DishID].Active, fmt.Sprintf("items[%d].dish_id", i), reasonText[ReasonDishInactive])
		}
		if err := f.Err(); err != nil {
			return nil, err
		}
		next := *cur
		now := s.now()
		next.Status, next.PublishedAt = Published, &now
		return []MenuChange{{Action: ActionPublish, Menu: next}}, nil
	})
	if err != nil {
		return Menu{}, fmt.Errorf("catalog: publish menu %d/%s/%s: %w", canteenID, day, period, err)
	}
	if len(saved) == 0 {
		return unchanged, nil
	}
	return saved[0], nil
}

// GetMenu returns the menu of canteen × day × period, draft or published. Invalid, NotFound.
func (s *Service) GetMenu(ctx context.Context, communityID, canteenID int64, day civil.Date, period Period) (Menu, error) {
	var f apperr.Fields
	checkMenuKey(&f, day, period)
	if err := f.Err(); err != nil {
		return Menu{}, err
	}
	m, err := s.store.Menu(ctx, communityID, canteenID, day, period)
	if err != nil {
		return Menu{}, fmt.Errorf("catalog: get menu %d/%s/%s: %w", canteenID, day, period, err)
	}
	return m, nil
}

// ListMenus returns the canteen's menus, draft and published, from..to (inclusive, at most
// 62 days) by day and period. Invalid, NotFound.
func (s *Service) ListMenus(ctx context.Context, communityID, canteenID int64, from, to civil.Date) ([]Menu, error) {
	if err := checkRange(from, to, MaxMenuSpanDays); err != nil {
		return nil, err
	}
	if _, err := s.store.Canteen(ctx, communityID, canteenID); err != nil {
		return nil, fmt.Errorf("catalog: list menus %d: %w", canteenID, err)
	}
	ms, err := s.store.Menus(ctx, communityID, canteenID, MenuFilter{From: from, To: to})
	if err != nil {
		return nil, fmt.Errorf("catalog: list menus %d: %w", canteenID, err)
	}
	return ms, nil
}

// CopyWeek copies every menu of the week starting fromMonday to the same weekday and
// period of the week starting toMonday (a later Monday), as drafts with the same items,
// prices and supplies. A menu is skipped, with its reason, when the target already has a
// menu, the canteen does not serve that day or period, or the day is outside
// today..today+60; an item whose dish is no longer active is left out. One transaction.
// Invalid, NotFound.
func (s *Service) CopyWeek(ctx context.Context, sc Scope, canteenID int64, fromMonday, toMonday civil.Date) (CopyResult, error) {
	var f apperr.Fields
	fromOK := checkDay(&f, "from_monday", fromMonday)
	toOK := checkDay(&f, "to_monday", toMonday)
	if fromOK {
		f.Check(fromMonday.ISOWeekday() == 1, "from_monday", "应为周一 / must be a Monday")
	}
	if toOK {
		f.Check(toMonday.ISOWeekday() == 1, "to_monday", "应为周一 / must be a Monday")
	}
	if fromOK && toOK {
		f.Check(toMonday.After(fromMonday), "to_monday", "应晚于 from_monday / must be after from_monday")
	}
	if err := f.Err(); err != nil {
		return CopyResult{}, err
	}
	shift := toMonday.DaysSince(fromMonday)
	days := make([]civil.Date, 0, 14)
	for i := range 7 {
		days = append(days, fromMonday.AddDays(i), toMonday.AddDays(i))
	}
	today := s.today()
	var res CopyResult
	q := MenuQuery{CanteenID: canteenID, Days: days}
	_, err := s.store.ChangeMenus(ctx, sc, q, func(st MenuState) ([]MenuChange, error) {
		res = CopyResult{Skipped: []CopySkip{}}
		var changes []MenuChange
		for _, src := range st.Menus {
			if src.Day.Before(fromMonday) || !src.Day.Before(fromMonday.AddDays(7)) {
				continue // a target-week menu
			}
			day := src.Day.AddDays(shift)
			reason := ""
			switch {
			case st.Menu(day, src.Period) != nil:
				reason = ReasonMenuExists
			case day.Before(today):
				reason = ReasonDayPast
			case day.After(today.AddDays(MenuDaysAhead)):
				reason = ReasonTooFarAhead
			default:
				reason = st.Canteen.closedReason(day, st.Closures)
				if reason == "" {
					reason = st.Canteen.periodReason(src.Period)
				}
			}
			if reason != "" {
				res.Skipped = append(res.Skipped, CopySkip{Day: day, Period: src.Period, Reason: reason})
				continue
			}
			m := Menu{CommunityID: sc.CommunityID, CanteenID: canteenID, Day: day, Period: src.Period, Status: Draft}
			for _, it := range src.Items {
				d := st.Dishes[it.DishID]
				if !d.Active {
					res.Skipped = append(res.Skipped, CopySkip{Day: day, Period: src.Period, Reason: ReasonDishInactive, DishID: it.DishID})
					continue
				}
				m.Items = append(m.Items, itemOf(d, it.PriceFen, it.Supply, 0))
			}
			if len(m.Items) == 0 {
				res.Skipped = append(res.Skipped, CopySkip{Day: day, Period: src.Period, Reason: ReasonNoActiveDishes})
				continue
			}
			changes = append(changes, MenuChange{Action: ActionCopy, Menu: m})
		}
		res.Copied = len(changes)
		return changes, nil
	})
	if err != nil {
		return CopyResult{}, fmt.Errorf("catalog: copy week %d %s -> %s: %w", canteenID, fromMonday, toMonday, err)
	}
	return res, nil
}

// DinerMenus returns the canteen's published menus a diner may see: from today up to today
// plus the largest preorder_days of its enabled meal periods, on days and periods it serves,
// by day and period. A closed canteen has none. NotFound.
func (s *Service) DinerMenus(ctx context.Context, communityID, canteenID int64) ([]Menu, error) {
	c, err := s.store.Canteen(ctx, communityID, canteenID)
	if err != nil {
		return nil, fmt.Errorf("catalog: diner menus %d: %w", canteenID, err)
	}
	out := []Menu{}
	if c.Closed {
		return out, nil
	}
	horizon := 0
	for _, mp := range c.Periods {
		if mp.Enabled {
			horizon = max(horizon, mp.PreorderDays)
		}
	}
	from := s.today()
	to := from.AddDays(horizon)
	ms, err := s.store.Menus(ctx, communityID, canteenID, MenuFilter{From: from, To: to, Status: Published})
	if err != nil {
		return nil, fmt.Errorf("catalog: diner menus %d: %w", canteenID, err)
	}
	closures, err := s.store.Closures(ctx, communityID, canteenID, from, to)
	if err != nil {
		return nil, fmt.Errorf("catalog: diner menus %d: %w", canteenID, err)
	}
	for _, m := range ms {
		if c.ServesOn(m.Day, closures) && c.periodReason(m.Period) == "" {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Menu) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Period.Rank(), b.Period.Rank()))
	})
	return out, nil
}

// itemOf is a menu item of dish d.
func itemOf(d Dish, priceFen int64, supply, sold int) MenuItem {
	return MenuItem{DishID: d.ID, Name: d.Name, Category: d.Category, Kind: d.Kind, DietTags: d.DietTags,
		PhotoURL: d.PhotoURL, PriceFen: priceFen, Supply: supply, Sold: sold, Remaining: supply - sold}
}

// checkServes records why the canteen of st cannot have a menu on day at period.
func checkServes(f *apperr.Fields, st MenuState, day civil.Date, period Period) {
	if r := st.Canteen.closedReason(day, st.Closures); r != "" {
		f.Add("day", reasonText[r])
	}
	if r := st.Canteen.periodReason(period); r != "" {
		f.Add("period", reasonText[r])
	}
}

// checkDay records field when day is not a valid date and reports whether it is.
func checkDay(f *apperr.Fields, field string, day civil.Date) bool {
	f.Check(day.IsValid(), field, "日期无效 / not a valid date (YYYY-MM-DD)")
	return day.IsValid()
}

// checkMenuKey records invalid day and period and reports whether day is valid.
func checkMenuKey(f *apperr.Fields, day civil.Date, period Period) bool {
	f.Check(period.Valid(), "period", "应为 breakfast、lunch 或 dinner / must be breakfast, lunch or dinner")
	return checkDay(f, "day", day)
}

// checkRange checks from..to is a range of at most maxDays days.
func checkRange(from, to civil.Date, maxDays int) error {
	var f apperr.Fields
	fromOK := checkDay(&f, "from", from)
	if toOK := checkDay(&f, "to", to); fromOK && toOK {
		f.Check(!to.Before(from), "to", "不能早于 from / must not be before from")
		f.Check(to.DaysSince(from) < maxDays, "to", fmt.Sprintf("最多 %d 天 / at most %d days", maxDays, maxDays))
	}
	return f.Err()
}
