package subsidy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
)

// Input is everything Price needs, gathered by the caller: nothing else is read. At is the instant
// the order is placed (When.Window is checked on its Asia/Shanghai clock time); Day and Period are the
// meal's (Asia/Shanghai) date and period, which may be later when pre-ordering: validity dates,
// weekdays, age tiers and limit windows are all counted on Day.
type Input struct {
	At              time.Time      `json:"at"`
	Day             civil.Date     `json:"day"`
	Period          catalog.Period `json:"period"`
	CanteenID       int64          `json:"canteen_id"`
	CanteenDistrict string         `json:"canteen_district"`
	Diner           Diner          `json:"diner"`
	Lines           []Line         `json:"lines"`
	Policies        []Policy       `json:"policies"`
	// Available is each pledge's available fen right now; a missing pledge has none.
	Available map[int64]int64 `json:"available"`
	// Usage is what the diner has already used of each policy's limits in the windows containing
	// Day and Period (the Claims recorded under LimitWindow.Key); missing means none.
	Usage map[UsageKey]Usage `json:"usage"`
}

// A Diner is who is eating, as far as pricing goes: the eligibilities that are approved and valid
// on the meal day (the caller filters them). With none the diner is General.
type Diner struct {
	Eligibilities []Eligibility `json:"eligibilities"`
}

// An Eligibility is one approved membership of a group. The age tier is computed from BirthDate on
// the meal day (zero: unknown, matches no tier); District is the home district (户籍所在区).
type Eligibility struct {
	Group     Group        `json:"group"`
	BirthDate civil.Date   `json:"birth_date"`
	Flags     []StatusFlag `json:"flags"`
	District  string       `json:"district"`
}

// A Line is one dish of the cart: Qty units at UnitFen, the menu's standard price in fen.
type Line struct {
	DishID   int64  `json:"dish_id"`
	Category string `json:"category"`
	UnitFen  int64  `json:"unit_fen"`
	Qty      int    `json:"qty"`
}

// A UsageKey names one limit of one policy. As a JSON map key it is written "17/month".
type UsageKey struct {
	PolicyID int64
	Window   LimitWindow
}

// MarshalText writes k as "policyID/window".
func (k UsageKey) MarshalText() ([]byte, error) {
	return []byte(strconv.FormatInt(k.PolicyID, 10) + "/" + string(k.Window)), nil
}

// UnmarshalText reads "policyID/window"; errors are kind Invalid.
func (k *UsageKey) UnmarshalText(b []byte) error {
	id, w, ok := strings.Cut(string(b), "/")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil {
		return apperr.New(apperr.Invalid, "usage_key_invalid", "用量键应为 policy_id/window / usage key must be policy_id/window")
	}
	*k = UsageKey{PolicyID: n, Window: LimitWindow(w)}
	return nil
}

// Usage is how much of a limit a diner has used in one window: subsidised units and subsidy fen.
type Usage struct {
	Count     int   `json:"count"`
	AmountFen int64 `json:"amount_fen"`
}

// Bounds on one cart, which keep every sum Price makes far inside int64.
const (
	MaxLines   = 50        // lines per cart
	MaxLineQty = 99        // units per line
	MaxUnitFen = 1_000_000 // standard price of one unit: 1 万元
)

// Price works out what the cart in in costs the diner and who pays the rest. It is pure and
// deterministic: the same Input gives the same Quote whatever the order of maps, policies and
// eligibilities. It fails only for invalid input, with an apperr.Invalid naming the fields.
//
// Units are priced one by one, the dearest line first (ties by dish ID, category, then position).
// For each unit the highest-priority exclusive policy that applies gives its subsidy, then every
// stackable policy that applies, by priority, on the price left. A policy applies to a unit when
// the order passes Who, When, validity and min spend, the dish is covered, MaxItems and every Limit
// leave room for the whole unit's subsidy, and its funding has the money.
func Price(in Input) (Quote, error) {
	if err := in.validate(); err != nil {
		return Quote{}, err
	}
	e := newEngine(&in)
	return e.run(), nil
}

var (
	badUnitFen = fmt.Sprintf("应在 0-%d 分之间 / must be 0 to %d fen", MaxUnitFen, MaxUnitFen)
	badQty     = fmt.Sprintf("应在 1-%d 之间 / must be 1 to %d", MaxLineQty, MaxLineQty)
	tooMany    = fmt.Sprintf("最多 %d 行 / at most %d lines", MaxLines, MaxLines)
)

func (in *Input) validate() error {
	var f apperr.Fields
	c := checker{&f}
	c.check(!in.At.IsZero(), "at", "不能为空 / required")
	c.check(in.Day.IsValid(), "day", invalidDate)
	c.check(in.Period.Valid(), "period", invalidPeriod)
	c.check(in.CanteenID > 0, "canteen_id", mustBePositive)
	for i, el := range in.Diner.Eligibilities {
		const els = "diner.eligibilities"
		c.field(el.Group.Valid(), els, i, "group", invalidGroup)
		c.field(el.BirthDate.IsZero() || el.BirthDate.IsValid(), els, i, "birth_date", invalidDate)
		for j, fl := range el.Flags {
			c.field(fl.Valid(), els, i, fmt.Sprintf("flags[%d]", j), invalidFlag)
		}
	}
	c.check(len(in.Lines) <= MaxLines, "lines", tooMany)
	for i, l := range in.Lines {
		c.field(l.DishID > 0, "lines", i, "dish_id", mustBePositive)
		c.field(l.UnitFen >= 0 && l.UnitFen <= MaxUnitFen, "lines", i, "unit_fen", badUnitFen)
		c.field(l.Qty >= 1 && l.Qty <= MaxLineQty, "lines", i, "qty", badQty)
	}
	for i := range in.Policies {
		p := &in.Policies[i]
		c.field(p.ID > 0, "policies", i, "id", mustBePositive)
		c.field(!slices.ContainsFunc(in.Policies[:i], func(q Policy) bool { return q.ID == p.ID }), "policies", i, "id", duplicate)
		if err := p.Validate(); err != nil {
			e, _ := apperr.As(err)
			for _, fe := range e.Fields {
				f.Add(fmt.Sprintf("policies[%d].%s", i, fe.Field), fe.Reason)
			}
		}
	}
	// Map order is random: collect the failures, then sort, so the error is deterministic.
	var badPledges []int64
	for id, fen := range in.Available {
		if fen < 0 {
			badPledges = append(badPledges, id)
		}
	}
	slices.Sort(badPledges)
	for _, id := range badPledges {
		f.Add(fmt.Sprintf("available[%d]", id), mustNotBeNegative)
	}
	var badUsage []UsageKey
	for k, u := range in.Usage {
		if !k.Window.Valid() || u.Count < 0 || u.AmountFen < 0 {
			badUsage = append(badUsage, k)
		}
	}
	slices.SortFunc(badUsage, func(a, b UsageKey) int {
		return cmp.Or(cmp.Compare(a.PolicyID, b.PolicyID), strings.Compare(string(a.Window), string(b.Window)))
	})
	for _, k := range badUsage {
		u, at := in.Usage[k], fmt.Sprintf("usage[%d/%s]", k.PolicyID, k.Window)
		c.check(k.Window.Valid(), at, invalidWindow)
		c.check(u.Count >= 0, at+".count", mustNotBeNegative)
		c.check(u.AmountFen >= 0, at+".amount_fen", mustNotBeNegative)
	}
	return f.Err()
}

// policyState is one policy during one Price call.
type policyState struct {
	p      *Policy
	block  Reason  // why the policy cannot apply to this order; Code "" when it can
	home   bool    // a matching eligibility has the canteen's district as home
	usage  []Usage // used so far, per p.Limits
	items  int     // units this quote subsidises
	amount int64   // fen this quote subsidises
}

type holdKey struct{ pledge, policy, version int64 }

type engine struct {
	in          *Input
	clock       catalog.ClockTime
	standardFen int64
	excl, stack []*policyState
	held        map[int64]int64 // pledge -> fen held by this quote
	holds       map[holdKey]Hold
	unit        []Part  // scratch: the unit being priced
	alloc       []int64 // scratch: funding split
}

func newEngine(in *Input) *engine {
	at := in.At.In(civil.Shanghai())
	e := &engine{
		in:    in,
		clock: catalog.Clock(at.Hour(), at.Minute()),
		held:  map[int64]int64{},
		holds: map[holdKey]Hold{},
		excl:  make([]*policyState, 0, len(in.Policies)),
		stack: make([]*policyState, 0, len(in.Policies)),
	}
	for _, l := range in.Lines {
		e.standardFen += l.UnitFen * int64(l.Qty)
	}
	states := make([]policyState, len(in.Policies))
	nLimits := 0
	for _, p := range in.Policies {
		nLimits += len(p.Limits)
	}
	usage := make([]Usage, nLimits)
	for i := range in.Policies {
		p, ps := &in.Policies[i], &states[i]
		ps.p, ps.usage, usage = p, usage[:len(p.Limits):len(p.Limits)], usage[len(p.Limits):]
		for j, l := range p.Limits {
			ps.usage[j] = in.Usage[UsageKey{PolicyID: p.ID, Window: l.Window}]
		}
		ps.block, ps.home = e.gate(p)
		if p.Stackable {
			e.stack = append(e.stack, ps)
		} else {
			e.excl = append(e.excl, ps)
		}
	}
	byPriority := func(a, b *policyState) int {
		return cmp.Or(cmp.Compare(b.p.Priority, a.p.Priority), cmp.Compare(a.p.ID, b.p.ID))
	}
	slices.SortFunc(e.excl, byPriority)
	slices.SortFunc(e.stack, byPriority)
	return e
}

// gate checks what concerns the whole order; it returns the first reason the policy cannot apply
// (Code "" if none) and whether the diner is in a home district for it.
func (e *engine) gate(p *Policy) (Reason, bool) {
	in := e.in
	ok, home := p.Who.match(in.Diner, in.Day, in.CanteenDistrict)
	var code ReasonCode
	switch {
	case !ok:
		code = ReasonNotEligible
	case !p.ValidFrom.IsZero() && in.Day.Before(p.ValidFrom) || !p.ValidTo.IsZero() && in.Day.After(p.ValidTo):
		code = ReasonNotValidToday
	case len(p.When.CanteenIDs) > 0 && !slices.Contains(p.When.CanteenIDs, in.CanteenID),
		len(p.When.Periods) > 0 && !slices.Contains(p.When.Periods, in.Period):
		code = ReasonWrongCanteenPeriod
	case len(p.When.Weekdays) > 0 && !slices.Contains(p.When.Weekdays, in.Day.ISOWeekday()):
		code = ReasonNotOnWeekday
	case p.When.Window != nil && !p.When.Window.Contains(e.clock):
		code = ReasonOutsideTimeWindow
	case e.standardFen < p.Benefit.MinSpendFen:
		code = ReasonMinSpendNotMet
	default:
		return Reason{}, home
	}
	return Reason{PolicyID: p.ID, Code: code, Detail: orderDetail(code, p)}, home
}

// match reports whether an eligibility of d (or d as General) matches w on day, and whether one
// that matches has district as its home district.
func (w *Who) match(d Diner, day civil.Date, district string) (ok, home bool) {
	for _, el := range d.Eligibilities {
		if w.matches(el, day) {
			ok = true
			home = home || el.District != "" && el.District == district
		}
	}
	return ok || w.matches(Eligibility{Group: General}, day), home
}

func (w *Who) matches(el Eligibility, day civil.Date) bool {
	if len(w.Groups) > 0 && !slices.Contains(w.Groups, el.Group) && !slices.Contains(w.Groups, General) {
		return false
	}
	if len(w.Tiers) == 0 && len(w.Flags) == 0 {
		return true
	}
	if el.Group == Elderly && !el.BirthDate.IsZero() && slices.Contains(w.Tiers, TierOn(el.BirthDate, day)) {
		return true
	}
	for _, f := range el.Flags {
		if slices.Contains(w.Flags, f) {
			return true
		}
	}
	return false
}

func (w *What) covers(l *Line) bool {
	if len(w.DishIDs) == 0 && len(w.Categories) == 0 {
		return true
	}
	return slices.Contains(w.DishIDs, l.DishID) || slices.Contains(w.Categories, l.Category)
}

// subsidy is one unit's subsidy on a price of rest fen: never more than rest, rounded down.
func (b *Benefit) subsidy(rest int64) int64 {
	var s int64
	switch b.Kind {
	case FixedPrice:
		s = rest - b.PriceFen
	case AmountOff:
		s = b.AmountFen
	case PercentOff:
		s = rest * int64(b.PercentBP) / 10000
	}
	if b.CapFen > 0 {
		s = min(s, b.CapFen)
	}
	return max(0, min(s, rest))
}

func (e *engine) run() Quote {
	in := e.in
	q := Quote{
		Lines:   make([]QuoteLine, len(in.Lines)),
		Reasons: []Reason{},
		Holds:   []Hold{},
		Claims:  []Claim{},
	}
	for _, ps := range slices.Concat(e.excl, e.stack) {
		if ps.block.Code != "" {
			q.Reasons = append(q.Reasons, ps.block)
		}
	}
	order := make([]int, len(in.Lines))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		la, lb := &in.Lines[a], &in.Lines[b]
		return cmp.Or(cmp.Compare(lb.UnitFen, la.UnitFen), cmp.Compare(la.DishID, lb.DishID),
			strings.Compare(la.Category, lb.Category))
	})
	for _, i := range order {
		q.Lines[i] = e.line(&in.Lines[i])
	}
	for _, ql := range q.Lines {
		q.StandardFen += ql.StandardFen
		q.SubsidyFen += ql.SubsidyFen
		q.PayFen += ql.PayFen
	}
	for _, h := range e.holds {
		q.Holds = append(q.Holds, h)
	}
	slices.SortFunc(q.Holds, func(a, b Hold) int {
		return cmp.Or(cmp.Compare(a.PledgeID, b.PledgeID), cmp.Compare(a.PolicyID, b.PolicyID),
			cmp.Compare(a.PolicyVersion, b.PolicyVersion))
	})
	for _, ps := range slices.Concat(e.excl, e.stack) {
		if ps.items == 0 {
			continue
		}
		for _, l := range ps.p.Limits {
			q.Claims = append(q.Claims, Claim{PolicyID: ps.p.ID, PolicyVersion: ps.p.Version,
				Window: l.Window, Key: l.Window.Key(in.Day, in.Period), Count: ps.items, AmountFen: ps.amount})
		}
	}
	slices.SortFunc(q.Claims, func(a, b Claim) int {
		return cmp.Or(cmp.Compare(a.PolicyID, b.PolicyID), cmp.Compare(a.Window.rank(), b.Window.rank()))
	})
	return q
}

// line prices the units of l one by one.
func (e *engine) line(l *Line) QuoteLine {
	ql := QuoteLine{
		DishID: l.DishID, Qty: l.Qty, UnitFen: l.UnitFen, StandardFen: l.UnitFen * int64(l.Qty),
		Parts: []Part{}, Units: []UnitGroup{}, Reasons: []Reason{},
	}
	for range l.Qty {
		e.unit = e.unit[:0]
		rest := l.UnitFen
		for _, ps := range e.excl {
			if s := e.try(ps, l, rest, &ql); s > 0 {
				rest -= s
				break
			}
		}
		for _, ps := range e.stack {
			rest -= e.try(ps, l, rest, &ql)
		}
		ql.add(l.UnitFen, l.UnitFen-rest, e.unit)
	}
	ql.PayFen = ql.StandardFen - ql.SubsidyFen
	return ql
}

// add records one unit subsidised by sub fen in parts (a scratch slice it copies if it keeps).
func (ql *QuoteLine) add(unitFen, sub int64, parts []Part) {
	ql.SubsidyFen += sub
	if n := len(ql.Units); n > 0 && slices.Equal(ql.Units[n-1].Parts, parts) {
		ql.Units[n-1].Qty++
	} else {
		ql.Units = append(ql.Units, UnitGroup{Qty: 1, SubsidyFen: sub, PayFen: unitFen - sub,
			Parts: append([]Part{}, parts...)})
	}
next:
	for _, p := range parts {
		for i := range ql.Parts {
			if q := &ql.Parts[i]; q.PolicyID == p.PolicyID && q.PolicyVersion == p.PolicyVersion && q.PledgeID == p.PledgeID {
				q.Fen += p.Fen
				continue next
			}
		}
		ql.Parts = append(ql.Parts, p)
	}
}

// reason records on the line that a policy gave a unit nothing (or less), once per policy and code.
func (ql *QuoteLine) reason(id int64, code ReasonCode, detail func() string) {
	for _, r := range ql.Reasons {
		if r.PolicyID == id && r.Code == code {
			return
		}
	}
	ql.Reasons = append(ql.Reasons, Reason{PolicyID: id, Code: code, Detail: detail()})
}

// try applies policy ps to one unit of l whose price so far is rest fen. It appends the parts to
// e.unit, books them and returns the subsidy; it returns 0 and records why when it cannot apply.
func (e *engine) try(ps *policyState, l *Line, rest int64, ql *QuoteLine) int64 {
	p := ps.p
	if ps.block.Code != "" {
		return 0
	}
	if !p.What.covers(l) {
		ql.reason(p.ID, ReasonDishNotCovered, detailDishNotCovered)
		return 0
	}
	if p.What.MaxItems > 0 && ps.items >= p.What.MaxItems {
		ql.reason(p.ID, ReasonMaxItemsReached, func() string { return detailMaxItems(p.What.MaxItems) })
		return 0
	}
	s := p.Benefit.subsidy(rest)
	if s == 0 {
		return 0 // nothing to give: the price is already at or below the policy's
	}
	parts := p.Funding.Parts
	alloc, total, dropped := e.split(ps, s)
	if total == 0 {
		if dropped {
			ql.reason(p.ID, ReasonOutsideHomeDistrict, detailOutsideHome)
		}
		return 0
	}
	for i, l := range p.Limits {
		u := ps.usage[i]
		if l.reached(u, ps.items, ps.amount, total) {
			ql.reason(p.ID, ReasonLimitReached, func() string { return detailLimit(l, u, ps) })
			return 0
		}
	}
	if p.Funding.Mode == FundingWaterfall {
		pick := -1
		for i, part := range parts {
			if alloc[i] > 0 && e.available(part.PledgeID) >= total {
				pick = i
				break
			}
		}
		for i := range alloc {
			if i != pick {
				alloc[i] = 0
			}
		}
		if pick < 0 {
			ql.reason(p.ID, ReasonBudgetExhausted, detailBudget)
			return 0
		}
	} else {
		for i, part := range parts {
			if alloc[i] > e.available(part.PledgeID) {
				ql.reason(p.ID, ReasonBudgetExhausted, detailBudget)
				return 0
			}
		}
	}
	if dropped && p.Funding.Mode != FundingWaterfall {
		ql.reason(p.ID, ReasonOutsideHomeDistrict, detailOutsideHome)
	}
	for i, part := range parts {
		if alloc[i] == 0 {
			continue
		}
		e.held[part.PledgeID] += alloc[i]
		k := holdKey{part.PledgeID, p.ID, p.Version}
		h := e.holds[k]
		h.PledgeID, h.SponsorID, h.PolicyID, h.PolicyVersion = part.PledgeID, part.SponsorID, p.ID, p.Version
		h.Fen += alloc[i]
		e.holds[k] = h
		e.unit = append(e.unit, Part{PolicyID: p.ID, PolicyVersion: p.Version, PledgeID: part.PledgeID,
			SponsorID: part.SponsorID, Label: part.Label, Fen: alloc[i]})
	}
	ps.items++
	ps.amount += total
	return total
}

// reached reports whether one more unit with a subsidy of fen would pass l, given the usage u
// before this order and the units and fen this order has already taken. The subtractions are
// on the limit's side, so a huge usage cannot overflow.
func (l Limit) reached(u Usage, units int, amount, fen int64) bool {
	return l.Count > 0 && u.Count > l.Count-units-1 || l.AmountFen > 0 && u.AmountFen > l.AmountFen-amount-fen
}

func (e *engine) available(pledge int64) int64 { return e.in.Available[pledge] - e.held[pledge] }

// split divides a unit's subsidy of s fen among ps's funding parts (alloc, by part) and drops the
// home-district-only parts when the diner is away from home; total is what is left to pay. In
// waterfall mode every part still eligible is given s; try then keeps the first with the money.
func (e *engine) split(ps *policyState, s int64) (alloc []int64, total int64, dropped bool) {
	parts := ps.p.Funding.Parts
	alloc = slices.Grow(e.alloc[:0], len(parts))[:len(parts)]
	e.alloc = alloc
	switch ps.p.Funding.Mode {
	case FundingFixed:
		left, restPart := s, -1
		for i, part := range parts {
			alloc[i] = 0
			if part.Fen == 0 {
				restPart = i
				continue
			}
			alloc[i] = min(part.Fen, left)
			left -= alloc[i]
		}
		if restPart >= 0 {
			alloc[restPart] = left
		}
	case FundingShares:
		var sum int64
		for i, part := range parts {
			alloc[i] = s * int64(part.ShareBP) / 10000
			sum += alloc[i]
		}
		// Largest remainder: the fen lost to rounding go one each to the parts that lost most,
		// the earlier part first on a tie.
		for left := s - sum; left > 0; left-- {
			best, bestRem := -1, int64(-1)
			for i, part := range parts {
				rem := s * int64(part.ShareBP) % 10000
				if alloc[i] > s*int64(part.ShareBP)/10000 {
					continue // already given its fen
				}
				if rem > bestRem {
					best, bestRem = i, rem
				}
			}
			alloc[best]++
		}
	case FundingWaterfall:
		for i := range parts {
			alloc[i] = s
		}
	}
	for i, part := range parts {
		if part.HomeDistrictOnly && !ps.home && alloc[i] > 0 {
			alloc[i] = 0
			dropped = true
		}
		total += alloc[i]
	}
	if ps.p.Funding.Mode == FundingWaterfall && total > 0 {
		total = s // every candidate holds s; only one will pay it
	}
	return alloc, total, dropped
}

// Includes reports whether w admits diner d on day: one of d's eligibilities matches, or
// the policy is open to everyone (General).
func (w Who) Includes(d Diner, day civil.Date) bool {
	ok, _ := w.match(d, day, "")
	return ok
}
