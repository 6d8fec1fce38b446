package httpapi

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// headerIdempotencyKey names the header that makes placing an order safe to retry.
const headerIdempotencyKey = "Idempotency-Key"

// caller is the principal as the order service sees it. Counter is staff holding the
// counter role: only they may order for others and take cash.
func caller(c *fiber.Ctx) order.Caller {
	p := me(c)
	kind := "diner"
	if p.Kind == auth.StaffKind {
		kind = "staff"
	}
	return order.Caller{CommunityID: p.CommunityID, Kind: kind, ID: p.ID, Name: p.Name, Counter: p.HasAny(auth.Counter)}
}

// isStaff reports whether the caller is staff, who see prices only: never a diner's group,
// status flags or why a subsidy did or did not apply.
func isStaff(c *fiber.Ctx) bool { return me(c).Kind == auth.StaffKind }

// quoteView is q as the caller may see it, with empty lists as [] rather than null.
func quoteView(c *fiber.Ctx, q order.Quote) order.Quote {
	if isStaff(c) {
		return priceOnlyQuote(q)
	}
	if q.Reasons == nil {
		q.Reasons = []order.Reason{}
	}
	return q
}

// priceOnlyQuote is q as staff see it: the subsidy parts (labels, policies, pledges) and
// every reason are emptied, so nothing tells who the diner is.
func priceOnlyQuote(q order.Quote) order.Quote {
	q.Reasons = []order.Reason{}
	lines := make([]order.QuoteLine, len(q.Lines))
	for i, l := range q.Lines {
		l.Parts, l.Reasons = []subsidy.Part{}, []subsidy.Reason{}
		lines[i] = l
	}
	q.Lines = lines
	return q
}

// priceOnlyOrder is o as staff see it: the lines without their subsidy parts.
func priceOnlyOrder(o order.Order) order.Order {
	lines := make([]order.Line, len(o.Lines))
	for i, l := range o.Lines {
		l.Parts = []subsidy.Part{}
		lines[i] = l
	}
	o.Lines = lines
	return o
}

// orderView is o as the caller may see it.
func orderView(c *fiber.Ctx, o order.Order) order.Order {
	if isStaff(c) {
		return priceOnlyOrder(o)
	}
	return o
}

// quoteErr shows the re-quote a refused order carries (under "quote") as the caller may
// see it: prices only for staff.
func quoteErr(c *fiber.Ctx, err error) error {
	ae, ok := apperr.As(err)
	if !ok || ae.Extra == nil {
		return err
	}
	out := *ae
	out.Extra = make(map[string]any, len(ae.Extra))
	for k, v := range ae.Extra {
		if q, ok := v.(order.Quote); ok {
			v = quoteView(c, q)
		}
		out.Extra[k] = v
	}
	return &out
}

// staffCanteen fails unless a staff caller may act on the canteen; diners pass.
func staffCanteen(c *fiber.Ctx, canteenID int64) error {
	if !isStaff(c) {
		return nil
	}
	return canteenScope(c, canteenID)
}

// quote prices a cart for the calling diner (or an elder they are bound to), or, at the
// counter, for the diner for_diner_id names or a walk-in.
func (s *server) quote(c *fiber.Ctx) error {
	return withBody(c, http.StatusOK, func(in order.Cart) (order.Quote, error) {
		if err := staffCanteen(c, in.CanteenID); err != nil {
			return order.Quote{}, err
		}
		q, err := s.Orders.Quote(c.UserContext(), caller(c), in)
		if err != nil {
			return order.Quote{}, err
		}
		return quoteView(c, q), nil
	})
}

// placeOrder places a cart under the Idempotency-Key header: 201 for a new order, 200 for
// a replay of the same key and body.
func (s *server) placeOrder(c *fiber.Ctx) error {
	key := strings.Clone(c.Get(headerIdempotencyKey))
	var in order.PlaceRequest
	if err := bind(c, &in); err != nil {
		return err
	}
	if err := staffCanteen(c, in.CanteenID); err != nil {
		return err
	}
	o, err := s.Orders.Place(c.UserContext(), caller(c), key, in)
	if err != nil {
		return quoteErr(c, err)
	}
	status := http.StatusCreated
	if o.Replayed {
		status = http.StatusOK
	}
	return c.Status(status).JSON(orderView(c, o))
}

// myOrders lists the orders the calling diner placed or that were placed for them.
func (s *server) myOrders(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 50, 1, 100)
	if err != nil {
		return err
	}
	out, err := s.Orders.Mine(c.UserContext(), caller(c), int(limit))
	return reply(c, http.StatusOK, listOf(out), err)
}

// visibleOrder returns order :id if the caller may see it: a diner their own, staff any
// order of a canteen they may act on.
func (s *server) visibleOrder(c *fiber.Ctx) (order.Order, error) {
	id, err := idParam(c)
	if err != nil {
		return order.Order{}, err
	}
	o, err := s.Orders.Get(c.UserContext(), caller(c), id)
	if err != nil {
		return order.Order{}, err
	}
	return o, staffCanteen(c, o.CanteenID)
}

func (s *server) getOrder(c *fiber.Ctx) error {
	return withPath(c, s.visibleOrder, func(o order.Order) (order.Order, error) { return orderView(c, o), nil })
}

// cancelOrder cancels an unpaid order; the body, with a reason, may be left out.
func (s *server) cancelOrder(c *fiber.Ctx) error {
	var in reasonBody
	if err := bindOptional(c, &in); err != nil {
		return err
	}
	return withPath(c, s.visibleOrder, func(o order.Order) (order.Order, error) {
		o, err := s.Orders.Cancel(c.UserContext(), caller(c), o.ID, in.Reason)
		if err != nil {
			return order.Order{}, err
		}
		return orderView(c, o), nil
	})
}

// allowances says how many subsidised meals the calling diner (or an elder they are bound
// to) has left for the meal of ?day= (default today) and ?period=.
func (s *server) allowances(c *fiber.Ctx) error {
	day, err := queryDate(c, "day", civil.Today(s.now()))
	if err != nil {
		return err
	}
	period, err := catalog.ParsePeriod(c.Query("period"))
	if err != nil {
		return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_query",
			Detail: "餐次无效 / period must be breakfast, lunch or dinner",
			Fields: []apperr.FieldError{{Field: "period", Reason: "required: breakfast, lunch or dinner"}}}
	}
	forID, err := queryInt(c, "for_diner_id", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	out, err := s.Orders.Allowances(c.UserContext(), caller(c), forID, day, period)
	return reply(c, http.StatusOK, listOf(out), err)
}
