package export

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// The three renderers show the same rows, worked out once here from the statement's
// lines with settlement.Sum, so every table adds up to the statement's totals.

// view is a Document laid out in the rows every export shows.
type view struct {
	S            settlement.Statement
	Community    string
	Title        string // "2026-10 结算单 · 阳光餐饮"
	PartyKind    string
	Status       string
	Confirmed    bool
	Disputed     bool
	Created      string
	Generated    string
	Summary      []amountRow
	Counterparts []counterRow
	CounterTitle string
	CounterTotal int64
	ByDay        []sumRow
	ByGroup      []sumRow
	Detail       []detailRow
	Adjustments  []detailRow
	AdjustTotal  int64
	Signoffs     []signoffRow
	Latest       *signoffRow
}

// amountRow is one line of the totals: a label and fen, or a count for meals.
type amountRow struct {
	Label string
	Fen   int64
	Count bool // Fen is a count, not money
	Bold  bool
}

type counterRow struct {
	Kind string
	Name string
	Fen  int64
}

// sumRow is a row of a breakdown: its key cells and the totals of its lines.
type sumRow struct {
	Keys []string
	settlement.Totals
}

// detailRow is one statement line as the order detail shows it.
type detailRow struct {
	No           int
	OrderID      int64
	Canteen      string
	Day          string
	Period       string
	Group        string
	Tier         string
	Diner        string
	Phone        string
	Kind         string
	Fen          int64
	At           string
	Sponsor      string
	PledgeID     int64
	Ref          string
	Adjustment   bool
	RefStatement string
	Memo         string
}

type signoffRow struct {
	Seq     int
	Status  string
	Comment string
	Who     string
	At      string
}

// moneyColumns are the columns of a breakdown after its keys, Chinese and English.
var moneyColumns = [][2]string{
	{"餐数", "Meals"}, {"补贴", "Subsidy"}, {"冲正", "Reversals"}, {"微信支付", "WeChat Pay"}, {"现金", "Cash"},
	{"退款", "Refunds"}, {"调整", "Adjustments"}, {"合计", "Total"},
}

// moneyOf returns the fen columns of t in moneyColumns' order, after Meals.
func moneyOf(t settlement.Totals) []int64 {
	return []int64{t.SubsidyFen, t.ReversalFen, t.PaymentFen, t.CashFen, t.RefundFen, t.AdjustmentFen, t.TotalFen}
}

// checkConsistent fails for a statement whose lines do not add up to what it says.
func checkConsistent(s settlement.Statement) error {
	if len(s.Lines) != s.LineCount {
		return fmt.Errorf("export: statement %d has %d lines, says %d", s.ID, len(s.Lines), s.LineCount)
	}
	if got := settlement.Sum(s.Lines); got != s.Totals {
		return fmt.Errorf("export: statement %d: lines sum to %+v, statement says %+v", s.ID, got, s.Totals)
	}
	return nil
}

func newView(d Document) (view, error) {
	s := d.Statement
	if err := checkConsistent(s); err != nil {
		return view{}, err
	}
	v := view{S: s, Community: d.Details.Community, PartyKind: partyKindLabel(s.Party.Kind),
		Status: statusLabel(s.Status), Confirmed: s.Status == settlement.Confirmed, Disputed: s.Status == settlement.Disputed,
		Created: minuteString(s.CreatedAt), Generated: minuteString(d.GeneratedAt)}
	v.Title = fmt.Sprintf("%s 月结算单 · %s", s.Month, s.PartyName)
	t := s.Totals
	v.Summary = []amountRow{
		{Label: "餐数 / Meals", Fen: int64(t.Meals), Count: true},
		{Label: "补贴 / Subsidy", Fen: t.SubsidyFen},
		{Label: "冲正 / Reversals", Fen: t.ReversalFen},
		{Label: "微信支付 / WeChat Pay", Fen: t.PaymentFen},
		{Label: "现金 / Cash", Fen: t.CashFen},
		{Label: "退款 / Refunds", Fen: t.RefundFen},
		{Label: "调整 / Adjustments", Fen: t.AdjustmentFen},
		{Label: "合计 / Total", Fen: t.TotalFen, Bold: true},
		{Label: "其中补贴账本净额 / of which ledger (net subsidy)", Fen: t.LedgerFen},
	}
	if s.Party.Kind == settlement.Sponsor {
		v.CounterTitle = "应付各食堂运营方 / Payable per canteen operator"
	} else {
		v.CounterTitle = "应收各资助方 / Receivable per sponsor"
	}
	for _, c := range s.Counterparts {
		v.Counterparts = append(v.Counterparts, counterRow{Kind: partyKindLabel(c.Kind), Name: c.Name, Fen: c.Fen})
		v.CounterTotal += c.Fen
	}
	v.ByDay = byDay(d)
	v.ByGroup = byGroup(d)
	for _, l := range s.Lines {
		r := d.detail(l)
		v.Detail = append(v.Detail, r)
		if l.Adjustment {
			v.Adjustments = append(v.Adjustments, r)
			v.AdjustTotal += l.Fen
		}
	}
	for _, so := range s.Signoffs {
		v.Signoffs = append(v.Signoffs, signoffRow{Seq: so.Seq, Status: statusLabel(so.Status), Comment: so.Comment,
			Who: actorLabel(so), At: minuteString(so.At)})
	}
	if n := len(v.Signoffs); n > 0 {
		v.Latest = &v.Signoffs[n-1]
	}
	return v, nil
}

func (d Document) canteen(id int64) string {
	return named(d.Details.Canteens, id, "食堂", "canteen")
}

func (d Document) sponsor(id int64) string {
	return named(d.Details.Sponsors, id, "资助方", "sponsor")
}

// named returns the name of id in names, or "<zh> id / <en> id" when names lacks it;
// "" for no id.
func named(names map[int64]string, id int64, zh, en string) string {
	if id == 0 {
		return ""
	}
	if n, ok := names[id]; ok {
		return n
	}
	return fmt.Sprintf("%s %d / %s %d", zh, id, en, id)
}

func (d Document) ref(id int64) string {
	if id == 0 {
		return ""
	}
	r, ok := d.Details.Refs[id]
	if !ok {
		return "#" + strconv.FormatInt(id, 10)
	}
	return fmt.Sprintf("#%d %s %s", id, r.Month, r.PartyName)
}

func (d Document) detail(l settlement.Line) detailRow {
	r := detailRow{No: l.No, OrderID: l.OrderID, Canteen: d.canteen(l.CanteenID), Day: dayString(l.Day),
		Period: periodLabel(l.Period), Group: settlement.GroupLabel(l.Group), Tier: tierLabel(l.Tier), Kind: l.Kind.Label(),
		Fen: l.Fen, At: timeString(l.At), Sponsor: d.sponsor(l.SponsorID), PledgeID: l.PledgeID, Ref: l.Ref,
		Adjustment: l.Adjustment, RefStatement: d.ref(l.RefStatementID), Memo: l.Memo}
	if l.OrderID != 0 {
		if di, ok := d.Details.Diners[l.OrderID]; ok {
			r.Diner, r.Phone = di.Name, di.Phone
		}
	}
	return r
}

// byDay sums the month's own lines by canteen and meal day, in day and canteen order;
// lines without an order share one row, and adjustments of earlier months another.
func byDay(d Document) []sumRow {
	type key struct {
		rank    int // 0: a meal day, 1: no order, 2: earlier months
		day     civil.Date
		canteen int64
	}
	groups := map[key][]settlement.Line{}
	for _, l := range d.Statement.Lines {
		k := key{day: l.Day, canteen: l.CanteenID}
		switch {
		case l.Adjustment:
			k = key{rank: 2}
		case l.Day.IsZero() && l.CanteenID == 0:
			k = key{rank: 1}
		}
		groups[k] = append(groups[k], l)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), a.day.Compare(b.day), cmp.Compare(a.canteen, b.canteen))
	})
	out := make([]sumRow, 0, len(keys))
	for _, k := range keys {
		var cells []string
		switch k.rank {
		case 0:
			cells = []string{dayString(k.day), d.canteen(k.canteen)}
		case 1:
			cells = []string{"—", "无订单的账本调整 / ledger adjustments without an order"}
		default:
			cells = []string{"—", "以前月份的调整 / adjustments of earlier months"}
		}
		out = append(out, sumRow{Keys: cells, Totals: settlement.Sum(groups[k])})
	}
	return out
}

// byGroup sums lines by the group and age tier an order's subsidy was priced for. Every
// line of an order counts under the order's group (the first of its lines that names
// one), so that each meal is counted once; lines without an order share one row.
func byGroup(d Document) []sumRow {
	type key struct {
		group subsidy.Group
		tier  int // -1: none
		none  bool
	}
	type gt struct {
		group subsidy.Group
		tier  *subsidy.AgeTier
	}
	orderGroup := map[int64]gt{}
	for _, l := range d.Statement.Lines {
		if _, ok := orderGroup[l.OrderID]; !ok && l.OrderID != 0 && l.Group != "" {
			orderGroup[l.OrderID] = gt{l.Group, l.Tier}
		}
	}
	groups := map[key][]settlement.Line{}
	tiers := map[key]*subsidy.AgeTier{}
	for _, l := range d.Statement.Lines {
		g := gt{l.Group, l.Tier}
		if og, ok := orderGroup[l.OrderID]; ok {
			g = og
		}
		k := key{group: g.group, tier: -1}
		if g.tier != nil {
			k.tier = int(*g.tier)
		}
		if g.group == "" {
			k = key{none: true, tier: -1}
		}
		groups[k] = append(groups[k], l)
		tiers[k] = g.tier
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(compareBool(a.none, b.none), cmp.Compare(groupRank(a.group), groupRank(b.group)), cmp.Compare(a.tier, b.tier))
	})
	out := make([]sumRow, 0, len(keys))
	for _, k := range keys {
		cells := []string{settlement.GroupLabel(k.group), tierLabel(tiers[k])}
		if k.none {
			cells = []string{"—", "未记录人群 / no group recorded"}
		}
		out = append(out, sumRow{Keys: cells, Totals: settlement.Sum(groups[k])})
	}
	return out
}

func groupRank(g subsidy.Group) int {
	switch g {
	case subsidy.Elderly:
		return 0
	case subsidy.Worker:
		return 1
	case subsidy.General:
		return 2
	}
	return 3
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
