package kitchen

import (
	"errors"
	"fmt"
	"testing"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/order"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		state    TicketState
		delivery bool
		recall   bool
		current  order.Status
		want     Move
		wantErr  error // nil: any FailedPrecondition when want is zero
	}{
		{StateNew, false, false, order.Paid, Move{StateNew, StatePreparing, order.Paid, order.InKitchen}, nil},
		{StatePreparing, false, false, order.InKitchen, Move{StatePreparing, StateReady, order.InKitchen, order.Ready}, nil},
		{StateReady, false, false, order.Ready, Move{StateReady, StatePickedUp, order.Ready, order.PickedUp}, nil},
		{StateReady, true, false, order.Ready, Move{StateReady, StateOutForDelivery, order.Ready, order.Ready}, nil},
		{StateOutForDelivery, true, false, order.Ready, Move{StateOutForDelivery, StateDelivered, order.Ready, order.PickedUp}, nil},
		{StatePickedUp, false, true, order.PickedUp, Move{StatePickedUp, StateReady, order.PickedUp, order.Ready}, nil},
		{StateReady, false, true, order.Ready, Move{StateReady, StatePreparing, order.Ready, order.InKitchen}, nil},
		{StatePreparing, false, true, order.InKitchen, Move{StatePreparing, StateNew, order.InKitchen, order.Paid}, nil},
		{StateDelivered, true, true, order.PickedUp, Move{StateDelivered, StateOutForDelivery, order.PickedUp, order.Ready}, nil},

		{StatePickedUp, false, false, order.PickedUp, Move{}, ErrTicketFinal},
		{StateNew, false, true, order.Paid, Move{}, ErrNothingToRecall},
		{StateNew, false, false, order.Refunded, Move{}, ErrOrderOutOfStep},
		{StateNew, false, false, order.Pending, Move{}, ErrOrderOutOfStep},
		{StateReady, false, false, order.InKitchen, Move{}, ErrOrderOutOfStep},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s delivery=%v recall=%v order=%s", tc.state, tc.delivery, tc.recall, tc.current), func(t *testing.T) {
			got, err := Plan(Ticket{State: tc.state, Delivery: tc.delivery}, tc.recall, tc.current)
			if got != tc.want {
				t.Fatalf("Plan = %+v, %v; want %+v", got, err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v; want %v", err, tc.wantErr)
			}
			if tc.want == (Move{}) && apperr.KindOf(err) != apperr.FailedPrecondition {
				t.Fatalf("err %v is not FailedPrecondition", err)
			}
		})
	}
}

func TestRouteNotesStations(t *testing.T) {
	st := []Station{{ID: 1, Categories: []string{"hot", "soup"}}, {ID: 2}, {ID: 3, Categories: []string{"cold"}}}
	for _, tc := range []struct {
		stations []Station
		category string
		want     int64
	}{{st, "soup", 1}, {st, "cold", 3}, {st, "rice", 2}, {st[:1], "rice", 0}, {nil, "hot", 0}} {
		if got := Route(tc.stations, tc.category); got != tc.want {
			t.Errorf("Route(%d stations, %q) = %d; want %d", len(tc.stations), tc.category, got, tc.want)
		}
	}
	lines := []Line{{Name: "红烧肉", Note: " 少辣 ", StationID: 1}, {Name: "米饭", StationID: 0}, {Name: "汤", Note: "分装", StationID: 1}, {Name: "黄瓜", StationID: 3}}
	if got := Notes(lines); got != "红烧肉: 少辣; 汤: 分装" {
		t.Errorf("Notes = %q", got)
	}
	if got := Stations(lines); fmt.Sprint(got) != "[1 3]" {
		t.Errorf("Stations = %v", got)
	}
}
