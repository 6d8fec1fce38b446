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

// PartyKind says whose statement it is.
type PartyKind string

// The parties a statement is written for.
const (
	Sponsor  PartyKind = "sponsor"  // 资助方: what its pledges paid
	Operator PartyKind = "operator" // 食堂运营方: the merchant cooking in canteens, what it takes in
)

// Party names who a statement is for: a sponsor (ID is the sponsor's id) or a canteen
// operator (ID is the merchant's id; 0 for the canteens the community runs itself).
type Party struct {
	Kind PartyKind `json:"kind"`
	ID   int64     `json:"id"`
}

// String names p for messages: "sponsor 12", "operator 0".
func (p Party) String() string { return fmt.Sprintf("%s %d", p.Kind, p.ID) }

// LineKind says what money a statement line moves.
type LineKind string

// The line kinds. The first three are ledger moves on a pledge's spent account.
const (
	LineSubsidy      LineKind = "subsidy"       // 补贴: the order was paid, its subsidy spent (+)
	LineReversal     LineKind = "reversal"      // 冲正: a refund gave subsidy back (-)
	LineLedgerAdjust LineKind = "ledger_adjust" // 账本调整: an adjust entry on spent, signed
	LinePayment      LineKind = "payment"       // 微信支付: a diner's WeChat payment (+)
	LineCash         LineKind = "cash"          // 现金: cash taken at the counter (+)
	LineRefund       LineKind = "refund"        // 退款: money back to a diner (-)
	LineManual       LineKind = "manual"        // 手工调整: finance's correction, signed
)

// Ledger reports whether k is a ledger move on spent.
func (k LineKind) Ledger() bool {
	return k == LineSubsidy || k == LineReversal || k == LineLedgerAdjust
}

// Line is one money move of a statement (order detail, 订单明细). Fen is signed from the
// party's side: on a sponsor's statement what it pays, on an operator's what it receives.
// Zero ids mean none, except OperatorID, which is 0 for a canteen the community runs
// itself (read it only when CanteenID is set). Tier is set for elders only.
type Line struct {
	No             int              `json:"line_no"`
	Kind           LineKind         `json:"kind"`
	Adjustment     bool             `json:"adjustment"`
	RefStatementID int64            `json:"ref_statement_id,omitempty"`
	OrderID        int64            `json:"order_id,omitempty"`
	CanteenID      int64            `json:"canteen_id,omitempty"`
	OperatorID     int64            `json:"operator_id,omitempty"`
	SponsorID      int64            `json:"sponsor_id,omitempty"`
	PledgeID       int64            `json:"pledge_id,omitempty"`
	Day            civil.Date       `json:"day"` // the order's meal day; null when no order
	Period         catalog.Period   `json:"period,omitempty"`
	Group          subsidy.Group    `json:"group,omitempty"`
	Tier           *subsidy.AgeTier `json:"tier"`
	At             time.Time        `json:"at"` // when the money moved
	Fen            int64            `json:"fen"`
	Ref            string           `json:"ref"` // ledger transaction, transaction_id, out_refund_no, adjustment
	Memo           string           `json:"memo,omitempty"`
}

// Totals sum lines. TotalFen = SubsidyFen + ReversalFen + PaymentFen + CashFen + RefundFen
// + AdjustmentFen, where the first five count lines of the month itself and AdjustmentFen
// counts adjustment lines, ledger adjust entries and manual corrections. LedgerFen is the
// sum of every ledger line (adjustments included): the ledger's spent moves. Meals counts
// the orders with a subsidy, payment or cash line of the month itself.
type Totals struct {
	Meals         int   `json:"meals"`
	SubsidyFen    int64 `json:"subsidy_fen"`
	ReversalFen   int64 `json:"reversal_fen"`
	PaymentFen    int64 `json:"payment_fen"`
	CashFen       int64 `json:"cash_fen"`
	RefundFen     int64 `json:"refund_fen"`
	AdjustmentFen int64 `json:"adjustment_fen"`
	LedgerFen     int64 `json:"ledger_fen"`
	TotalFen      int64 `json:"total_fen"`
}

// tally accumulates Totals, counting each order's meal once.
type tally struct {
	Totals
	orders map[int64]bool
}

func (t *tally) add(l Line) {
	t.TotalFen += l.Fen
	if l.Kind.Ledger() {
		t.LedgerFen += l.Fen
	}
	if l.Adjustment || l.Kind == LineLedgerAdjust || l.Kind == LineManual {
		t.AdjustmentFen += l.Fen
		return
	}
	switch l.Kind {
	case LineSubsidy:
		t.SubsidyFen += l.Fen
	case LineReversal:
		t.ReversalFen += l.Fen
	case LinePayment:
		t.PaymentFen += l.Fen
	case LineCash:
		t.CashFen += l.Fen
	case LineRefund:
		t.RefundFen += l.Fen
	}
	if l.OrderID != 0 && (l.Kind == LineSubsidy || l.Kind == LinePayment || l.Kind == LineCash) {
		if t.orders == nil {
			t.orders = map[int64]bool{}
		}
		if !t.orders[l.OrderID] {
			t.orders[l.OrderID] = true
			t.Meals++
		}
	}
}

// Sum returns the Totals of lines.
func Sum(lines []Line) Totals {
	var t tally
	for _, l := range lines {
		t.add(l)
	}
	return t.Totals
}

// Counterpart is the other side of a statement's ledger lines: on a sponsor's statement
// each canteen operator it pays for (Kind operator; ID 0 for the community's own
// canteens), on an operator's statement each sponsor whose subsidy it receives. Lines
// without a canteen (a sponsor's ledger adjust entry, a manual correction without an
// order) have no counterpart.
type Counterpart struct {
	Kind PartyKind `json:"kind"`
	ID   int64     `json:"id"`
	Name string    `json:"name"`
	Fen  int64     `json:"fen"`
}

// Statement is what one party's money did in one month. A closed statement never
// changes; a preview has ID and CloseID 0. MerchantID is the partner merchant the
// statement belongs to, who may read and sign it off: the merchant linked to a sponsor,
// or the operator; nil for a sponsor without one and the community's own canteens.
type Statement struct {
	ID           int64         `json:"id"`
	CommunityID  int64         `json:"community_id"`
	CloseID      int64         `json:"close_id"`
	Month        Month         `json:"month"`
	Party        Party         `json:"party"`
	MerchantID   *int64        `json:"merchant_id"`
	PartyName    string        `json:"party_name"`
	Totals       Totals        `json:"totals"`
	Counterparts []Counterpart `json:"counterparts"`
	LineCount    int           `json:"line_count"`
	// Status is the latest sign-off; Signoffs the whole history (read one statement).
	Status    SignoffStatus `json:"status,omitempty"`
	Signoffs  []Signoff     `json:"signoffs,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
	Lines     []Line        `json:"lines,omitempty"`
}

// DayRow is one meal day of a statement (按日汇总); Day is zero for lines without an order.
type DayRow struct {
	Day civil.Date `json:"day"`
	Totals
}

// ByDay sums lines by meal day, in day order.
func ByDay(lines []Line) []DayRow {
	m := map[civil.Date]*tally{}
	for _, l := range lines {
		t := m[l.Day]
		if t == nil {
			t = &tally{}
			m[l.Day] = t
		}
		t.add(l)
	}
	out := make([]DayRow, 0, len(m))
	for d, t := range m {
		out = append(out, DayRow{Day: d, Totals: t.Totals})
	}
	slices.SortFunc(out, func(a, b DayRow) int { return a.Day.Compare(b.Day) })
	return out
}

// GroupRow is one canteen × meal day × group/tier of a statement (按人群汇总). Tier is
// set for elders only; lines without an order have no canteen, day or group.
type GroupRow struct {
	CanteenID int64            `json:"canteen_id"`
	Day       civil.Date       `json:"day"`
	Group     subsidy.Group    `json:"group"`
	Tier      *subsidy.AgeTier `json:"tier"`
	Totals
}

type groupKey struct {
	canteen int64
	day     civil.Date
	group   subsidy.Group
	tier    int // -1: none
}

// ByGroup sums lines by canteen, meal day and the group and tier the subsidy was priced
// for, ordered by canteen, day, group and tier.
func ByGroup(lines []Line) []GroupRow {
	m := map[groupKey]*tally{}
	for _, l := range lines {
		k := groupKey{canteen: l.CanteenID, day: l.Day, group: l.Group, tier: -1}
		if l.Tier != nil {
			k.tier = int(*l.Tier)
		}
		t := m[k]
		if t == nil {
			t = &tally{}
			m[k] = t
		}
		t.add(l)
	}
	out := make([]GroupRow, 0, len(m))
	for k, t := range m {
		r := GroupRow{CanteenID: k.canteen, Day: k.day, Group: k.group, Totals: t.Totals}
		if k.tier >= 0 {
			tier := subsidy.AgeTier(k.tier)
			r.Tier = &tier
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b GroupRow) int {
		return cmp.Or(cmp.Compare(a.CanteenID, b.CanteenID), a.Day.Compare(b.Day),
			cmp.Compare(a.Group, b.Group), cmp.Compare(tierOrder(a.Tier), tierOrder(b.Tier)))
	})
	return out
}

func tierOrder(t *subsidy.AgeTier) int {
	if t == nil {
		return -1
	}
	return int(*t)
}

// Report is a statement with the breakdowns an export shows: summary (Statement.Totals
// and Counterparts), by day, by canteen × day × group/tier, and the order detail (Lines).
type Report struct {
	Statement
	ByDay   []DayRow   `json:"by_day"`
	ByGroup []GroupRow `json:"by_group"`
}

// NewReport returns s with its breakdowns, worked out from s.Lines.
func NewReport(s Statement) Report {
	return Report{Statement: s, ByDay: ByDay(s.Lines), ByGroup: ByGroup(s.Lines)}
}

// lineKey is what sortLines compares first, worked out once per line.
type lineKey struct {
	day     int64 // adjustment, then the meal day, packed to compare field by field
	canteen int64
	order   int64
	sec     int64
	nsec    int32
	rank    int32
	i       int // index of the line
}

func newLineKey(i int, l Line) lineKey {
	day := int64(l.Day.Year)<<10 | int64(l.Day.Month)<<5 | int64(l.Day.Day)
	if l.Adjustment {
		day |= 1 << 62
	}
	return lineKey{day: day, canteen: l.CanteenID, order: l.OrderID, sec: l.At.Unix(), nsec: int32(l.At.Nanosecond()),
		rank: int32(l.Period.Rank()), i: i}
}

// sortLines orders a statement's lines: the month's own lines first, then adjustments;
// within each by meal day, canteen, meal period, order, time, kind, sponsor, pledge and
// ref. It compares keys worked out once per line and then moves each line once.
func sortLines(lines []Line) {
	keys := make([]lineKey, len(lines))
	for i, l := range lines {
		keys[i] = newLineKey(i, l)
	}
	slices.SortFunc(keys, func(a, b lineKey) int {
		if c := cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.canteen, b.canteen), cmp.Compare(a.rank, b.rank),
			cmp.Compare(a.order, b.order), cmp.Compare(a.sec, b.sec), cmp.Compare(a.nsec, b.nsec)); c != 0 {
			return c
		}
		x, y := &lines[a.i], &lines[b.i]
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.SponsorID, y.SponsorID), cmp.Compare(x.PledgeID, y.PledgeID),
			cmp.Compare(x.Ref, y.Ref))
	})
	// Apply the permutation in place: position i takes line keys[i].i.
	for i := range keys {
		if keys[i].i < 0 {
			continue
		}
		tmp := lines[i]
		j := i
		for {
			k := keys[j].i
			keys[j].i = -1
			if k == i {
				lines[j] = tmp
				break
			}
			lines[j] = lines[k]
			j = k
		}
	}
}
