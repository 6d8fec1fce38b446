package subsidy

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/secure"
)

// An IDNumber is a validated 18-character mainland resident ID-card number (居民身份证号码).
// It prints masked ("4401**********1234") through fmt, slog and JSON alike; only Reveal gives
// the full number, for sealing and blind-indexing (package secure). The zero IDNumber is "none".
type IDNumber struct {
	n string // 17 digits and a check character 0-9 or X
}

// ErrIDNumberInvalid matches (errors.Is) every error ParseIDNumber returns: kind Invalid, code
// "id_number_invalid". The returned errors carry a detail saying what is wrong, never the number.
var ErrIDNumberInvalid = apperr.New(apperr.Invalid, "id_number_invalid", "身份证号码无效 / ID number is invalid")

func idInvalid(detail string) error {
	return apperr.New(apperr.Invalid, ErrIDNumberInvalid.Code, detail)
}

// ParseIDNumber validates an 18-character resident ID number: surrounding spaces are ignored
// and a lowercase x check character is accepted as X. It checks the region code (6 digits, not
// starting with 0), the birth date (a real date, year 1900 or later) and the ISO 7064 MOD 11-2
// check digit. It does not know today's date; use ParseIDNumberOn for input from people.
func ParseIDNumber(s string) (IDNumber, error) {
	s = strings.TrimSpace(s)
	if len(s) != 18 {
		return IDNumber{}, idInvalid("身份证号码应为18位 / ID number must have 18 characters")
	}
	b := []byte(s)
	if b[17] == 'x' {
		b[17] = 'X'
	}
	for i, c := range b {
		if !(c >= '0' && c <= '9' || i == 17 && c == 'X') {
			return IDNumber{}, idInvalid("身份证号码只能是17位数字加1位数字或X / ID number must be 17 digits and a digit or X")
		}
	}
	if b[0] == '0' {
		return IDNumber{}, idInvalid("身份证号码地区码无效 / ID number region code is invalid")
	}
	id := IDNumber{n: string(b)}
	if birth := id.BirthDate(); !birth.IsValid() || birth.Year < 1900 {
		return IDNumber{}, idInvalid("身份证号码中的出生日期无效 / ID number birth date is invalid")
	}
	if checkChar(b[:17]) != b[17] {
		return IDNumber{}, idInvalid("身份证号码校验位错误 / ID number check digit is wrong")
	}
	return id, nil
}

// ParseIDNumberOn is ParseIDNumber that also rejects a birth date after today (an Asia/Shanghai
// date, civil.Today(now)).
func ParseIDNumberOn(s string, today civil.Date) (IDNumber, error) {
	id, err := ParseIDNumber(s)
	if err != nil {
		return IDNumber{}, err
	}
	if id.BirthDate().After(today) {
		return IDNumber{}, idInvalid("身份证号码中的出生日期晚于今天 / ID number birth date is in the future")
	}
	return id, nil
}

// checkWeights are 2^(17-i) mod 11 for positions i = 0..16 (GB 11643, ISO 7064 MOD 11-2).
var checkWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// checkChar returns the check character for 17 ASCII digits.
func checkChar(digits []byte) byte {
	sum := 0
	for i, c := range digits {
		sum += int(c-'0') * checkWeights[i]
	}
	return "10X98765432"[sum%11]
}

// CompleteIDNumber returns the 17 leading digits body followed by their check character:
// a well-formed number for demo data and test fixtures (it panics on anything else).
func CompleteIDNumber(body string) string {
	if len(body) != 17 || strings.Trim(body, "0123456789") != "" {
		panic("subsidy: CompleteIDNumber wants 17 digits")
	}
	return body + string(checkChar([]byte(body)))
}

// IsZero reports whether id is the zero IDNumber.
func (id IDNumber) IsZero() bool { return id.n == "" }

// BirthDate returns the birth date encoded in the number; the zero Date for the zero IDNumber.
func (id IDNumber) BirthDate() civil.Date {
	if len(id.n) != 18 {
		return civil.Date{}
	}
	num := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	return civil.Date{Year: num(id.n[6:10]), Month: time.Month(num(id.n[10:12])), Day: num(id.n[12:14])}
}

// Reveal returns the full normalised number (check character X in upper case). Call it only
// to seal, blind-index or compare the number, never to display or log it.
func (id IDNumber) Reveal() string { return id.n }

// String returns the masked number, "4401**********1234", or "" for the zero IDNumber.
func (id IDNumber) String() string { return secure.MaskIDNumber(id.n) }

// Format prints the masked number for every verb, so %v, %+v, %#v, %s and %q never reveal it.
func (id IDNumber) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v', 's', 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), id.String())
	default:
		io.WriteString(f, id.String())
	}
}

// LogValue logs the masked number.
func (id IDNumber) LogValue() slog.Value { return slog.StringValue(id.String()) }

// MarshalJSON writes the masked number as a JSON string. There is deliberately no
// UnmarshalJSON: parse input with ParseIDNumberOn.
func (id IDNumber) MarshalJSON() ([]byte, error) { return json.Marshal(id.String()) }
