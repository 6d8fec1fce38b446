package kitchen

import (
	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/order"
)

// ErrOrderOutOfStep is the FailedPrecondition error of a move whose order is not where the
// ticket says it is, such as an order refunded while it was being cooked.
var ErrOrderOutOfStep = apperr.New(apperr.FailedPrecondition, "ticket_order_out_of_step",
	"订单状态与出餐单不一致 / the order is not where the ticket says it is")

// OrderStatusFor returns the order status that goes with a ticket state: new is paid,
// preparing is in_kitchen, ready and out_for_delivery are ready, picked_up and delivered
// are picked_up.
func OrderStatusFor(s TicketState) order.Status {
	switch s {
	case StatePreparing:
		return order.InKitchen
	case StateReady, StateOutForDelivery:
		return order.Ready
	case StatePickedUp, StateDelivered:
		return order.PickedUp
	}
	return order.Paid
}

// A Move is one bump or recall of a ticket, with the order status it moves along.
// OrderTo equals OrderFrom when the order stays where it is.
type Move struct {
	From, To           TicketState
	OrderFrom, OrderTo order.Status
}

// Plan returns the move a bump (recall false) or recall of t makes when its order is in
// status current. Errors are those of TicketState.Next and Prev, ErrOrderOutOfStep when
// current is not the status that goes with t's state, and the order's own
// FailedPrecondition when the order may not follow.
func Plan(t Ticket, recall bool, current order.Status) (Move, error) {
	next, err := t.State.Next(t.Delivery)
	if recall {
		next, err = t.State.Prev(t.Delivery)
	}
	if err != nil {
		return Move{}, err
	}
	m := Move{From: t.State, To: next, OrderFrom: current, OrderTo: OrderStatusFor(next)}
	if current != OrderStatusFor(t.State) {
		return Move{}, ErrOrderOutOfStep
	}
	if m.OrderTo == current {
		return m, nil
	}
	// The order table has no in_kitchen -> paid: undoing the kitchen's start is the
	// kitchen's own recall, allowed here and only here.
	if recall && current == order.InKitchen && m.OrderTo == order.Paid {
		return m, nil
	}
	if _, err := current.Transition(m.OrderTo); err != nil {
		return Move{}, err
	}
	return m, nil
}
