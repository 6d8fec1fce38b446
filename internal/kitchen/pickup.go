package kitchen

import (
	"fmt"
	"strings"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// MaxPickupSeq is the highest pickup sequence in one meal period; numbers run 1..MaxPickupSeq.
const MaxPickupSeq = 999

// Errors from pickup numbers; match them with errors.Is.
var (
	ErrPickupInvalid   = apperr.New(apperr.Invalid, "pickup_number_invalid", "取餐号格式应为字母加数字，如 A023 / pickup number must be a letter and digits, like A023")
	ErrPickupExhausted = apperr.New(apperr.FailedPrecondition, "pickup_numbers_exhausted",
		"本餐次取餐号已用完 / this meal period has run out of pickup numbers")
)

// A PickupNumber is a pickup number 取餐号 such as "A023": a prefix letter naming the meal
// period (see PrefixFor) and a sequence from 1 to MaxPickupSeq within that period.
type PickupNumber struct {
	Prefix byte // 'A'..'Z'
	Seq    int  // 1..MaxPickupSeq
}

// PrefixFor returns the pickup prefix letter of a meal period: 'B' for "breakfast", 'A' for
// "lunch", 'D' for "dinner"; 0 for anything else, which FormatPickup then rejects.
func PrefixFor(period string) byte {
	switch period {
	case "breakfast":
		return 'B'
	case "lunch":
		return 'A'
	case "dinner":
		return 'D'
	}
	return 0
}

// FormatPickup returns the pickup number for prefix and seq as a letter and three digits,
// "A023". Errors: ErrPickupExhausted when seq is past MaxPickupSeq (numbers do not wrap, so
// two diners can never share one), ErrPickupInvalid for seq < 1 or a prefix outside 'A'..'Z'.
func FormatPickup(prefix byte, seq int) (string, error) {
	if prefix < 'A' || prefix > 'Z' || seq < 1 {
		return "", ErrPickupInvalid
	}
	if seq > MaxPickupSeq {
		return "", ErrPickupExhausted
	}
	return fmt.Sprintf("%c%03d", prefix, seq), nil
}

// ParsePickup reads a pickup number as diners and counter staff type it: a letter (either
// case) and one to three digits, surrounding spaces ignored ("A023", "a23"). Errors are
// ErrPickupInvalid (kind Invalid).
func ParsePickup(s string) (PickupNumber, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || len(s) > 4 {
		return PickupNumber{}, ErrPickupInvalid
	}
	prefix := s[0]
	if 'a' <= prefix && prefix <= 'z' {
		prefix -= 'a' - 'A'
	}
	if prefix < 'A' || prefix > 'Z' {
		return PickupNumber{}, ErrPickupInvalid
	}
	seq := 0
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return PickupNumber{}, ErrPickupInvalid
		}
		seq = seq*10 + int(c-'0')
	}
	if seq < 1 {
		return PickupNumber{}, ErrPickupInvalid
	}
	return PickupNumber{Prefix: prefix, Seq: seq}, nil
}

// String returns the number as FormatPickup writes it, "A023", or "" if p is not a valid number.
func (p PickupNumber) String() string {
	s, err := FormatPickup(p.Prefix, p.Seq)
	if err != nil {
		return ""
	}
	return s
}
