package catalog

import (
	"fmt"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Period is a meal period (餐次) of the day.
type Period string

// The meal periods, in serving order.
const (
	Breakfast Period = "breakfast"
	Lunch     Period = "lunch"
	Dinner    Period = "dinner"
)

// Periods lists every meal period in serving order.
func Periods() []Period { return []Period{Breakfast, Lunch, Dinner} }

// ErrPeriodInvalid is the Invalid error of ParsePeriod.
var ErrPeriodInvalid = apperr.New(apperr.Invalid, "period_invalid",
	"餐次应为 breakfast、lunch 或 dinner / period must be breakfast, lunch or dinner")

// ParsePeriod parses "breakfast", "lunch" or "dinner". Errors are ErrPeriodInvalid.
func ParsePeriod(s string) (Period, error) {
	p := Period(s)
	if !p.Valid() {
		return "", ErrPeriodInvalid
	}
	return p, nil
}

// Valid reports whether p is one of the three meal periods.
func (p Period) Valid() bool { return p.Rank() > 0 }

// Rank is p's position in the day: breakfast 1, lunch 2, dinner 3, anything else 0.
func (p Period) Rank() int {
	switch p {
	case Breakfast:
		return 1
	case Lunch:
		return 2
	case Dinner:
		return 3
	}
	return 0
}

// Label returns the Chinese name of p (早餐, 午餐, 晚餐).
func (p Period) Label() string {
	switch p {
	case Breakfast:
		return "早餐"
	case Lunch:
		return "午餐"
	case Dinner:
		return "晚餐"
	}
	return string(p)
}

// ClockTime is a wall-clock time of day in Asia/Shanghai, in minutes since midnight
// (0 = 00:00 ... 1439 = 23:59). Its text and JSON form is "HH:MM".
type ClockTime int

// ErrClockTimeInvalid is the Invalid error of ParseClockTime.
var ErrClockTimeInvalid = apperr.New(apperr.Invalid, "clock_time_invalid",
	"时间格式应为 HH:MM / time must be written HH:MM (00:00-23:59)")

// Clock returns the ClockTime h:m. It does not check the range; see Valid.
func Clock(h, m int) ClockTime { return ClockTime(h*60 + m) }

// ParseClockTime parses "HH:MM" (two digits each, 00:00 to 23:59). Errors are ErrClockTimeInvalid.
func ParseClockTime(s string) (ClockTime, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, ErrClockTimeInvalid
	}
	h, ok1 := twoDigits(s[0:2])
	m, ok2 := twoDigits(s[3:5])
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, ErrClockTimeInvalid
	}
	return Clock(h, m), nil
}

func twoDigits(s string) (int, bool) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// Valid reports whether t is between 00:00 and 23:59.
func (t ClockTime) Valid() bool { return t >= 0 && t < 24*60 }

// Hour returns the hour of t (0-23 for a valid t).
func (t ClockTime) Hour() int { return int(t) / 60 }

// Minute returns the minute of t (0-59 for a valid t).
func (t ClockTime) Minute() int { return int(t) % 60 }

// String returns t as "HH:MM".
func (t ClockTime) String() string { return fmt.Sprintf("%02d:%02d", t.Hour(), t.Minute()) }

// MarshalText writes t as "HH:MM"; it fails for a time outside 00:00-23:59.
func (t ClockTime) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("catalog: marshal invalid clock time %d", int(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads "HH:MM" as ParseClockTime does.
func (t *ClockTime) UnmarshalText(b []byte) error {
	v, err := ParseClockTime(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}
