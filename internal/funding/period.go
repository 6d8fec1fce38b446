package funding

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// Month is an Asia/Shanghai calendar month, written "2026-11". The zero Month is "no month".
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf returns the month of day d.
func MonthOf(d civil.Date) Month { return Month{Year: d.Year, Month: d.Month} }

// ErrMonthInvalid is the Invalid error ParseMonth returns; match it with errors.Is.
var ErrMonthInvalid = apperr.New(apperr.Invalid, "month_invalid", "月份格式应为 YYYY-MM / month must be written YYYY-MM")

// ParseMonth parses exactly "YYYY-MM" (years 0001-9999). Errors are ErrMonthInvalid.
func ParseMonth(s string) (Month, error) {
	d, err := civil.ParseDate(s + "-01")
	if err != nil || len(s) != 7 {
		return Month{}, ErrMonthInvalid
	}
	return MonthOf(d), nil
}

// IsZero reports whether m is the zero Month.
func (m Month) IsZero() bool { return m == Month{} }

// IsValid reports whether m is a real month of years 1 to 9999.
func (m Month) IsValid() bool { return m.First().IsValid() }

// String returns m as "YYYY-MM".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// First returns the first day of m.
func (m Month) First() civil.Date { return civil.Date{Year: m.Year, Month: m.Month, Day: 1} }

// Last returns the last day of m. m must be valid.
func (m Month) Last() civil.Date { return m.Next().First().AddDays(-1) }

// Next returns the month after m.
func (m Month) Next() Month {
	if m.Month == time.December {
		return Month{Year: m.Year + 1, Month: time.January}
	}
	return Month{Year: m.Year, Month: m.Month + 1}
}

// Prev returns the month before m.
func (m Month) Prev() Month {
	if m.Month == time.January {
		return Month{Year: m.Year - 1, Month: time.December}
	}
	return Month{Year: m.Year, Month: m.Month - 1}
}

// Before reports whether m is before n.
func (m Month) Before(n Month) bool {
	return m.Year < n.Year || m.Year == n.Year && m.Month < n.Month
}

// MarshalJSON writes "YYYY-MM", and the zero Month as null.
func (m Month) MarshalJSON() ([]byte, error) {
	if m.IsZero() {
		return []byte("null"), nil
	}
	if !m.IsValid() {
		return nil, fmt.Errorf("funding: marshal invalid month %s", m)
	}
	return []byte(`"` + m.String() + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM", and "" as the zero Month; null leaves m unchanged.
// Errors are ErrMonthInvalid.
func (m *Month) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return ErrMonthInvalid
	}
	if s == "" {
		*m = Month{}
		return nil
	}
	v, err := ParseMonth(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// A Period names the balance of a pledge that a day draws on: the month ("2026-11") for a
// monthly pledge, RangePeriod for a range pledge.
type Period string

// RangePeriod is the one period of a range pledge.
const RangePeriod Period = "range"

// MonthPeriod returns the period of month m.
func MonthPeriod(m Month) Period { return Period(m.String()) }

// ParsePeriod checks s is "range" or a month "YYYY-MM". Invalid naming field "period".
func ParsePeriod(s string) (Period, error) {
	if Period(s) == RangePeriod {
		return RangePeriod, nil
	}
	if _, err := ParseMonth(s); err != nil {
		var f apperr.Fields
		f.Add("period", `应为 "range" 或月份 YYYY-MM / must be "range" or a month YYYY-MM`)
		return "", f.Err()
	}
	return Period(s), nil
}

// Month returns the month of a monthly period, and false for RangePeriod or a malformed period.
func (p Period) Month() (Month, bool) {
	m, err := ParseMonth(string(p))
	return m, err == nil
}
