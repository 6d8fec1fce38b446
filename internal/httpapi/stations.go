package httpapi

import (
	"github.com/gofiber/fiber/v2"
)

// stationView is a kitchen station as screens see it: which dish categories it cooks
// (empty: whatever no other station claims).
type stationView struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Categories []string `json:"categories"`
}

type stationsView struct {
	Stations []stationView `json:"stations"`
}

// kitchenStations is GET /api/v1/kitchen/canteens/:id/stations: the canteen's stations,
// for the kitchen screen's station filter. An empty list: the canteen has one implicit
// station that cooks everything. Another community's canteen is not found.
func (s *server) kitchenStations(c *fiber.Ctx) error {
	return withPath(c, canteenParam, func(id int64) (stationsView, error) {
		ctx, cid := c.UserContext(), me(c).CommunityID
		if _, err := s.Catalog.GetCanteen(ctx, cid, id); err != nil {
			return stationsView{}, err
		}
		st, err := s.Kitchen.Stations(ctx, cid, id)
		out := stationsView{Stations: make([]stationView, 0, len(st))}
		for _, x := range st {
			cats := x.Categories
			if cats == nil {
				cats = []string{}
			}
			out.Stations = append(out.Stations, stationView{ID: x.ID, Name: x.Name, Categories: cats})
		}
		return out, err
	})
}
