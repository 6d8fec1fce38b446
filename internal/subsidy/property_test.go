package subsidy

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// The generators draw from small pools (4 pledges, 4 dishes, 2 categories, 2 canteens) so that
// policies, carts, balances and usage collide often: ties in priority, shared pledges, limits
// and budgets that run out part-way through a cart.

var (
	genPledgeIDs = []int64{1, 2, 3, 4}
	genWindows   = []LimitWindow{PerMeal, PerDay, PerMonth}
	genFlags     = []StatusFlag{Dibao, Tekun, Disabled, LivingAlone, Veteran}
)

// subset draws each element of pool with probability 1/2, keeping pool's order.
func subset[E any](t *rapid.T, label string, pool []E) []E {
	var out []E
	for _, e := range pool {
		if rapid.Bool().Draw(t, label) {
			out = append(out, e)
		}
	}
	return out
}

func sometimes(t *rapid.T, label string) bool { return rapid.IntRange(0, 3).Draw(t, label) == 0 }

func genPolicy(t *rapid.T, id int64) Policy {
	p := Policy{
		ID: id, Version: rapid.Int64Range(1, 3).Draw(t, "version"), CommunityID: 1, Name: "规则",
		Priority:  rapid.IntRange(0, 3).Draw(t, "priority"),
		Stackable: rapid.Bool().Draw(t, "stackable"),
	}
	if sometimes(t, "valid_from?") {
		p.ValidFrom = thursday.AddDays(rapid.IntRange(-3, 2).Draw(t, "valid_from"))
	}
	if sometimes(t, "valid_to?") {
		from := p.ValidFrom
		if from.IsZero() {
			from = thursday.AddDays(-2)
		}
		p.ValidTo = from.AddDays(rapid.IntRange(0, 4).Draw(t, "valid_to"))
	}
	if sometimes(t, "who?") {
		p.Who.Groups = subset(t, "groups", []Group{Elderly, Worker, General})
		if len(p.Who.Groups) == 0 || slices.Equal(p.Who.Groups, []Group{Elderly}) {
			p.Who.Tiers = subset(t, "tiers", []AgeTier{TierUnder60, Tier60, Tier70, Tier80, Tier90})
		}
		p.Who.Flags = subset(t, "flags", genFlags)
	}
	if sometimes(t, "when?") {
		p.When.CanteenIDs = subset(t, "canteens", []int64{1, 2})
		p.When.Periods = subset(t, "periods", catalog.Periods())
		p.When.Weekdays = subset(t, "weekdays", []int{1, 2, 3, 4, 5, 6, 7})
		if rapid.Bool().Draw(t, "window?") {
			from := rapid.IntRange(0, 1438).Draw(t, "from")
			to := rapid.IntRange(from+1, 1439).Draw(t, "to")
			p.When.Window = &TimeWindow{From: catalog.ClockTime(from), To: catalog.ClockTime(to)}
		}
	}
	if sometimes(t, "what?") {
		p.What.DishIDs = subset(t, "dishes", []int64{1, 2, 3, 4})
		p.What.Categories = subset(t, "categories", []string{"a", "b"})
	}
	if sometimes(t, "max_items?") {
		p.What.MaxItems = rapid.IntRange(1, 3).Draw(t, "max_items")
	}
	switch p.Benefit.Kind = rapid.SampledFrom([]BenefitKind{FixedPrice, AmountOff, PercentOff}).Draw(t, "kind"); p.Benefit.Kind {
	case FixedPrice:
		p.Benefit.PriceFen = rapid.Int64Range(0, 2000).Draw(t, "price")
	case AmountOff:
		p.Benefit.AmountFen = rapid.Int64Range(1, 2000).Draw(t, "amount")
	case PercentOff:
		p.Benefit.PercentBP = rapid.IntRange(1, 10000).Draw(t, "percent")
	}
	if sometimes(t, "cap?") {
		p.Benefit.CapFen = rapid.Int64Range(1, 1500).Draw(t, "cap")
	}
	if sometimes(t, "min_spend?") {
		p.Benefit.MinSpendFen = rapid.Int64Range(1, 5000).Draw(t, "min_spend")
	}
	for _, w := range genWindows {
		if sometimes(t, "limit?") {
			l := Limit{Window: w, Count: rapid.IntRange(0, 3).Draw(t, "count"), AmountFen: rapid.Int64Range(0, 3000).Draw(t, "limit_amount")}
			if l.Count == 0 && l.AmountFen == 0 {
				l.Count = 1
			}
			p.Limits = append(p.Limits, l)
		}
	}
	p.Funding.Mode = rapid.SampledFrom([]FundingMode{FundingFixed, FundingShares, FundingWaterfall}).Draw(t, "mode")
	pledges := rapid.Permutation(genPledgeIDs).Draw(t, "pledges")[:rapid.IntRange(1, 3).Draw(t, "parts")]
	shareLeft, rest := 10000, false
	for i, pledge := range pledges {
		part := FundingPart{PledgeID: pledge, SponsorID: pledge * 10, Label: "资助方",
			HomeDistrictOnly: sometimes(t, "home_only")}
		switch p.Funding.Mode {
		case FundingFixed:
			part.Fen = rapid.Int64Range(0, 800).Draw(t, "fen")
			if part.Fen == 0 && rest {
				part.Fen = 1
			}
			rest = rest || part.Fen == 0
		case FundingShares:
			part.ShareBP = shareLeft
			if i < len(pledges)-1 {
				part.ShareBP = rapid.IntRange(1, shareLeft-(len(pledges)-1-i)).Draw(t, "share")
			}
			shareLeft -= part.ShareBP
		}
		p.Funding.Parts = append(p.Funding.Parts, part)
	}
	return p
}

func genInput(t *rapid.T) Input {
	day := thursday.AddDays(rapid.IntRange(0, 1).Draw(t, "preorder_days"))
	in := Input{
		At:              thursday.Start().Add(time.Duration(rapid.IntRange(0, 86399).Draw(t, "second")) * time.Second),
		Day:             day,
		Period:          rapid.SampledFrom(catalog.Periods()).Draw(t, "period"),
		CanteenID:       rapid.Int64Range(1, 2).Draw(t, "canteen"),
		CanteenDistrict: rapid.SampledFrom([]string{home, away}).Draw(t, "canteen_district"),
		Available:       map[int64]int64{},
		Usage:           map[UsageKey]Usage{},
	}
	for range rapid.IntRange(0, 3).Draw(t, "eligibilities") {
		el := Eligibility{
			Group:    rapid.SampledFrom([]Group{Elderly, Worker, General}).Draw(t, "group"),
			Flags:    subset(t, "flags", genFlags),
			District: rapid.SampledFrom([]string{home, away, ""}).Draw(t, "district"),
		}
		if rapid.IntRange(0, 4).Draw(t, "birth?") > 0 {
			el.BirthDate = day.AddDays(-rapid.IntRange(50*365, 100*365).Draw(t, "age_days"))
		}
		in.Diner.Eligibilities = append(in.Diner.Eligibilities, el)
	}
	for range rapid.IntRange(0, 4).Draw(t, "lines") {
		unit := rapid.Int64Range(0, 3000).Draw(t, "unit_fen")
		if sometimes(t, "dear?") {
			unit = rapid.SampledFrom([]int64{1, 999, 1200, 2500, MaxUnitFen}).Draw(t, "dear")
		}
		in.Lines = append(in.Lines, Line{
			DishID:   rapid.Int64Range(1, 4).Draw(t, "dish"),
			Category: rapid.SampledFrom([]string{"a", "b"}).Draw(t, "category"),
			UnitFen:  unit,
			Qty:      rapid.IntRange(1, 5).Draw(t, "qty"),
		})
	}
	for i := range rapid.IntRange(0, 6).Draw(t, "policies") {
		in.Policies = append(in.Policies, genPolicy(t, int64(i+1)))
	}
	for _, pledge := range genPledgeIDs {
		if rapid.IntRange(0, 5).Draw(t, "available?") > 0 {
			in.Available[pledge] = rapid.Int64Range(0, 6000).Draw(t, "available")
		}
	}
	for _, p := range in.Policies {
		for _, l := range p.Limits {
			if rapid.Bool().Draw(t, "usage?") {
				in.Usage[UsageKey{p.ID, l.Window}] = Usage{
					Count:     rapid.IntRange(0, 4).Draw(t, "used_count"),
					AmountFen: rapid.Int64Range(0, 4000).Draw(t, "used_amount"),
				}
			}
		}
	}
	return in
}

// TestPriceProperties checks the invariants on random policies, carts, balances and usage, and
// that the quote does not depend on the order of policies, eligibilities or map iteration.
func TestPriceProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		for _, p := range in.Policies {
			if err := p.Validate(); err != nil {
				t.Fatalf("generated policy %d is invalid: %v", p.ID, err)
			}
		}
		q, err := Price(in)
		if err != nil {
			t.Fatalf("Price: %v", err)
		}
		checkQuote(t, in, q)

		// The same input, shuffled and with maps rebuilt, gives the same quote.
		again := in
		again.Policies = rapid.Permutation(in.Policies).Draw(t, "policy order")
		again.Diner.Eligibilities = rapid.Permutation(in.Diner.Eligibilities).Draw(t, "eligibility order")
		again.Available = map[int64]int64{}
		for _, k := range rapid.Permutation(slices.Sorted(maps.Keys(in.Available))).Draw(t, "available order") {
			again.Available[k] = in.Available[k]
		}
		q2, err := Price(again)
		if err != nil {
			t.Fatalf("Price (shuffled): %v", err)
		}
		if diff := cmp.Diff(q, q2); diff != "" {
			t.Fatalf("shuffling the input changes the quote (-first +second):\n%s", diff)
		}

		// Reordering the cart moves lines but changes no total, hold or claim.
		perm := rapid.Permutation(in.Lines).Draw(t, "line order")
		again.Lines = perm
		q3, err := Price(again)
		if err != nil {
			t.Fatalf("Price (lines reordered): %v", err)
		}
		checkQuote(t, again, q3)
		type totals struct {
			Standard, Subsidy, Pay int64
			Holds                  []Hold
			Claims                 []Claim
			Reasons                []Reason
		}
		if diff := cmp.Diff(totals{q.StandardFen, q.SubsidyFen, q.PayFen, q.Holds, q.Claims, q.Reasons},
			totals{q3.StandardFen, q3.SubsidyFen, q3.PayFen, q3.Holds, q3.Claims, q3.Reasons}); diff != "" {
			t.Fatalf("reordering the cart changes the quote (-first +second):\n%s", diff)
		}
	})
}

// TestNoPolicyNoSubsidy: without policies, or with every pledge empty, the diner pays the
// standard price of every line.
func TestNoPolicyNoSubsidy(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		if rapid.Bool().Draw(t, "drop policies") {
			in.Policies = nil
		} else {
			in.Available = nil
		}
		q, err := Price(in)
		if err != nil {
			t.Fatalf("Price: %v", err)
		}
		checkQuote(t, in, q)
		if q.SubsidyFen != 0 || q.PayFen != q.StandardFen || len(q.Holds) != 0 || len(q.Claims) != 0 {
			t.Fatalf("subsidy %d with no policy or no money", q.SubsidyFen)
		}
	})
}

// TestOnePolicyReference compares a lone exclusive policy with ample money and no limits to the
// benefit worked out by hand: every covered unit gets exactly it, rounded down, capped.
func TestOnePolicyReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		p := genPolicy(t, 1)
		p.Stackable, p.Who, p.When, p.Limits, p.ValidFrom, p.ValidTo = false, Who{}, When{}, nil, thursday, thursday.AddDays(1)
		p.What.MaxItems, p.Benefit.MinSpendFen = 0, 0
		for i := range p.Funding.Parts {
			p.Funding.Parts[i].HomeDistrictOnly = false
		}
		in.Policies = []Policy{p}
		in.Available = map[int64]int64{1: math.MaxInt64 / 2, 2: math.MaxInt64 / 2, 3: math.MaxInt64 / 2, 4: math.MaxInt64 / 2}
		q, err := Price(in)
		if err != nil {
			t.Fatalf("Price: %v", err)
		}
		checkQuote(t, in, q)
		for i, l := range in.Lines {
			var want int64
			switch b := p.Benefit; b.Kind {
			case FixedPrice:
				want = max(0, l.UnitFen-b.PriceFen)
			case AmountOff:
				want = min(b.AmountFen, l.UnitFen)
			case PercentOff:
				want = l.UnitFen * int64(b.PercentBP) / 10000 // exact value rounded down
				if exact := float64(l.UnitFen) * float64(b.PercentBP) / 10000; float64(want) > exact || exact-float64(want) >= 1 {
					t.Fatalf("percent %d of %d: %d is not the exact subsidy rounded down", b.PercentBP, l.UnitFen, want)
				}
			}
			if p.Benefit.CapFen > 0 {
				want = min(want, p.Benefit.CapFen)
			}
			if p.Funding.Mode == FundingFixed && !slices.ContainsFunc(p.Funding.Parts, func(f FundingPart) bool { return f.Fen == 0 }) {
				var sum int64
				for _, f := range p.Funding.Parts {
					sum += f.Fen
				}
				want = min(want, sum)
			}
			if !p.What.covers(&l) {
				want = 0
			}
			if got := q.Lines[i].SubsidyFen; got != want*int64(l.Qty) {
				t.Fatalf("line %d (%+v): subsidy %d, want %d × %d", i, l, got, want, l.Qty)
			}
		}
	})
}

// robustly checks that Price never panics and either rejects an input as Invalid or prices it
// with every invariant kept, whatever is done to a valid input.
func robustly(t *rapid.T) {
	in := genInput(t)
	big := rapid.SampledFrom([]int64{-1, 0, 1, math.MaxInt64, math.MinInt64, math.MaxInt32, MaxUnitFen + 1, 1 << 40}).Draw(t, "big")
	bigInt := int(big)
	for range rapid.IntRange(0, 3).Draw(t, "breakages") {
		switch rapid.IntRange(0, 16).Draw(t, "breakage") {
		case 0:
			in.At = time.Time{}
		case 1:
			in.Period = "tea"
		case 2:
			if len(in.Lines) > 0 {
				in.Lines[0].UnitFen = big
			}
		case 3:
			if len(in.Lines) > 0 {
				in.Lines[0].Qty = bigInt
			}
		case 4:
			in.Available[rapid.Int64Range(1, 5).Draw(t, "pledge")] = big
		case 5:
			for k := range in.Usage {
				in.Usage[k] = Usage{Count: bigInt, AmountFen: big}
			}
		case 6:
			in.Usage[UsageKey{1, rapid.SampledFrom(genWindows).Draw(t, "window")}] = Usage{Count: bigInt, AmountFen: big}
		case 7:
			if len(in.Policies) > 0 {
				in.Policies[0].Benefit.PriceFen, in.Policies[0].Benefit.AmountFen = big, big
			}
		case 8:
			if len(in.Policies) > 0 {
				in.Policies[0].Benefit.PercentBP, in.Policies[0].Benefit.CapFen = bigInt, big
			}
		case 9:
			if len(in.Policies) > 0 && len(in.Policies[0].Limits) > 0 {
				in.Policies[0].Limits[0].Count, in.Policies[0].Limits[0].AmountFen = bigInt, big
			}
		case 10:
			if len(in.Policies) > 0 {
				in.Policies[0].Funding.Parts[0].Fen, in.Policies[0].Funding.Parts[0].ShareBP = big, bigInt
			}
		case 11:
			if len(in.Policies) > 1 {
				in.Policies[1].ID = in.Policies[0].ID
			}
		case 12:
			if len(in.Policies) > 0 {
				in.Policies[0].Funding.Mode = rapid.SampledFrom([]FundingMode{"", FundingFixed, FundingShares, FundingWaterfall}).Draw(t, "mode")
				in.Policies[0].Benefit.Kind = rapid.SampledFrom([]BenefitKind{"", FixedPrice, AmountOff, PercentOff}).Draw(t, "kind")
			}
		case 13:
			if len(in.Policies) > 0 {
				in.Policies[0].What.MaxItems = bigInt
				in.Policies[0].When.Window = &TimeWindow{From: catalog.ClockTime(bigInt), To: catalog.ClockTime(bigInt)}
			}
		case 14:
			in.Diner.Eligibilities = append(in.Diner.Eligibilities, Eligibility{Group: "vip", BirthDate: d(bigInt, 2, 30)})
		case 15:
			in.Day = d(bigInt, 1, 1)
		case 16:
			in.Lines = append(in.Lines, Line{DishID: big, UnitFen: big, Qty: bigInt})
		}
	}
	q, err := Price(in)
	if err != nil {
		if apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("Price error of kind %s: %v", apperr.KindOf(err), err)
		}
		return
	}
	checkQuote(t, in, q)
}

func TestPriceRobust(t *testing.T) { rapid.Check(t, robustly) }

// FuzzPrice runs the same check under go test -fuzz=FuzzPrice, the fuzzer choosing rapid's draws.
func FuzzPrice(f *testing.F) { f.Fuzz(rapid.MakeFuzz(robustly)) }

// TestJSONRoundTrip: policies and inputs survive JSON (jsonb) unchanged, and price the same.
func TestJSONRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back Input
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if diff := cmp.Diff(in, back, equate, cmpopts.IgnoreFields(Input{}, "At")); diff != "" || !in.At.Equal(back.At) {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		q1, err1 := Price(in)
		q2, err2 := Price(back)
		if err1 != nil || err2 != nil {
			t.Fatalf("Price: %v, %v", err1, err2)
		}
		if diff := cmp.Diff(q1, q2); diff != "" {
			t.Fatalf("the round-tripped input prices differently (-want +got):\n%s", diff)
		}
	})
}
