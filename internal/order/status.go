// Package order holds diners' orders. For now it defines only the order lifecycle: which
// status an order is in and which moves between statuses are allowed.
package order

import "github.com/canteen-oss/canteen/internal/apperr"

// A Status is where an order is in its lifecycle.
type Status string

// The statuses.
const (
	Pending           Status = "pending"            // placed, awaiting payment; subsidy held, supply taken
	Paid              Status = "paid"               // payment confirmed (or nothing was payable)
	Cancelled         Status = "cancelled"          // cancelled by the diner or staff before payment
	Expired           Status = "expired"            // the payment deadline passed without payment
	Refunded          Status = "refunded"           // everything paid has been refunded
	PartiallyRefunded Status = "partially_refunded" // some lines or some money refunded, not all
)

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
func (s Status) Valid() bool {
	switch s {
	case Pending, Paid, Cancelled, Expired, Refunded, PartiallyRefunded:
		return true
	}
	return false
}

// Terminal reports whether no move leaves s: cancelled, expired and refunded.
func (s Status) Terminal() bool {
	switch s {
	case Cancelled, Expired, Refunded:
		return true
	}
	return false
}

// CanTransitionTo reports whether an order in status s may move to next:
//
//	pending            -> paid | cancelled | expired
//	paid               -> partially_refunded | refunded
//	partially_refunded -> partially_refunded (a further partial refund) | refunded
//
// Nothing else, and no status moves to itself otherwise: a repeated payment notification for a
// paid order is a no-op, not a transition. A payment that arrives for a cancelled or expired
// order does not move the order at all: the order keeps its status and the payment itself is
// refunded automatically (tracked on the payment, not here).
func (s Status) CanTransitionTo(next Status) bool {
	switch s {
	case Pending:
		return next == Paid || next == Cancelled || next == Expired
	case Paid, PartiallyRefunded:
		return next == PartiallyRefunded || next == Refunded
	}
	return false
}
