package subsidy

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/google/go-cmp/cmp"
)

// pricing is a table case: the quote's lines as shape prints them, and its order-level reasons.
type pricing struct {
	name      string
	in        Input
	want      []string
	wantOrder string // reasons(q.Reasons)
}

func runPricing(t *testing.T, tests []pricing) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := mustPrice(t, tc.in)
			if diff := cmp.Diff(tc.want, shapes(q), equate); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if got := reasons(q.Reasons); got != tc.wantOrder {
				t.Errorf("order reasons %q, want %q", got, tc.wantOrder)
			}
		})
	}
}

func withUsage(in Input, u map[UsageKey]Usage) Input { in.Usage = u; return in }

func TestLimits(t *testing.T) {
	p := policy(1, 100, fixedPrice(500)) // 12元 -> 5元: 700 fen subsidy a unit
	general := policy(2, 50, amountOff(100))
	runPricing(t, []pricing{
		{"meal count 1: the second unit pays full price",
			cart(meal(1200, 2)).with(p.limits(Limit{Window: PerMeal, Count: 1})),
			[]string{"1×500[1.1:700] + 1×1200; limit_reached(1)"}, ""},
		{"day count 2, one used today",
			withUsage(cart(meal(1200, 3)).with(p.limits(Limit{Window: PerDay, Count: 2})),
				map[UsageKey]Usage{{1, PerDay}: {Count: 1, AmountFen: 700}}),
			[]string{"1×500[1.1:700] + 2×1200; limit_reached(1)"}, ""},
		{"month count 20, all used",
			withUsage(cart(meal(1200, 1)).with(p.limits(Limit{Window: PerMonth, Count: 20})),
				map[UsageKey]Usage{{1, PerMonth}: {Count: 20}}),
			[]string{"1×1200; limit_reached(1)"}, ""},
		{"month count 20, more than all used (an earlier, larger limit)",
			withUsage(cart(meal(1200, 1)).with(p.limits(Limit{Window: PerMonth, Count: 20})),
				map[UsageKey]Usage{{1, PerMonth}: {Count: 25}}),
			[]string{"1×1200; limit_reached(1)"}, ""},
		{"month amount 100元, 95元 used: a 7元 subsidy does not fit and is not cut down",
			withUsage(cart(meal(1200, 1)).with(p.limits(Limit{Window: PerMonth, AmountFen: 10000})),
				map[UsageKey]Usage{{1, PerMonth}: {Count: 13, AmountFen: 9500}}),
			[]string{"1×1200; limit_reached(1)"}, ""},
		{"month amount 100元, 93元 used: exactly fits once",
			withUsage(cart(meal(1200, 2)).with(p.limits(Limit{Window: PerMonth, AmountFen: 10000})),
				map[UsageKey]Usage{{1, PerMonth}: {AmountFen: 9300}}),
			[]string{"1×500[1.1:700] + 1×1200; limit_reached(1)"}, ""},
		{"amount left fits a cheaper dish after a dearer one did not",
			withUsage(cart(meal(1200, 1), Line{DishID: 2, Category: "主食", UnitFen: 600, Qty: 1}).
				with(p.limits(Limit{Window: PerDay, AmountFen: 500})), map[UsageKey]Usage{}),
			[]string{"1×1200; limit_reached(1)", "1×500[1.1:100]"}, ""},
		{"count and amount in one limit: the count stops first",
			cart(meal(1200, 3)).with(p.limits(Limit{Window: PerDay, Count: 2, AmountFen: 5000})),
			[]string{"2×500[1.1:700] + 1×1200; limit_reached(1)"}, ""},
		{"count and amount in one limit: the amount stops first",
			cart(meal(1200, 3)).with(p.limits(Limit{Window: PerDay, Count: 5, AmountFen: 1400})),
			[]string{"2×500[1.1:700] + 1×1200; limit_reached(1)"}, ""},
		{"meal and month limits together: the tighter applies",
			withUsage(cart(meal(1200, 3)).with(p.limits(Limit{Window: PerMeal, Count: 2}, Limit{Window: PerMonth, Count: 20})),
				map[UsageKey]Usage{{1, PerMonth}: {Count: 19}}),
			[]string{"1×500[1.1:700] + 2×1200; limit_reached(1)"}, ""},
		{"another policy's usage does not count",
			withUsage(cart(meal(1200, 1)).with(p.limits(Limit{Window: PerMonth, Count: 1})),
				map[UsageKey]Usage{{2, PerMonth}: {Count: 9}, {1, PerDay}: {Count: 9}}),
			[]string{"1×500[1.1:700]"}, ""},
		{"the limited exclusive price falls back to the next exclusive one",
			cart(meal(1200, 2)).with(p.limits(Limit{Window: PerMeal, Count: 1}), general),
			[]string{"1×500[1.1:700] + 1×1100[2.1:100]; limit_reached(1)"}, ""},
	})

	t.Run("claims carry the window keys", func(t *testing.T) {
		in := cart(meal(1200, 2)).with(p.limits(Limit{Window: PerMonth, Count: 30}, Limit{Window: PerMeal, Count: 2},
			Limit{Window: PerDay, AmountFen: 5000}))
		in.Period = catalog.Dinner
		q := mustPrice(t, in)
		want := []Claim{
			{PolicyID: 1, PolicyVersion: 1, Window: PerMeal, Key: "2026-11-26/dinner", Count: 2, AmountFen: 1400},
			{PolicyID: 1, PolicyVersion: 1, Window: PerDay, Key: "2026-11-26", Count: 2, AmountFen: 1400},
			{PolicyID: 1, PolicyVersion: 1, Window: PerMonth, Key: "2026-11", Count: 2, AmountFen: 1400},
		}
		if diff := cmp.Diff(want, q.Claims); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
	})
	t.Run("a policy without limits claims nothing", func(t *testing.T) {
		q := mustPrice(t, cart(meal(1200, 2)).with(p))
		if len(q.Claims) != 0 {
			t.Errorf("claims %+v, want none", q.Claims)
		}
	})
	t.Run("details name the window", func(t *testing.T) {
		for _, tc := range []struct {
			limit Limit
			usage Usage
			want  string
		}{
			{Limit{Window: PerMeal, Count: 1}, Usage{Count: 1}, "本餐次补贴名额已用完 / meal limit reached"},
			{Limit{Window: PerDay, Count: 1}, Usage{Count: 1}, "当日补贴名额已用完 / daily limit reached"},
			{Limit{Window: PerMonth, Count: 1}, Usage{Count: 1}, "本月补贴名额已用完 / monthly limit reached"},
			{Limit{Window: PerMonth, AmountFen: 1000}, Usage{AmountFen: 400}, "本月补贴额度已用完 / monthly subsidy amount used up"},
		} {
			in := withUsage(cart(meal(1200, 1)).with(p.limits(tc.limit)), map[UsageKey]Usage{{1, tc.limit.Window}: tc.usage})
			q := mustPrice(t, in)
			if got := q.Lines[0].Reasons[0].Detail; got != tc.want {
				t.Errorf("%+v: detail %q, want %q", tc.limit, got, tc.want)
			}
		}
	})
}

func TestStacking(t *testing.T) {
	elderly := policy(1, 100, fixedPrice(500)).who(Who{Groups: []Group{Elderly}})
	merchant := policy(2, 10, amountOff(100)).stackable().funding(Funding{Mode: FundingWaterfall,
		Parts: []FundingPart{{PledgeID: 2, SponsorID: 2, Label: "爱心商户"}}})
	general := policy(3, 50, percentOff(1000))
	old := elder(aged(70))
	runPricing(t, []pricing{
		{"exclusive elderly price plus the merchant's 1元",
			cart(meal(1200, 1)).with(elderly, merchant).as(old),
			[]string{"1×400[1.1:700 2.2:100]"}, ""},
		{"the merchant's 1元 alone for a general diner",
			cart(meal(1200, 1)).with(elderly, merchant),
			[]string{"1×1100[2.2:100]"}, "not_eligible(1)"},
		{"two exclusive prices: only the higher priority applies",
			cart(meal(1200, 1)).with(general, elderly).as(old),
			[]string{"1×500[1.1:700]"}, ""},
		{"two exclusive prices with the same priority: the lower ID applies",
			cart(meal(1200, 1)).with(policy(8, 1, amountOff(100)), policy(7, 1, amountOff(200))),
			[]string{"1×1000[7.1:200]"}, ""},
		{"stackable after a percent: on the price left",
			cart(meal(1200, 1)).with(general, merchant),
			[]string{"1×980[3.1:120 2.2:100]"}, ""},
		{"a percent stacked on the price left, not the standard price",
			cart(meal(1200, 1)).with(elderly, policy(4, 1, percentOff(1000)).stackable()).as(old),
			[]string{"1×450[1.1:700 4.1:50]"}, ""},
		{"stackables apply in priority order: 3元 off then half off",
			cart(meal(1200, 1)).with(policy(5, 1, percentOff(5000)).stackable(), policy(6, 2, amountOff(300)).stackable()),
			[]string{"1×450[6.1:300 5.1:450]"}, ""},
		{"a stackable priority higher than the exclusive still applies after it",
			cart(meal(1200, 1)).with(elderly, policy(4, 1000, percentOff(1000)).stackable()).as(old),
			[]string{"1×450[1.1:700 4.1:50]"}, ""},
		{"nothing left to stack on a free meal",
			cart(meal(1200, 1)).with(policy(1, 1, fixedPrice(0)), merchant),
			[]string{"1×0[1.1:1200]"}, ""},
		{"a fixed price above the dish's price gives nothing: the next exclusive applies",
			cart(Line{DishID: 9, Category: "汤", UnitFen: 400, Qty: 1}).with(elderly, general).as(old),
			[]string{"1×360[3.1:40]"}, ""},
		{"the exclusive's budget is gone: the next exclusive applies, then the stackable",
			func() Input {
				in := cart(meal(1200, 1)).with(elderly.funding(Funding{Mode: FundingWaterfall,
					Parts: []FundingPart{{PledgeID: 3, SponsorID: 3}}}), general, merchant).as(old)
				in.Available[3] = 699
				return in
			}(),
			[]string{"1×980[3.1:120 2.2:100]; budget_exhausted(1)"}, ""},
	})
}

func TestMinSpendAndMaxItems(t *testing.T) {
	soup := Line{DishID: 2, Category: "汤", UnitFen: 300, Qty: 1}
	p := policy(1, 100, amountOff(200)).minSpend(1500)
	one := policy(1, 100, fixedPrice(500)).what(What{MaxItems: 1})
	runPricing(t, []pricing{
		{"min spend not met", cart(meal(1200, 1)).with(p),
			[]string{"1×1200"}, "min_spend_not_met(1)"},
		{"min spend met exactly, counting dishes the policy does not cover",
			cart(meal(1200, 1), soup).with(p.what(What{Categories: []string{"套餐"}})),
			[]string{"1×1000[1.1:200]", "1×300; dish_not_covered(1)"}, ""},
		{"min spend is on the standard price, before any subsidy",
			cart(meal(1500, 1)).with(p, policy(2, 200, fixedPrice(100))),
			[]string{"1×100[2.1:1400]"}, ""},
		{"max items 1 of a quantity of 3",
			cart(meal(1200, 3)).with(one),
			[]string{"1×500[1.1:700] + 2×1200; max_items_reached(1)"}, ""},
		{"max items 1 across lines: the dearest unit gets it",
			cart(Line{DishID: 3, Category: "小炒", UnitFen: 800, Qty: 1}, meal(1200, 1)).with(one),
			[]string{"1×800; max_items_reached(1)", "1×500[1.1:700]"}, ""},
		{"max items 2: other lines are not covered",
			cart(meal(1200, 3), soup).with(policy(1, 100, fixedPrice(500)).what(What{DishIDs: []int64{1}, MaxItems: 2})),
			[]string{"2×500[1.1:700] + 1×1200; max_items_reached(1)", "1×300; dish_not_covered(1)"}, ""},
		{"a unit past max items falls back to the next exclusive",
			cart(meal(1200, 2)).with(one, policy(2, 1, amountOff(100))),
			[]string{"1×500[1.1:700] + 1×1100[2.1:100]; max_items_reached(1)"}, ""},
	})
}

func TestBenefitRoundingAndCaps(t *testing.T) {
	dish := func(fen int64) Input { return cart(Line{DishID: 1, UnitFen: fen, Qty: 1}) }
	runPricing(t, []pricing{
		{"10% of 9.99元 rounds the subsidy down", dish(999).with(policy(1, 1, percentOff(1000))),
			[]string{"1×900[1.1:99]"}, ""},
		{"33.33% of 1 fen is nothing", dish(1).with(policy(1, 1, percentOff(3333))),
			[]string{"1×1"}, ""},
		{"33.33% of 2.99元", dish(299).with(policy(1, 1, percentOff(3333))),
			[]string{"1×200[1.1:99]"}, ""},
		{"100% off", dish(1234).with(policy(1, 1, percentOff(10000))),
			[]string{"1×0[1.1:1234]"}, ""},
		{"0.01% of the dearest unit", dish(MaxUnitFen).with(policy(1, 1, percentOff(1))),
			[]string{"1×999900[1.1:100]"}, ""},
		{"half off capped at 3元", dish(1200).with(policy(1, 1, percentOff(5000)).capped(300)),
			[]string{"1×900[1.1:300]"}, ""},
		{"free meal capped at 15元", dish(2500).with(policy(1, 1, fixedPrice(0)).capped(1500)),
			[]string{"1×1000[1.1:1500]"}, ""},
		{"20元 off capped at 15元", dish(2500).with(policy(1, 1, amountOff(2000)).capped(1500)),
			[]string{"1×1000[1.1:1500]"}, ""},
		{"5元 off a 3元 dish: pays nothing, never less", dish(300).with(policy(1, 1, amountOff(500))),
			[]string{"1×0[1.1:300]"}, ""},
		{"fixed price equal to the standard price gives nothing", dish(500).with(policy(1, 1, fixedPrice(500))),
			[]string{"1×500"}, ""},
		{"a free dish stays free and unsubsidised", dish(0).with(policy(1, 1, fixedPrice(0))),
			[]string{"1×0"}, ""},
	})
}

func TestFunding(t *testing.T) {
	parts := func(mode FundingMode, ps ...FundingPart) Funding { return Funding{Mode: mode, Parts: ps} }
	fixed := func(pledge, fen int64) FundingPart { return FundingPart{PledgeID: pledge, SponsorID: pledge, Fen: fen} }
	share := func(pledge int64, bp int) FundingPart {
		return FundingPart{PledgeID: pledge, SponsorID: pledge, ShareBP: bp}
	}
	homeOnly := func(p FundingPart) FundingPart { p.HomeDistrictOnly = true; return p }
	p := func(f Funding) Policy { return policy(1, 1, fixedPrice(500)).funding(f) } // 700 a 12元 unit
	poor := func(in Input, pledge, fen int64) Input {
		in.Available = map[int64]int64{1: 1_000_000, 2: 1_000_000, 3: 1_000_000}
		in.Available[pledge] = fen
		return in
	}
	runPricing(t, []pricing{
		{"fixed: the rest part pays what the fixed parts do not, wherever it is listed",
			cart(meal(1200, 1)).with(p(parts(FundingFixed, fixed(3, 0), fixed(1, 300), fixed(2, 300)))),
			[]string{"1×500[1.3:100 1.1:300 1.2:300]"}, ""},
		{"fixed: parts fill in order when the subsidy is smaller",
			cart(meal(700, 1)).with(p(parts(FundingFixed, fixed(1, 300), fixed(2, 300), fixed(3, 0)))),
			[]string{"1×500[1.1:200]"}, ""},
		{"fixed without a rest part: the subsidy is at most their sum",
			cart(meal(1200, 1)).with(p(parts(FundingFixed, fixed(1, 300), fixed(2, 300)))),
			[]string{"1×600[1.1:300 1.2:300]"}, ""},
		{"fixed: one part's pledge short: no subsidy from the policy",
			poor(cart(meal(1200, 1)).with(p(parts(FundingFixed, fixed(1, 300), fixed(2, 300), fixed(3, 0)))), 3, 99),
			[]string{"1×1200; budget_exhausted(1)"}, ""},
		{"fixed: a pledge that covers exactly its part",
			poor(cart(meal(1200, 2)).with(p(parts(FundingFixed, fixed(1, 300), fixed(2, 300), fixed(3, 0)))), 3, 100),
			[]string{"1×500[1.1:300 1.2:300 1.3:100] + 1×1200; budget_exhausted(1)"}, ""},
		{"shares: 1/3 each of 7元, largest remainder",
			cart(meal(1200, 1)).with(p(parts(FundingShares, share(1, 3333), share(2, 3333), share(3, 3334)))),
			[]string{"1×500[1.1:233 1.2:233 1.3:234]"}, ""},
		{"shares: a tie in remainders goes to the earlier part",
			cart(meal(601, 1)).with(p(parts(FundingShares, share(1, 5000), share(2, 5000)))),
			[]string{"1×500[1.1:51 1.2:50]"}, ""},
		{"shares: 1 fen goes to the largest remainder, the others get nothing",
			cart(meal(501, 1)).with(p(parts(FundingShares, share(1, 3333), share(2, 3333), share(3, 3334)))),
			[]string{"1×500[1.3:1]"}, ""},
		{"shares: a home-district-only share is dropped away from home",
			cart(meal(1200, 1)).with(p(parts(FundingShares, share(1, 5000), homeOnly(share(2, 5000))))).as(Eligibility{Group: Worker, District: away}),
			[]string{"1×850[1.1:350]; outside_home_district(1)"}, ""},
		{"shares: the same at home",
			cart(meal(1200, 1)).with(p(parts(FundingShares, share(1, 5000), homeOnly(share(2, 5000))))).as(Eligibility{Group: Worker, District: home}),
			[]string{"1×500[1.1:350 1.2:350]"}, ""},
		{"fixed: only a home-district part, away from home: nothing",
			cart(meal(1200, 1)).with(p(parts(FundingFixed, homeOnly(fixed(2, 0))))),
			[]string{"1×1200; outside_home_district(1)"}, ""},
		{"waterfall: a home-district-only pledge is skipped away from home",
			cart(meal(1200, 1)).with(p(parts(FundingWaterfall, homeOnly(fixed(2, 0)), fixed(3, 0)))),
			[]string{"1×500[1.3:700]"}, ""},
		{"waterfall: the home-district-only pledge pays at home",
			cart(meal(1200, 1)).with(p(parts(FundingWaterfall, homeOnly(fixed(2, 0)), fixed(3, 0)))).as(elder(aged(70))),
			[]string{"1×500[1.2:700]"}, ""},
		{"waterfall: only a home-district pledge, away from home",
			cart(meal(1200, 1)).with(p(parts(FundingWaterfall, homeOnly(fixed(2, 0))))),
			[]string{"1×1200; outside_home_district(1)"}, ""},
		{"waterfall: a pledge with no entry in Available has nothing",
			func() Input {
				in := cart(meal(1200, 1)).with(p(parts(FundingWaterfall, fixed(9, 0))))
				return in
			}(),
			[]string{"1×1200; budget_exhausted(1)"}, ""},
		{"two policies draw on one pledge: the second finds it short",
			func() Input {
				in := cart(meal(1200, 1)).with(policy(1, 2, amountOff(500)), policy(2, 1, amountOff(100)).stackable())
				in.Available = map[int64]int64{1: 550}
				return in
			}(),
			[]string{"1×700[1.1:500]; budget_exhausted(2)"}, ""},
	})
}

func TestWhoWhenWhat(t *testing.T) {
	p := policy(1, 1, amountOff(100))
	canteens := When{CanteenIDs: []int64{2, 3}}
	preorder := cart(meal(1000, 1))
	preorder.At = time.Date(2026, 11, 25, 20, 0, 0, 0, civil.Shanghai()) // Wednesday evening, for Thursday lunch
	runPricing(t, []pricing{
		{"no Who: anyone, even with no eligibility", cart(meal(1000, 1)).with(p), []string{"1×900[1.1:100]"}, ""},
		{"general matches every diner", cart(meal(1000, 1)).with(p.who(Who{Groups: []Group{General}})).as(elder(aged(70))),
			[]string{"1×900[1.1:100]"}, ""},
		{"workers only", cart(meal(1000, 1)).with(p.who(Who{Groups: []Group{Worker}})).as(elder(aged(70))),
			[]string{"1×1000"}, "not_eligible(1)"},
		{"a tier needs a birth date", cart(meal(1000, 1)).with(p.who(Who{Tiers: []AgeTier{Tier70}})).as(Eligibility{Group: Elderly}),
			[]string{"1×1000"}, "not_eligible(1)"},
		{"a tier is for the elderly group only", cart(meal(1000, 1)).with(p.who(Who{Tiers: []AgeTier{Tier70}})).
			as(Eligibility{Group: Worker, BirthDate: aged(75)}), []string{"1×1000"}, "not_eligible(1)"},
		{"tiers or flags: a flag alone is enough", cart(meal(1000, 1)).with(p.who(Who{Tiers: []AgeTier{Tier90}, Flags: []StatusFlag{Veteran}})).
			as(elder(aged(61), Veteran)), []string{"1×900[1.1:100]"}, ""},
		{"a flag on a worker's eligibility", cart(meal(1000, 1)).with(p.who(Who{Flags: []StatusFlag{Dibao}})).
			as(Eligibility{Group: Worker, Flags: []StatusFlag{Dibao}}), []string{"1×900[1.1:100]"}, ""},
		{"group and flag must be on the same eligibility", cart(meal(1000, 1)).with(p.who(Who{Groups: []Group{Worker}, Flags: []StatusFlag{Dibao}})).
			as(elder(aged(70), Dibao), Eligibility{Group: Worker}), []string{"1×1000"}, "not_eligible(1)"},
		{"other canteens", cart(meal(1000, 1)).with(p.when(canteens)), []string{"1×1000"}, "wrong_canteen_or_period(1)"},
		{"this canteen", cart(meal(1000, 1)).with(p.when(When{CanteenIDs: []int64{3, 1}})), []string{"1×900[1.1:100]"}, ""},
		{"breakfast and dinner only", cart(meal(1000, 1)).with(p.when(When{Periods: []catalog.Period{catalog.Breakfast, catalog.Dinner}})),
			[]string{"1×1000"}, "wrong_canteen_or_period(1)"},
		{"weekends only", cart(meal(1000, 1)).with(p.when(When{Weekdays: []int{6, 7}})), []string{"1×1000"}, "not_on_weekday(1)"},
		{"Thursdays", cart(meal(1000, 1)).with(p.when(When{Weekdays: []int{4}})), []string{"1×900[1.1:100]"}, ""},
		{"valid from the meal day", cart(meal(1000, 1)).with(p.valid(thursday, civil.Date{})), []string{"1×900[1.1:100]"}, ""},
		{"valid until the meal day", cart(meal(1000, 1)).with(p.valid(civil.Date{}, thursday)), []string{"1×900[1.1:100]"}, ""},
		{"valid from the next day", cart(meal(1000, 1)).with(p.valid(thursday.AddDays(1), civil.Date{})), []string{"1×1000"}, "not_valid_today(1)"},
		{"expired the day before", cart(meal(1000, 1)).with(p.valid(d(2026, 1, 1), thursday.AddDays(-1))), []string{"1×1000"}, "not_valid_today(1)"},
		{"pre-ordered on Wednesday: Thursday's weekday and validity count",
			preorder.with(p.when(When{Weekdays: []int{4}}).valid(thursday, thursday)), []string{"1×900[1.1:100]"}, ""},
		{"pre-ordered on Wednesday: turning 80 on Thursday counts",
			preorder.with(p.who(Who{Tiers: []AgeTier{Tier80}})).as(elder(aged(80))), []string{"1×900[1.1:100]"}, ""},
		{"pre-ordered at 20:00: the window is on the order's time",
			preorder.with(p.when(When{Window: &TimeWindow{From: catalog.Clock(10, 0), To: catalog.Clock(13, 0)}})),
			[]string{"1×1000"}, "outside_time_window(1)"},
		{"not eligible comes before other reasons", cart(meal(1000, 1)).with(p.who(Who{Groups: []Group{Worker}}).when(canteens)),
			[]string{"1×1000"}, "not_eligible(1)"},
		{"dish or category", cart(meal(1000, 1), Line{DishID: 2, Category: "汤", UnitFen: 300, Qty: 1}, Line{DishID: 3, Category: "主食", UnitFen: 200, Qty: 1}).
			with(p.what(What{DishIDs: []int64{2}, Categories: []string{"套餐"}})),
			[]string{"1×900[1.1:100]", "1×200[1.1:100]", "1×200; dish_not_covered(1)"}, ""},
	})
}

func TestReasonsAreListedOnce(t *testing.T) {
	in := cart(meal(1200, 5)).with(policy(1, 1, fixedPrice(500)).limits(Limit{Window: PerMeal, Count: 1}))
	q := mustPrice(t, in)
	if diff := cmp.Diff([]string{"1×500[1.1:700] + 4×1200; limit_reached(1)"}, shapes(q)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEmptyCartAndNoPolicies(t *testing.T) {
	q := mustPrice(t, cart())
	want := Quote{Lines: []QuoteLine{}, Reasons: []Reason{}, Holds: []Hold{}, Claims: []Claim{}}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	q = mustPrice(t, cart(meal(1200, 2), meal(800, 1)))
	if q.StandardFen != 3200 || q.PayFen != 3200 || q.SubsidyFen != 0 {
		t.Errorf("totals %d/%d/%d, want 3200/0/3200", q.StandardFen, q.SubsidyFen, q.PayFen)
	}
}

func TestQuoteJSONHasNoNulls(t *testing.T) {
	q := mustPrice(t, cart(meal(1200, 1)).with(policy(1, 1, fixedPrice(500))))
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "null") {
		t.Errorf("quote JSON has a null: %s", b)
	}
	for _, key := range []string{`"standard_fen":1200`, `"pay_fen":500`, `"policy_version":1`, `"pledge_id":1`, `"units":[{"qty":1`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("quote JSON lacks %s: %s", key, b)
		}
	}
}

func TestPolicyJSON(t *testing.T) {
	p := guangzhou()[1].when(When{CanteenIDs: []int64{1}, Periods: []catalog.Period{catalog.Lunch},
		Window: &TimeWindow{From: catalog.Clock(14, 0), To: catalog.Clock(16, 0)}, Weekdays: []int{1, 2}}).
		what(What{DishIDs: []int64{4}, Categories: []string{"套餐"}, MaxItems: 1}).
		limits(Limit{Window: PerMonth, Count: 30, AmountFen: 30000}).
		valid(d(2026, 1, 1), civil.Date{})
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"valid_from":"2026-01-01"`, `"valid_to":null`, `"window":{"from":"14:00","to":"16:00"}`,
		`"tiers":[80,90]`, `"flags":["disabled","living_alone"]`, `"kind":"fixed_price"`, `"price_fen":300`,
		`"limits":[{"window":"month","count":30,"amount_fen":30000}]`, `"mode":"fixed"`, `"home_district_only":true`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("policy JSON lacks %s: %s", key, b)
		}
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back, equate); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestInputJSON(t *testing.T) {
	in := cart(meal(1200, 1)).with(guangzhou()...).as(elder(aged(70)))
	in.Usage = map[UsageKey]Usage{{101, PerMonth}: {Count: 3, AmountFen: 2100}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"usage":{"101/month":{"count":3,"amount_fen":2100}}`) {
		t.Errorf("usage not keyed policy/window: %s", b)
	}
	var back Input
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	q1, q2 := mustPrice(t, in), mustPrice(t, back)
	if diff := cmp.Diff(q1, q2); diff != "" {
		t.Errorf("a round-tripped input prices differently (-want +got):\n%s", diff)
	}
	var k UsageKey
	for _, bad := range []string{"", "month", "x/month", "1"} {
		if err := k.UnmarshalText([]byte(bad)); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("UnmarshalText(%q) = %v, want Invalid", bad, err)
		}
	}
}

func TestLimitWindowKey(t *testing.T) {
	day := d(2026, 1, 5)
	for _, tc := range []struct {
		w    LimitWindow
		want string
	}{{PerMeal, "2026-01-05/breakfast"}, {PerDay, "2026-01-05"}, {PerMonth, "2026-01"}, {"week", ""}} {
		if got := tc.w.Key(day, catalog.Breakfast); got != tc.want {
			t.Errorf("%q.Key = %q, want %q", tc.w, got, tc.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	valid := func() Policy { return guangzhou()[0] }
	for _, p := range slices.Concat(guangzhou(), shenzhen(), []Policy{rider()}) {
		if err := p.Validate(); err != nil {
			t.Errorf("policy %d: %v", p.ID, err)
		}
	}
	if err := (Policy{Name: "新规则", Benefit: fixedPrice(300), Funding: Funding{Mode: FundingWaterfall,
		Parts: []FundingPart{{PledgeID: 1, SponsorID: 1}}}}).Validate(); err != nil {
		t.Errorf("a new policy without ID, version or community: %v", err)
	}
	tests := []struct {
		name   string
		edit   func(p *Policy)
		fields []string
	}{
		{"no name", func(p *Policy) { p.Name = "  " }, []string{"name"}},
		{"long name", func(p *Policy) { p.Name = strings.Repeat("饭", 101) }, []string{"name"}},
		{"valid_to before valid_from", func(p *Policy) { p.ValidFrom, p.ValidTo = d(2026, 2, 1), d(2026, 1, 31) }, []string{"valid_to"}},
		{"invalid dates", func(p *Policy) { p.ValidFrom, p.ValidTo = d(2026, 2, 30), d(2026, 13, 1) }, []string{"valid_from", "valid_to"}},
		{"unknown group, duplicate group", func(p *Policy) { p.Who.Groups = []Group{"child", Elderly, Elderly} },
			[]string{"who.groups[0]", "who.groups[2]"}},
		{"tiers for workers", func(p *Policy) { p.Who = Who{Groups: []Group{Worker}, Tiers: []AgeTier{Tier60}} }, []string{"who.tiers"}},
		{"bad tier, bad flag", func(p *Policy) { p.Who.Tiers, p.Who.Flags = []AgeTier{65}, []StatusFlag{"rich"} },
			[]string{"who.tiers[0]", "who.flags[0]"}},
		{"bad canteen, period, weekday", func(p *Policy) {
			p.When = When{CanteenIDs: []int64{0}, Periods: []catalog.Period{"brunch"}, Weekdays: []int{0, 8, 8}}
		}, []string{"when.canteen_ids[0]", "when.periods[0]", "when.weekdays[0]", "when.weekdays[1]", "when.weekdays[2]"}},
		{"empty window", func(p *Policy) { p.When.Window = &TimeWindow{From: catalog.Clock(16, 0), To: catalog.Clock(16, 0)} },
			[]string{"when.window.to"}},
		{"window out of range", func(p *Policy) { p.When.Window = &TimeWindow{From: -1, To: catalog.Clock(24, 0)} },
			[]string{"when.window.from", "when.window.to"}},
		{"bad dishes", func(p *Policy) { p.What = What{DishIDs: []int64{-1}, Categories: []string{""}, MaxItems: -1} },
			[]string{"what.dish_ids[0]", "what.categories[0]", "what.max_items"}},
		{"negative fixed price", func(p *Policy) { p.Benefit.PriceFen = -1 }, []string{"benefit.price_fen"}},
		{"amount on a fixed price", func(p *Policy) { p.Benefit.AmountFen, p.Benefit.PercentBP = 100, 10 },
			[]string{"benefit.amount_fen", "benefit.percent_bp"}},
		{"amount off without an amount", func(p *Policy) { p.Benefit = Benefit{Kind: AmountOff, PriceFen: 100} },
			[]string{"benefit.amount_fen", "benefit.price_fen"}},
		{"percent over 100%", func(p *Policy) { p.Benefit = Benefit{Kind: PercentOff, PercentBP: 10001} }, []string{"benefit.percent_bp"}},
		{"unknown kind, negative cap and min spend", func(p *Policy) { p.Benefit = Benefit{Kind: "free", CapFen: -1, MinSpendFen: -1} },
			[]string{"benefit.cap_fen", "benefit.min_spend_fen", "benefit.kind"}},
		{"bad limits", func(p *Policy) {
			p.Limits = []Limit{{Window: "week", Count: 1}, {Window: PerDay}, {Window: PerDay, Count: -1, AmountFen: -1}}
		}, []string{"limits[0].window", "limits[1].count", "limits[2].window", "limits[2].count", "limits[2].amount_fen"}},
		{"no funding", func(p *Policy) { p.Funding = Funding{Mode: "lottery"} }, []string{"funding.mode", "funding.parts"}},
		{"bad parts", func(p *Policy) {
			p.Funding.Parts = []FundingPart{{PledgeID: 0, SponsorID: 0, Fen: -1}, {PledgeID: 2, SponsorID: 1, ShareBP: 5}, {PledgeID: 2, SponsorID: 1}}
		}, []string{"funding.parts[0].pledge_id", "funding.parts[0].sponsor_id", "funding.parts[0].fen",
			"funding.parts[1].share_bp", "funding.parts[2].pledge_id", "funding.parts[2].fen"}},
		{"two rest parts", func(p *Policy) { p.Funding.Parts[0].Fen = 0 }, []string{"funding.parts[2].fen"}},
		{"shares that do not sum to 10000", func(p *Policy) {
			p.Funding = Funding{Mode: FundingShares, Parts: []FundingPart{{PledgeID: 1, SponsorID: 1, ShareBP: 5000},
				{PledgeID: 2, SponsorID: 1, ShareBP: 4000, Fen: 10}, {PledgeID: 3, SponsorID: 1}}}
		}, []string{"funding.parts[1].fen", "funding.parts[2].share_bp", "funding.parts"}},
		{"fen and shares on a waterfall", func(p *Policy) {
			p.Funding = Funding{Mode: FundingWaterfall, Parts: []FundingPart{{PledgeID: 1, SponsorID: 1, Fen: 1, ShareBP: 1}}}
		}, []string{"funding.parts[0].fen", "funding.parts[0].share_bp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			tc.edit(&p)
			err := p.Validate()
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.Invalid {
				t.Fatalf("Validate() = %v, want an Invalid error", err)
			}
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPriceRejectsInvalidInput(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(in *Input)
		fields []string
	}{
		{"no time, day, period or canteen", func(in *Input) { in.At, in.Day, in.Period, in.CanteenID = time.Time{}, civil.Date{}, "", 0 },
			[]string{"at", "day", "period", "canteen_id"}},
		{"bad eligibility", func(in *Input) {
			in.Diner.Eligibilities = []Eligibility{{Group: "vip", BirthDate: d(1950, 2, 30), Flags: []StatusFlag{"x"}}}
		}, []string{"diner.eligibilities[0].group", "diner.eligibilities[0].birth_date", "diner.eligibilities[0].flags[0]"}},
		{"negative price, zero quantity, no dish", func(in *Input) { in.Lines = []Line{{UnitFen: -1, Qty: 0}} },
			[]string{"lines[0].dish_id", "lines[0].unit_fen", "lines[0].qty"}},
		{"too dear, too many", func(in *Input) { in.Lines = []Line{{DishID: 1, UnitFen: MaxUnitFen + 1, Qty: MaxLineQty + 1}} },
			[]string{"lines[0].unit_fen", "lines[0].qty"}},
		{"too many lines", func(in *Input) { in.Lines = slices.Repeat([]Line{meal(100, 1)}, MaxLines+1) }, []string{"lines"}},
		{"policy without ID, duplicate ID, invalid policy", func(in *Input) {
			bad := policy(7, 1, fixedPrice(-5))
			in.Policies = []Policy{policy(0, 1, amountOff(1)), bad, bad}
		}, []string{"policies[0].id", "policies[1].benefit.price_fen", "policies[2].id", "policies[2].benefit.price_fen"}},
		{"negative balances and usage", func(in *Input) {
			in.Available = map[int64]int64{3: -1, 1: -2, 2: 0}
			in.Usage = map[UsageKey]Usage{{2, PerDay}: {Count: -1}, {1, "week"}: {AmountFen: -1}}
		}, []string{"available[1]", "available[3]", "usage[1/week]", "usage[1/week].amount_fen", "usage[2/day].count"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := cart(meal(1200, 1))
			tc.edit(&in)
			q, err := Price(in)
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.Invalid || !errors.Is(err, err) {
				t.Fatalf("Price = %v, want an Invalid error", err)
			}
			if q.Lines != nil {
				t.Errorf("quote %+v alongside an error", q)
			}
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
