package secure

import (
	"strings"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// ErrPhoneInvalid is the Invalid error NormalizePhone returns; match it with errors.Is.
var ErrPhoneInvalid = apperr.New(apperr.Invalid, "phone_invalid",
	"请输入11位中国大陆手机号码 / enter an 11-digit mainland China mobile number")

// NormalizePhone returns the 11-digit form of a mainland China mobile number (1[3-9] and nine
// more digits). It accepts a +86 or 86 prefix and spaces or dashes anywhere ("+86 138-1234-5678").
// Anything else is ErrPhoneInvalid (kind Invalid); the error never repeats the input.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case ' ', '-', '\t', '\u3000': // the last is the full-width space of Chinese input methods
			continue
		}
		b.WriteRune(r)
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "+86"):
		n = n[3:]
	case len(n) == 13 && strings.HasPrefix(n, "86"):
		n = n[2:]
	}
	if len(n) != 11 || n[0] != '1' || n[1] < '3' || n[1] > '9' {
		return "", ErrPhoneInvalid
	}
	for i := 2; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return "", ErrPhoneInvalid
		}
	}
	return n, nil
}
