package secure

import (
	"errors"
	"strings"
	"testing"

	"github.com/canteen-oss/canteen/internal/apperr"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means rejected
	}{
		{"plain", "13812345678", "13812345678"},
		{"plus 86", "+8613812345678", "13812345678"},
		{"86 without plus", "8613812345678", "13812345678"},
		{"spaces", "138 1234 5678", "13812345678"},
		{"dashes", "138-1234-5678", "13812345678"},
		{"everything", " +86 138-1234-5678 ", "13812345678"},
		{"full-width space", "138\u30001234\u30005678", "13812345678"},
		{"19x", "19912345678", "19912345678"},
		{"16x", "16612345678", "16612345678"},
		{"12x is not mobile", "12812345678", ""},
		{"landline", "02087654321", ""},
		{"short", "1381234567", ""},
		{"long", "138123456789", ""},
		{"other country", "+85291234567", ""},
		{"86 plus wrong length", "86138123456789", ""},
		{"plus without 86", "+13812345678", ""},
		{"letters", "1381234567a", ""},
		{"dots", "138.1234.5678", ""},
		{"full-width digits", "１３８１２３４５６７８", ""},
		{"empty", "", ""},
		{"only prefix", "+86", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizePhone(tc.in)
			if tc.want == "" {
				if !errors.Is(err, ErrPhoneInvalid) || apperr.KindOf(err) != apperr.Invalid {
					t.Fatalf("NormalizePhone(%q) = %q, %v; want ErrPhoneInvalid", tc.in, got, err)
				}
				if got != "" {
					t.Fatalf("NormalizePhone(%q) returned %q with an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"13812345678", "+86 138-1234-5678", "8613812345678", "", "+86", "１３８"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePhone(s)
		if err != nil {
			if !errors.Is(err, ErrPhoneInvalid) {
				t.Fatalf("foreign error %v", err)
			}
			if err.Error() != ErrPhoneInvalid.Error() {
				t.Fatalf("error %q carries more than the fixed message (the input must not leak)", err)
			}
			return
		}
		if len(got) != 11 || got[0] != '1' || got[1] < '3' || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q) = %q is not a mobile number", s, got)
		}
		if again, err := NormalizePhone(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
		if !strings.HasSuffix(strings.NewReplacer(" ", "", "-", "", "\t", "", "\u3000", "").Replace(s), got) {
			t.Fatalf("NormalizePhone(%q) = %q is not the input's digits", s, got)
		}
	})
}
