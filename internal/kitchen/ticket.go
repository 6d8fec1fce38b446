// Package kitchen runs the kitchen side of an order: tickets (出餐单) that staff bump through
// preparation to pickup or delivery, and the pickup numbers (取餐号) diners are called by.
// Service creates tickets from paid orders and moves them, with the order following;
// Store (kitchendb) keeps them.
package kitchen

import (
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// A TicketState is where a ticket is on its way to the diner. Pickup tickets go
// new -> preparing -> ready -> picked_up; delivery tickets go
// new -> preparing -> ready -> out_for_delivery -> delivered.
type TicketState string

// The ticket states.
const (
	StateNew            TicketState = "new"              // just created from a paid order
	StatePreparing      TicketState = "preparing"        // the kitchen has started on it
	StateReady          TicketState = "ready"            // cooked; the diner is told to collect it
	StatePickedUp       TicketState = "picked_up"        // collected at the counter (pickup only)
	StateOutForDelivery TicketState = "out_for_delivery" // on its way (delivery only)
	StateDelivered      TicketState = "delivered"        // handed over at the door (delivery only)
)

// Errors from the ticket lifecycle; match them with errors.Is.
var (
	ErrTicketStateInvalid = apperr.New(apperr.Invalid, "ticket_state_invalid", "未知的出餐状态 / unknown ticket state")
	ErrTicketFinal        = apperr.New(apperr.FailedPrecondition, "ticket_final", "该出餐单已完成 / the ticket is already complete")
	ErrNothingToRecall    = apperr.New(apperr.FailedPrecondition, "ticket_nothing_to_recall", "新出餐单无可撤回的操作 / a new ticket has nothing to recall")
	ErrDeliveryMismatch   = apperr.New(apperr.FailedPrecondition, "ticket_delivery_mismatch",
		"出餐状态与取餐方式不符 / ticket state does not fit pickup or delivery")
)

// ParseTicketState returns the state spelled exactly s, or ErrTicketStateInvalid (kind Invalid).
func ParseTicketState(s string) (TicketState, error) {
	if st := TicketState(s); st.Valid() {
		return st, nil
	}
	return "", ErrTicketStateInvalid
}

// Valid reports whether s is one of the defined states.
func (s TicketState) Valid() bool {
	switch s {
	case StateNew, StatePreparing, StateReady, StatePickedUp, StateOutForDelivery, StateDelivered:
		return true
	}
	return false
}

// Final reports whether s ends the ticket's way: picked_up or delivered.
func (s TicketState) Final() bool { return s == StatePickedUp || s == StateDelivered }

// check returns nil when s is a known state on the path of a pickup (delivery false) or
// delivery (delivery true) ticket.
func (s TicketState) check(delivery bool) error {
	switch s {
	case StateNew, StatePreparing, StateReady:
		return nil
	case StatePickedUp:
		if delivery {
			return ErrDeliveryMismatch
		}
		return nil
	case StateOutForDelivery, StateDelivered:
		if !delivery {
			return ErrDeliveryMismatch
		}
		return nil
	}
	return ErrTicketStateInvalid
}

// Next returns the state a bump moves s to, on a delivery ticket if delivery is true.
// Errors: ErrTicketFinal from picked_up or delivered, ErrDeliveryMismatch when s is not on
// that kind of ticket's path, ErrTicketStateInvalid for an unknown state.
func (s TicketState) Next(delivery bool) (TicketState, error) {
	if err := s.check(delivery); err != nil {
		return "", err
	}
	switch s {
	case StateNew:
		return StatePreparing, nil
	case StatePreparing:
		return StateReady, nil
	case StateReady:
		if delivery {
			return StateOutForDelivery, nil
		}
		return StatePickedUp, nil
	case StateOutForDelivery:
		return StateDelivered, nil
	}
	return "", ErrTicketFinal
}

// Prev returns the state a recall moves s back to: the state the last bump came from, since
// each kind of ticket has one path. Errors: ErrNothingToRecall from new, ErrDeliveryMismatch
// and ErrTicketStateInvalid as for Next.
func (s TicketState) Prev(delivery bool) (TicketState, error) {
	if err := s.check(delivery); err != nil {
		return "", err
	}
	switch s {
	case StatePreparing:
		return StateNew, nil
	case StateReady:
		return StatePreparing, nil
	case StatePickedUp, StateOutForDelivery:
		return StateReady, nil
	case StateDelivered:
		return StateOutForDelivery, nil
	}
	return "", ErrNothingToRecall
}

// A Ticket is the kitchen's copy of a paid order on its way to the diner. Its lines are
// in a Card. Priority says the ticket is served first; it never says why.
type Ticket struct {
	ID             int64
	CommunityID    int64
	CanteenID      int64
	OrderID        int64
	Day            civil.Date // Asia/Shanghai
	Period         string     // breakfast, lunch or dinner
	Pickup         string     // pickup number, "A023"
	State          TicketState
	Delivery       bool   // delivered to the door instead of collected at the counter
	Notes          string // the lines' notes, "红烧肉: 少辣; 米饭: 软一点"
	Priority       bool   // served first: the diner was an elder on the meal day (老人优先)
	Reprints       int
	CreatedAt      time.Time
	StateChangedAt time.Time
}

// NewTicket returns a ticket in state new.
func NewTicket(delivery bool) Ticket { return Ticket{State: StateNew, Delivery: delivery} }

// Bump moves t one step forward (see TicketState.Next). On error t is unchanged.
func (t *Ticket) Bump() error {
	next, err := t.State.Next(t.Delivery)
	if err != nil {
		return err
	}
	t.State = next
	return nil
}

// Recall undoes the last bump of t (see TicketState.Prev), for a ticket bumped by mistake.
// On error t is unchanged; recalling a new ticket is ErrNothingToRecall.
func (t *Ticket) Recall() error {
	prev, err := t.State.Prev(t.Delivery)
	if err != nil {
		return err
	}
	t.State = prev
	return nil
}
