// Package order holds diners' orders: the lifecycle of an order, what a cart and an order
// are, and the service that quotes and places them.
package order

import (
	"slices"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// A Status is where an order is in its lifecycle.
type Status string

// The statuses.
const (
	Pending   Status = "pending"    // placed, awaiting payment; subsidy held, supply taken, limit slot claimed
	Paid      Status = "paid"       // payment confirmed (or nothing was payable); waiting for the kitchen
	InKitchen Status = "in_kitchen" // the kitchen has started it
	Ready     Status = "ready"      // ready for pickup
	PickedUp  Status = "picked_up"  // handed over
	Cancelled Status = "cancelled"  // cancelled before payment, by the diner or staff
	Expired   Status = "expired"    // the payment deadline passed without payment
	Refunded  Status = "refunded"   // everything paid has been refunded
)

// transitions is the one table of allowed moves. A partial refund is not a move: the
// order keeps its status and records the refunded amount. ready -> in_kitchen and
// picked_up -> ready are the kitchen's recall of a mistaken bump.
var transitions = map[Status][]Status{
	Pending:   {Paid, Cancelled, Expired},
	Paid:      {InKitchen, Refunded},
	InKitchen: {Ready, Refunded},
	Ready:     {PickedUp, InKitchen, Refunded},
	PickedUp:  {Ready, Refunded},
}

// Statuses lists every status.
var Statuses = []Status{Pending, Paid, InKitchen, Ready, PickedUp, Cancelled, Expired, Refunded}

// ErrStatusInvalid is the Invalid error ParseStatus returns; match it with errors.Is.
var ErrStatusInvalid = apperr.New(apperr.Invalid, "order_status_invalid", "未知的订单状态 / unknown order status")

// ParseStatus returns the status spelled exactly s, or ErrStatusInvalid (kind Invalid).
func ParseStatus(s string) (Status, error) {
	if st := Status(s); st.Valid() {
		return st, nil
	}
	return "", ErrStatusInvalid
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Terminal reports whether no move leaves s: cancelled, expired and refunded.
func (s Status) Terminal() bool { return s.Valid() && len(transitions[s]) == 0 }

// CanTransitionTo reports whether an order in status s may move to next. A repeated
// payment notification for a paid order is a no-op, not a transition; a payment that
// arrives for a cancelled or expired order does not move the order (it is refunded).
func (s Status) CanTransitionTo(next Status) bool { return slices.Contains(transitions[s], next) }

// Transition returns next when s may move there, or a FailedPrecondition error naming both.
func (s Status) Transition(next Status) (Status, error) {
	if !s.CanTransitionTo(next) {
		return s, apperr.New(apperr.FailedPrecondition, "order_transition_invalid",
			"订单状态不允许此操作 / an order that is "+string(s)+" cannot become "+string(next))
	}
	return next, nil
}

// Cancellable reports whether the diner may still cancel: only before payment and
// before the kitchen starts.
func (s Status) Cancellable() bool { return s == Pending }
