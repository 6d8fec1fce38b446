package subsidy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Test fixtures: Thursday 26 November 2026, lunch at canteen 1 in 天河区.
var (
	thursday  = d(2026, 11, 26)
	lunchTime = time.Date(2026, 11, 26, 11, 30, 0, 0, civil.Shanghai())
	equate    = cmpopts.EquateEmpty()
)

const (
	home = "天河区"
	away = "越秀区"
)

// cart returns a lunch order at canteen 1 with plenty of money in pledges 1, 2 and 3.
func cart(lines ...Line) Input {
	return Input{
		At: lunchTime, Day: thursday, Period: catalog.Lunch, CanteenID: 1, CanteenDistrict: home,
		Lines:     lines,
		Available: map[int64]int64{1: 1_000_000, 2: 1_000_000, 3: 1_000_000},
	}
}

func (in Input) with(ps ...Policy) Input {
	in.Policies = append(slices.Clone(in.Policies), ps...)
	return in
}
func (in Input) as(els ...Eligibility) Input { in.Diner.Eligibilities = els; return in }

// meal is qty units of the 套餐 dish 1.
func meal(fen int64, qty int) Line {
	return Line{DishID: 1, Category: "套餐", UnitFen: fen, Qty: qty}
}

// policy returns an exclusive policy for anyone, paid from pledge 1 alone.
func policy(id int64, priority int, b Benefit) Policy {
	return Policy{
		ID: id, Version: 1, CommunityID: 1, Name: fmt.Sprintf("规则 %d", id), Priority: priority, Benefit: b,
		Funding: Funding{Mode: FundingWaterfall, Parts: []FundingPart{{PledgeID: 1, SponsorID: 1, Label: "公益基金"}}},
	}
}

func fixedPrice(fen int64) Benefit { return Benefit{Kind: FixedPrice, PriceFen: fen} }
func amountOff(fen int64) Benefit  { return Benefit{Kind: AmountOff, AmountFen: fen} }
func percentOff(bp int) Benefit    { return Benefit{Kind: PercentOff, PercentBP: bp} }

func (p Policy) stackable() Policy                { p.Stackable = true; return p }
func (p Policy) who(w Who) Policy                 { p.Who = w; return p }
func (p Policy) when(w When) Policy               { p.When = w; return p }
func (p Policy) what(w What) Policy               { p.What = w; return p }
func (p Policy) limits(ls ...Limit) Policy        { p.Limits = ls; return p }
func (p Policy) funding(f Funding) Policy         { p.Funding = f; return p }
func (p Policy) capped(fen int64) Policy          { p.Benefit.CapFen = fen; return p }
func (p Policy) minSpend(fen int64) Policy        { p.Benefit.MinSpendFen = fen; return p }
func (p Policy) valid(from, to civil.Date) Policy { p.ValidFrom, p.ValidTo = from, to; return p }

// elder is an elderly eligibility at home in 天河区.
func elder(birth civil.Date, flags ...StatusFlag) Eligibility {
	return Eligibility{Group: Elderly, BirthDate: birth, Flags: flags, District: home}
}

func (el Eligibility) in(district string) Eligibility { el.District = district; return el }

// aged returns the birth date of someone who turns age on the test's Thursday.
func aged(age int) civil.Date { return d(2026-age, 11, 26) }

// shape prints a quote line compactly: runs of units as "qty×pay" with their parts as
// [policy.pledge:fen], then the line's reasons as code(policy).
func shape(ql QuoteLine) string {
	var runs []string
	for _, u := range ql.Units {
		s := fmt.Sprintf("%d×%d", u.Qty, u.PayFen)
		if len(u.Parts) > 0 {
			var ps []string
			for _, p := range u.Parts {
				ps = append(ps, fmt.Sprintf("%d.%d:%d", p.PolicyID, p.PledgeID, p.Fen))
			}
			s += "[" + strings.Join(ps, " ") + "]"
		}
		runs = append(runs, s)
	}
	out := strings.Join(runs, " + ")
	if rs := reasons(ql.Reasons); rs != "" {
		out += "; " + rs
	}
	return out
}

func shapes(q Quote) []string {
	var out []string
	for _, ql := range q.Lines {
		out = append(out, shape(ql))
	}
	return out
}

func reasons(rs []Reason) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s(%d)", r.Code, r.PolicyID))
	}
	return strings.Join(out, " ")
}
