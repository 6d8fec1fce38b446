package funding

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// PledgeKind says how a pledge gives its money.
type PledgeKind string

// The pledge kinds.
const (
	// Monthly: AmountFen every Asia/Shanghai month from StartMonth to EndMonth (zero: no end).
	// Each month is its own period; money left in one month does not carry over.
	Monthly PledgeKind = "monthly"
	// Range: AmountFen once, for the days From..To (inclusive), in one period ("range").
	Range PledgeKind = "range"
)

// Valid reports whether k is a known kind.
func (k PledgeKind) Valid() bool { return k == Monthly || k == Range }

// Pledge is what a sponsor promises to pay (认捐/预算). A monthly pledge sets StartMonth
// and optionally EndMonth; a range pledge sets From and To. CanteenIDs limits it to some
// canteens of the community (empty: all). An inactive pledge funds nothing.
//
// A period's balance is funded with AmountFen the first time that period is touched (a
// hold, a top-up, an adjustment); changing AmountFen affects only periods not funded yet.
type Pledge struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	SponsorID   int64      `json:"sponsor_id"`
	Name        string     `json:"name"`
	Kind        PledgeKind `json:"kind"`
	AmountFen   int64      `json:"amount_fen"`
	StartMonth  Month      `json:"start_month,omitzero"`
	EndMonth    Month      `json:"end_month,omitzero"`
	From        civil.Date `json:"from,omitzero"`
	To          civil.Date `json:"to,omitzero"`
	CanteenIDs  []int64    `json:"canteen_ids"`
	Active      bool       `json:"active"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// FirstDay returns the first day the pledge funds.
func (p Pledge) FirstDay() civil.Date {
	if p.Kind == Monthly {
		return p.StartMonth.First()
	}
	return p.From
}

// LastDay returns the last day the pledge funds, or the zero Date when it has no end.
func (p Pledge) LastDay() civil.Date {
	switch {
	case p.Kind == Range:
		return p.To
	case p.EndMonth.IsZero():
		return civil.Date{}
	}
	return p.EndMonth.Last()
}

// PeriodOf returns the period that funds day, and false when the pledge does not cover day
// (whether it is active is not considered).
func (p Pledge) PeriodOf(day civil.Date) (Period, bool) {
	if day.Before(p.FirstDay()) {
		return "", false
	}
	if last := p.LastDay(); !last.IsZero() && day.After(last) {
		return "", false
	}
	if p.Kind == Range {
		return RangePeriod, true
	}
	return MonthPeriod(MonthOf(day)), true
}

// HasPeriod reports whether period is one of p's periods.
func (p Pledge) HasPeriod(period Period) bool {
	if p.Kind == Range {
		return period == RangePeriod
	}
	m, ok := period.Month()
	if !ok || m.Before(p.StartMonth) {
		return false
	}
	return p.EndMonth.IsZero() || !p.EndMonth.Before(m)
}

// ServesCanteen reports whether p may fund meals of canteen id.
func (p Pledge) ServesCanteen(id int64) bool {
	return len(p.CanteenIDs) == 0 || slices.Contains(p.CanteenIDs, id)
}

// Unopened returns the balance a period of p that has not been touched yet will start
// with: AmountFen available.
func (p Pledge) Unopened(period Period) Balance {
	return Balance{PledgeID: p.ID, Period: period, FundedFen: p.AmountFen, AvailableFen: p.AmountFen}
}

// PledgeInput is a new pledge; it starts active. See Pledge for the fields of each kind.
type PledgeInput struct {
	SponsorID  int64      `json:"sponsor_id"`
	Name       string     `json:"name"`
	Kind       PledgeKind `json:"kind"`
	AmountFen  int64      `json:"amount_fen"`
	StartMonth Month      `json:"start_month"`
	EndMonth   Month      `json:"end_month"`
	From       civil.Date `json:"from"`
	To         civil.Date `json:"to"`
	CanteenIDs []int64    `json:"canteen_ids"`
}

// PledgePatch changes the fields that are not nil. A new AmountFen applies to the periods
// not funded yet (use TopUp or Adjust for a funded one). EndMonth (monthly; the zero month,
// JSON "", removes the end) and To (range) move the end; the start and the kind never change.
type PledgePatch struct {
	Name       *string     `json:"name"`
	AmountFen  *int64      `json:"amount_fen"`
	EndMonth   *Month      `json:"end_month"`
	To         *civil.Date `json:"to"`
	CanteenIDs *[]int64    `json:"canteen_ids"`
	Active     *bool       `json:"active"`
}

const (
	maxPledgeName  = 100
	maxPledgeYears = 10 // a range pledge spans at most this many years
)

func (in PledgeInput) pledge(communityID int64) (Pledge, error) {
	var f apperr.Fields
	p := Pledge{CommunityID: communityID, SponsorID: in.SponsorID, Name: strings.TrimSpace(in.Name), Kind: in.Kind,
		AmountFen: in.AmountFen, Active: true}
	f.Check(in.SponsorID > 0, "sponsor_id", "必须是正整数 / must be a positive id")
	checkText(&f, "name", p.Name, 1, maxPledgeName)
	checkFen(&f, "amount_fen", in.AmountFen)
	p.CanteenIDs = checkCanteens(&f, in.CanteenIDs)
	switch in.Kind {
	case Monthly:
		p.StartMonth, p.EndMonth = in.StartMonth, in.EndMonth
		f.Check(in.From.IsZero() && in.To.IsZero(), "from", "按月认捐使用 start_month / end_month / a monthly pledge uses start_month and end_month")
		checkMonths(&f, in.StartMonth, in.EndMonth)
	case Range:
		p.From, p.To = in.From, in.To
		f.Check(in.StartMonth.IsZero() && in.EndMonth.IsZero(), "start_month", "按期认捐使用 from / to / a range pledge uses from and to")
		checkRange(&f, in.From, in.To)
	default:
		f.Add("kind", "应为 monthly 或 range / must be monthly or range")
	}
	return p, f.Err()
}

func (p PledgePatch) validate() error {
	var f apperr.Fields
	if p.Name != nil {
		checkText(&f, "name", strings.TrimSpace(*p.Name), 1, maxPledgeName)
	}
	if p.AmountFen != nil {
		checkFen(&f, "amount_fen", *p.AmountFen)
	}
	if p.EndMonth != nil && !p.EndMonth.IsZero() {
		f.Check(p.EndMonth.IsValid(), "end_month", "不是有效月份 / not a real month")
	}
	if p.To != nil {
		f.Check(p.To.IsValid(), "to", "不是有效日期 / not a real date")
	}
	if p.CanteenIDs != nil {
		checkCanteens(&f, *p.CanteenIDs)
	}
	return f.Err()
}

// apply validates p and changes pl accordingly.
func (p PledgePatch) apply(pl *Pledge) error {
	if err := p.validate(); err != nil {
		return err
	}
	var f apperr.Fields
	if p.Name != nil {
		pl.Name = strings.TrimSpace(*p.Name)
	}
	if p.AmountFen != nil {
		pl.AmountFen = *p.AmountFen
	}
	if p.EndMonth != nil {
		if pl.Kind != Monthly {
			f.Add("end_month", "只有按月认捐有结束月份 / only a monthly pledge has an end month")
		} else {
			pl.EndMonth = *p.EndMonth
			checkMonths(&f, pl.StartMonth, pl.EndMonth)
		}
	}
	if p.To != nil {
		if pl.Kind != Range {
			f.Add("to", "只有按期认捐有结束日期 / only a range pledge has an end date")
		} else {
			pl.To = *p.To
			checkRange(&f, pl.From, pl.To)
		}
	}
	if p.CanteenIDs != nil {
		pl.CanteenIDs = checkCanteens(&f, *p.CanteenIDs)
	}
	if p.Active != nil {
		pl.Active = *p.Active
	}
	return f.Err()
}

func checkMonths(f *apperr.Fields, start, end Month) {
	if !start.IsValid() {
		f.Add("start_month", "必填，格式 YYYY-MM / required, written YYYY-MM")
		return
	}
	switch {
	case end.IsZero():
	case !end.IsValid():
		f.Add("end_month", "不是有效月份 / not a real month")
	case end.Before(start):
		f.Add("end_month", "不能早于开始月份 / must not be before start_month")
	}
}

func checkRange(f *apperr.Fields, from, to civil.Date) {
	okFrom, okTo := from.IsValid(), to.IsValid()
	f.Check(okFrom, "from", "必填，格式 YYYY-MM-DD / required, written YYYY-MM-DD")
	f.Check(okTo, "to", "必填，格式 YYYY-MM-DD / required, written YYYY-MM-DD")
	if okFrom && okTo {
		f.Check(!to.Before(from), "to", "不能早于开始日期 / must not be before from")
		f.Check(to.DaysSince(from) <= maxPledgeYears*366, "to", fmt.Sprintf("最长 %d 年 / at most %d years", maxPledgeYears, maxPledgeYears))
	}
}

// checkCanteens checks canteen ids and returns them sorted without duplicates (never nil).
func checkCanteens(f *apperr.Fields, ids []int64) []int64 {
	out := []int64{}
	for i, id := range ids {
		if id <= 0 {
			f.Add(fmt.Sprintf("canteen_ids[%d]", i), "必须是正整数 / must be a positive id")
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func checkFen(f *apperr.Fields, field string, fen int64) {
	f.Check(fen > 0 && fen <= MaxFen, field, fmt.Sprintf("应为 1 到 %d 分 / must be 1 to %d fen", int64(MaxFen), int64(MaxFen)))
}

// checkText records field unless s has min..max runes (valid UTF-8, no NUL).
func checkText(f *apperr.Fields, field, s string, min, max int) {
	if min > 0 {
		f.Check(runes(s, min, max), field, fmt.Sprintf("应为 %d 到 %d 个字 / must be %d to %d characters", min, max, min, max))
	} else {
		f.Check(runes(s, min, max), field, fmt.Sprintf("最多 %d 个字 / at most %d characters", max, max))
	}
}
