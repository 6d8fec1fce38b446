package secure

import (
	"strings"
	"unicode/utf8"
)

// MaskPhone masks a phone number for display, keeping the first 3 and last 4 characters:
// "13812345678" becomes "138****5678". Input shorter than 11 characters is masked fully
// ("*" per character); "" stays "". Pass the normalised number (NormalizePhone).
func MaskPhone(s string) string { return mask(s, 3, 4, 11) }

// MaskIDNumber masks an ID-card number for display, keeping the first 4 and last 4 characters:
// "440106195001011234" becomes "4401**********1234", hiding the birth date. Input shorter
// than 15 characters (the old ID length) is masked fully; "" stays "".
func MaskIDNumber(s string) string { return mask(s, 4, 4, 15) }

// mask keeps head and tail runes of s and stars the rest; when s has fewer than minLen
// runes every rune becomes a star.
func mask(s string, head, tail, minLen int) string {
	n := utf8.RuneCountInString(s)
	if n < minLen {
		return strings.Repeat("*", n)
	}
	r := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(string(r[:head]))
	b.WriteString(strings.Repeat("*", n-head-tail))
	b.WriteString(string(r[n-tail:]))
	return b.String()
}
