package monthgen

import (
	"cmp"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// The bulk prices every order with the real engine (subsidy.Price) against the balances
// and limit usage as they stand when the order is placed, plays each order's life (hold,
// then commit, release or refunds) in time order within its day, and writes the day in
// one transaction (write.go). What follows mirrors order.Service.Place, fundingdb.Ledger
// and paymentdb step by step; the comments name the code each step copies.

// usageKey names one window of one policy's limit for one diner (limit_usage's key).
type usageKey struct {
	policy, diner int64
	window        string
}

// hold is one row of order_holds.
type hold struct {
	pledge, policy, version int64
	period                  string
	held, committed         int64
	released, reversed      int64
}

// claim is one row of order_claims with the limit it counts against.
type claim struct {
	order.ClaimRow
	released bool
}

type simIntent struct {
	rel     int
	outNo   string // out_trade_no without the order id: the random tail
	created time.Time
	status  string
	queried time.Time // when the sweep closed it
}

type simPayment struct {
	rel      int
	success  time.Time
	recorded time.Time
}

type simRefund struct {
	rel     int
	key     string
	amount  int64
	lines   []payment.RefundLine
	reason  string
	created time.Time
	settled time.Time
}

// simOrder is one bulk order and everything its life wrote.
type simOrder struct {
	rel          int // its place in the day; its id is the day's first id + rel
	q            *request
	caller       order.Caller
	req          order.PlaceRequest
	menuID       int64
	dinerID      int64
	lines        []order.Line
	holds        []hold
	claims       []claim
	std, sub     int64
	pay          int64
	status       order.Status
	method       order.Payment
	created      time.Time
	updated      time.Time
	deadline     time.Time
	paidAt       time.Time
	cancelledAt  time.Time
	cancelReason string
	refunded     int64
	fundState    string // "" when the order holds nothing
	fundUpdated  time.Time
	paidTotal    int64 // order_funding.paid_total_fen, set by the first reversal
	fundRefunded int64
	intent       *simIntent
	payment      *simPayment
	refunds      []*simRefund
}

// move is fen going between two accounts of a pledge period in one ledger transaction.
type move struct {
	txn      int // relative to the day's first transaction id
	pledge   int64
	period   string
	from, to funding.Account
	fen      int64
	kind     funding.EntryKind
	order    *simOrder
	at       time.Time
}

type event struct {
	at  time.Time
	seq int
	run func(time.Time)
}

type events []event

func (h events) Len() int { return len(h) }
func (h events) Less(i, j int) bool {
	return cmp.Or(h[i].at.Compare(h[j].at), cmp.Compare(h[i].seq, h[j].seq)) < 0
}
func (h events) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *events) Push(x any)   { *h = append(*h, x.(event)) }
func (h *events) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// sim is the bulk's state: balances and limit usage carried from day to day, and the
// day being played.
type sim struct {
	w        *World
	period   string // the pledge period of the month: "2026-10"
	avail    map[int64]int64
	usage    map[usageKey]subsidy.Usage
	policies []subsidy.Policy
	byID     map[int64]subsidy.Policy

	orders                           []*simOrder
	moves                            []move
	txns, intents, payments, refunds int
	queue                            events
	seq                              int
}

// bulk opens the month's pledge periods, then plays and writes the bulk day by day.
func (w *World) bulk(ctx context.Context) error {
	if w.bulkOrders() == 0 {
		return nil
	}
	s := &sim{w: w, period: string(funding.MonthPeriod(w.Month)), avail: map[int64]int64{}, usage: map[usageKey]subsidy.Usage{},
		byID: map[int64]subsidy.Policy{}}
	if err := w.openPeriods(ctx); err != nil {
		return err
	}
	var rows []struct {
		PledgeID  int64 `bun:"pledge_id"`
		Available int64 `bun:"available_fen"`
	}
	if err := w.DB.NewRaw("SELECT pledge_id, available_fen FROM pledge_balances WHERE community_id = ? AND period = ?",
		w.CommunityID, s.period).Scan(ctx, &rows); err != nil {
		return err
	}
	for _, r := range rows {
		s.avail[r.PledgeID] = r.Available
	}
	wr, err := w.newWriter(ctx)
	if err != nil {
		return err
	}
	defer wr.close()
	plan := w.slotPlan()
	var played, written time.Duration
	for d := w.Month.First(); !d.After(w.Month.Last()); d = d.AddDays(1) {
		start := time.Now()
		if s.policies, err = w.fund.ActivePolicies(ctx, w.CommunityID, d); err != nil {
			return err
		}
		for _, p := range s.policies {
			s.byID[p.ID] = p
		}
		var reqs []request
		for i, sl := range plan {
			if sl.day == d {
				reqs = append(reqs, w.requests(sl, i)...)
			}
		}
		slices.SortStableFunc(reqs, func(a, b request) int { return a.at.Compare(b.at) })
		for i := range reqs {
			s.until(reqs[i].at)
			if err := s.place(&reqs[i]); err != nil {
				return fmt.Errorf("%s: %w", d, err)
			}
		}
		s.until(time.Time{})
		mid := time.Now()
		if err := wr.day(ctx, s); err != nil {
			return fmt.Errorf("write %s: %w", d, err)
		}
		played, written = played+mid.Sub(start), written+time.Since(mid)
		w.Stats.BulkOrders += len(s.orders)
		s.orders, s.moves = s.orders[:0], s.moves[:0]
		s.txns, s.intents, s.payments, s.refunds = 0, 0, 0, 0
	}
	w.logf("bulk: %d orders priced and played in %s, written in %s (copy %s, set-based SQL %s, commit %s)", w.Stats.BulkOrders,
		played.Round(time.Millisecond), written.Round(time.Millisecond), wr.copying.Round(time.Millisecond),
		wr.updating.Round(time.Millisecond), wr.committing.Round(time.Millisecond))
	// What autovacuum does to a table that grew this much: fresh statistics for the planner.
	_, err = w.DB.ExecContext(ctx, "ANALYZE")
	return err
}

// openPeriods opens the month's period of every pledge as fundingdb's openPeriod does
// when an order first touches it: the balance row funded with the pledge's amount, a
// 'fund' ledger transaction and the audit record.
func (w *World) openPeriods(ctx context.Context) error {
	period := funding.MonthPeriod(w.Month)
	return w.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, sp := range w.Sponsors {
			var funded []int64
			err := tx.NewRaw(`INSERT INTO pledge_balances (community_id, pledge_id, period, funded_fen, available_fen)
				SELECT community_id, id, ?, amount_fen, amount_fen FROM pledges WHERE community_id = ? AND id = ?
				ON CONFLICT DO NOTHING RETURNING funded_fen`, string(period), w.CommunityID, sp.PledgeID).Scan(ctx, &funded)
			if err != nil && !postgres.IsNoRows(err) {
				return err
			}
			if len(funded) == 0 {
				continue
			}
			if _, err := tx.NewRaw(`INSERT INTO ledger_entries (txn_id, community_id, pledge_id, period, account, amount_fen, kind, actor_kind, actor_name, memo)
				SELECT t.id, ?, ?, ?, a.account, a.fen, 'fund', 'system', 'system', 'funded with the pledge amount'
				FROM (SELECT nextval('ledger_txn_id_seq') AS id) t,
				     (VALUES ('source', ?::bigint, 1), ('available', ?::bigint, 2)) AS a(account, fen, n) ORDER BY a.n`,
				w.CommunityID, sp.PledgeID, string(period), -funded[0], funded[0]).Exec(ctx); err != nil {
				return err
			}
			b := funding.Balance{PledgeID: sp.PledgeID, Period: period, FundedFen: funded[0], AvailableFen: funded[0], Opened: true}
			if err := auditdb.Write(ctx, tx, w.CommunityID, audit.SystemActor, funding.ActionOpen, funding.EntityBalance,
				fmt.Sprintf("%d/%s", sp.PledgeID, period), nil, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// after schedules fn at t.
func (s *sim) after(t time.Time, fn func(time.Time)) {
	s.seq++
	heap.Push(&s.queue, event{at: t, seq: s.seq, run: fn})
}

// until runs the scheduled events up to t (all of them when t is zero).
func (s *sim) until(t time.Time) {
	for s.queue.Len() > 0 && (t.IsZero() || !s.queue[0].at.After(t)) {
		e := heap.Pop(&s.queue).(event)
		e.run(e.at)
	}
}

func (s *sim) txn() int {
	s.txns++
	return s.txns - 1
}

// journal records a ledger transaction of moves at t (fundingdb's writeJournal).
func (s *sim) journal(kind funding.EntryKind, o *simOrder, at time.Time, ms []move) {
	if len(ms) == 0 {
		return
	}
	id := s.txn()
	for _, m := range ms {
		m.txn, m.kind, m.order, m.at = id, kind, o, at
		s.moves = append(s.moves, m)
	}
}

// byPeriod sums amounts[i] per pledge period of hs[i] into moves, in pledge order
// (fundingdb's movesByPeriod).
func byPeriod(hs []hold, amounts []int64, from, to funding.Account) []move {
	var out []move
	for i, h := range hs {
		if amounts[i] == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].pledge == h.pledge && out[n-1].period == h.period {
			out[n-1].fen += amounts[i]
			continue
		}
		out = append(out, move{pledge: h.pledge, period: h.period, from: from, to: to, fen: amounts[i]})
	}
	return out
}

// price quotes q as order.Service's price does: the diner's eligibilities and the day's
// policies only for a known diner, the pledges' available money, the diner's usage.
func (s *sim) price(q *request, dinerID int64) (subsidy.Quote, catalog.Menu, error) {
	w := s.w
	ct := w.Canteens[q.canteen]
	menu := w.menus[menuKey{ct.ID, q.day, q.period}]
	items := map[int64]catalog.MenuItem{}
	for _, it := range menu.Items {
		items[it.DishID] = it
	}
	in := subsidy.Input{At: q.at, Day: q.day, Period: q.period, CanteenID: ct.ID, CanteenDistrict: ct.District}
	for _, l := range q.cart {
		it, ok := items[w.dishes[l.dish].ID]
		if !ok {
			return subsidy.Quote{}, menu, fmt.Errorf("%s is not on the menu of %s %s", l.dish, q.day, q.period)
		}
		in.Lines = append(in.Lines, subsidy.Line{DishID: it.DishID, Category: it.Category, UnitFen: it.PriceFen, Qty: l.qty})
	}
	if dinerID > 0 {
		in.Diner.Eligibilities = q.p.elig
		in.Policies = s.policies
	}
	in.Available, in.Usage = map[int64]int64{}, map[subsidy.UsageKey]subsidy.Usage{}
	for _, p := range in.Policies {
		for _, part := range p.Funding.Parts {
			in.Available[part.PledgeID] = s.avail[part.PledgeID]
		}
		for _, l := range p.Limits {
			if u, ok := s.usage[usageKey{p.ID, dinerID, l.Window.Key(q.day, q.period)}]; ok {
				in.Usage[subsidy.UsageKey{PolicyID: p.ID, Window: l.Window}] = u
			}
		}
	}
	quote, err := subsidy.Price(in)
	return quote, menu, err
}

// place places q at q.at: the placement order.Service builds, the holds and claims
// orderdb.Store.Place writes, paid at once when nothing is payable or cash is taken;
// then it schedules the order's fate.
func (s *sim) place(q *request) error {
	w := s.w
	o := &simOrder{rel: len(s.orders), q: q, created: q.at, deadline: q.at.Add(payTimeout), status: order.Pending, method: order.WeChat}
	o.req = order.PlaceRequest{Cart: order.Cart{CanteenID: w.Canteens[q.canteen].ID, Day: q.day, Period: q.period, Kind: order.DineIn}}
	for _, l := range q.cart {
		o.req.Lines = append(o.req.Lines, order.LineRequest{DishID: w.dishes[l.dish].ID, Qty: l.qty})
	}
	switch {
	case q.counter:
		o.caller = order.Caller{CommunityID: w.CommunityID, Kind: "staff", ID: w.counter, Name: "前台小王", Counter: true}
		o.req.Payment, o.method = order.Cash, order.Cash
		if q.p != nil {
			o.req.ForDinerID, o.dinerID = q.p.diner, q.p.diner
		}
	default:
		o.caller = order.Caller{CommunityID: w.CommunityID, Kind: "diner", ID: q.p.diner, Name: "diner"}
		o.req.Payment, o.dinerID = order.WeChat, q.p.diner
	}
	quote, menu, err := s.price(q, o.dinerID)
	if err != nil {
		return err
	}
	o.menuID, o.std, o.sub, o.pay = menu.ID, quote.StandardFen, quote.SubsidyFen, quote.PayFen
	items := map[int64]catalog.MenuItem{}
	for _, it := range menu.Items {
		items[it.DishID] = it
	}
	for i, l := range quote.Lines {
		it := items[l.DishID]
		o.lines = append(o.lines, order.Line{LineNo: i + 1, DishID: l.DishID, Name: it.Name, Category: it.Category, Qty: l.Qty,
			UnitFen: l.UnitFen, StandardFen: l.StandardFen, SubsidyFen: l.SubsidyFen, PayFen: l.PayFen, Parts: l.Parts})
	}
	// Holds: funding.MergeHolds, then fundingdb.Ledger.Hold's move per pledge.
	var hs []funding.Hold
	for _, h := range quote.Holds {
		hs = append(hs, funding.Hold{PledgeID: h.PledgeID, PolicyID: h.PolicyID, PolicyVersion: h.PolicyVersion, Fen: h.Fen})
	}
	merged, err := funding.MergeHolds(hs)
	if err != nil {
		return err
	}
	var moves []move
	for _, h := range merged {
		o.holds = append(o.holds, hold{pledge: h.PledgeID, policy: h.PolicyID, version: h.PolicyVersion, period: s.period, held: h.Fen})
		if n := len(moves); n > 0 && moves[n-1].pledge == h.PledgeID {
			moves[n-1].fen += h.Fen
		} else {
			moves = append(moves, move{pledge: h.PledgeID, period: s.period, from: funding.Available, to: funding.Held, fen: h.Fen})
		}
	}
	for _, m := range moves {
		if s.avail[m.pledge] < m.fen {
			return fmt.Errorf("pledge %d has %d fen, the quote holds %d", m.pledge, s.avail[m.pledge], m.fen)
		}
		s.avail[m.pledge] -= m.fen
	}
	if len(o.holds) > 0 {
		o.fundState, o.fundUpdated = "held", q.at
	}
	s.journal(funding.KindHold, o, q.at, moves)
	// Claims, with the limits they count against (order.Service's placement).
	for _, c := range quote.Claims {
		row := order.ClaimRow{PolicyID: c.PolicyID, WindowKey: c.Key, Count: c.Count, Fen: c.AmountFen}
		for _, l := range s.byID[c.PolicyID].Limits {
			if l.Window == c.Window {
				row.MaxCount, row.MaxFen = l.Count, l.AmountFen
			}
		}
		o.claims = append(o.claims, claim{ClaimRow: row})
		k := usageKey{c.PolicyID, o.dinerID, c.Key}
		u := s.usage[k]
		u.Count += c.Count
		u.AmountFen += c.AmountFen
		s.usage[k] = u
	}
	s.orders = append(s.orders, o)
	o.updated = q.at

	f := q.fate
	if o.pay == 0 || q.counter {
		// Paid when placed: nothing payable (payment none), or cash at the counter.
		o.status, o.paidAt = order.Paid, q.at
		if o.pay == 0 {
			o.method = order.None
			s.w.Stats.ZeroPay++
		} else {
			s.w.Stats.Cash++
		}
		s.commit(o, q.at)
		return nil
	}
	if f.intentAfter > 0 {
		s.intents++
		o.intent = &simIntent{rel: s.intents - 1, outNo: s.w.rnd.hex(12), created: q.at.Add(f.intentAfter), status: "open"}
	}
	switch f.kind {
	case fatePay:
		s.after(q.at.Add(f.after), func(at time.Time) { s.paid(o, at) })
	case fateCancel:
		s.after(q.at.Add(f.after), func(at time.Time) { s.cancel(o, order.Cancelled, "cancelled by diner", at) })
	case fateExpire:
		s.after(o.deadline.Add(f.after), func(at time.Time) { s.cancel(o, order.Expired, "payment deadline passed", at) })
	}
	return nil
}

// commit moves what the order holds to spent (fundingdb.Ledger.Commit).
func (s *sim) commit(o *simOrder, at time.Time) {
	if o.fundState != "held" {
		return
	}
	held := make([]int64, len(o.holds))
	for i := range o.holds {
		held[i] = o.holds[i].held
		o.holds[i].committed = o.holds[i].held
	}
	o.fundState, o.fundUpdated = "committed", at
	s.journal(funding.KindCommit, o, at, byPeriod(o.holds, held, funding.Held, funding.Spent))
}

// paid records WeChat's payment as paymentdb.Store.Record does on a notification: the
// payment, the order paid at WeChat's success time, the holds committed, the intent paid.
func (s *sim) paid(o *simOrder, success time.Time) {
	recorded := success.Add(time.Duration(1+s.w.rnd.intn(3)) * time.Second)
	s.payments++
	o.payment = &simPayment{rel: s.payments - 1, success: success, recorded: recorded}
	o.intent.status = "paid"
	o.status, o.paidAt, o.updated = order.Paid, success, recorded
	s.commit(o, recorded)
	s.w.Stats.WeChatPaid++
	f := o.q.fate
	if f.refund == noRefund {
		return
	}
	at := success.Add(f.refundAfter)
	if last := shanghai(o.q.day, 22, 30, 0); at.After(last) {
		at = last.Add(-time.Duration(s.w.rnd.intn(600)) * time.Second)
	}
	s.after(at, func(at time.Time) { s.refund(o, f.refund, at) })
}

// cancel cancels or expires o (orderdb.Store.Cancel): the holds released to available,
// the claims given back. An intent the diner opened is closed by the payment sweep.
func (s *sim) cancel(o *simOrder, to order.Status, reason string, at time.Time) {
	o.status, o.cancelledAt, o.cancelReason, o.updated = to, at, reason, at
	if o.fundState == "held" {
		held := make([]int64, len(o.holds))
		for i := range o.holds {
			held[i] = o.holds[i].held
			o.holds[i].released = o.holds[i].held
		}
		ms := byPeriod(o.holds, held, funding.Held, funding.Available)
		for _, m := range ms {
			s.avail[m.pledge] += m.fen
		}
		o.fundState, o.fundUpdated = "released", at
		s.journal(funding.KindRelease, o, at, ms)
	}
	for i := range o.claims {
		s.release(o, &o.claims[i])
	}
	if o.intent != nil {
		o.intent.status = "closed"
		o.intent.queried = maxTime(at, o.deadline).Add(time.Duration(30+s.w.rnd.intn(60)) * time.Second)
	}
	if to == order.Cancelled {
		s.w.Stats.Cancelled++
	} else {
		s.w.Stats.Expired++
	}
}

func (s *sim) release(o *simOrder, c *claim) {
	if c.released {
		return
	}
	c.released = true
	k := usageKey{c.PolicyID, o.dinerID, c.WindowKey}
	u := s.usage[k]
	u.Count -= c.Count
	u.AmountFen -= c.Fen
	s.usage[k] = u
}

// refund refunds o at at, as payment.Service.RequestRefund and a successful refund
// notification do: the amount of the whole order or of one line, the refund settled a
// few seconds later, the order's refunded amount, the subsidy reversed in proportion
// (fundingdb.Ledger.Reverse) and, for a full refund, the claims of limits that restore.
func (s *sim) refund(o *simOrder, kind refundKind, at time.Time) {
	amount := o.pay - o.refunded
	var lines []payment.RefundLine
	if kind == refundLine {
		for i := len(o.lines) - 1; i >= 0; i-- {
			if l := o.lines[i]; l.PayFen > 0 {
				lines = []payment.RefundLine{{LineNo: l.LineNo, Qty: l.Qty}}
				amount = l.PayFen * int64(l.Qty) / int64(l.Qty)
				break
			}
		}
	}
	if amount <= 0 {
		return
	}
	settled := at.Add(time.Duration(2+s.w.rnd.intn(20)) * time.Second)
	s.refunds++
	reason := []string{"不想吃了", "点错了", "临时有事", "菜品售罄"}[s.w.rnd.intn(4)]
	r := &simRefund{rel: s.refunds - 1, key: fmt.Sprintf("refund-%s-%d", s.w.rnd.hex(16), len(o.refunds)), amount: amount,
		lines: lines, reason: reason, created: at, settled: settled}
	o.refunds = append(o.refunds, r)
	o.refunded += amount
	o.updated = settled
	if o.refunded == o.pay {
		o.status = order.Refunded
		s.w.Stats.FullRefunds++
	}
	s.w.Stats.Refunds++
	if o.sub > 0 && o.fundState == "committed" {
		refunded := o.fundRefunded + amount
		var spent, reversed int64
		rooms := make([]int64, len(o.holds))
		for i, h := range o.holds {
			spent += h.committed
			reversed += h.reversed
			rooms[i] = h.committed - h.reversed
		}
		due := funding.MulDiv(spent, refunded, o.pay) - reversed
		parts := funding.Apportion(due, rooms)
		ms := byPeriod(o.holds, parts, funding.Spent, funding.Available)
		for _, m := range ms {
			s.avail[m.pledge] += m.fen
		}
		for i := range o.holds {
			o.holds[i].reversed += parts[i]
		}
		o.fundRefunded, o.paidTotal, o.fundUpdated = refunded, o.pay, settled
		s.journal(funding.KindReverse, o, settled, ms)
	}
	if o.status == order.Refunded {
		for i := range o.claims {
			c := &o.claims[i]
			for _, l := range s.byID[c.PolicyID].Limits {
				if l.RestoreOnRefund && l.Window.Key(o.q.day, o.q.period) == c.WindowKey {
					s.release(o, c)
				}
			}
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// outRefundNo is the out_refund_no payment.Service.RequestRefund makes from the key.
func outRefundNo(orderID int64, key string) string {
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("RF%d-%s", orderID, hex.EncodeToString(sum[:8]))
}

// date is a civil date as the driver writes a date column.
func date(d civil.Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }
