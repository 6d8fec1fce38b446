package httpapi

import (
	"context"
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
)

func scope(c *fiber.Ctx) catalog.Scope {
	p := me(c)
	return catalog.Scope{CommunityID: p.CommunityID, Actor: p.Actor()}
}

// canteenParam reads the :id canteen of a staff route and checks the caller's canteen scope.
func canteenParam(c *fiber.Ctx) (int64, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return 0, err
	}
	return id, canteenScope(c, id)
}

func periodParam(c *fiber.Ctx) (catalog.Period, error) {
	p, err := catalog.ParsePeriod(c.Params("period"))
	if err != nil {
		return "", &apperr.Error{Kind: apperr.Invalid, Code: "invalid_period",
			Detail: "餐次无效 / period must be breakfast, lunch or dinner",
			Fields: []apperr.FieldError{{Field: "period", Reason: "must be breakfast, lunch or dinner"}}}
	}
	return p, nil
}

func (s *server) listCanteens(c *fiber.Ctx) error {
	p := me(c)
	all, err := s.Catalog.ListCanteens(c.UserContext(), p.CommunityID)
	if err != nil {
		return err
	}
	out := slices.DeleteFunc(all, func(ct catalog.Canteen) bool { return !p.CanAccessCanteen(ct.ID) })
	return c.JSON(listOf(out))
}

func (s *server) createCanteen(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in catalog.CanteenInput) (catalog.Canteen, error) {
		return s.Catalog.CreateCanteen(c.UserContext(), scope(c), in)
	})
}

func (s *server) getCanteen(c *fiber.Ctx) error {
	return withPath(c, canteenParam, func(id int64) (catalog.Canteen, error) {
		return s.Catalog.GetCanteen(c.UserContext(), me(c).CommunityID, id)
	})
}

func (s *server) updateCanteen(c *fiber.Ctx) error {
	return withPathBody(c, canteenParam, http.StatusOK, func(id int64, in catalog.CanteenPatch) (catalog.Canteen, error) {
		return s.Catalog.UpdateCanteen(c.UserContext(), scope(c), id, in)
	})
}

// mealPeriodBody is a meal period as an admin sets it: the times are required, and it is
// enabled unless enabled is false.
type mealPeriodBody struct {
	ServeStart   *catalog.ClockTime `json:"serve_start"`
	ServeEnd     *catalog.ClockTime `json:"serve_end"`
	OrderCutoff  *catalog.ClockTime `json:"order_cutoff"`
	PreorderDays int                `json:"preorder_days"`
	Enabled      *bool              `json:"enabled"`
}

func (s *server) setMealPeriod(c *fiber.Ctx) error {
	id, err := canteenParam(c)
	if err != nil {
		return err
	}
	period, err := periodParam(c)
	if err != nil {
		return err
	}
	return withBody(c, http.StatusOK, func(in mealPeriodBody) (catalog.MealPeriod, error) {
		var f apperr.Fields
		f.Check(in.ServeStart != nil, "serve_start", "required, HH:MM")
		f.Check(in.ServeEnd != nil, "serve_end", "required, HH:MM")
		f.Check(in.OrderCutoff != nil, "order_cutoff", "required, HH:MM")
		if err := f.Err(); err != nil {
			return catalog.MealPeriod{}, err
		}
		mp := catalog.MealPeriod{Period: period, ServeStart: *in.ServeStart, ServeEnd: *in.ServeEnd,
			OrderCutoff: *in.OrderCutoff, PreorderDays: in.PreorderDays, Enabled: in.Enabled == nil || *in.Enabled}
		return s.Catalog.SetMealPeriod(c.UserContext(), scope(c), id, mp)
	})
}

func (s *server) listClosures(c *fiber.Ctx) error {
	return canteenDays(s, c, 90, s.Catalog.ListClosures)
}

func (s *server) addClosure(c *fiber.Ctx) error {
	return withPathBody(c, canteenParam, http.StatusCreated, func(id int64, in catalog.Closure) (catalog.Closure, error) {
		return s.Catalog.AddClosure(c.UserContext(), scope(c), id, in)
	})
}

func (s *server) removeClosure(c *fiber.Ctx) error {
	id, err := canteenParam(c)
	if err != nil {
		return err
	}
	day, err := pathDate(c, "day")
	if err != nil {
		return err
	}
	if err := s.Catalog.RemoveClosure(c.UserContext(), scope(c), id, day); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (s *server) listDishes(c *fiber.Ctx) error {
	f := catalog.DishFilter{Category: c.Query("category"), Kind: catalog.DishKind(c.Query("kind")), ActiveOnly: c.QueryBool("active_only")}
	if f.Kind != "" && !f.Kind.Valid() {
		return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_query", Detail: "kind must be dish or set",
			Fields: []apperr.FieldError{{Field: "kind", Reason: "must be dish or set"}}}
	}
	out, err := s.Catalog.ListDishes(c.UserContext(), me(c).CommunityID, f)
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) createDish(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in catalog.DishInput) (catalog.Dish, error) {
		return s.Catalog.CreateDish(c.UserContext(), scope(c), in)
	})
}

func (s *server) getDish(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (catalog.Dish, error) {
		return s.Catalog.GetDish(c.UserContext(), me(c).CommunityID, id)
	})
}

func (s *server) updateDish(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in catalog.DishPatch) (catalog.Dish, error) {
		return s.Catalog.UpdateDish(c.UserContext(), scope(c), id, in)
	})
}

func (s *server) listMenus(c *fiber.Ctx) error { return canteenDays(s, c, 6, s.Catalog.ListMenus) }

// menuKey names one menu: a canteen's meal period on a day.
type menuKey struct {
	canteenID int64
	day       civil.Date
	period    catalog.Period
}

// menuParams reads the canteen, day and period of a menu route.
func menuParams(c *fiber.Ctx) (menuKey, error) {
	id, err := canteenParam(c)
	if err != nil {
		return menuKey{}, err
	}
	day, err := pathDate(c, "day")
	if err != nil {
		return menuKey{}, err
	}
	period, err := periodParam(c)
	return menuKey{canteenID: id, day: day, period: period}, err
}

func (s *server) getMenu(c *fiber.Ctx) error {
	return withPath(c, menuParams, func(k menuKey) (catalog.Menu, error) {
		return s.Catalog.GetMenu(c.UserContext(), me(c).CommunityID, k.canteenID, k.day, k.period)
	})
}

// menuBody is a day's menu as an admin writes it.
type menuBody struct {
	Items []catalog.MenuItemInput `json:"items"`
}

func (s *server) putMenu(c *fiber.Ctx) error {
	return withPathBody(c, menuParams, http.StatusOK, func(k menuKey, in menuBody) (catalog.Menu, error) {
		return s.Catalog.PutMenu(c.UserContext(), scope(c), k.canteenID, k.day, k.period, in.Items)
	})
}

func (s *server) publishMenu(c *fiber.Ctx) error {
	return withPath(c, menuParams, func(k menuKey) (catalog.Menu, error) {
		return s.Catalog.PublishMenu(c.UserContext(), scope(c), k.canteenID, k.day, k.period)
	})
}

// copyWeekBody names the week copied from and the week copied to, by their Mondays.
type copyWeekBody struct {
	FromMonday civil.Date `json:"from_monday"`
	ToMonday   civil.Date `json:"to_monday"`
}

func (s *server) copyWeek(c *fiber.Ctx) error {
	return withPathBody(c, canteenParam, http.StatusOK, func(id int64, in copyWeekBody) (catalog.CopyResult, error) {
		return s.Catalog.CopyWeek(c.UserContext(), scope(c), id, in.FromMonday, in.ToMonday)
	})
}

// canteenDays answers a list over a span of a canteen's days: the :id canteen, then the
// from and to query dates (see dateRange), then fn in the caller's community.
func canteenDays[T any](s *server, c *fiber.Ctx, days int,
	fn func(ctx context.Context, communityID, canteenID int64, from, to civil.Date) ([]T, error)) error {
	return withPath(c, canteenParam, func(id int64) (list[T], error) {
		from, to, err := s.dateRange(c, days)
		if err != nil {
			return list[T]{}, err
		}
		return listed(fn(c.UserContext(), me(c).CommunityID, id, from, to))
	})
}

// dateRange reads the optional from and to query dates: from defaults to today
// (Asia/Shanghai), to to from plus days.
func (s *server) dateRange(c *fiber.Ctx, days int) (civil.Date, civil.Date, error) {
	from, err := queryDate(c, "from", civil.Today(s.now()))
	if err != nil {
		return civil.Date{}, civil.Date{}, err
	}
	to, err := queryDate(c, "to", from.AddDays(days))
	return from, to, err
}
