package civil

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Date
		ok   bool
	}{
		{"ordinary", "2026-11-28", Date{2026, time.November, 28}, true},
		{"leap day in leap year", "2024-02-29", Date{2024, time.February, 29}, true},
		{"leap day in 2000", "2000-02-29", Date{2000, time.February, 29}, true},
		{"leap day in 1900 (not leap)", "1900-02-29", Date{}, false},
		{"leap day in common year", "2026-02-29", Date{}, false},
		{"april 31", "2026-04-31", Date{}, false},
		{"month 13", "2026-13-01", Date{}, false},
		{"month 0", "2026-00-10", Date{}, false},
		{"day 0", "2026-01-00", Date{}, false},
		{"year 0", "0000-01-01", Date{}, false},
		{"first year", "0001-01-01", Date{1, time.January, 1}, true},
		{"last day", "9999-12-31", Date{9999, time.December, 31}, true},
		{"no padding", "2026-1-5", Date{}, false},
		{"slashes", "2026/11/28", Date{}, false},
		{"compact", "20261128", Date{}, false},
		{"trailing space", "2026-11-28 ", Date{}, false},
		{"sign", "+026-11-28", Date{}, false},
		{"time attached", "2026-11-28T00:00", Date{}, false},
		{"empty", "", Date{}, false},
		{"full-width digits", "２０２６-11-28", Date{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDate(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("ParseDate(%q) error: %v", tc.in, err)
				}
				if got != tc.want {
					t.Fatalf("ParseDate(%q) (-want +got):\n-%v\n+%v", tc.in, tc.want, got)
				}
				if got.String() != tc.in {
					t.Fatalf("String() = %q, want %q", got.String(), tc.in)
				}
				return
			}
			if !errors.Is(err, ErrDateInvalid) {
				t.Fatalf("ParseDate(%q) = %v, %v; want ErrDateInvalid", tc.in, got, err)
			}
		})
	}
}

func TestToday(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		want Date
	}{
		{"utc afternoon is next day in Shanghai", time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC), Date{2026, 11, 28}},
		{"last second of the Shanghai day", time.Date(2026, 11, 28, 15, 59, 59, 0, time.UTC), Date{2026, 11, 28}},
		{"new year in Shanghai, old year in UTC", time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC), Date{2027, 1, 1}},
		{"already in Shanghai", time.Date(2026, 3, 1, 0, 0, 0, 0, Shanghai()), Date{2026, 3, 1}},
		{"other zone", time.Date(2026, 3, 1, 23, 0, 0, 0, time.FixedZone("X", -5*3600)), Date{2026, 3, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Today(tc.now); got != tc.want {
				t.Fatalf("Today(%v) = %v, want %v", tc.now, got, tc.want)
			}
		})
	}
}

func TestShanghaiLocation(t *testing.T) {
	if got := Shanghai().String(); got != "Asia/Shanghai" {
		t.Fatalf("location = %q, want Asia/Shanghai (tzdata not embedded?)", got)
	}
	start := Date{2026, 11, 28}.Start()
	if want := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC); !start.Equal(want) {
		t.Fatalf("Start() = %v, want %v", start, want)
	}
	if got := (Date{2026, 11, 28}).In(time.UTC); !got.Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("In(UTC) = %v", got)
	}
}

func TestAddDaysAndWeekdays(t *testing.T) {
	tests := []struct {
		name   string
		d      Date
		n      int
		want   Date
		wantWD int // ISO weekday of want
		monday Date
	}{
		{"same day", Date{2026, 11, 28}, 0, Date{2026, 11, 28}, 6, Date{2026, 11, 23}},
		{"into next month", Date{2026, 11, 28}, 3, Date{2026, 12, 1}, 2, Date{2026, 11, 30}},
		{"into next year", Date{2026, 12, 31}, 1, Date{2027, 1, 1}, 5, Date{2026, 12, 28}},
		{"leap february", Date{2024, 2, 28}, 1, Date{2024, 2, 29}, 4, Date{2024, 2, 26}},
		{"common february", Date{2026, 2, 28}, 1, Date{2026, 3, 1}, 7, Date{2026, 2, 23}},
		{"backwards over year", Date{2027, 1, 1}, -1, Date{2026, 12, 31}, 4, Date{2026, 12, 28}},
		{"a monday", Date{2026, 11, 30}, 0, Date{2026, 11, 30}, 1, Date{2026, 11, 30}},
		{"a sunday", Date{2026, 11, 29}, 0, Date{2026, 11, 29}, 7, Date{2026, 11, 23}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.d.AddDays(tc.n)
			if got != tc.want {
				t.Fatalf("%v.AddDays(%d) = %v, want %v", tc.d, tc.n, got, tc.want)
			}
			if wd := got.ISOWeekday(); wd != tc.wantWD {
				t.Fatalf("%v.ISOWeekday() = %d, want %d", got, wd, tc.wantWD)
			}
			if m := got.MondayOf(); m != tc.monday {
				t.Fatalf("%v.MondayOf() = %v, want %v", got, m, tc.monday)
			}
			if n := got.DaysSince(tc.d); n != tc.n {
				t.Fatalf("DaysSince = %d, want %d", n, tc.n)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b Date
		want int
	}{
		{Date{2026, 11, 28}, Date{2026, 11, 28}, 0},
		{Date{2026, 11, 27}, Date{2026, 11, 28}, -1},
		{Date{2026, 10, 31}, Date{2026, 11, 1}, -1},
		{Date{2025, 12, 31}, Date{2026, 1, 1}, -1},
		{Date{2026, 1, 1}, Date{2025, 12, 31}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.a.String()+"_"+tc.b.String(), func(t *testing.T) {
			if got := tc.a.Compare(tc.b); got != tc.want {
				t.Fatalf("Compare = %d, want %d", got, tc.want)
			}
			if got := tc.a.Before(tc.b); got != (tc.want < 0) {
				t.Fatalf("Before = %v", got)
			}
			if got := tc.a.After(tc.b); got != (tc.want > 0) {
				t.Fatalf("After = %v", got)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	type row struct {
		Day  Date  `json:"day"`
		Opt  Date  `json:"opt"`
		Skip *Date `json:"skip,omitempty"`
	}
	in := row{Day: Date{2026, 11, 28}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"day":"2026-11-28","opt":null}`; string(b) != want {
		t.Fatalf("Marshal = %s, want %s", b, want)
	}
	var out row
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}

	for _, bad := range []string{`{"day":"2026-02-30"}`, `{"day":20261128}`, `{"day":"28/11/2026"}`} {
		t.Run(bad, func(t *testing.T) {
			var r row
			err := json.Unmarshal([]byte(bad), &r)
			if !errors.Is(err, ErrDateInvalid) {
				t.Fatalf("Unmarshal(%s) err = %v, want ErrDateInvalid", bad, err)
			}
		})
	}
	if _, err := json.Marshal(Date{2026, 2, 30}); err == nil {
		t.Fatal("Marshal of an invalid date must fail")
	}
}

// genDate draws a valid date from 1900 to 2200.
func genDate() *rapid.Generator[Date] {
	return rapid.Custom(func(t *rapid.T) Date {
		y := rapid.IntRange(1900, 2200).Draw(t, "year")
		m := time.Month(rapid.IntRange(1, 12).Draw(t, "month"))
		d := rapid.IntRange(1, daysIn(y, m)).Draw(t, "day")
		return Date{y, m, d}
	})
}

func TestDateProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := genDate().Draw(t, "d")
		e := genDate().Draw(t, "e")
		n := rapid.IntRange(-40000, 40000).Draw(t, "n")

		if !d.IsValid() {
			t.Fatalf("generated invalid %v", d)
		}
		if p, err := ParseDate(d.String()); err != nil || p != d {
			t.Fatalf("ParseDate(String()) = %v, %v; want %v", p, err, d)
		}
		if got := d.AddDays(n).AddDays(-n); got != d {
			t.Fatalf("AddDays(%d) then back = %v, want %v", n, got, d)
		}
		if got := d.AddDays(n).DaysSince(d); got != n {
			t.Fatalf("DaysSince = %d, want %d", got, n)
		}
		// Compare agrees with the instants the dates start at.
		if got, want := d.Compare(e), d.Start().Compare(e.Start()); got != want {
			t.Fatalf("%v.Compare(%v) = %d, instants say %d", d, e, got, want)
		}
		m := d.MondayOf()
		if m.ISOWeekday() != 1 || d.DaysSince(m) < 0 || d.DaysSince(m) > 6 {
			t.Fatalf("MondayOf(%v) = %v", d, m)
		}
		if got, want := d.AddDays(7).ISOWeekday(), d.ISOWeekday(); got != want {
			t.Fatalf("weekday not periodic: %d vs %d", got, want)
		}
		if Today(d.Start()) != d || Today(d.AddDays(1).Start().Add(-time.Nanosecond)) != d {
			t.Fatalf("Today at the edges of %v is wrong", d)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-11-28", "2024-02-29", "2026-02-29", "0000-00-00", "9999-12-31", "", "2026-1-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			if !errors.Is(err, ErrDateInvalid) {
				t.Fatalf("ParseDate(%q) returned a foreign error %v", s, err)
			}
			return
		}
		if !d.IsValid() {
			t.Fatalf("ParseDate(%q) accepted invalid %v", s, d)
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q).String() = %q", s, d.String())
		}
	})
}
