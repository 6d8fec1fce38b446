package order

import (
	"errors"
	"testing"
)

var all = []Status{Pending, Paid, Cancelled, Expired, Refunded, PartiallyRefunded}

func TestCanTransitionTo(t *testing.T) {
	// allowed lists every permitted move; every other pair of all (and any unknown status) is refused.
	allowed := map[[2]Status]bool{
		{Pending, Paid}:                        true,
		{Pending, Cancelled}:                   true,
		{Pending, Expired}:                     true,
		{Paid, PartiallyRefunded}:              true,
		{Paid, Refunded}:                       true,
		{PartiallyRefunded, PartiallyRefunded}: true,
		{PartiallyRefunded, Refunded}:          true,
	}
	unknown := Status("shipped")
	for _, from := range append(all, unknown, "") {
		for _, to := range append(all, unknown, "") {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				want := allowed[[2]Status{from, to}]
				if got := from.CanTransitionTo(to); got != want {
					t.Fatalf("%q.CanTransitionTo(%q) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
}

func TestTerminal(t *testing.T) {
	tests := []struct {
		s    Status
		want bool
	}{
		{Pending, false}, {Paid, false}, {PartiallyRefunded, false},
		{Cancelled, true}, {Expired, true}, {Refunded, true},
	}
	for _, tc := range tests {
		t.Run(string(tc.s), func(t *testing.T) {
			if got := tc.s.Terminal(); got != tc.want {
				t.Fatalf("Terminal() = %v, want %v", got, tc.want)
			}
			// A terminal status has no way out; a non-terminal one has at least one.
			out := false
			for _, to := range all {
				out = out || tc.s.CanTransitionTo(to)
			}
			if out == tc.want {
				t.Fatalf("Terminal() = %v but has a way out = %v", tc.want, out)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range all {
		t.Run(string(s), func(t *testing.T) {
			got, err := ParseStatus(string(s))
			if err != nil || got != s {
				t.Fatalf("ParseStatus(%q) = %q, %v", s, got, err)
			}
		})
	}
	for _, bad := range []string{"", "PAID", "partially-refunded", "canceled", " paid"} {
		t.Run("bad "+bad, func(t *testing.T) {
			got, err := ParseStatus(bad)
			if !errors.Is(err, ErrStatusInvalid) || got != "" {
				t.Fatalf("ParseStatus(%q) = %q, %v; want ErrStatusInvalid", bad, got, err)
			}
		})
	}
}
