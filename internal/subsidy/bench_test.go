package subsidy

import (
	"fmt"
	"testing"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/google/go-cmp/cmp"
)

// lunchRush is a realistic lunch order: an 82-year-old at home orders a 12元 set meal, a soup and
// two bowls of rice at a canteen with 20 policies: the Guangzhou and Shenzhen prices, the riders'
// price, a merchant's waterfall pledge, and 13 more for other canteens, periods, days and dishes.
func lunchRush() Input {
	in := cart(
		meal(1200, 1),
		Line{DishID: 2, Category: "汤", UnitFen: 300, Qty: 1},
		Line{DishID: 3, Category: "主食", UnitFen: 100, Qty: 2},
	).as(elder(aged(82)))
	in.Policies = append(guangzhou(), shenzhen()...)
	in.Policies = append(in.Policies, rider(),
		policy(401, 10, amountOff(100)).stackable().funding(Funding{Mode: FundingWaterfall, Parts: []FundingPart{
			{PledgeID: 41, SponsorID: 4, Label: "爱心商户A"}, {PledgeID: 42, SponsorID: 5, Label: "爱心商户B"}}}).
			limits(Limit{Window: PerDay, Count: 1}, Limit{Window: PerMonth, AmountFen: 3000}))
	for i := range 13 {
		p := policy(int64(500+i), i%4, percentOff(500+100*i)).
			limits(Limit{Window: PerMonth, Count: 20 + i}).
			funding(Funding{Mode: FundingShares, Parts: []FundingPart{
				{PledgeID: 1, SponsorID: 11, ShareBP: 6000}, {PledgeID: 3, SponsorID: 13, ShareBP: 4000}}})
		p.Name = fmt.Sprintf("活动 %d", i)
		switch i % 4 {
		case 0:
			p = p.when(When{CanteenIDs: []int64{2, 3}})
		case 1:
			p = p.when(When{Periods: []catalog.Period{catalog.Breakfast}})
		case 2:
			p = p.when(When{Weekdays: []int{6, 7}})
		case 3:
			p = p.what(What{Categories: []string{"小炒"}, MaxItems: 1}).stackable()
		}
		in.Policies = append(in.Policies, p)
	}
	in.Available[41], in.Available[42] = 250, 100_000
	in.Usage = map[UsageKey]Usage{{102, PerMonth}: {Count: 12, AmountFen: 10800}, {401, PerMonth}: {Count: 5, AmountFen: 500}}
	return in
}

func BenchmarkPrice(b *testing.B) {
	in := lunchRush()
	if len(in.Policies) != 20 {
		b.Fatalf("%d policies, want 20", len(in.Policies))
	}
	q, err := Price(in)
	if err != nil {
		b.Fatal(err)
	}
	checkQuote(b, in, q)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Price(in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLunchRush pins the benchmark's quote: the 3元 elderly price and the merchant's 1元 on the
// meal; the soup and rice fall below the 3元 price, so Shenzhen's 5元 off makes them free.
func TestLunchRush(t *testing.T) {
	q := mustPrice(t, lunchRush())
	notCovered := "; dish_not_covered(503) dish_not_covered(507) dish_not_covered(511)"
	want := []string{
		"1×200[102.1:300 102.2:300 102.3:300 401.41:100]" + notCovered,
		"1×0[202.1:300]" + notCovered,
		"2×0[202.1:100]" + notCovered,
	}
	if diff := cmp.Diff(want, shapes(q)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
