package subsidy

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
)

// A Policy is a public-benefit price rule (公益价规则), kept as data (jsonb) and versioned: an edit
// makes a new Version under the same ID, and limits count across versions. Validate checks one
// policy on its own; Price applies a set of them to a cart.
type Policy struct {
	ID          int64  `json:"id"`
	Version     int64  `json:"version"`
	CommunityID int64  `json:"community_id"`
	Name        string `json:"name"`
	// Priority orders policies, higher first; equal priorities go by ascending ID.
	Priority int `json:"priority"`
	// Stackable false makes the policy exclusive: a unit gets at most one exclusive policy, the
	// highest-priority one that applies; stackable policies then apply to the price left.
	Stackable bool       `json:"stackable"`
	ValidFrom civil.Date `json:"valid_from"` // first meal day it applies (inclusive); zero: open
	ValidTo   civil.Date `json:"valid_to"`   // last meal day it applies (inclusive); zero: open
	Who       Who        `json:"who"`
	When      When       `json:"when"`
	What      What       `json:"what"`
	Benefit   Benefit    `json:"benefit"`
	Limits    []Limit    `json:"limits"`
	Funding   Funding    `json:"funding"`
}

// Who selects diners. An eligibility matches when its group is in Groups (empty: any group; every
// diner also counts as General) and, when Tiers or Flags is set, its age tier on the meal day is in
// Tiers (elderly only) or it carries one of Flags: "80+ or 独居" is one Who.
type Who struct {
	Groups []Group      `json:"groups"`
	Tiers  []AgeTier    `json:"tiers"`
	Flags  []StatusFlag `json:"flags"`
}

// When selects orders by canteen, meal period, ISO weekday (1 = Monday) of the meal day, and the
// Asia/Shanghai clock time of the order instant; an empty list or a nil Window means any.
type When struct {
	CanteenIDs []int64          `json:"canteen_ids"`
	Periods    []catalog.Period `json:"periods"`
	Window     *TimeWindow      `json:"window"`
	Weekdays   []int            `json:"weekdays"`
}

// A TimeWindow is the half-open range [From, To) of Asia/Shanghai wall-clock time, From before To,
// within which an order must be placed (the riders' 14:00-16:00 price). JSON: "HH:MM".
type TimeWindow struct {
	From catalog.ClockTime `json:"from"`
	To   catalog.ClockTime `json:"to"`
}

// Contains reports whether clock time c is in [From, To).
func (w TimeWindow) Contains(c catalog.ClockTime) bool { return w.From <= c && c < w.To }

// What selects dishes: a line is covered when its dish is in DishIDs or its category in Categories
// (both empty: every dish). MaxItems caps how many units one order gets subsidised (0: no cap).
type What struct {
	DishIDs    []int64  `json:"dish_ids"`
	Categories []string `json:"categories"`
	MaxItems   int      `json:"max_items"`
}

// A BenefitKind says how a policy lowers the price of one unit.
type BenefitKind string

// The benefit kinds.
const (
	FixedPrice BenefitKind = "fixed_price" // the diner pays PriceFen (公益价)
	AmountOff  BenefitKind = "amount_off"  // AmountFen off
	PercentOff BenefitKind = "percent_off" // PercentBP basis points off, rounded down to whole fen
)

// Benefit is one unit's subsidy in fen, worked out on the price left by earlier policies and never
// more than it; CapFen caps it (0: no cap). MinSpendFen is the cart's standard total the order must
// reach (0: none). Only the fields of Kind may be set.
type Benefit struct {
	Kind        BenefitKind `json:"kind"`
	PriceFen    int64       `json:"price_fen"`
	AmountFen   int64       `json:"amount_fen"`
	PercentBP   int         `json:"percent_bp"`
	CapFen      int64       `json:"cap_fen"`
	MinSpendFen int64       `json:"min_spend_fen"`
}

// A LimitWindow is the stretch of time a limit counts over, in Asia/Shanghai.
type LimitWindow string

// The limit windows.
const (
	PerMeal  LimitWindow = "meal"  // one meal period of one day
	PerDay   LimitWindow = "day"   // one day
	PerMonth LimitWindow = "month" // one calendar month
)

// Valid reports whether w is one of the limit windows.
func (w LimitWindow) Valid() bool { return w.rank() > 0 }

func (w LimitWindow) rank() int {
	switch w {
	case PerMeal:
		return 1
	case PerDay:
		return 2
	case PerMonth:
		return 3
	}
	return 0
}

// Key names the window of kind w containing meal period p of day: "2026-11-28/lunch",
// "2026-11-28" or "2026-11". Usage and Claims are recorded under it.
func (w LimitWindow) Key(day civil.Date, p catalog.Period) string {
	switch w {
	case PerMeal:
		return day.String() + "/" + string(p)
	case PerDay:
		return day.String()
	case PerMonth:
		return day.String()[:7]
	}
	return ""
}

// A Limit caps what one diner gets from a policy within a window: Count subsidised units and/or
// AmountFen subsidy fen (0: uncapped; at least one is set). A unit that would pass a limit gets
// nothing from the policy; it is never part-subsidised. RestoreOnRefund gives the claim back
// when the order is refunded in full (a cancelled or expired order always gives it back).
type Limit struct {
	Window          LimitWindow `json:"window"`
	Count           int         `json:"count"`
	AmountFen       int64       `json:"amount_fen"`
	RestoreOnRefund bool        `json:"restore_on_refund,omitempty"`
}

// A FundingMode says how a unit's subsidy is divided among the funding parts.
type FundingMode string

// The funding modes.
const (
	// FundingFixed: each part pays up to its Fen per unit, in order; the one part with Fen 0 pays
	// the rest. Without such a part the subsidy is at most the sum of the parts.
	FundingFixed FundingMode = "fixed"
	// FundingShares: parts pay ShareBP basis points each (summing to 10000), largest remainder.
	FundingShares FundingMode = "shares"
	// FundingWaterfall: the first part whose pledge has the whole unit's subsidy pays it all.
	FundingWaterfall FundingMode = "waterfall"
)

// Funding says which pledges pay a policy's subsidy. In fixed and shares modes every part must
// have its money or the unit gets nothing from the policy.
type Funding struct {
	Mode  FundingMode   `json:"mode"`
	Parts []FundingPart `json:"parts"`
}

// A FundingPart is one pledge paying for a policy. A HomeDistrictOnly part pays only for diners
// eating in their home district; elsewhere it is dropped and the diner pays that much more (in
// waterfall mode it is skipped).
type FundingPart struct {
	PledgeID         int64  `json:"pledge_id"`
	SponsorID        int64  `json:"sponsor_id"`
	Label            string `json:"label"`              // what diners and statements call it: "区级补贴"
	Fen              int64  `json:"fen"`                // fixed mode: fen per unit; 0 for the part paying the rest
	ShareBP          int    `json:"share_bp"`           // shares mode: basis points of each unit's subsidy
	HomeDistrictOnly bool   `json:"home_district_only"` // pays only when the diner eats in their home district
}

// Bounds that keep every sum the engine makes far inside int64.
const (
	maxPolicyFen = 1_000_000_000_000 // any fen amount in a policy: 100 亿元
	maxNameLen   = 100               // characters
	maxLabelLen  = 50
)

// Validate checks p on its own. It returns nil or an apperr.Invalid error whose Fields name every
// wrong field by its JSON path ("benefit.price_fen", "funding.parts[1].share_bp"). It does not
// check ID, Version or CommunityID, which the store assigns.
func (p Policy) Validate() error {
	var f apperr.Fields
	p.validate(checker{&f})
	return f.Err()
}

const (
	mustBePositive    = "应为正整数 / must be positive"
	mustNotBeNegative = "不能为负数 / must not be negative"
	mustBeZero        = "此类型下应为 0 / must be 0 for this kind"
	duplicate         = "重复 / duplicate"
	tooLarge          = "数值过大 / too large"
	invalidDate       = "日期无效 / invalid date"
	invalidGroup      = "应为 elderly、worker 或 general / must be elderly, worker or general"
	invalidPeriod     = "应为 breakfast、lunch 或 dinner / must be breakfast, lunch or dinner"
	invalidFlag       = "未知的身份标记 / unknown status flag"
	invalidWindow     = "应为 meal、day 或 month / must be meal, day or month"
)

// checker records validation failures. Field paths are built only for failures, so that checking
// valid input, which Price does on every call, costs no allocation.
type checker struct{ f *apperr.Fields }

// check records reason for field when ok is false.
func (c checker) check(ok bool, field, reason string) {
	if !ok {
		c.f.Add(field, reason)
	}
}

// item records reason for list[i] when ok is false, or that it repeats an earlier item.
func (c checker) item(ok, unique bool, list string, i int, reason string) {
	switch {
	case !ok:
		c.f.Add(fmt.Sprintf("%s[%d]", list, i), reason)
	case !unique:
		c.f.Add(fmt.Sprintf("%s[%d]", list, i), duplicate)
	}
}

// field records reason for list[i].field when ok is false.
func (c checker) field(ok bool, list string, i int, field, reason string) {
	if !ok {
		c.f.Add(fmt.Sprintf("%s[%d].%s", list, i, field), reason)
	}
}

// fen checks a fen amount of a policy: not negative, not absurdly large.
func (c checker) fen(v int64, field string) {
	c.check(v >= 0, field, mustNotBeNegative)
	c.check(v <= maxPolicyFen, field, tooLarge)
}

func (p *Policy) validate(c checker) {
	c.check(strings.TrimSpace(p.Name) != "", "name", "不能为空 / required")
	c.check(utf8.RuneCountInString(p.Name) <= maxNameLen, "name", "最多100个字 / at most 100 characters")
	c.check(p.ValidFrom.IsZero() || p.ValidFrom.IsValid(), "valid_from", invalidDate)
	c.check(p.ValidTo.IsZero() || p.ValidTo.IsValid(), "valid_to", invalidDate)
	c.check(p.ValidFrom.IsZero() || p.ValidTo.IsZero() || !p.ValidTo.Before(p.ValidFrom),
		"valid_to", "不能早于开始日期 / must not be before valid_from")
	p.Who.validate(c)
	p.When.validate(c)
	p.What.validate(c)
	p.Benefit.validate(c)
	for i, l := range p.Limits {
		if !l.Window.Valid() {
			c.field(false, "limits", i, "window", invalidWindow)
		} else {
			c.field(!slices.ContainsFunc(p.Limits[:i], func(m Limit) bool { return m.Window == l.Window }), "limits", i, "window",
				"每个时段只能有一条限额，次数和金额写在同一条 / one limit per window: put count and amount in the same limit")
		}
		c.field(l.Count >= 0, "limits", i, "count", mustNotBeNegative)
		c.field(l.Count != 0 || l.AmountFen != 0, "limits", i, "count", "次数和金额至少设一项 / set count, amount_fen or both")
		c.field(l.AmountFen >= 0, "limits", i, "amount_fen", mustNotBeNegative)
		c.field(l.AmountFen <= maxPolicyFen, "limits", i, "amount_fen", tooLarge)
	}
	p.Funding.validate(c)
}

func (w *Who) validate(c checker) {
	for i, g := range w.Groups {
		c.item(g.Valid(), !slices.Contains(w.Groups[:i], g), "who.groups", i, invalidGroup)
	}
	c.check(len(w.Tiers) == 0 || len(w.Groups) == 0 || len(w.Groups) == 1 && w.Groups[0] == Elderly, "who.tiers",
		"年龄段只适用于老年人：groups 应为空或仅 elderly / tiers apply to the elderly: groups must be empty or [elderly]")
	for i, t := range w.Tiers {
		c.item(t.Valid(), !slices.Contains(w.Tiers[:i], t), "who.tiers", i, "应为 0、60、70、80 或 90 / must be 0, 60, 70, 80 or 90")
	}
	for i, fl := range w.Flags {
		c.item(fl.Valid(), !slices.Contains(w.Flags[:i], fl), "who.flags", i, invalidFlag)
	}
}

func (w *When) validate(c checker) {
	for i, id := range w.CanteenIDs {
		c.item(id > 0, !slices.Contains(w.CanteenIDs[:i], id), "when.canteen_ids", i, mustBePositive)
	}
	for i, p := range w.Periods {
		c.item(p.Valid(), !slices.Contains(w.Periods[:i], p), "when.periods", i, invalidPeriod)
	}
	if w.Window != nil {
		c.check(w.Window.From.Valid(), "when.window.from", "应在 00:00-23:59 / must be 00:00-23:59")
		c.check(w.Window.To.Valid(), "when.window.to", "应在 00:00-23:59 / must be 00:00-23:59")
		c.check(w.Window.From < w.Window.To, "when.window.to", "应晚于开始时间 / must be after from")
	}
	for i, wd := range w.Weekdays {
		c.item(wd >= 1 && wd <= 7, !slices.Contains(w.Weekdays[:i], wd), "when.weekdays", i,
			"应为 1（周一）到 7（周日） / must be 1 (Monday) to 7 (Sunday)")
	}
}

func (w *What) validate(c checker) {
	for i, id := range w.DishIDs {
		c.item(id > 0, !slices.Contains(w.DishIDs[:i], id), "what.dish_ids", i, mustBePositive)
	}
	for i, cat := range w.Categories {
		c.item(strings.TrimSpace(cat) != "", !slices.Contains(w.Categories[:i], cat), "what.categories", i, "不能为空 / required")
	}
	c.check(w.MaxItems >= 0, "what.max_items", mustNotBeNegative)
}

func (b *Benefit) validate(c checker) {
	c.fen(b.PriceFen, "benefit.price_fen")
	c.fen(b.AmountFen, "benefit.amount_fen")
	c.fen(b.CapFen, "benefit.cap_fen")
	c.fen(b.MinSpendFen, "benefit.min_spend_fen")
	switch b.Kind {
	case FixedPrice:
		c.check(b.AmountFen == 0, "benefit.amount_fen", mustBeZero)
		c.check(b.PercentBP == 0, "benefit.percent_bp", mustBeZero)
	case AmountOff:
		c.check(b.AmountFen > 0, "benefit.amount_fen", mustBePositive)
		c.check(b.PriceFen == 0, "benefit.price_fen", mustBeZero)
		c.check(b.PercentBP == 0, "benefit.percent_bp", mustBeZero)
	case PercentOff:
		c.check(b.PercentBP >= 1 && b.PercentBP <= 10000, "benefit.percent_bp", "应在 1-10000 之间 / must be 1 to 10000")
		c.check(b.PriceFen == 0, "benefit.price_fen", mustBeZero)
		c.check(b.AmountFen == 0, "benefit.amount_fen", mustBeZero)
	default:
		c.check(false, "benefit.kind", "应为 fixed_price、amount_off 或 percent_off / must be fixed_price, amount_off or percent_off")
	}
}

func (fu *Funding) validate(c checker) {
	switch fu.Mode {
	case FundingFixed, FundingShares, FundingWaterfall:
	default:
		c.check(false, "funding.mode", "应为 fixed、shares 或 waterfall / must be fixed, shares or waterfall")
	}
	c.check(len(fu.Parts) > 0, "funding.parts", "至少需要一个资助方 / at least one part is required")
	const parts = "funding.parts"
	rest, shares := 0, 0
	for i, p := range fu.Parts {
		c.field(p.PledgeID > 0, parts, i, "pledge_id", mustBePositive)
		c.field(!slices.ContainsFunc(fu.Parts[:i], func(q FundingPart) bool { return q.PledgeID == p.PledgeID }),
			parts, i, "pledge_id", "同一认捐不能出现两次 / a pledge may appear only once")
		c.field(p.SponsorID > 0, parts, i, "sponsor_id", mustBePositive)
		c.field(utf8.RuneCountInString(p.Label) <= maxLabelLen, parts, i, "label", "最多50个字 / at most 50 characters")
		c.field(p.Fen >= 0, parts, i, "fen", mustNotBeNegative)
		c.field(p.Fen <= maxPolicyFen, parts, i, "fen", tooLarge)
		switch fu.Mode {
		case FundingFixed:
			c.field(p.ShareBP == 0, parts, i, "share_bp", mustBeZero)
			if p.Fen == 0 {
				rest++
				c.field(rest == 1, parts, i, "fen", "只能有一个补足余额的部分（fen 为 0） / only one part may pay the rest (fen 0)")
			}
		case FundingShares:
			c.field(p.Fen == 0, parts, i, "fen", mustBeZero)
			c.field(p.ShareBP >= 1 && p.ShareBP <= 10000, parts, i, "share_bp", "应在 1-10000 之间 / must be 1 to 10000")
			if p.ShareBP > 0 && p.ShareBP <= 10000 {
				shares += p.ShareBP
			}
		case FundingWaterfall:
			c.field(p.Fen == 0, parts, i, "fen", mustBeZero)
			c.field(p.ShareBP == 0, parts, i, "share_bp", mustBeZero)
		}
	}
	c.check(fu.Mode != FundingShares || len(fu.Parts) == 0 || shares == 10000, parts, "份额之和应为 10000 / shares must sum to 10000")
}
