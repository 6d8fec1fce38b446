package funding_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
)

func TestApportion(t *testing.T) {
	tests := []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{333, []int64{700, 300}, []int64{233, 100}},
		{10, []int64{1, 1, 1}, []int64{4, 3, 3}},
		{0, []int64{5, 5}, []int64{0, 0}},
		{7, []int64{0, 0}, []int64{0, 0}},
		{1000, []int64{700, 300}, []int64{700, 300}},
		{funding.MaxFen, []int64{funding.MaxFen, funding.MaxFen}, []int64{funding.MaxFen / 2, funding.MaxFen / 2}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, funding.Apportion(tc.total, tc.weights)); diff != "" {
			t.Errorf("Apportion(%d, %v) (-want +got):\n%s", tc.total, tc.weights, diff)
		}
	}
}

// TestApportionProperties: the parts sum to the total exactly, none passes its weight, and
// each is its exact share rounded down or up.
func TestApportionProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		weights := rapid.SliceOfN(rapid.Int64Range(0, funding.MaxFen), 1, 8).Draw(t, "weights")
		var sum int64
		for _, w := range weights {
			sum += w
		}
		total := rapid.Int64Range(0, sum).Draw(t, "total")
		parts := funding.Apportion(total, weights)
		var got int64
		for i, p := range parts {
			got += p
			if p > weights[i] {
				t.Fatalf("part %d = %d passes its weight %d", i, p, weights[i])
			}
			if sum > 0 {
				floor := funding.MulDiv(total, weights[i], sum)
				if p != floor && p != floor+1 {
					t.Fatalf("part %d = %d, exact share floors to %d", i, p, floor)
				}
			}
		}
		if sum > 0 && got != total {
			t.Fatalf("parts sum to %d, want %d", got, total)
		}
	})
}

func TestMergeHolds(t *testing.T) {
	got, err := funding.MergeHolds([]funding.Hold{
		{PledgeID: 2, PolicyID: 1, PolicyVersion: 3, Fen: 100},
		{PledgeID: 1, PolicyID: 5, PolicyVersion: 1, Fen: 50},
		{PledgeID: 2, PolicyID: 1, PolicyVersion: 3, Fen: 20},
		{PledgeID: 1, PolicyID: 2, PolicyVersion: 1, Fen: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []funding.Hold{{PledgeID: 1, PolicyID: 5, PolicyVersion: 1, Fen: 50}, {PledgeID: 2, PolicyID: 1, PolicyVersion: 3, Fen: 120}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	_, err = funding.MergeHolds([]funding.Hold{{PledgeID: 1, PolicyID: 1, PolicyVersion: 1, Fen: 1}, {PledgeID: 1, PolicyID: 1, PolicyVersion: 2, Fen: 1}})
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.Invalid || e.Fields[0].Field != "holds[1].policy_version" {
		t.Fatalf("two versions of one policy: %v", err)
	}
}

func TestPledgePeriods(t *testing.T) {
	d := func(y int, m time.Month, day int) civil.Date { return civil.Date{Year: y, Month: m, Day: day} }
	monthly := funding.Pledge{Kind: funding.Monthly, StartMonth: funding.Month{Year: 2026, Month: 11}, EndMonth: funding.Month{Year: 2027, Month: 1}}
	open := funding.Pledge{Kind: funding.Monthly, StartMonth: funding.Month{Year: 2026, Month: 11}}
	ranged := funding.Pledge{Kind: funding.Range, From: d(2026, 11, 15), To: d(2026, 12, 14)}
	tests := []struct {
		name string
		p    funding.Pledge
		day  civil.Date
		want funding.Period
		ok   bool
	}{
		{"monthly, first day", monthly, d(2026, 11, 1), "2026-11", true},
		{"monthly, last day", monthly, d(2027, 1, 31), "2027-01", true},
		{"monthly, before", monthly, d(2026, 10, 31), "", false},
		{"monthly, after", monthly, d(2027, 2, 1), "", false},
		{"open-ended", open, d(2030, 2, 28), "2030-02", true},
		{"range, inside", ranged, d(2026, 12, 14), funding.RangePeriod, true},
		{"range, after", ranged, d(2026, 12, 15), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.p.PeriodOf(tc.day)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("PeriodOf(%s) = %q, %t; want %q, %t", tc.day, got, ok, tc.want, tc.ok)
			}
			if ok && !tc.p.HasPeriod(got) {
				t.Fatalf("HasPeriod(%q) = false", got)
			}
		})
	}
	for _, s := range []string{"2026-1", "2026-13", "26-11", "2026-11-01", "range "} {
		if _, err := funding.ParsePeriod(s); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", s)
		}
	}
	if m, err := funding.ParseMonth("2026-12"); err != nil || m.Next() != (funding.Month{Year: 2027, Month: 1}) || m.Last() != d(2026, 12, 31) {
		t.Fatalf("ParseMonth: %v %v", m, err)
	}
	for _, m := range []funding.Month{{Year: 2027, Month: 1}, {Year: 2026, Month: 7}, {Year: 2026, Month: 12}} {
		if got := m.Next().Prev(); got != m {
			t.Errorf("%v.Next().Prev() = %v", m, got)
		}
	}
	if got := (funding.Month{Year: 2027, Month: 1}).Prev(); got != (funding.Month{Year: 2026, Month: 12}) {
		t.Errorf("the month before 2027-01 is %v", got)
	}
}

func TestMonthJSON(t *testing.T) {
	var p funding.PledgePatch
	if err := json.Unmarshal([]byte(`{"end_month": ""}`), &p); err != nil || p.EndMonth == nil || !p.EndMonth.IsZero() {
		t.Fatalf(`"" end month: %+v %v`, p.EndMonth, err)
	}
	var in funding.PledgeInput
	if err := json.Unmarshal([]byte(`{"start_month": "2026-11"}`), &in); err != nil || in.StartMonth != (funding.Month{Year: 2026, Month: 11}) {
		t.Fatalf("start month: %+v %v", in.StartMonth, err)
	}
	if err := json.Unmarshal([]byte(`{"start_month": "2026-1"}`), &in); !errors.Is(err, funding.ErrMonthInvalid) {
		t.Fatalf("bad month: %v", err)
	}
	b, err := json.Marshal(funding.Pledge{Kind: funding.Monthly, StartMonth: funding.Month{Year: 2026, Month: 11}})
	if err != nil || !strings.Contains(string(b), `"start_month":"2026-11"`) || strings.Contains(string(b), `"end_month"`) || strings.Contains(string(b), `"from"`) {
		t.Fatalf("marshal: %s %v", b, err)
	}
}
