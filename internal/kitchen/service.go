package kitchen

import (
	"context"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
)

// Scope is who works the ticket screen and where. Every move is confined to
// Scope.CommunityID and, when Canteens is not empty, to those canteens (a kitchen device or
// staff scoped to some canteens); it is recorded in the ticket's history under Scope.Actor.
type Scope struct {
	CommunityID int64
	Canteens    []int64
	Actor       audit.Actor
}

// Errors from the service; match them with errors.Is.
var (
	ErrTicketNotFound = apperr.New(apperr.NotFound, "ticket_not_found", "出餐单不存在 / no such ticket")
	ErrOrderNotFound  = apperr.New(apperr.NotFound, "ticket_order_not_found", "订单不存在 / no such order")
	ErrOrderNotPaid   = apperr.New(apperr.FailedPrecondition, "ticket_order_not_paid", "订单未支付，不能出餐 / only a paid order gets a ticket")
	ErrPeriodInvalid  = apperr.New(apperr.Invalid, "meal_period_invalid", "未知的餐次 / unknown meal period")
)

// A Card is what a kitchen screen shows and the printer prints: a ticket, its lines and
// the stations that cook them (empty: the implicit station).
type Card struct {
	Ticket
	Lines    []Line
	Stations []int64
}

// A DishCount is how many of one dish the paid orders of a meal period hold.
type DishCount struct {
	DishID   int64
	Name     string
	Category string
	Qty      int
}

// An OrderRef names an order for the re-drive of missing tickets.
type OrderRef struct {
	CommunityID int64
	OrderID     int64
}

// Store keeps tickets (kitchendb.Store). Each method is one transaction; moves change the
// order with the ticket and notify the kitchen screens on commit.
type Store interface {
	// CreateTicket makes the ticket of a paid order, or returns the existing one with
	// created false. NotFound (ErrOrderNotFound), FailedPrecondition (ErrOrderNotPaid,
	// ErrPickupExhausted).
	CreateTicket(ctx context.Context, communityID, orderID int64) (Ticket, bool, error)
	// Move bumps (recall false) or recalls a ticket as Plan says. NotFound, FailedPrecondition.
	Move(ctx context.Context, sc Scope, ticketID int64, recall bool) (Ticket, error)
	// Reprint counts one more print of a ticket. NotFound.
	Reprint(ctx context.Context, sc Scope, ticketID int64) (Card, error)
	// Open lists a canteen's tickets not yet picked up or delivered, oldest first.
	Open(ctx context.Context, communityID, canteenID int64) ([]Card, error)
	// ProductionBoard counts the dishes of a meal period's paid orders.
	ProductionBoard(ctx context.Context, communityID, canteenID int64, day civil.Date, period string) ([]DishCount, error)
	// Unticketed lists up to limit paid orders with no ticket, paid before paidBefore, of
	// every community, oldest first.
	Unticketed(ctx context.Context, paidBefore time.Time, limit int) ([]OrderRef, error)
	// Stations lists a canteen's stations by id; none when it has only the implicit one.
	Stations(ctx context.Context, communityID, canteenID int64) ([]Station, error)
}

// Service runs the kitchen side of orders over a Store.
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

// CreateTicket makes the ticket of a paid order, with the next pickup number of its
// canteen's meal period, its lines routed to stations. It is idempotent: a second call
// returns the existing ticket with created false. Called by the task worker.
// NotFound (ErrOrderNotFound), FailedPrecondition (ErrOrderNotPaid, ErrPickupExhausted).
func (s *Service) CreateTicket(ctx context.Context, communityID, orderID int64) (Ticket, bool, error) {
	t, created, err := s.store.CreateTicket(ctx, communityID, orderID)
	if err != nil {
		return Ticket{}, false, fmt.Errorf("kitchen: create ticket for order %d: %w", orderID, err)
	}
	return t, created, nil
}

// Bump moves a ticket one step on (TicketState.Next) and its order with it: preparing
// makes the order in_kitchen, ready makes it ready, picked_up and delivered make it
// picked_up. NotFound (ErrTicketNotFound), FailedPrecondition (ErrTicketFinal,
// ErrOrderOutOfStep, the order's own transition error).
func (s *Service) Bump(ctx context.Context, sc Scope, ticketID int64) (Ticket, error) {
	t, err := s.store.Move(ctx, sc, ticketID, false)
	if err != nil {
		return Ticket{}, fmt.Errorf("kitchen: bump ticket %d: %w", ticketID, err)
	}
	return t, nil
}

// Recall undoes the last bump of a ticket, the order too. NotFound, FailedPrecondition
// (ErrNothingToRecall, ErrOrderOutOfStep).
func (s *Service) Recall(ctx context.Context, sc Scope, ticketID int64) (Ticket, error) {
	t, err := s.store.Move(ctx, sc, ticketID, true)
	if err != nil {
		return Ticket{}, fmt.Errorf("kitchen: recall ticket %d: %w", ticketID, err)
	}
	return t, nil
}

// Reprint returns the card of a ticket to print again and counts the reprint. NotFound.
func (s *Service) Reprint(ctx context.Context, sc Scope, ticketID int64) (Card, error) {
	c, err := s.store.Reprint(ctx, sc, ticketID)
	if err != nil {
		return Card{}, fmt.Errorf("kitchen: reprint ticket %d: %w", ticketID, err)
	}
	return c, nil
}

// Open lists a canteen's tickets not yet picked up or delivered, oldest first.
func (s *Service) Open(ctx context.Context, communityID, canteenID int64) ([]Card, error) {
	cards, err := s.store.Open(ctx, communityID, canteenID)
	if err != nil {
		return nil, fmt.Errorf("kitchen: open tickets of canteen %d: %w", canteenID, err)
	}
	return cards, nil
}

// ProductionBoard counts how many of each dish the paid orders of a canteen's meal period
// (day in Asia/Shanghai) hold, picked-up ones included. Invalid (ErrPeriodInvalid).
func (s *Service) ProductionBoard(ctx context.Context, communityID, canteenID int64, day civil.Date, period string) ([]DishCount, error) {
	if PrefixFor(period) == 0 {
		return nil, ErrPeriodInvalid
	}
	b, err := s.store.ProductionBoard(ctx, communityID, canteenID, day, period)
	if err != nil {
		return nil, fmt.Errorf("kitchen: production board: %w", err)
	}
	return b, nil
}

// Unticketed lists up to limit orders of any community paid more than age ago that still
// have no ticket, for the re-drive task. Called by the task worker only.
func (s *Service) Unticketed(ctx context.Context, age time.Duration, limit int) ([]OrderRef, error) {
	refs, err := s.store.Unticketed(ctx, s.now().Add(-age), limit)
	if err != nil {
		return nil, fmt.Errorf("kitchen: unticketed orders: %w", err)
	}
	return refs, nil
}
