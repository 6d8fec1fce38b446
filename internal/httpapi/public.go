package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/catalog"
)

// publicCanteen is what anyone may see of a canteen.
type publicCanteen struct {
	ID       int64                `json:"id"`
	Name     string               `json:"name"`
	Address  string               `json:"address"`
	District string               `json:"district"`
	Closed   bool                 `json:"closed"`
	Notice   string               `json:"notice"`
	Periods  []catalog.MealPeriod `json:"periods"`
}

func (s *server) listCommunities(c *fiber.Ctx) error {
	out, err := s.Community.ListCommunities(c.UserContext())
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) publicCanteens(c *fiber.Ctx) error {
	cid, err := pathID(c, "communityID")
	if err != nil {
		return err
	}
	if _, err := s.Community.GetCommunity(c.UserContext(), cid); err != nil {
		return err
	}
	all, err := s.Catalog.ListCanteens(c.UserContext(), cid)
	if err != nil {
		return err
	}
	out := make([]publicCanteen, 0, len(all))
	for _, ct := range all {
		periods := []catalog.MealPeriod{}
		for _, mp := range ct.Periods {
			if mp.Enabled {
				periods = append(periods, mp)
			}
		}
		out = append(out, publicCanteen{ID: ct.ID, Name: ct.Name, Address: ct.Address, District: ct.District,
			Closed: ct.Closed, Notice: ct.ClosedReason, Periods: periods})
	}
	return c.JSON(listOf(out))
}

// publicMenus lists a canteen's published menus from today up to its pre-order horizon.
func (s *server) publicMenus(c *fiber.Ctx) error {
	cid, err := pathID(c, "communityID")
	if err != nil {
		return err
	}
	id, err := pathID(c, "canteenID")
	if err != nil {
		return err
	}
	out, err := s.Catalog.DinerMenus(c.UserContext(), cid, id)
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) dietTags(c *fiber.Ctx) error {
	return c.JSON(listOf(catalog.DietTags()))
}
