package subsidy

import (
	"errors"
	"testing"
)

func TestParseGroup(t *testing.T) {
	tests := []struct {
		in   string
		want Group
		ok   bool
	}{
		{"elderly", Elderly, true}, {"worker", Worker, true}, {"general", General, true},
		{"Elderly", "", false}, {" worker", "", false}, {"", "", false}, {"rider", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseGroup(tc.in)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("ParseGroup(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
			if !tc.ok && !errors.Is(err, ErrGroupInvalid) {
				t.Fatalf("error %v is not ErrGroupInvalid", err)
			}
		})
	}
}

func TestParseStatusFlag(t *testing.T) {
	tests := []struct {
		in   string
		want StatusFlag
		ok   bool
	}{
		{"dibao", Dibao, true}, {"tekun", Tekun, true}, {"disabled", Disabled, true},
		{"living_alone", LivingAlone, true}, {"veteran", Veteran, true},
		{"living-alone", "", false}, {"DIBAO", "", false}, {"", "", false}, {"低保", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseStatusFlag(tc.in)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("ParseStatusFlag(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
			if !tc.ok && !errors.Is(err, ErrStatusFlagInvalid) {
				t.Fatalf("error %v is not ErrStatusFlagInvalid", err)
			}
		})
	}
}
