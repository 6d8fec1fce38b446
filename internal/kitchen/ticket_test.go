package kitchen

import (
	"errors"
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

var allStates = []TicketState{StateNew, StatePreparing, StateReady, StatePickedUp, StateOutForDelivery, StateDelivered}

func TestNextAndPrev(t *testing.T) {
	tests := []struct {
		from     TicketState
		delivery bool
		next     TicketState // "" when Next fails
		nextErr  error
		prev     TicketState // "" when Prev fails
		prevErr  error
	}{
		{StateNew, false, StatePreparing, nil, "", ErrNothingToRecall},
		{StatePreparing, false, StateReady, nil, StateNew, nil},
		{StateReady, false, StatePickedUp, nil, StatePreparing, nil},
		{StatePickedUp, false, "", ErrTicketFinal, StateReady, nil},
		{StateOutForDelivery, false, "", ErrDeliveryMismatch, "", ErrDeliveryMismatch},
		{StateDelivered, false, "", ErrDeliveryMismatch, "", ErrDeliveryMismatch},

		{StateNew, true, StatePreparing, nil, "", ErrNothingToRecall},
		{StatePreparing, true, StateReady, nil, StateNew, nil},
		{StateReady, true, StateOutForDelivery, nil, StatePreparing, nil},
		{StatePickedUp, true, "", ErrDeliveryMismatch, "", ErrDeliveryMismatch},
		{StateOutForDelivery, true, StateDelivered, nil, StateReady, nil},
		{StateDelivered, true, "", ErrTicketFinal, StateOutForDelivery, nil},

		{"cooking", false, "", ErrTicketStateInvalid, "", ErrTicketStateInvalid},
		{"", true, "", ErrTicketStateInvalid, "", ErrTicketStateInvalid},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s delivery=%v", tc.from, tc.delivery), func(t *testing.T) {
			next, err := tc.from.Next(tc.delivery)
			if next != tc.next || !errors.Is(err, tc.nextErr) || (tc.nextErr == nil) != (err == nil) {
				t.Fatalf("Next = %q, %v; want %q, %v", next, err, tc.next, tc.nextErr)
			}
			prev, err := tc.from.Prev(tc.delivery)
			if prev != tc.prev || !errors.Is(err, tc.prevErr) || (tc.prevErr == nil) != (err == nil) {
				t.Fatalf("Prev = %q, %v; want %q, %v", prev, err, tc.prev, tc.prevErr)
			}
		})
	}
}

func TestTicketWalk(t *testing.T) {
	paths := map[bool][]TicketState{
		false: {StateNew, StatePreparing, StateReady, StatePickedUp},
		true:  {StateNew, StatePreparing, StateReady, StateOutForDelivery, StateDelivered},
	}
	for delivery, path := range paths {
		t.Run(fmt.Sprintf("delivery=%v", delivery), func(t *testing.T) {
			tk := NewTicket(delivery)
			if err := tk.Recall(); !errors.Is(err, ErrNothingToRecall) || tk.State != StateNew {
				t.Fatalf("Recall of new: %v, state %q", err, tk.State)
			}
			for _, want := range path[1:] {
				if err := tk.Bump(); err != nil || tk.State != want {
					t.Fatalf("Bump: state %q, %v; want %q", tk.State, err, want)
				}
			}
			if !tk.State.Final() {
				t.Fatalf("end of path %q is not final", tk.State)
			}
			if err := tk.Bump(); !errors.Is(err, ErrTicketFinal) || tk.State != path[len(path)-1] {
				t.Fatalf("Bump past the end: %v, state %q", err, tk.State)
			}
			for i := len(path) - 2; i >= 0; i-- {
				if err := tk.Recall(); err != nil || tk.State != path[i] {
					t.Fatalf("Recall: state %q, %v; want %q", tk.State, err, path[i])
				}
			}
		})
	}
}

// TestBumpRecallProperty drives a ticket with random bumps and recalls and checks it against
// a model: a position on the ticket's path.
func TestBumpRecallProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		delivery := rapid.Bool().Draw(t, "delivery")
		path := []TicketState{StateNew, StatePreparing, StateReady, StatePickedUp}
		if delivery {
			path = []TicketState{StateNew, StatePreparing, StateReady, StateOutForDelivery, StateDelivered}
		}
		tk, pos := NewTicket(delivery), 0
		for _, bump := range rapid.SliceOfN(rapid.Bool(), 0, 30).Draw(t, "ops") {
			before := tk
			var err error
			if bump {
				err = tk.Bump()
				if pos < len(path)-1 {
					pos++
				} else if !errors.Is(err, ErrTicketFinal) {
					t.Fatalf("bump at the end: %v", err)
				}
			} else {
				err = tk.Recall()
				if pos > 0 {
					pos--
				} else if !errors.Is(err, ErrNothingToRecall) {
					t.Fatalf("recall at the start: %v", err)
				}
			}
			if err != nil && tk != before {
				t.Fatalf("failed op changed the ticket from %+v to %+v", before, tk)
			}
			if tk.State != path[pos] {
				t.Fatalf("state %q, model says %q", tk.State, path[pos])
			}
		}
	})
}

func TestParseTicketState(t *testing.T) {
	for _, s := range allStates {
		if got, err := ParseTicketState(string(s)); err != nil || got != s {
			t.Errorf("ParseTicketState(%q) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "NEW", "picked-up", "done"} {
		if got, err := ParseTicketState(bad); !errors.Is(err, ErrTicketStateInvalid) || got != "" {
			t.Errorf("ParseTicketState(%q) = %q, %v; want ErrTicketStateInvalid", bad, got, err)
		}
	}
}
