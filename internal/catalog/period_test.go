package catalog_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/canteen-oss/canteen/internal/catalog"
)

func TestParsePeriod(t *testing.T) {
	for _, s := range []string{"breakfast", "lunch", "dinner"} {
		if p, err := catalog.ParsePeriod(s); err != nil || string(p) != s {
			t.Errorf("ParsePeriod(%q) = %q, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "Lunch", "supper", " lunch"} {
		if _, err := catalog.ParsePeriod(s); !errors.Is(err, catalog.ErrPeriodInvalid) {
			t.Errorf("ParsePeriod(%q) err = %v", s, err)
		}
	}
	if catalog.Breakfast.Label() != "早餐" || catalog.Lunch.Rank() >= catalog.Dinner.Rank() {
		t.Fatal("labels or ranks wrong")
	}
}

func TestClockTime(t *testing.T) {
	tests := []struct {
		in   string
		want catalog.ClockTime
		ok   bool
	}{
		{"00:00", 0, true},
		{"07:05", catalog.Clock(7, 5), true},
		{"23:59", 23*60 + 59, true},
		{"24:00", 0, false},
		{"12:60", 0, false},
		{"7:05", 0, false},
		{"07-05", 0, false},
		{"07:05:00", 0, false},
		{"-1:00", 0, false},
		{"ab:cd", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		got, err := catalog.ParseClockTime(tc.in)
		if tc.ok != (err == nil) || (tc.ok && got != tc.want) {
			t.Errorf("ParseClockTime(%q) = %v, %v", tc.in, got, err)
		}
		if !tc.ok && !errors.Is(err, catalog.ErrClockTimeInvalid) {
			t.Errorf("ParseClockTime(%q) err = %v, want ErrClockTimeInvalid", tc.in, err)
		}
	}

	mp := catalog.MealPeriod{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0), ServeEnd: catalog.Clock(13, 30),
		OrderCutoff: catalog.Clock(9, 5), PreorderDays: 2, Enabled: true}
	b, err := json.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"period":"lunch","serve_start":"11:00","serve_end":"13:30","order_cutoff":"09:05","preorder_days":2,"enabled":true}`
	if string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	var back catalog.MealPeriod
	if err := json.Unmarshal(b, &back); err != nil || back != mp {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"serve_start":"25:00"}`), &back); err == nil {
		t.Fatal("25:00 accepted")
	}
	if _, err := json.Marshal(catalog.ClockTime(24 * 60)); err == nil {
		t.Fatal("marshalled 24:00")
	}
}

func FuzzParseClockTime(f *testing.F) {
	for _, s := range []string{"00:00", "23:59", "24:00", "1:2", "١٢:٠٠"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := catalog.ParseClockTime(s)
		if err != nil {
			return
		}
		if !c.Valid() || c.String() != s {
			t.Fatalf("ParseClockTime(%q) = %d, which prints as %q", s, int(c), c.String())
		}
	})
}
