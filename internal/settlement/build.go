package settlement

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Facts is everything the statements and checks of one month are made from, read in one
// snapshot of the database.
type Facts struct {
	CommunityID int64
	Month       Month
	// Moves are the month's money moves: ledger moves on spent, payments, cash, refunds.
	Moves []Move
	// Adjustments are the manual corrections that land in Month.
	Adjustments []Adjustment
	// Closed lists the community's closed months; FirstActivity is the month of its first
	// order or ledger move on spent (zero: none yet).
	Closed        []Month
	FirstActivity Month
	// Originals name, for the orders of Moves whose meal day lies before Month, the
	// earliest closed statement of each party with a line of the order.
	Originals []Original
	// Sponsors and Merchants name the parties.
	Sponsors  map[int64]SponsorInfo
	Merchants map[int64]string
	Checks    CheckFacts
}

// Move is one money move of a month, as a statement line will show it. Ledger moves
// (subsidy, reversal, ledger adjust) belong to the sponsor's statement and, when they
// are an order's, to the statement of the canteen's operator; payments, cash and refunds
// to the operator's only. Fen is signed: what the party pays or receives.
type Move struct {
	Kind       LineKind
	OrderID    int64
	CanteenID  int64
	OperatorID int64 // the merchant cooking in the canteen; 0: the community
	SponsorID  int64
	PledgeID   int64
	Day        civil.Date
	Period     catalog.Period
	Group      subsidy.Group
	Tier       *subsidy.AgeTier
	At         time.Time
	Fen        int64
	Ref        string
	Memo       string
}

// Original is the earliest closed statement of Party that has a line of OrderID.
type Original struct {
	OrderID     int64
	Party       Party
	StatementID int64
}

// SponsorInfo names a sponsor and the partner merchant linked to it, if any.
type SponsorInfo struct {
	Name       string
	MerchantID *int64
}

// OpenBefore returns the months from the community's first activity up to (not
// including) m that are not closed: they must be closed before m.
func (f Facts) OpenBefore(m Month) []Month {
	var out []Month
	if f.FirstActivity.IsZero() {
		return out
	}
	for mm := f.FirstActivity; mm.Before(m); mm = mm.Next() {
		if !slices.Contains(f.Closed, mm) {
			out = append(out, mm)
		}
	}
	return out
}

// CommunityOperatorName is the party name of the canteens a community runs itself.
const CommunityOperatorName = "社区自营食堂 / canteens run by the community"

// Build makes the statements of f.Month: one per sponsor and one per canteen operator
// with any line, sponsors first, each ordered by id. A move of an order whose meal day
// lies in an earlier closed month becomes an adjustment line referring to the order's
// original statement; manual corrections become manual lines of their party. Lines are
// numbered from 1 in the order sortLines gives; totals and counterparts are summed
// from them.
func Build(f Facts) []Statement {
	closed := map[Month]bool{}
	for _, m := range f.Closed {
		closed[m] = true
	}
	type origKey struct {
		order int64
		party Party
	}
	orig := map[origKey]int64{}
	for _, o := range f.Originals {
		orig[origKey{o.OrderID, o.Party}] = o.StatementID
	}
	// How many lines each party gets, so that its lines are allocated once.
	lines := map[Party]int{}
	for _, m := range f.Moves {
		if m.Kind.Ledger() {
			lines[Party{Kind: Sponsor, ID: m.SponsorID}]++
		}
		if m.OrderID != 0 || !m.Kind.Ledger() {
			lines[Party{Kind: Operator, ID: m.OperatorID}]++
		}
	}
	for _, a := range f.Adjustments {
		lines[a.Party]++
	}
	byParty := map[Party]*Statement{}
	add := func(p Party, l Line) {
		s := byParty[p]
		if s == nil {
			s = &Statement{CommunityID: f.CommunityID, Month: f.Month, Party: p, Counterparts: []Counterpart{},
				Lines: make([]Line, 0, lines[p])}
			s.PartyName, s.MerchantID = f.partyName(p)
			byParty[p] = s
		}
		if l.Adjustment && l.Kind != LineManual && l.OrderID != 0 {
			l.RefStatementID = orig[origKey{l.OrderID, p}]
		}
		s.Lines = append(s.Lines, l)
	}
	first := f.Month.First()
	for _, m := range f.Moves {
		l := Line{Kind: m.Kind, OrderID: m.OrderID, CanteenID: m.CanteenID, OperatorID: m.OperatorID, SponsorID: m.SponsorID,
			PledgeID: m.PledgeID, Day: m.Day, Period: m.Period, Group: m.Group, Tier: m.Tier, At: m.At, Fen: m.Fen,
			Ref: m.Ref, Memo: m.Memo}
		l.Adjustment = m.OrderID != 0 && !m.Day.IsZero() && m.Day.Before(first) && closed[MonthOf(m.Day)]
		if l.Adjustment {
			l.Memo = joinMemo(fmt.Sprintf("%s 月已结账订单的调整 / adjustment for an order of closed month %s",
				MonthOf(m.Day), MonthOf(m.Day)), l.Memo)
		}
		if m.Kind.Ledger() {
			add(Party{Kind: Sponsor, ID: m.SponsorID}, l)
		}
		if m.OrderID != 0 || !m.Kind.Ledger() {
			add(Party{Kind: Operator, ID: m.OperatorID}, l)
		}
	}
	for _, a := range f.Adjustments {
		add(a.Party, Line{Kind: LineManual, Adjustment: true, RefStatementID: a.StatementID, OrderID: a.OrderID,
			CanteenID: a.CanteenID, OperatorID: a.OperatorID, Day: a.Day, Period: a.Period, At: a.CreatedAt, Fen: a.Fen,
			Ref: fmt.Sprintf("ADJ%d", a.ID), Memo: fmt.Sprintf("%s 月结算单 %d 的调整：%s / correction of statement %d (%s): %s",
				a.StatementMonth, a.StatementID, a.Reason, a.StatementID, a.StatementMonth, a.Reason)})
	}
	out := make([]Statement, 0, len(byParty))
	for _, s := range byParty {
		sortLines(s.Lines)
		for i := range s.Lines {
			s.Lines[i].No = i + 1
		}
		s.LineCount = len(s.Lines)
		s.Totals = Sum(s.Lines)
		s.Counterparts = f.counterparts(s.Party, s.Lines)
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Statement) int {
		return cmp.Or(cmp.Compare(kindRank(a.Party.Kind), kindRank(b.Party.Kind)), cmp.Compare(a.Party.ID, b.Party.ID))
	})
	return out
}

func kindRank(k PartyKind) int {
	if k == Sponsor {
		return 0
	}
	return 1
}

func joinMemo(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// partyName names p and returns the merchant its statement belongs to.
func (f Facts) partyName(p Party) (string, *int64) {
	switch {
	case p.Kind == Sponsor:
		s, ok := f.Sponsors[p.ID]
		if !ok {
			return fmt.Sprintf("资助方 %d / sponsor %d", p.ID, p.ID), nil
		}
		return s.Name, s.MerchantID
	case p.ID == 0:
		return CommunityOperatorName, nil
	}
	id := p.ID
	name, ok := f.Merchants[p.ID]
	if !ok {
		name = fmt.Sprintf("商户 %d / merchant %d", p.ID, p.ID)
	}
	return name, &id
}

// counterparts sums a statement's lines that concern a canteen by the other side: the
// canteen's operator on a sponsor's statement, the sponsor on an operator's.
func (f Facts) counterparts(p Party, lines []Line) []Counterpart {
	sums := map[Party]int64{}
	var order []Party
	for _, l := range lines {
		var other Party
		switch {
		case p.Kind == Sponsor && l.CanteenID != 0:
			other = Party{Kind: Operator, ID: l.OperatorID}
		case p.Kind == Operator && l.Kind.Ledger() && l.SponsorID != 0:
			other = Party{Kind: Sponsor, ID: l.SponsorID}
		default:
			continue
		}
		if _, ok := sums[other]; !ok {
			order = append(order, other)
		}
		sums[other] += l.Fen
	}
	slices.SortFunc(order, func(a, b Party) int { return cmp.Compare(a.ID, b.ID) })
	out := make([]Counterpart, 0, len(order))
	for _, o := range order {
		name, _ := f.partyName(o)
		out = append(out, Counterpart{Kind: o.Kind, ID: o.ID, Name: name, Fen: sums[o]})
	}
	return out
}

// Label is a short name of a line kind, Chinese first, for exports.
func (k LineKind) Label() string {
	switch k {
	case LineSubsidy:
		return "补贴 / subsidy"
	case LineReversal:
		return "冲正 / reversal"
	case LineLedgerAdjust:
		return "账本调整 / ledger adjustment"
	case LinePayment:
		return "微信支付 / WeChat payment"
	case LineCash:
		return "现金 / cash"
	case LineRefund:
		return "退款 / refund"
	case LineManual:
		return "手工调整 / manual adjustment"
	}
	return string(k)
}

// GroupLabel is the name of a subsidy group, Chinese first, for findings and exports.
func GroupLabel(g subsidy.Group) string {
	switch g {
	case subsidy.Elderly:
		return "老年人 / elderly"
	case subsidy.Worker:
		return "新就业群体 / worker"
	case subsidy.General:
		return "其他 / general"
	}
	return string(g)
}
