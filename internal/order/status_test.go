package order

import (
	"errors"
	"testing"

	"github.com/canteen-oss/canteen/internal/apperr"
)

func TestTransitions(t *testing.T) {
	// allowed lists every permitted move, written out independently of the table in
	// status.go; every other pair (and any unknown status) is refused.
	allowed := map[[2]Status]bool{
		{Pending, Paid}: true, {Pending, Cancelled}: true, {Pending, Expired}: true,
		{Paid, InKitchen}: true, {Paid, Refunded}: true,
		{InKitchen, Ready}: true, {InKitchen, Refunded}: true,
		{Ready, PickedUp}: true, {Ready, InKitchen}: true, {Ready, Refunded}: true,
		{PickedUp, Ready}: true, {PickedUp, Refunded}: true,
	}
	unknown := Status("shipped")
	for _, from := range append(Statuses, unknown, "") {
		for _, to := range append(Statuses, unknown, "") {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				want := allowed[[2]Status{from, to}]
				if got := from.CanTransitionTo(to); got != want {
					t.Fatalf("%q.CanTransitionTo(%q) = %v, want %v", from, to, got, want)
				}
				got, err := from.Transition(to)
				if want && (err != nil || got != to) {
					t.Fatalf("Transition = %q, %v", got, err)
				}
				if !want && (apperr.KindOf(err) != apperr.FailedPrecondition || got != from) {
					t.Fatalf("illegal Transition = %q, %v; want FailedPrecondition and the old status", got, err)
				}
			})
		}
	}
}

func TestTerminalAndCancellable(t *testing.T) {
	for _, s := range Statuses {
		wantTerminal := s == Cancelled || s == Expired || s == Refunded
		if s.Terminal() != wantTerminal {
			t.Errorf("%s.Terminal() = %v", s, !wantTerminal)
		}
		if s.Cancellable() != (s == Pending) {
			t.Errorf("%s.Cancellable() = %v", s, s.Cancellable())
		}
	}
	if Status("nope").Terminal() {
		t.Error("an unknown status is not terminal")
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range Statuses {
		if got, err := ParseStatus(string(s)); err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "PAID", "partially_refunded", " paid"} {
		if _, err := ParseStatus(bad); !errors.Is(err, ErrStatusInvalid) {
			t.Errorf("ParseStatus(%q) err = %v", bad, err)
		}
	}
}
