package subsidy

import (
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/civil"
	"pgregory.net/rapid"
)

func d(y, m, day int) civil.Date { return civil.Date{Year: y, Month: time.Month(m), Day: day} }

func TestAgeOnAndTierOn(t *testing.T) {
	tests := []struct {
		name     string
		birth    civil.Date
		day      civil.Date
		wantAge  int
		wantTier AgeTier
	}{
		{"day of birth", d(1960, 5, 10), d(1960, 5, 10), 0, TierUnder60},
		{"day before birth", d(1960, 5, 10), d(1960, 5, 9), -1, TierUnder60},
		{"eve of 60th birthday", d(1966, 11, 29), d(2026, 11, 28), 59, TierUnder60},
		{"60th birthday", d(1966, 11, 28), d(2026, 11, 28), 60, Tier60},
		{"69", d(1956, 11, 29), d(2026, 11, 28), 69, Tier60},
		{"70th birthday", d(1956, 11, 28), d(2026, 11, 28), 70, Tier70},
		{"later month, earlier day", d(1956, 10, 30), d(2026, 11, 1), 70, Tier70},
		{"earlier month, later day", d(1956, 12, 1), d(2026, 11, 30), 69, Tier60},
		{"80", d(1946, 1, 1), d(2026, 1, 1), 80, Tier80},
		{"88, day before 89th birthday", d(1937, 1, 2), d(2026, 1, 1), 88, Tier80},
		{"90", d(1936, 1, 1), d(2026, 1, 1), 90, Tier90},
		{"105", d(1921, 6, 1), d(2026, 11, 28), 105, Tier90},
		{"29 Feb, 28 Feb of a common year", d(1956, 2, 29), d(2026, 2, 28), 69, Tier60},
		{"29 Feb, 1 Mar of a common year", d(1956, 2, 29), d(2026, 3, 1), 70, Tier70},
		{"29 Feb, 28 Feb of a leap year", d(1964, 2, 29), d(2024, 2, 28), 59, TierUnder60},
		{"29 Feb, 29 Feb of a leap year", d(1964, 2, 29), d(2024, 2, 29), 60, Tier60},
		{"31 Dec to 1 Jan", d(1965, 12, 31), d(2026, 1, 1), 60, Tier60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AgeOn(tc.birth, tc.day); got != tc.wantAge {
				t.Fatalf("AgeOn(%v, %v) = %d, want %d", tc.birth, tc.day, got, tc.wantAge)
			}
			if got := TierOn(tc.birth, tc.day); got != tc.wantTier {
				t.Fatalf("TierOn(%v, %v) = %d, want %d", tc.birth, tc.day, got, tc.wantTier)
			}
		})
	}
}

func TestTierOf(t *testing.T) {
	tests := []struct {
		age  int
		want AgeTier
	}{
		{-1, TierUnder60}, {0, TierUnder60}, {59, TierUnder60}, {60, Tier60}, {69, Tier60},
		{70, Tier70}, {79, Tier70}, {80, Tier80}, {89, Tier80}, {90, Tier90}, {120, Tier90},
	}
	for _, tc := range tests {
		if got := TierOf(tc.age); got != tc.want || !got.Valid() {
			t.Errorf("TierOf(%d) = %d, want %d", tc.age, got, tc.want)
		}
	}
	for _, bad := range []AgeTier{-60, 1, 59, 65, 100} {
		if bad.Valid() {
			t.Errorf("AgeTier(%d).Valid() = true", bad)
		}
	}
}

func TestAgeProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		birth := d(1900, 1, 1).AddDays(rapid.IntRange(0, 50000).Draw(t, "birth"))
		day := birth.AddDays(rapid.IntRange(0, 45000).Draw(t, "after"))
		if AgeOn(birth, birth) != 0 {
			t.Fatalf("AgeOn(%v, itself) != 0", birth)
		}
		step := AgeOn(birth, day.AddDays(1)) - AgeOn(birth, day)
		if step != 0 && step != 1 {
			t.Fatalf("age jumps by %d from %v to the next day", step, day)
		}
		// Exactly on the anniversary (or 1 March for a 29 Feb birth) the age goes up.
		if step == 1 {
			next := day.AddDays(1)
			onAnniversary := next.Month == birth.Month && next.Day == birth.Day ||
				birth.Month == 2 && birth.Day == 29 && next.Month == 3 && next.Day == 1 &&
					!(civil.Date{Year: next.Year, Month: 2, Day: 29}).IsValid()
			if !onAnniversary {
				t.Fatalf("age went up on %v for a birth on %v", next, birth)
			}
		}
		if TierOn(birth, day.AddDays(1)) < TierOn(birth, day) {
			t.Fatalf("tier went down from %v to the next day", day)
		}
		if a := AgeOn(birth, day); a < 0 || a > (day.Year-birth.Year) {
			t.Fatalf("AgeOn = %d out of range", a)
		}
	})
}
