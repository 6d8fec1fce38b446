package httpapi

import (
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
	var in catalog.CanteenInput
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Catalog.CreateCanteen(c.UserContext(), scope(c), in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

func (s *server) getCanteen(c *fiber.Ctx) error {
	id, err := canteenParam(c)
	if err != nil {
		return err
	}
	out, err := s.Catalog.GetCanteen(c.UserContext(), me(c).CommunityID, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) updateCanteen(c *fiber.Ctx) error {
	id, err := canteenParam(c)
	if err != nil {
		return err
	}
	var in catalog.CanteenPatch
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Catalog.UpdateCanteen(c.UserContext(), scope(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
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
	var in struct {
		ServeStart   *catalog.ClockTime `json:"serve_start"`
		ServeEnd     *catalog.ClockTime `json:"serve_end"`
		OrderCutoff  *catalog.ClockTime `json:"order_cutoff"`
		PreorderDays int                `json:"preorder_days"`
		Enabled      *bool              `json:"enabled"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	var f apperr.Fields
	f.Check(in.ServeStart != nil, "serve_start", "required, HH:MM")
	f.Check(in.ServeEnd != nil, "serve_end", "required, HH:MM")
	f.Check(in.OrderCutoff != nil, "order_cutoff", "required, HH:MM")
	if err := f.Err(); err != nil {
		return err
	}
	mp := catalog.MealPeriod{Period: period, ServeStart: *in.ServeStart, ServeEnd: *in.ServeEnd,
		OrderCutoff: *in.OrderCutoff, PreorderDays: in.PreorderDays, Enabled: in.Enabled == nil || *in.Enabled}
	out, err := s.Catalog.SetMealPeriod(c.UserContext(), scope(c), id, mp)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) listClosures(c *fiber.Ctx) error {
	id, err := canteenParam(c)
	if err != nil {
		return err
	}
	from, to, err := s.dateRange(c, 90)
	if err != nil {
		return err
	}
	out, err := s.Catalog.ListClosures(c.UserContext(), me(c).CommunityID, id, from, to)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) addClosure(c *fiber.Ctx) error {
	id, err := canteenParam(c)
	if err != nil {
		return err
	}
	var in catalog.Closure
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Catalog.AddClosure(c.UserContext(), scope(c), id, in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
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
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) createDish(c *fiber.Ctx) error {
	var in catalog.DishInput
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Catalog.CreateDish(c.UserContext(), scope(c), in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

func (s *server) getDish(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Catalog.GetDish(c.UserContext(), me(c).CommunityID, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) updateDish(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in catalog.DishPatch
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Catalog.UpdateDish(c.UserContext(), scope(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) listMenus(c *fiber.Ctx) error {
	id, err := canteenParam(c)
	if err != nil {
		return err
	}
	from, to, err := s.dateRange(c, 6)
	if err != nil {
		return err
	}
	out, err := s.Catalog.ListMenus(c.UserContext(), me(c).CommunityID, id, from, to)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

// menuParams reads the canteen, day and period of a menu route.
func menuParams(c *fiber.Ctx) (int64, civil.Date, catalog.Period, error) {
	id, err := canteenParam(c)
	if err != nil {
		return 0, civil.Date{}, "", err
	}
	day, err := pathDate(c, "day")
	if err != nil {
		return 0, civil.Date{}, "", err
	}
	period, err := periodParam(c)
	return id, day, period, err
}

func (s *server) getMenu(c *fiber.Ctx) error {
	id, day, period, err := menuParams(c)
	if err != nil {
		return err
	}
	out, err := s.Catalog.GetMenu(c.UserContext(), me(c).CommunityID, id, day, period)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) putMenu(c *fiber.Ctx) error {
	id, day, period, err := menuParams(c)
	if err != nil {
		return err
	}
	var in struct {
		Items []catalog.MenuItemInput `json:"items"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Catalog.PutMenu(c.UserContext(), scope(c), id, day, period, in.Items)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) publishMenu(c *fiber.Ctx) error {
	id, day, period, err := menuParams(c)
	if err != nil {
		return err
	}
	out, err := s.Catalog.PublishMenu(c.UserContext(), scope(c), id, day, period)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) copyWeek(c *fiber.Ctx) error {
	id, err := canteenParam(c)
	if err != nil {
		return err
	}
	var in struct {
		FromMonday civil.Date `json:"from_monday"`
		ToMonday   civil.Date `json:"to_monday"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Catalog.CopyWeek(c.UserContext(), scope(c), id, in.FromMonday, in.ToMonday)
	if err != nil {
		return err
	}
	return c.JSON(out)
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
