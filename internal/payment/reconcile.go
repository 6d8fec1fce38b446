package payment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
)

// Reconciliation (对账) compares a stored trade bill day with our records. The rules, in
// one place (docs/reconciliation.md says the same for finance):
//
//   - A payment is a SUCCESS line of the bill (订单金额, fen) against our payment rows of
//     the same out_trade_no (every recorded WeChat payment counts, credited, flagged or
//     sent back: WeChat took the money). A refund is a REFUND line (退款金额) against our
//     refund of the same out_refund_no.
//   - A finding belongs to the day of the bill that lists it. Our payment whose success
//     time (Asia/Shanghai) falls on the day, or our refund that succeeded on the day, and
//     that no stored bill lists, is missing_wechat on that day. One listed on another
//     day's bill (a payment at 23:59:59 WeChat puts on the next day, a refund WeChat
//     lists on the day it was asked for) is that day's finding, not this one's; a run is
//     due again when an adjacent bill arrives, so the 23:59:59 payment moves from
//     missing_wechat to its bill day's matched.
//   - A refund still processing on either side is compared all the same (both sides
//     agree what was asked); the finding says so. Our refund that closed or failed does
//     not count: a bill line for it is missing_ours.
//   - Duplicates: our rows are taken once per transaction_id (a repeated notification
//     is one payment); several rows for one number, on either side, are added up, so a
//     real double payment shows as amount_mismatch.

// FindingKind says what a finding is about.
type FindingKind string

// The kinds.
const (
	FindingPayment FindingKind = "payment" // Ref is an out_trade_no
	FindingRefund  FindingKind = "refund"  // Ref is an out_refund_no
)

// MatchOutcome is what reconciliation found for one payment or refund.
type MatchOutcome string

// The outcomes.
const (
	Matched        MatchOutcome = "matched"         // on the bill and ours, same fen
	MissingOurs    MatchOutcome = "missing_ours"    // on the bill, we have no (live) record
	MissingWeChat  MatchOutcome = "missing_wechat"  // ours, on no stored bill
	AmountMismatch MatchOutcome = "amount_mismatch" // on both, different fen
)

// OurPayment is a payment we recorded, as reconciliation reads it.
type OurPayment struct {
	CommunityID   int64
	OrderID       int64
	TransactionID string
	OutTradeNo    string
	AmountFen     int64
	At            time.Time // WeChat's success time; when we recorded it if WeChat gave none
}

// OurRefund is a refund we recorded, as reconciliation reads it.
type OurRefund struct {
	CommunityID int64
	OrderID     int64
	OutRefundNo string
	OutTradeNo  string
	AmountFen   int64
	Status      string    // requested, processing, success, closed, abnormal
	SettledAt   time.Time // when it became final here; zero while it is not
}

// live reports whether the refund is, or may still become, money sent back.
func (r OurRefund) live() bool {
	return r.Status == "requested" || r.Status == "processing" || r.Status == "success"
}

// TradeOwner is the order an out_trade_no was made for (its payment intent).
type TradeOwner struct {
	CommunityID int64
	OrderID     int64
}

// FindingKey names a finding within a merchant's day.
type FindingKey struct {
	Kind FindingKind
	Ref  string
}

// ReconcileInput is what matching one bill day needs.
type ReconcileInput struct {
	MchID string
	Day   civil.Date
	Bill  []BillRow // the day's bill
	// NextBillStored: the next day's bill is stored, so a late payment is not on it.
	NextBillStored bool
	// Payments are ours whose At falls on Day, and ours whose out_trade_no is on the bill.
	Payments []OurPayment
	// Refunds are ours that succeeded on Day, and ours whose out_refund_no is on the bill.
	Refunds []OurRefund
	// Owners are the orders of the bill's out_trade_nos, where we know them.
	Owners map[string]TradeOwner
	// Elsewhere are ours of Day that another stored day's bill lists, with that day.
	Elsewhere map[FindingKey]civil.Date
	CheckedAt time.Time
}

// Finding is one line of a day's reconciliation. CommunityID and OrderID are zero when
// unknown; OurFen is nil when we have no live record, BillFen when no bill lists it.
type Finding struct {
	MchID       string       `json:"mchid"`
	Day         civil.Date   `json:"day"`
	Kind        FindingKind  `json:"kind"`
	Ref         string       `json:"ref"`
	OutTradeNo  string       `json:"out_trade_no"`
	CommunityID int64        `json:"-"`
	OrderID     int64        `json:"-"`
	OurFen      *int64       `json:"our_fen"`
	BillFen     *int64       `json:"bill_fen"`
	Outcome     MatchOutcome `json:"outcome"`
	Detail      string       `json:"detail"`
	CheckedAt   time.Time    `json:"checked_at"`
	// Order and Resolution are filled by listings, for the caller's community only.
	Order      *FindingOrder `json:"order"`
	Resolution *Resolution   `json:"resolution"`
}

// FindingOrder is the order a finding belongs to, as finance sees it.
type FindingOrder struct {
	ID          int64      `json:"id"`
	CanteenID   int64      `json:"canteen_id"`
	CanteenName string     `json:"canteen_name"`
	Day         civil.Date `json:"day"`
	Status      string     `json:"status"`
	PayFen      int64      `json:"pay_fen"`
}

// Resolution is finance's note on a finding, one per community.
type Resolution struct {
	MchID       string      `json:"mchid"`
	Day         civil.Date  `json:"day"`
	Kind        FindingKind `json:"kind"`
	Ref         string      `json:"ref"`
	Note        string      `json:"note"`
	NotedBy     int64       `json:"noted_by"`
	NotedByName string      `json:"noted_by_name"`
	NotedAt     time.Time   `json:"noted_at"`
}

// OutcomeCounts counts findings by outcome.
type OutcomeCounts struct {
	Matched        int `json:"matched"`
	MissingOurs    int `json:"missing_ours"`
	MissingWeChat  int `json:"missing_wechat"`
	AmountMismatch int `json:"amount_mismatch"`
}

// CountOutcomes counts fs by outcome.
func CountOutcomes(fs []Finding) OutcomeCounts {
	var c OutcomeCounts
	for _, f := range fs {
		switch f.Outcome {
		case Matched:
			c.Matched++
		case MissingOurs:
			c.MissingOurs++
		case MissingWeChat:
			c.MissingWeChat++
		case AmountMismatch:
			c.AmountMismatch++
		}
	}
	return c
}

// nearMidnight is how close to the end of a day a payment may land on the next day's bill.
const nearMidnight = 10 * time.Minute

// side is what one side has for one number: the fen added up, and how many rows.
type side struct {
	fen  int64
	rows int
}

// add counts one more row of fen.
func (s *side) add(fen int64) {
	s.fen += fen
	s.rows++
}

// sideOf returns the side of number no in sides, adding an empty one, and no to order,
// the first time no is seen.
func sideOf(sides map[string]*side, order *[]string, no string) *side {
	s := sides[no]
	if s == nil {
		s = &side{}
		sides[no] = s
		*order = append(*order, no)
	}
	return s
}

func fen(v int64) *int64 { return &v }

// Reconcile matches one bill day against our records by the rules above and returns the
// day's findings ordered by kind and number. It is pure: the same input gives the same
// findings.
func Reconcile(in ReconcileInput) []Finding {
	var out []Finding
	add := func(kind FindingKind, ref, tradeNo string, owner TradeOwner, ours, bill *side, details ...string) {
		f := Finding{MchID: in.MchID, Day: in.Day, Kind: kind, Ref: ref, OutTradeNo: tradeNo,
			CommunityID: owner.CommunityID, OrderID: owner.OrderID, CheckedAt: in.CheckedAt}
		if ours != nil {
			f.OurFen = fen(ours.fen)
		}
		if bill != nil {
			f.BillFen = fen(bill.fen)
		}
		switch {
		case ours != nil && bill != nil && ours.fen == bill.fen:
			f.Outcome = Matched
		case ours != nil && bill != nil:
			f.Outcome = AmountMismatch
		case bill != nil:
			f.Outcome = MissingOurs
		default:
			f.Outcome = MissingWeChat
		}
		if bill != nil && bill.rows > 1 {
			details = append(details, fmt.Sprintf("账单中出现 %d 次 / listed %d times on the bill", bill.rows, bill.rows))
		}
		if ours != nil && ours.rows > 1 {
			details = append(details, fmt.Sprintf("我方记录了 %d 笔 / we recorded it %d times", ours.rows, ours.rows))
		}
		f.Detail = strings.Join(slices.DeleteFunc(details, func(s string) bool { return s == "" }), "；")
		out = append(out, f)
	}
	onDay := func(t time.Time) bool { return !t.IsZero() && civil.Today(t) == in.Day }

	// The bill's lines, added up per number.
	billPay, billRef := map[string]*side{}, map[string]*side{}
	refTrade, refState := map[string]string{}, map[string]string{}
	var payOrder, refOrder []string
	for _, r := range in.Bill {
		switch r.TradeState {
		case StateSuccess:
			sideOf(billPay, &payOrder, r.OutTradeNo).add(r.AmountFen)
		case StateRefund:
			sideOf(billRef, &refOrder, r.OutRefundNo).add(r.RefundFen)
			refTrade[r.OutRefundNo] = r.OutTradeNo
			if r.RefundState != RefundSuccess || refState[r.OutRefundNo] == "" {
				refState[r.OutRefundNo] = r.RefundState
			}
		}
	}

	// Our payments, once per transaction_id, added up per out_trade_no.
	type ourPay struct {
		side
		first OurPayment
		today bool // one of its rows succeeded on the day
		days  map[civil.Date]bool
	}
	ours := map[string]*ourPay{}
	var ourOrder []string
	seenTx := map[string]bool{}
	for _, p := range in.Payments {
		if seenTx[p.TransactionID] {
			continue
		}
		seenTx[p.TransactionID] = true
		o := ours[p.OutTradeNo]
		if o == nil {
			o = &ourPay{first: p, days: map[civil.Date]bool{}}
			ours[p.OutTradeNo] = o
			ourOrder = append(ourOrder, p.OutTradeNo)
		}
		o.add(p.AmountFen)
		o.today = o.today || onDay(p.At)
		if !p.At.IsZero() {
			o.days[civil.Today(p.At)] = true
		}
	}
	for _, no := range payOrder {
		b := billPay[no]
		o, ok := ours[no]
		if !ok {
			who, known := in.Owners[no]
			detail := "不是本系统的商户订单号 / not an out_trade_no of ours"
			if known {
				detail = "订单存在，但我方没有这笔支付（通知未到？）/ the order exists but we recorded no payment (notification lost?)"
			}
			add(FindingPayment, no, no, who, nil, b, detail)
			continue
		}
		delete(ours, no)
		var detail string
		if !o.today && len(o.days) > 0 {
			detail = "我方支付时间在 " + firstDay(o.days).String() + " / our success time is on " + firstDay(o.days).String()
		}
		add(FindingPayment, no, no, TradeOwner{o.first.CommunityID, o.first.OrderID}, &o.side, b, detail)
	}
	for _, no := range ourOrder {
		o, ok := ours[no]
		if !ok || !o.today {
			continue // matched above, or another day's
		}
		if _, listed := in.Elsewhere[FindingKey{FindingPayment, no}]; listed {
			continue // reconciled on the day of the bill that lists it
		}
		var detail string
		if !in.NextBillStored && lateInDay(o.first.At, in.Day) {
			detail = "接近午夜，可能在次日账单中（尚未下载）/ close to midnight: it may be on the next day's bill, not stored yet"
		}
		add(FindingPayment, no, no, TradeOwner{o.first.CommunityID, o.first.OrderID}, &o.side, nil, detail)
	}

	// Our refunds, once per out_refund_no.
	ourRef := map[string]OurRefund{}
	var ourRefOrder []string
	for _, r := range in.Refunds {
		if _, dup := ourRef[r.OutRefundNo]; dup {
			continue
		}
		ourRef[r.OutRefundNo] = r
		ourRefOrder = append(ourRefOrder, r.OutRefundNo)
	}
	for _, no := range refOrder {
		b := billRef[no]
		var billNote string
		if st := refState[no]; st != RefundSuccess {
			billNote = "账单生成时退款状态为 " + st + " / the refund was " + st + " when the bill was made"
		}
		r, ok := ourRef[no]
		switch {
		case !ok:
			who, known := in.Owners[refTrade[no]]
			detail := "我方没有这笔退款，原支付也不是本系统的 / no such refund here, nor its payment"
			if known {
				detail = "我方没有这笔退款 / we have no such refund"
			}
			add(FindingRefund, no, refTrade[no], who, nil, b, detail, billNote)
		case !r.live():
			delete(ourRef, no)
			add(FindingRefund, no, r.OutTradeNo, TradeOwner{r.CommunityID, r.OrderID}, nil, b,
				"我方退款为 "+r.Status+"（未退款）/ our refund is "+r.Status+": no money went back", billNote)
		default:
			delete(ourRef, no)
			var ourNote string
			if r.Status != "success" {
				ourNote = "我方退款尚未完成 / our refund is not final yet"
			}
			add(FindingRefund, no, r.OutTradeNo, TradeOwner{r.CommunityID, r.OrderID}, &side{fen: r.AmountFen, rows: 1}, b,
				billNote, ourNote)
		}
	}
	for _, no := range ourRefOrder {
		r, ok := ourRef[no]
		if !ok || r.Status != "success" || !onDay(r.SettledAt) {
			continue
		}
		if _, listed := in.Elsewhere[FindingKey{FindingRefund, no}]; listed {
			continue
		}
		add(FindingRefund, no, r.OutTradeNo, TradeOwner{r.CommunityID, r.OrderID}, &side{fen: r.AmountFen, rows: 1}, nil)
	}

	slices.SortFunc(out, func(a, b Finding) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Ref, b.Ref)) })
	return out
}

// firstDay is the earliest of days.
func firstDay(days map[civil.Date]bool) civil.Date {
	var first civil.Date
	for d := range days {
		if first.IsZero() || d.Before(first) {
			first = d
		}
	}
	return first
}

// lateInDay reports whether t is within nearMidnight of the end of day.
func lateInDay(t time.Time, day civil.Date) bool {
	return !t.Before(day.AddDays(1).Start().Add(-nearMidnight))
}

// ReconcileRun is the record of a day's last run; its counts are over every community.
type ReconcileRun struct {
	MchID     string        `json:"mchid"`
	Day       civil.Date    `json:"day"`
	BillSHA1  string        `json:"bill_sha1"`
	CheckedAt time.Time     `json:"checked_at"`
	Runs      int           `json:"runs"`
	Counts    OutcomeCounts `json:"counts"`
}

// ReconcileScope is who reads or notes findings: staff of a community, limited to some
// canteens when CanteenIDs is not empty.
type ReconcileScope struct {
	CommunityID int64
	CanteenIDs  []int64
	Actor       audit.Actor
}

// BillDay is a stored bill day and when it was last reconciled (nil: not yet).
type BillDay struct {
	Day       civil.Date `json:"day"`
	Empty     bool       `json:"empty"` // WeChat had no bill: no trades that day
	CheckedAt *time.Time `json:"checked_at"`
}

// ReconcileStore keeps reconciliation findings.
//
// ReconcileDay matches mchID's stored bill of day against our records (Reconcile) and
// replaces the day's findings and run record in one transaction, with checked_at at;
// errors: NotFound (no stored bill). DueDays lists stored bill days from from on that
// have no run, or whose records or adjacent bills changed after their run (less settle,
// for transactions that committed late), at most limit, oldest first. Findings lists the
// findings of from..to that scope may see (its community's, and those no community owns
// of a merchant account the community takes payments on), each with its order and the community's resolution, not matched first; and the bill
// days of the range. Resolve sets scope's community's note on a finding it may see, with
// an audit record; errors: NotFound.
type ReconcileStore interface {
	ReconcileDay(ctx context.Context, mchID string, day civil.Date, at time.Time) (ReconcileRun, error)
	DueDays(ctx context.Context, mchID string, from civil.Date, settle time.Duration, limit int) ([]civil.Date, error)
	Findings(ctx context.Context, mchID string, from, to civil.Date, scope ReconcileScope) ([]Finding, []BillDay, error)
	Resolve(ctx context.Context, r Resolution, scope ReconcileScope) (Resolution, error)
}

// ReconcileOptions configure Reconciliation.
type ReconcileOptions struct {
	MchID string           // the merchant whose bills are reconciled
	Now   func() time.Time // time.Now when nil
}

// Reconciliation runs and reports the reconciliation of a merchant's trade bills.
type Reconciliation struct {
	store ReconcileStore
	opt   ReconcileOptions
}

// NewReconciliation returns a Reconciliation.
func NewReconciliation(store ReconcileStore, opt ReconcileOptions) *Reconciliation {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Reconciliation{store: store, opt: opt}
}

// Bounds of the scheduled re-runs: bill days of the last reconcileLookback days (a month
// and its closing days), at most reconcileBatch days a run, and reconcileSettle for
// records that committed while a run was reading.
const (
	reconcileLookback = 40
	reconcileBatch    = 62
	reconcileSettle   = 10 * time.Minute
	maxReportDays     = 31
)

// Errors of reconciliation.
var (
	ErrNoBill = apperr.New(apperr.NotFound, "bill_not_found",
		"该日账单尚未下载 / the bill of that day is not stored")
	ErrFindingNotFound = apperr.New(apperr.NotFound, "finding_not_found",
		"没有这条对账结果 / no such reconciliation finding")
)

// RunDay reconciles day's stored bill now and returns the run. Errors: Invalid (not a
// date), NotFound (ErrNoBill: the bill of day is not stored), Transient, Internal.
func (s *Reconciliation) RunDay(ctx context.Context, day civil.Date) (ReconcileRun, error) {
	if !day.IsValid() {
		return ReconcileRun{}, fmt.Errorf("payment: reconcile: %w", civil.ErrDateInvalid)
	}
	return s.store.ReconcileDay(ctx, s.opt.MchID, day, s.opt.Now())
}

// RunDue reconciles the stored bill days that have never been reconciled or whose
// payments, refunds or adjacent bills changed since: the daily bill task calls it after
// each fetch. It goes on past a failing day and returns the runs made and the errors
// joined.
func (s *Reconciliation) RunDue(ctx context.Context) ([]ReconcileRun, error) {
	now := s.opt.Now()
	days, err := s.store.DueDays(ctx, s.opt.MchID, civil.Today(now).AddDays(-reconcileLookback), reconcileSettle, reconcileBatch)
	if err != nil {
		return nil, err
	}
	var runs []ReconcileRun
	var errs []error
	for _, d := range days {
		r, err := s.store.ReconcileDay(ctx, s.opt.MchID, d, s.opt.Now())
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		runs = append(runs, r)
	}
	return runs, errors.Join(errs...)
}

// ReconcileReport is what a community's finance sees of a range of days.
type ReconcileReport struct {
	MchID  string        `json:"mchid"`
	From   civil.Date    `json:"from"`
	To     civil.Date    `json:"to"`
	Days   []BillDay     `json:"days"`
	Counts OutcomeCounts `json:"counts"`
	Items  []Finding     `json:"items"`
}

// Report returns the findings of from..to (at most 31 days) that scope may see, not
// matched first, with counts over them. Errors: Invalid.
func (s *Reconciliation) Report(ctx context.Context, scope ReconcileScope, from, to civil.Date) (ReconcileReport, error) {
	var f apperr.Fields
	f.Check(from.IsValid(), "from", "must be a date")
	f.Check(to.IsValid(), "to", "must be a date")
	if from.IsValid() && to.IsValid() {
		f.Check(!to.Before(from) && to.DaysSince(from) < maxReportDays, "to", "from 1 to 31 days after from")
	}
	if err := f.Err(); err != nil {
		return ReconcileReport{}, err
	}
	items, days, err := s.store.Findings(ctx, s.opt.MchID, from, to, scope)
	if err != nil {
		return ReconcileReport{}, err
	}
	if items == nil {
		items = []Finding{}
	}
	if days == nil {
		days = []BillDay{}
	}
	return ReconcileReport{MchID: s.opt.MchID, From: from, To: to, Days: days, Counts: CountOutcomes(items), Items: items}, nil
}

// Rerun reconciles day again, for finance, and returns the day's report. Errors: as
// RunDay.
func (s *Reconciliation) Rerun(ctx context.Context, scope ReconcileScope, day civil.Date) (ReconcileReport, error) {
	if _, err := s.RunDay(ctx, day); err != nil {
		return ReconcileReport{}, err
	}
	return s.Report(ctx, scope, day, day)
}

// ResolutionInput is finance's note on a finding of a day.
type ResolutionInput struct {
	Kind FindingKind `json:"kind"`
	Ref  string      `json:"ref"`
	Note string      `json:"note"`
}

// Resolve records scope's community's note on a finding of day it may see, replacing
// its earlier note, with an audit record. Errors: Invalid, NotFound (ErrFindingNotFound).
func (s *Reconciliation) Resolve(ctx context.Context, scope ReconcileScope, day civil.Date, in ResolutionInput) (Resolution, error) {
	var f apperr.Fields
	f.Check(day.IsValid(), "day", "must be a date")
	f.Check(in.Kind == FindingPayment || in.Kind == FindingRefund, "kind", "payment or refund")
	in.Ref = strings.TrimSpace(in.Ref)
	f.Check(in.Ref != "" && len(in.Ref) <= 64, "ref", "the out_trade_no or out_refund_no, 1 to 64 characters")
	in.Note = strings.TrimSpace(in.Note)
	n := utf8.RuneCountInString(in.Note)
	f.Check(n >= 2 && n <= 500, "note", "2 to 500 characters")
	if err := f.Err(); err != nil {
		return Resolution{}, err
	}
	return s.store.Resolve(ctx, Resolution{MchID: s.opt.MchID, Day: day, Kind: in.Kind, Ref: in.Ref, Note: in.Note,
		NotedBy: scope.Actor.ID, NotedByName: scope.Actor.Name, NotedAt: s.opt.Now()}, scope)
}
