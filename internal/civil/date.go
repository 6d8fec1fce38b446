// Package civil holds calendar dates without a time of day, as the canteen counts them:
// menus, meal periods, limits, ages and month-end statements are all kept in Asia/Shanghai dates.
package civil

import (
	"encoding/json"
	"fmt"
	"time"
	_ "time/tzdata" // so Asia/Shanghai loads in minimal images without /usr/share/zoneinfo

	"github.com/canteen-oss/canteen/internal/apperr"
)

// shanghai is loaded once. China has kept UTC+8 without daylight saving since 1991,
// so the fixed zone is an exact fallback for every date the canteen deals with.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*60*60)
	}
	return loc
}()

// Shanghai returns the Asia/Shanghai location in which every canteen date is counted.
func Shanghai() *time.Location { return shanghai }

// A Date is a calendar date (year, month, day) with no time of day and no zone.
// The zero Date is "no date"; it is not valid. Compare dates with Compare/Before/After or ==.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Today returns the Asia/Shanghai calendar date at instant now, whatever now's location.
func Today(now time.Time) Date {
	return dateOf(now.In(shanghai))
}

func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ErrDateInvalid is the Invalid error ParseDate and UnmarshalJSON return; match it with errors.Is.
var ErrDateInvalid = apperr.New(apperr.Invalid, "date_invalid",
	"日期格式应为 YYYY-MM-DD / date must be a real date written YYYY-MM-DD")

// ParseDate parses a date written exactly "YYYY-MM-DD" (years 0001-9999) and checks that the
// day exists in the calendar. Errors are ErrDateInvalid (kind Invalid).
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, ErrDateInvalid
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, ErrDateInvalid
	}
	date := Date{Year: y, Month: time.Month(m), Day: d}
	if !date.IsValid() {
		return Date{}, ErrDateInvalid
	}
	return date, nil
}

// digits parses a run of ASCII digits; it accepts no sign, space or other character.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// IsValid reports whether d is a real calendar date with a year from 1 to 9999.
func (d Date) IsValid() bool {
	if d.Year < 1 || d.Year > 9999 || d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return d.Day <= daysIn(d.Year, d.Month)
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// IsZero reports whether d is the zero Date ("no date").
func (d Date) IsZero() bool { return d == Date{} }

// String returns d as "YYYY-MM-DD". An invalid date is printed as its fields, never normalised.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// In returns the first instant of d (00:00) in loc; d.In(civil.Shanghai()) is the start of the
// canteen day. d must be valid; out-of-range fields are normalised as time.Date does.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Start returns the first instant of d in Asia/Shanghai; d.Start().Add(24*time.Hour) is the next day's start.
func (d Date) Start() time.Time { return d.In(shanghai) }

// AddDays returns the date n days after d (before d when n < 0). d must be valid.
func (d Date) AddDays(n int) Date {
	return dateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// DaysSince returns the number of days from e to d: positive when d is after e. Both must be valid.
func (d Date) DaysSince(e Date) int {
	// Noon UTC on both sides keeps the difference a whole number of days.
	a := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	b := time.Date(e.Year, e.Month, e.Day, 12, 0, 0, 0, time.UTC)
	return int(a.Sub(b) / (24 * time.Hour))
}

// Weekday returns the day of the week of d (time.Sunday = 0).
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// ISOWeekday returns the ISO 8601 day of the week: Monday = 1 ... Sunday = 7.
// Policies store weekdays in this numbering.
func (d Date) ISOWeekday() int {
	if wd := d.Weekday(); wd != time.Sunday {
		return int(wd)
	}
	return 7
}

// MondayOf returns the Monday of d's ISO week (d itself when d is a Monday).
func (d Date) MondayOf() Date {
	return d.AddDays(1 - d.ISOWeekday())
}

// Compare returns -1 if d is before e, 0 if they are the same date, +1 if d is after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// MarshalJSON writes d as "YYYY-MM-DD", and the zero Date as null.
// It fails for an invalid non-zero date rather than write something unparseable.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	if !d.IsValid() {
		return nil, fmt.Errorf("civil: marshal invalid date %s", d)
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" as ParseDate does; null leaves d unchanged.
// Errors wrap ErrDateInvalid.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return ErrDateInvalid
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
