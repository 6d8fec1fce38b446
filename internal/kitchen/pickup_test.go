package kitchen

import (
	"errors"
	"strings"
	"testing"
)

func TestPrefixFor(t *testing.T) {
	tests := []struct {
		period string
		want   byte
	}{
		{"breakfast", 'B'}, {"lunch", 'A'}, {"dinner", 'D'}, {"Lunch", 0}, {"supper", 0}, {"", 0},
	}
	for _, tc := range tests {
		t.Run(tc.period, func(t *testing.T) {
			if got := PrefixFor(tc.period); got != tc.want {
				t.Fatalf("PrefixFor(%q) = %q, want %q", tc.period, got, tc.want)
			}
		})
	}
}

func TestFormatPickup(t *testing.T) {
	tests := []struct {
		name    string
		prefix  byte
		seq     int
		want    string
		wantErr error
	}{
		{"lunch 23", PrefixFor("lunch"), 23, "A023", nil},
		{"first", 'B', 1, "B001", nil},
		{"last", 'D', 999, "D999", nil},
		{"no wrap to 000", 'A', 1000, "", ErrPickupExhausted},
		{"far past the end", 'A', 12345, "", ErrPickupExhausted},
		{"zero", 'A', 0, "", ErrPickupInvalid},
		{"negative", 'A', -1, "", ErrPickupInvalid},
		{"unknown period", PrefixFor("supper"), 1, "", ErrPickupInvalid},
		{"lowercase prefix", 'a', 1, "", ErrPickupInvalid},
		{"digit prefix", '1', 1, "", ErrPickupInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatPickup(tc.prefix, tc.seq)
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("FormatPickup(%q, %d) = %q, %v; want %q, %v", tc.prefix, tc.seq, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParsePickup(t *testing.T) {
	tests := []struct {
		in   string
		want PickupNumber // zero when rejected
	}{
		{"A023", PickupNumber{'A', 23}},
		{"a23", PickupNumber{'A', 23}},
		{" D999 ", PickupNumber{'D', 999}},
		{"B1", PickupNumber{'B', 1}},
		{"B01", PickupNumber{'B', 1}},
		{"A000", PickupNumber{}},
		{"A0", PickupNumber{}},
		{"A1000", PickupNumber{}},
		{"A", PickupNumber{}},
		{"", PickupNumber{}},
		{"023", PickupNumber{}},
		{"A-23", PickupNumber{}},
		{"A 23", PickupNumber{}},
		{"AB23", PickupNumber{}},
		{"Ａ023", PickupNumber{}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePickup(tc.in)
			if tc.want == (PickupNumber{}) {
				if !errors.Is(err, ErrPickupInvalid) || got != (PickupNumber{}) {
					t.Fatalf("ParsePickup(%q) = %+v, %v; want ErrPickupInvalid", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParsePickup(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
	if s := (PickupNumber{'A', 23}).String(); s != "A023" {
		t.Fatalf("String() = %q, want A023", s)
	}
	if s := (PickupNumber{}).String(); s != "" {
		t.Fatalf("zero PickupNumber String() = %q, want empty", s)
	}
}

func TestPickupRoundTrip(t *testing.T) {
	for _, prefix := range []byte{'A', 'B', 'D', 'Z'} {
		for seq := 1; seq <= MaxPickupSeq; seq++ {
			s, err := FormatPickup(prefix, seq)
			if err != nil {
				t.Fatalf("FormatPickup(%q, %d): %v", prefix, seq, err)
			}
			p, err := ParsePickup(s)
			if err != nil || p != (PickupNumber{prefix, seq}) || p.String() != s {
				t.Fatalf("round trip of %s: %+v, %v", s, p, err)
			}
		}
	}
}

func FuzzParsePickup(f *testing.F) {
	for _, s := range []string{"A023", "a23", " D999 ", "A000", "A1000", "", "Ａ023", "Z9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePickup(s)
		if err != nil {
			if !errors.Is(err, ErrPickupInvalid) || p != (PickupNumber{}) {
				t.Fatalf("ParsePickup(%q) = %+v, %v", s, p, err)
			}
			return
		}
		formatted, err := FormatPickup(p.Prefix, p.Seq)
		if err != nil {
			t.Fatalf("ParsePickup(%q) accepted %+v that FormatPickup refuses: %v", s, p, err)
		}
		again, err := ParsePickup(formatted)
		if err != nil || again != p {
			t.Fatalf("round trip %q -> %q -> %+v, %v", s, formatted, again, err)
		}
		if !strings.EqualFold(strings.TrimSpace(s)[:1], formatted[:1]) {
			t.Fatalf("prefix of %q changed to %q", s, formatted)
		}
	})
}
