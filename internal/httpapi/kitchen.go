package httpapi

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/kitchen"
)

// ticketView is what kitchen screens see of a ticket: what to cook, for which pickup
// number, and notes — never the diner, their group, status or price.
type ticketView struct {
	ID             int64            `json:"id"`
	CanteenID      int64            `json:"canteen_id"`
	OrderID        int64            `json:"order_id"`
	Day            civil.Date       `json:"day"`
	Period         string           `json:"period"`
	Pickup         string           `json:"pickup_no"`
	State          string           `json:"state"`
	Delivery       bool             `json:"delivery"`
	Notes          string           `json:"notes"`
	ElderPriority  bool             `json:"elder_priority"` // served first; never says why
	Reprints       int              `json:"reprints"`
	CreatedAt      time.Time        `json:"created_at"`
	StateChangedAt time.Time        `json:"state_changed_at"`
	Lines          []ticketLineView `json:"lines,omitempty"`
}

type ticketLineView struct {
	LineNo    int    `json:"line_no"`
	Name      string `json:"name"`
	Qty       int    `json:"qty"`
	Note      string `json:"note,omitempty"`
	StationID int64  `json:"station_id,omitempty"`
}

func viewTicket(t kitchen.Ticket, lines []kitchen.Line) ticketView {
	v := ticketView{ID: t.ID, CanteenID: t.CanteenID, OrderID: t.OrderID, Day: t.Day, Period: t.Period, Pickup: t.Pickup,
		State: string(t.State), Delivery: t.Delivery, Notes: t.Notes, ElderPriority: t.Priority, Reprints: t.Reprints, CreatedAt: t.CreatedAt,
		StateChangedAt: t.StateChangedAt}
	for _, l := range lines {
		v.Lines = append(v.Lines, ticketLineView{LineNo: l.LineNo, Name: l.Name, Qty: l.Qty, Note: l.Note, StationID: l.StationID})
	}
	return v
}

func kitchenScope(c *fiber.Ctx) kitchen.Scope {
	p := me(c)
	return kitchen.Scope{CommunityID: p.CommunityID, Canteens: p.CanteenIDs, Actor: p.Actor()}
}

// openTickets lists a canteen's tickets not yet picked up or delivered, oldest first.
func (s *server) openTickets(c *fiber.Ctx) error {
	return withPath(c, canteenParam, func(id int64) (list[ticketView], error) {
		cards, err := s.Kitchen.Open(c.UserContext(), me(c).CommunityID, id)
		out := make([]ticketView, 0, len(cards))
		for _, card := range cards {
			out = append(out, viewTicket(card.Ticket, card.Lines))
		}
		return listOf(out), err
	})
}

// moveTicket bumps or recalls a ticket; the order moves with it.
func (s *server) moveTicket(recall bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return withPath(c, idParam, func(id int64) (ticketView, error) {
			move := s.Kitchen.Bump
			if recall {
				move = s.Kitchen.Recall
			}
			t, err := move(c.UserContext(), kitchenScope(c), id)
			return viewTicket(t, nil), err
		})
	}
}

// reprintTicket counts a reprint and answers the card to print.
func (s *server) reprintTicket(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (ticketView, error) {
		card, err := s.Kitchen.Reprint(c.UserContext(), kitchenScope(c), id)
		return viewTicket(card.Ticket, card.Lines), err
	})
}

type dishCountView struct {
	DishID   int64  `json:"dish_id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Qty      int    `json:"qty"`
}

// productionBoard says how many of each dish the paid orders of a meal hold.
func (s *server) productionBoard(c *fiber.Ctx) error {
	return withPath(c, canteenParam, func(id int64) (list[dishCountView], error) {
		day, err := queryDate(c, "day", civil.Today(s.now()))
		if err != nil {
			return list[dishCountView]{}, err
		}
		period, err := catalog.ParsePeriod(c.Query("period", "lunch"))
		if err != nil {
			return list[dishCountView]{}, &apperr.Error{Kind: apperr.Invalid, Code: "invalid_query",
				Detail: "period must be breakfast, lunch or dinner", Fields: []apperr.FieldError{{Field: "period", Reason: "breakfast, lunch or dinner"}}}
		}
		counts, err := s.Kitchen.ProductionBoard(c.UserContext(), me(c).CommunityID, id, day, string(period))
		out := make([]dishCountView, 0, len(counts))
		for _, d := range counts {
			out = append(out, dishCountView{DishID: d.DishID, Name: d.Name, Category: d.Category, Qty: d.Qty})
		}
		return listOf(out), err
	})
}

// pickupBoard is the dining room's board: the pickup numbers ready now. Public: it shows
// numbers only.
func (s *server) pickupBoard(c *fiber.Ctx) error {
	cid, err := pathID(c, "communityID")
	if err != nil {
		return err
	}
	id, err := pathID(c, "canteenID")
	if err != nil {
		return err
	}
	cards, err := s.Kitchen.Open(c.UserContext(), cid, id)
	if err != nil {
		return err
	}
	ready := []string{}
	for _, card := range cards {
		if card.State == kitchen.StateReady {
			ready = append(ready, card.Pickup)
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(http.StatusOK).JSON(fiber.Map{"ready": ready})
}
