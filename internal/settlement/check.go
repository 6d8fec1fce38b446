package settlement

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// FindingCode names what a check found.
type FindingCode string

// The checks run before a month is closed.
const (
	// A diner subsidised as an elder or worker on a meal day after that eligibility
	// expired (valid_until) or was revoked (a day after the day of revoked_at).
	FindingEligibilityLapsed FindingCode = "eligibility_lapsed"
	// A diner subsidised beyond a limit of a policy version, recounted from the orders.
	FindingLimitExceeded FindingCode = "limit_exceeded"
	// A diner with subsidised orders in two canteens at the same meal period.
	FindingTwoCanteens FindingCode = "two_canteens"
	// More subsidised meals in a canteen at one meal period of a day than diners holding
	// an eligibility valid that day.
	FindingMoreThanEligible FindingCode = "more_meals_than_eligible"
	// An order whose subsidy parts, ledger commits and reversals do not agree.
	FindingLedgerMismatch FindingCode = "ledger_mismatch"
	// A WeChat order paid without a credited payment, or with another amount; a payment
	// credited to an order that is not paid; a payment flagged for staff.
	FindingPaymentMismatch FindingCode = "payment_mismatch"
	// A WeChat bill difference (reconciliation) nobody has resolved.
	FindingBillUnresolved FindingCode = "bill_unresolved"
)

// Title returns the finding's title, Chinese first.
func (c FindingCode) Title() string {
	switch c {
	case FindingEligibilityLapsed:
		return "资格过期或撤销后仍享受补贴 / Subsidised after the eligibility expired or was revoked"
	case FindingLimitExceeded:
		return "补贴超出规则限额 / Subsidised beyond a policy limit"
	case FindingTwoCanteens:
		return "同一餐次在两个食堂就餐 / One diner in two canteens at the same meal"
	case FindingMoreThanEligible:
		return "补贴餐数多于符合资格的人数 / More subsidised meals than eligible diners"
	case FindingLedgerMismatch:
		return "账本与订单补贴不一致 / The ledger and the order's subsidy disagree"
	case FindingPaymentMismatch:
		return "订单与微信支付记录不一致 / The order and its WeChat payment disagree"
	case FindingBillUnresolved:
		return "微信账单差异未处理 / Unresolved WeChat bill difference"
	}
	return string(c)
}

// Finding is one problem a check found, with the orders behind it. Fen is the money at
// stake; Amounts names the figures compared (for a mismatch: what each side says).
type Finding struct {
	Code     FindingCode      `json:"code"`
	Title    string           `json:"title"`
	Detail   string           `json:"detail"`
	OrderIDs []int64          `json:"order_ids"`
	Fen      int64            `json:"fen"`
	Amounts  map[string]int64 `json:"amounts,omitempty"`
}

// maxFindingsPerCode caps the findings of one check; the rest are summed in one more.
const maxFindingsPerCode = 500

// CheckFacts is what the checks of one month read.
type CheckFacts struct {
	Month Month
	// Meals are the live subsidised orders (paid, in the kitchen, ready, picked up) whose
	// meal day is in Month, one row per order and priced group and tier.
	Meals []GroupMeal
	// Spans are the eligibilities (approved, expired, revoked) of the diners of Meals.
	Spans []EligibilitySpan
	// EligibleDiners counts, per day of Month, the diners with an eligibility valid that day.
	EligibleDiners map[civil.Date]int
	// Uses are, per live order of Month and policy, what the order took from the policy.
	Uses []PolicyUse
	// Orders are the orders whose meal day is in Month, paid in Month, or with ledger
	// moves in Month, with what each record says of their money.
	Orders []OrderMoney
	// Flagged are the payments of Month flagged for staff.
	Flagged []FlaggedPayment
	// Bill are the unresolved reconciliation findings of Month's days.
	Bill []BillEntry
}

// GroupMeal is the subsidy one order got for one priced group and tier.
type GroupMeal struct {
	OrderID   int64
	DinerID   int64
	CanteenID int64
	Day       civil.Date
	Period    catalog.Period
	Group     subsidy.Group
	Fen       int64
}

// EligibilitySpan is when one eligibility of a diner was valid: From to Until inclusive,
// and for a revoked one up to RevokedOn (the Asia/Shanghai day it was revoked).
type EligibilitySpan struct {
	DinerID   int64
	Group     subsidy.Group
	From      civil.Date
	Until     civil.Date
	RevokedOn civil.Date
}

// covers reports whether s makes its diner eligible on day.
func (s EligibilitySpan) covers(day civil.Date) bool {
	return !day.Before(s.From) && !day.After(s.Until) && (s.RevokedOn.IsZero() || !day.After(s.RevokedOn))
}

// PolicyUse is what one order took from one policy: Units subsidised units (the order's
// limit claim, or the units of its lines the policy paid for when it made no claim) and
// Fen subsidy, under Version, whose limits are Limits.
type PolicyUse struct {
	OrderID  int64
	DinerID  int64
	PolicyID int64
	Version  int64
	Day      civil.Date
	Period   catalog.Period
	Units    int
	Fen      int64
	Limits   []subsidy.Limit
}

// OrderMoney is what the records say of one order's money: the order, its subsidy parts,
// its ledger moves on spent (all time) and its credited WeChat payments.
type OrderMoney struct {
	OrderID      int64
	Status       order.Status
	Payment      order.Payment
	Day          civil.Date
	PaidAt       *time.Time
	PayFen       int64
	SubsidyFen   int64
	RefundedFen  int64
	PartsFen     int64
	CommittedFen int64 // commits to spent
	ReversedFen  int64 // reversals out of spent, as a positive amount
	CreditedFen  int64
	Credited     int // credited WeChat payments
}

// FlaggedPayment is a WeChat payment that did not match its order and waits for staff.
type FlaggedPayment struct {
	OrderID       int64
	TransactionID string
	Fen           int64
	Reason        string
}

// BillEntry is an unresolved reconciliation finding: WeChat's bill and our records
// disagree about a payment or a refund (ref: its out_trade_no or out_refund_no).
type BillEntry struct {
	Day     civil.Date
	Kind    string
	Ref     string
	OrderID int64
	OurFen  *int64
	BillFen *int64
	Outcome string
}

// Check runs every check on f and returns the findings, by check in the order of the
// FindingCode constants. No findings: the month may close.
func Check(f CheckFacts) []Finding {
	var out []Finding
	for _, check := range []func(CheckFacts) []Finding{
		checkLapsed, checkLimits, checkTwoCanteens, checkMoreThanEligible, checkLedger, checkPayments, checkBill,
	} {
		out = append(out, capped(check(f))...)
	}
	return out
}

// capped keeps the first maxFindingsPerCode findings and sums the rest in one more.
func capped(fs []Finding) []Finding {
	if len(fs) <= maxFindingsPerCode {
		return fs
	}
	rest := Finding{Code: fs[0].Code, Title: fs[0].Code.Title(), OrderIDs: []int64{}}
	for _, f := range fs[maxFindingsPerCode:] {
		rest.Fen += f.Fen
	}
	n := len(fs) - maxFindingsPerCode
	rest.Detail = fmt.Sprintf("另有 %d 项同类问题未列出 / %d more findings of this kind are not listed", n, n)
	return append(fs[:maxFindingsPerCode:maxFindingsPerCode], rest)
}

func finding(code FindingCode, detail string, orders []int64, fen int64, amounts map[string]int64) Finding {
	ids := slices.Clone(orders)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if ids == nil {
		ids = []int64{}
	}
	return Finding{Code: code, Title: code.Title(), Detail: detail, OrderIDs: ids, Fen: fen, Amounts: amounts}
}

// checkLapsed finds, per diner and group, the meals subsidised for a group on a day no
// eligibility of that group covered.
func checkLapsed(f CheckFacts) []Finding {
	spans := map[int64][]EligibilitySpan{}
	for _, s := range f.Spans {
		spans[s.DinerID] = append(spans[s.DinerID], s)
	}
	type key struct {
		diner int64
		group subsidy.Group
	}
	type lapse struct {
		orders  []int64
		fen     int64
		days    []civil.Date
		revoked bool
		until   civil.Date // the last day any eligibility of the group covered
	}
	lapses := map[key]*lapse{}
	for _, m := range f.Meals {
		if m.Group == subsidy.General || m.Group == "" {
			continue
		}
		var last civil.Date
		revoked, covered := false, false
		for _, s := range spans[m.DinerID] {
			if s.Group != m.Group {
				continue
			}
			if s.covers(m.Day) {
				covered = true
				break
			}
			end := s.Until
			if !s.RevokedOn.IsZero() && s.RevokedOn.Before(end) {
				end = s.RevokedOn
			}
			if !m.Day.Before(s.From) && !m.Day.After(s.Until) {
				revoked = true // within its dates, but revoked before the meal day
			}
			if end.Before(m.Day) && end.After(last) {
				last = end
			}
		}
		if covered {
			continue
		}
		k := key{m.DinerID, m.Group}
		l := lapses[k]
		if l == nil {
			l = &lapse{}
			lapses[k] = l
		}
		l.orders = append(l.orders, m.OrderID)
		l.fen += m.Fen
		l.days = append(l.days, m.Day)
		l.revoked = l.revoked || revoked
		if last.After(l.until) {
			l.until = last
		}
	}
	var out []Finding
	for _, k := range sortedKeys(lapses, func(a, b key) int { return cmp.Or(cmp.Compare(a.diner, b.diner), cmp.Compare(a.group, b.group)) }) {
		l := lapses[k]
		why := "资格已过期 / the eligibility had expired"
		if l.revoked {
			why = "资格已撤销 / the eligibility had been revoked"
		}
		valid := "从未有效 / never valid"
		if !l.until.IsZero() {
			valid = "最后有效日 " + l.until.String() + " / last valid " + l.until.String()
		}
		slices.SortFunc(l.days, civil.Date.Compare)
		out = append(out, finding(FindingEligibilityLapsed, fmt.Sprintf(
			"就餐人 %d 以%s身份在 %s 至 %s 享受补贴 %d 次，%s（%s） / diner %d was subsidised as %s %d times from %s to %s: %s (%s)",
			k.diner, GroupLabel(k.group), l.days[0], l.days[len(l.days)-1], len(l.orders), why, valid,
			k.diner, k.group, len(l.orders), l.days[0], l.days[len(l.days)-1], why, valid),
			l.orders, l.fen, nil))
	}
	return out
}

// checkLimits recounts, per diner, policy and limit window, what the live orders took,
// against the limit of the version the latest of them was priced with. Limits count
// across versions, as pricing counts them.
func checkLimits(f CheckFacts) []Finding {
	type key struct {
		diner, policy int64
		window        subsidy.LimitWindow
		windowKey     string
	}
	type bucket struct {
		units   int
		fen     int64
		orders  []int64
		limit   subsidy.Limit
		limitOf int64 // the order whose version set limit
	}
	windows := map[int64][]subsidy.LimitWindow{} // every window any version of a policy limits
	for _, u := range f.Uses {
		for _, l := range u.Limits {
			if !slices.Contains(windows[u.PolicyID], l.Window) {
				windows[u.PolicyID] = append(windows[u.PolicyID], l.Window)
			}
		}
	}
	buckets := map[key]*bucket{}
	for _, u := range f.Uses {
		for _, w := range windows[u.PolicyID] {
			k := key{u.DinerID, u.PolicyID, w, w.Key(u.Day, u.Period)}
			b := buckets[k]
			if b == nil {
				b = &bucket{}
				buckets[k] = b
			}
			b.units += u.Units
			b.fen += u.Fen
			b.orders = append(b.orders, u.OrderID)
			if i := slices.IndexFunc(u.Limits, func(l subsidy.Limit) bool { return l.Window == w }); i >= 0 && u.OrderID > b.limitOf {
				b.limit, b.limitOf = u.Limits[i], u.OrderID
			}
		}
	}
	var out []Finding
	for _, k := range sortedKeys(buckets, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.diner, b.diner), cmp.Compare(a.policy, b.policy), cmp.Compare(a.windowKey, b.windowKey))
	}) {
		b := buckets[k]
		overCount := b.limit.Count > 0 && b.units > b.limit.Count
		overFen := b.limit.AmountFen > 0 && b.fen > b.limit.AmountFen
		if !overCount && !overFen {
			continue
		}
		amounts := map[string]int64{"units": int64(b.units), "fen": b.fen}
		if b.limit.Count > 0 {
			amounts["limit_count"] = int64(b.limit.Count)
		}
		if b.limit.AmountFen > 0 {
			amounts["limit_fen"] = b.limit.AmountFen
		}
		out = append(out, finding(FindingLimitExceeded, fmt.Sprintf(
			"就餐人 %d 在 %s 从规则 %d 获得补贴 %d 份、%d 分，限额为 %d 份、%d 分（0 为不限） / diner %d got %d units and %d fen from policy %d in %s; the limit is %d units and %d fen (0: none)",
			k.diner, k.windowKey, k.policy, b.units, b.fen, b.limit.Count, b.limit.AmountFen,
			k.diner, b.units, b.fen, k.policy, k.windowKey, b.limit.Count, b.limit.AmountFen),
			b.orders, b.fen, amounts))
	}
	return out
}

// meals returns the orders of f.Meals once each, with their subsidy summed.
func meals(f CheckFacts) []GroupMeal {
	byOrder := map[int64]*GroupMeal{}
	var ids []int64
	for _, m := range f.Meals {
		if g, ok := byOrder[m.OrderID]; ok {
			g.Fen += m.Fen
			if g.Group == subsidy.General {
				g.Group = m.Group
			}
			continue
		}
		byOrder[m.OrderID] = &m
		ids = append(ids, m.OrderID)
	}
	slices.Sort(ids)
	out := make([]GroupMeal, len(ids))
	for i, id := range ids {
		out[i] = *byOrder[id]
	}
	return out
}

// mealSlot is the meal period of a day of one diner or one canteen.
type mealSlot struct {
	id     int64 // the diner or the canteen
	day    civil.Date
	period catalog.Period
}

// mealsBySlot groups the meals of f, once per order, by the slot of the diner or canteen
// of (of returns false for a meal to leave out), and returns the slots ordered by id, day
// and meal period.
func mealsBySlot(f CheckFacts, of func(GroupMeal) (int64, bool)) ([]mealSlot, map[mealSlot][]GroupMeal) {
	groups := map[mealSlot][]GroupMeal{}
	for _, m := range meals(f) {
		id, ok := of(m)
		if !ok {
			continue
		}
		k := mealSlot{id, m.Day, m.Period}
		groups[k] = append(groups[k], m)
	}
	return sortedKeys(groups, func(a, b mealSlot) int {
		return cmp.Or(cmp.Compare(a.id, b.id), a.day.Compare(b.day), cmp.Compare(a.period.Rank(), b.period.Rank()))
	}), groups
}

// mealOrders returns the orders of ms and their subsidy added up.
func mealOrders(ms []GroupMeal) ([]int64, int64) {
	var orders []int64
	var fen int64
	for _, m := range ms {
		orders = append(orders, m.OrderID)
		fen += m.Fen
	}
	return orders, fen
}

// checkTwoCanteens finds diners with subsidised orders in more than one canteen at one
// meal period of a day.
func checkTwoCanteens(f CheckFacts) []Finding {
	slots, groups := mealsBySlot(f, func(m GroupMeal) (int64, bool) { return m.DinerID, m.DinerID != 0 })
	var out []Finding
	for _, k := range slots {
		ms := groups[k]
		var canteens []int64
		for _, m := range ms {
			if !slices.Contains(canteens, m.CanteenID) {
				canteens = append(canteens, m.CanteenID)
			}
		}
		if len(canteens) < 2 {
			continue
		}
		orders, fen := mealOrders(ms)
		slices.Sort(canteens)
		out = append(out, finding(FindingTwoCanteens, fmt.Sprintf(
			"就餐人 %d 于 %s %s 在食堂 %v 都有补贴订单 / diner %d has subsidised orders in canteens %v at %s %s",
			k.id, k.day, k.period, canteens, k.id, canteens, k.day, k.period), orders, fen, nil))
	}
	return out
}

// checkMoreThanEligible finds canteen meal periods with more meals subsidised for a
// group than there were diners holding an eligibility that day.
func checkMoreThanEligible(f CheckFacts) []Finding {
	slots, groups := mealsBySlot(f, func(m GroupMeal) (int64, bool) {
		return m.CanteenID, m.Group != subsidy.General && m.Group != ""
	})
	var out []Finding
	for _, k := range slots {
		ms := groups[k]
		eligible := f.EligibleDiners[k.day]
		if len(ms) <= eligible {
			continue
		}
		orders, fen := mealOrders(ms)
		out = append(out, finding(FindingMoreThanEligible, fmt.Sprintf(
			"食堂 %d 于 %s %s 有 %d 份资格补贴餐，当天只有 %d 位就餐人有有效资格 / canteen %d served %d meals subsidised for a group at %s %s, but only %d diners held a valid eligibility that day",
			k.id, k.day, k.period, len(ms), eligible, k.id, len(ms), k.day, k.period, eligible),
			orders, fen, map[string]int64{"meals": int64(len(ms)), "eligible_diners": int64(eligible)}))
	}
	return out
}

// spentStatuses are the statuses of an order whose subsidy was committed.
var spentStatuses = []order.Status{order.Paid, order.InKitchen, order.Ready, order.PickedUp, order.Refunded}

// checkLedger compares, per order, the subsidy it records, its subsidy parts, and its
// ledger moves: a paid order has committed its whole subsidy and reversed floor(subsidy
// × refunded / paid) of it; an order never paid has spent nothing.
func checkLedger(f CheckFacts) []Finding {
	var out []Finding
	for _, o := range f.Orders {
		expCommitted, expReversed := int64(0), int64(0)
		if slices.Contains(spentStatuses, o.Status) {
			expCommitted = o.SubsidyFen
			if o.PayFen > 0 && o.RefundedFen > 0 {
				expReversed = mulDiv(o.SubsidyFen, o.RefundedFen, o.PayFen)
			}
		}
		net := o.CommittedFen - o.ReversedFen
		switch {
		case o.PartsFen != o.SubsidyFen:
			out = append(out, finding(FindingLedgerMismatch, fmt.Sprintf(
				"订单 %d 记录补贴 %d 分，补贴明细合计 %d 分 / order %d records %d fen of subsidy, its subsidy parts sum to %d fen",
				o.OrderID, o.SubsidyFen, o.PartsFen, o.OrderID, o.SubsidyFen, o.PartsFen),
				[]int64{o.OrderID}, abs(o.SubsidyFen-o.PartsFen),
				map[string]int64{"subsidy_fen": o.SubsidyFen, "parts_fen": o.PartsFen}))
		case o.CommittedFen != expCommitted || net != expCommitted-expReversed:
			out = append(out, finding(FindingLedgerMismatch, fmt.Sprintf(
				"订单 %d（%s）账本已扣 %d 分、冲回 %d 分，应为扣 %d 分、冲回 %d 分 / order %d (%s): the ledger committed %d fen and reversed %d fen; it should have committed %d fen and reversed %d fen",
				o.OrderID, o.Status, o.CommittedFen, o.ReversedFen, expCommitted, expReversed,
				o.OrderID, o.Status, o.CommittedFen, o.ReversedFen, expCommitted, expReversed),
				[]int64{o.OrderID}, abs(net-(expCommitted-expReversed)),
				map[string]int64{"ledger_committed_fen": o.CommittedFen, "ledger_reversed_fen": o.ReversedFen,
					"expected_committed_fen": expCommitted, "expected_reversed_fen": expReversed}))
		}
	}
	return out
}

// checkPayments compares WeChat orders with their credited payments, and lists the
// payments flagged for staff.
func checkPayments(f CheckFacts) []Finding {
	var out []Finding
	for _, o := range f.Orders {
		if o.Payment != order.WeChat && o.Credited == 0 {
			continue
		}
		paid := o.PaidAt != nil && slices.Contains(spentStatuses, o.Status)
		switch {
		case paid && o.Payment == order.WeChat && o.PayFen > 0 && o.Credited == 0:
			out = append(out, finding(FindingPaymentMismatch, fmt.Sprintf(
				"订单 %d 已支付 %d 分，但没有成功的微信支付记录 / order %d is paid (%d fen) without a credited WeChat payment",
				o.OrderID, o.PayFen, o.OrderID, o.PayFen), []int64{o.OrderID}, o.PayFen,
				map[string]int64{"order_pay_fen": o.PayFen, "credited_fen": 0}))
		case paid && o.Payment == order.WeChat && o.CreditedFen != o.PayFen:
			out = append(out, finding(FindingPaymentMismatch, fmt.Sprintf(
				"订单 %d 应付 %d 分，微信支付入账 %d 分 / order %d asks %d fen, WeChat credited %d fen",
				o.OrderID, o.PayFen, o.CreditedFen, o.OrderID, o.PayFen, o.CreditedFen), []int64{o.OrderID}, abs(o.PayFen-o.CreditedFen),
				map[string]int64{"order_pay_fen": o.PayFen, "credited_fen": o.CreditedFen}))
		case !paid && o.Credited > 0:
			out = append(out, finding(FindingPaymentMismatch, fmt.Sprintf(
				"订单 %d（%s）未支付，却有 %d 分微信支付入账 / order %d (%s) is not paid, yet %d fen of WeChat payment was credited to it",
				o.OrderID, o.Status, o.CreditedFen, o.OrderID, o.Status, o.CreditedFen), []int64{o.OrderID}, o.CreditedFen,
				map[string]int64{"order_pay_fen": o.PayFen, "credited_fen": o.CreditedFen}))
		}
	}
	for _, p := range f.Flagged {
		out = append(out, finding(FindingPaymentMismatch, fmt.Sprintf(
			"微信支付 %s（%d 分）待人工处理：%s / WeChat payment %s (%d fen) waits for staff: %s",
			p.TransactionID, p.Fen, p.Reason, p.TransactionID, p.Fen, p.Reason), []int64{p.OrderID}, p.Fen,
			map[string]int64{"payment_fen": p.Fen}))
	}
	return out
}

// checkBill lists the reconciliation findings nobody resolved.
func checkBill(f CheckFacts) []Finding {
	var out []Finding
	for _, b := range f.Bill {
		amounts := map[string]int64{}
		var fen int64
		if b.OurFen != nil {
			amounts["our_fen"] = *b.OurFen
		}
		if b.BillFen != nil {
			amounts["bill_fen"] = *b.BillFen
		}
		switch {
		case b.OurFen != nil && b.BillFen != nil:
			fen = abs(*b.OurFen - *b.BillFen)
		case b.OurFen != nil:
			fen = *b.OurFen
		case b.BillFen != nil:
			fen = *b.BillFen
		}
		var orders []int64
		if b.OrderID != 0 {
			orders = []int64{b.OrderID}
		}
		out = append(out, finding(FindingBillUnresolved, fmt.Sprintf(
			"%s 微信账单%s %s：%s / WeChat bill of %s, %s %s: %s",
			b.Day, billKind(b.Kind), b.Ref, billOutcome(b.Outcome), b.Day, b.Kind, b.Ref, strings.ReplaceAll(b.Outcome, "_", " ")), orders, fen, amounts))
	}
	return out
}

// billOutcome says a reconciliation outcome in Chinese.
func billOutcome(outcome string) string {
	switch outcome {
	case "missing_ours":
		return "账单有、我方无记录"
	case "missing_wechat":
		return "我方有、微信账单无"
	case "amount_mismatch":
		return "金额不一致"
	}
	return outcome
}

func billKind(kind string) string {
	if kind == "refund" {
		return "退款"
	}
	return "支付"
}

func sortedKeys[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, cmp)
	return keys
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// mulDiv returns floor(a*b/c) for a, b >= 0 and c > 0, as the ledger's reversal does.
func mulDiv(a, b, c int64) int64 {
	if a < 0 || b < 0 || c <= 0 {
		return 0
	}
	return funding.MulDiv(a, b, c)
}
