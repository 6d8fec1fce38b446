package paymentdb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/fundingdb"
	"github.com/canteen-oss/canteen/internal/jobs"
	"github.com/canteen-oss/canteen/internal/orderdb"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/paymentdb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

var recMerchant = payment.Merchant{MchID: billMchID, AppID: billAppID}

// recFixture plants communities, orders, payments and refunds, and stores bills.
type recFixture struct {
	t      *testing.T
	ctx    context.Context
	db     *bun.DB
	pay    *paymentdb.Store
	bills  *paymentdb.BillStore
	rec    *paymentdb.ReconcileStore
	ids    map[string]int64 // "A", "B" (communities), "canteenA"…, and each out_trade_no's order
	orders int
}

func newRecFixture(t *testing.T, db *bun.DB) *recFixture {
	t.Helper()
	if db == nil {
		db, _ = pgtest.New(t)
	}
	f := &recFixture{t: t, ctx: context.Background(), db: db, pay: paymentdb.New(db, orderdb.New(db, fundingdb.NewLedger())),
		bills: paymentdb.NewBillStore(db), rec: paymentdb.NewReconcileStore(db), ids: map[string]int64{}}
	for _, c := range []string{"A", "B"} {
		var cid, canteen, menu int64
		f.scan("INSERT INTO communities (code, name) VALUES (?, ?) RETURNING id", &cid, "rec-"+strings.ToLower(c), "社区 "+c)
		f.scan("INSERT INTO canteens (community_id, name) VALUES (?, ?) RETURNING id", &canteen, cid, "饭堂 "+c)
		f.scan(`INSERT INTO menus (community_id, canteen_id, day, period, status, published_at)
			VALUES (?, ?, '2026-03-14', 'lunch', 'published', now()) RETURNING id`, &menu, cid, canteen)
		f.ids[c], f.ids["canteen"+c], f.ids["menu"+c] = cid, canteen, menu
	}
	return f
}

func (f *recFixture) scan(query string, dst any, args ...any) {
	f.t.Helper()
	if err := f.db.NewRaw(query, args...).Scan(f.ctx, dst); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

func (f *recFixture) exec(query string, args ...any) {
	f.t.Helper()
	if _, err := f.db.NewRaw(query, args...).Exec(f.ctx); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

// order places a pending WeChat order of community c for fen, with its payment intent
// under out_trade_no no.
func (f *recFixture) order(c, no string, fen int64) int64 {
	f.t.Helper()
	f.orders++
	cid := f.ids[c]
	var oid int64
	f.scan(`INSERT INTO orders (community_id, canteen_id, menu_id, placed_by_kind, placed_by_id, day, period, kind, status,
		payment_method, standard_fen, subsidy_fen, pay_fen, idempotency_key, request_hash, pay_deadline)
		VALUES (?, ?, ?, 'staff', 1, '2026-03-14', 'lunch', 'dine_in', 'pending', 'wechat', ?, 0, ?, ?, '\x00', now() + interval '15 minutes')
		RETURNING id`, &oid, cid, f.ids["canteen"+c], f.ids["menu"+c], fen, fen, fmt.Sprintf("rec-key-%06d", f.orders))
	f.exec(`INSERT INTO payment_intents (community_id, order_id, out_trade_no, amount_fen, payer_openid, expires_at)
		VALUES (?, ?, ?, ?, ?, now() + interval '15 minutes')`, cid, oid, no, fen, billOpenID)
	f.ids[no] = oid
	return oid
}

// paid records WeChat's notification of a payment of fen for no at when.
func (f *recFixture) paid(no, txid string, fen int64, when time.Time) payment.Outcome {
	f.t.Helper()
	out, err := f.pay.Record(f.ctx, payment.Transaction{OutTradeNo: no, TransactionID: txid, State: payment.StateSuccess,
		AmountFen: fen, PayerOpenID: billOpenID, MchID: billMchID, AppID: billAppID, SuccessTime: when},
		payment.FromNotification, recMerchant)
	if err != nil {
		f.t.Fatalf("record %s: %v", no, err)
	}
	return out
}

// refund records a refund of fen of no's payment, in status, final at settled (zero: not final).
func (f *recFixture) refund(no, refundNo string, fen int64, status string, settled time.Time) {
	f.t.Helper()
	var at *time.Time
	if !settled.IsZero() {
		at = &settled
	}
	f.exec(`INSERT INTO refunds (community_id, order_id, payment_id, out_refund_no, amount_fen, reason, requested_by, status, settled_at)
		SELECT community_id, order_id, id, ?, ?, '退一个菜', 'order', ?, ? FROM payments WHERE out_trade_no = ?`,
		refundNo, fen, status, at, no)
}

// storeBill stores testdata/tradebill_<day>.csv as the bill of day, fetched at fetched.
func (f *recFixture) storeBill(day civil.Date, fetched time.Time) {
	f.t.Helper()
	raw, err := os.ReadFile("testdata/tradebill_" + day.String() + ".csv")
	if err != nil {
		f.t.Fatal(err)
	}
	rows, sum, err := wechatpay.ParseBill(raw)
	if err != nil {
		f.t.Fatal(err)
	}
	b := payment.Bill{MchID: billMchID, Day: day, Raw: raw, SHA1: sha1Hex(raw), FetchedAt: fetched,
		Summary: payment.BillSummary{Count: sum.Count, AmountFen: sum.OrderFen, SettlementFen: sum.SettlementFen,
			RefundFen: sum.RefundFen, RequestedRefundFen: sum.RequestedRefundFen, FeeMilliFen: sum.FeeMilliFen}}
	for _, r := range rows {
		b.Rows = append(b.Rows, payment.BillRow{TradeTime: r.TradeTime, AppID: r.AppID, TransactionID: r.TransactionID,
			OutTradeNo: r.OutTradeNo, TradeState: r.TradeState, AmountFen: r.OrderFen, SettlementFen: r.SettlementFen,
			RefundID: r.RefundID, OutRefundNo: r.OutRefundNo, RefundFen: r.RefundFen, RequestedRefundFen: r.RequestedRefundFen,
			RefundState: r.RefundStatus, FeeMilliFen: r.FeeMilliFen})
	}
	if _, created, err := f.bills.SaveBill(f.ctx, b); err != nil || !created {
		f.t.Fatalf("store the bill of %s: created %t, %v", day, created, err)
	}
}

// plantDay plants what testdata/tradebill_2026-03-14.csv is checked against: the bill's
// payments and refunds, some as WeChat lists them and some not, and some of ours it lacks.
func (f *recFixture) plantDay() {
	f.t.Helper()
	f.order("A", "CT20260314A001", 1800)
	f.paid("CT20260314A001", "4200002026031400000000000001", 1800, at(billDay, 11, 30, 5))
	f.refund("CT20260314A001", "CT20260314A001R1", 300, "success", at(billDay, 13, 0, 20)) // partial refunds,
	f.refund("CT20260314A001", "CT20260314A001R2", 500, "success", at(billDay, 13, 5, 30)) // each on the bill
	f.refund("CT20260314A001", "CT20260314A001R3", 200, "success", at(billDay, 20, 0, 0))  // not on the bill

	f.order("A", "CT20260314A002", 1500)
	for range 3 { // a notification WeChat sent three times
		f.paid("CT20260314A002", "4200002026031400000000000002", 1500, at(billDay, 11, 45, 0))
	}
	f.refund("CT20260314A002", "CT20260314A002R1", 1500, "processing", time.Time{}) // processing on both sides

	f.order("A", "CT20260314A003", 2500)
	f.paid("CT20260314A003", "4200002026031400000000000003", 2500, at(billDay, 12, 10, 41)) // WeChat says 25.50

	f.order("A", "CT20260314A004", 800)
	f.paid("CT20260314A004", "4200002026031400000000000004", 800, at(billDay, 15, 0, 0)) // WeChat does not list it

	f.order("A", "CT20260314A005", 700)
	f.paid("CT20260314A005", "4200002026031500000000000005", 700, at(billDay, 23, 59, 59)) // on the next day's bill

	f.order("A", "CT20260313A006", 990)
	f.paid("CT20260313A006", "4200002026031300000000000006", 990, at(billDay, 0, 0, -3600)) // the day before

	f.order("B", "CT20260314B001", 1200) // paid at WeChat, the notification never came
}

// storedEntry is a reconciliation_entries row as the tests read it.
type storedEntry struct {
	Kind        string    `bun:"kind"`
	Ref         string    `bun:"ref"`
	CommunityID *int64    `bun:"community_id"`
	OrderID     *int64    `bun:"order_id"`
	OurFen      *int64    `bun:"our_fen"`
	BillFen     *int64    `bun:"bill_fen"`
	Outcome     string    `bun:"outcome"`
	OutTradeNo  string    `bun:"out_trade_no"`
	Detail      string    `bun:"detail"`
	CheckedAt   time.Time `bun:"checked_at"`
}

func (f *recFixture) entries(day civil.Date) []storedEntry {
	f.t.Helper()
	var rows []storedEntry
	if err := f.db.NewRaw(`SELECT kind, ref, community_id, order_id, our_fen, bill_fen, outcome, out_trade_no, detail, checked_at
		FROM reconciliation_entries WHERE mchid = ? AND day = ? ORDER BY kind, ref`, billMchID, day.String()).Scan(f.ctx, &rows); err != nil {
		f.t.Fatal(err)
	}
	return rows
}

func i64(v int64) *int64 { return &v }

// want is an expected finding: community key ("" for none), whether it has an order, fen.
func (f *recFixture) want(kind, ref, community, tradeNo string, our, bill *int64, outcome string) storedEntry {
	e := storedEntry{Kind: kind, Ref: ref, OurFen: our, BillFen: bill, Outcome: outcome, OutTradeNo: tradeNo}
	if community != "" {
		e.CommunityID, e.OrderID = i64(f.ids[community]), i64(f.ids[tradeNo])
	}
	return e
}

var ignoreDetailAndTime = cmp.FilterPath(func(p cmp.Path) bool {
	s := p.Last().String()
	return s == ".Detail" || s == ".CheckedAt"
}, cmp.Ignore())

func TestGoldenBillYieldsEachOutcomeWherePlanted(t *testing.T) {
	f := newRecFixture(t, nil)
	f.plantDay()
	fetched := at(dayAfter, 10, 15, 0)
	f.storeBill(billDay, fetched)
	f.storeBill(dayAfter, fetched.Add(24*time.Hour))

	checked := at(dayAfter.AddDays(1), 10, 16, 0)
	run, err := f.rec.ReconcileDay(f.ctx, billMchID, billDay, checked)
	if err != nil {
		t.Fatal(err)
	}
	want := []storedEntry{
		f.want("payment", "CT20260314A001", "A", "CT20260314A001", i64(1800), i64(1800), "matched"),
		// Three notifications, one payment: no mismatch.
		f.want("payment", "CT20260314A002", "A", "CT20260314A002", i64(1500), i64(1500), "matched"),
		f.want("payment", "CT20260314A003", "A", "CT20260314A003", i64(2500), i64(2550), "amount_mismatch"),
		f.want("payment", "CT20260314A004", "A", "CT20260314A004", i64(800), nil, "missing_wechat"),
		// CT20260314A005 (23:59:59) is on the next day's bill: not this day's finding.
		// CT20260313A006 was the day before and is on no bill of this day.
		f.want("payment", "CT20260314B001", "B", "CT20260314B001", nil, i64(1200), "missing_ours"),
		f.want("payment", "XX20260314000009", "", "XX20260314000009", nil, i64(990), "missing_ours"),
		f.want("refund", "CT20260314A001R1", "A", "CT20260314A001", i64(300), i64(300), "matched"),
		f.want("refund", "CT20260314A001R2", "A", "CT20260314A001", i64(500), i64(500), "matched"),
		f.want("refund", "CT20260314A001R3", "A", "CT20260314A001", i64(200), nil, "missing_wechat"),
		f.want("refund", "CT20260314A002R1", "A", "CT20260314A002", i64(1500), i64(1500), "matched"),
	}
	got := f.entries(billDay)
	if diff := cmp.Diff(want, got, ignoreDetailAndTime); diff != "" {
		t.Fatalf("findings of %s (-want +got):\n%s", billDay, diff)
	}
	for _, e := range got {
		if !e.CheckedAt.Equal(checked) {
			t.Errorf("%s checked at %s, want %s", e.Ref, e.CheckedAt, checked)
		}
	}
	raw, err := os.ReadFile("testdata/tradebill_" + billDay.String() + ".csv")
	if err != nil {
		t.Fatal(err)
	}
	wantRun := payment.ReconcileRun{MchID: billMchID, Day: billDay, BillSHA1: sha1Hex(raw), CheckedAt: checked, Runs: 1,
		Counts: payment.OutcomeCounts{Matched: 5, MissingOurs: 2, MissingWeChat: 2, AmountMismatch: 1}}
	if diff := cmp.Diff(wantRun, run); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}

	// The next day has the 23:59:59 payment, matched, and says when we saw it.
	if _, err := f.rec.ReconcileDay(f.ctx, billMchID, dayAfter, checked); err != nil {
		t.Fatal(err)
	}
	next := f.entries(dayAfter)
	wantNext := []storedEntry{f.want("payment", "CT20260314A005", "A", "CT20260314A005", i64(700), i64(700), "matched")}
	if diff := cmp.Diff(wantNext, next, ignoreDetailAndTime); diff != "" {
		t.Fatalf("findings of %s (-want +got):\n%s", dayAfter, diff)
	}
	if !strings.Contains(next[0].Detail, "2026-03-14") {
		t.Errorf("detail %q does not say our success day", next[0].Detail)
	}

	// Running the day again gives the very same rows.
	again, err := f.rec.ReconcileDay(f.ctx, billMchID, billDay, checked)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, f.entries(billDay), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("a re-run changed the findings (-first +again):\n%s", diff)
	}
	wantRun.Runs = 2
	if diff := cmp.Diff(wantRun, again); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}

	// Findings are replaced by a re-run only: never edited in place.
	if _, err := f.db.ExecContext(f.ctx, "UPDATE reconciliation_entries SET outcome = 'matched' WHERE ref = 'CT20260314A003'"); err == nil {
		t.Error("a finding was updated in place")
	}
}

func TestReconcileDayWithoutBillIsNotFound(t *testing.T) {
	f := newRecFixture(t, nil)
	_, err := f.rec.ReconcileDay(f.ctx, billMchID, billDay, time.Now())
	if !errors.Is(err, payment.ErrNoBill) || apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("err = %v, want ErrNoBill", err)
	}
}

func TestConcurrentRunsOfADayLeaveOneSetOfFindings(t *testing.T) {
	f := newRecFixture(t, nil)
	f.plantDay()
	f.storeBill(billDay, time.Now())
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			_, err := f.rec.ReconcileDay(f.ctx, billMchID, billDay, time.Now())
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var runs int
	f.scan("SELECT runs FROM reconciliation_runs WHERE mchid = ? AND day = ?", &runs, billMchID, billDay.String())
	if n := len(f.entries(billDay)); n != 11 || runs != 6 {
		t.Fatalf("%d findings after %d runs, want 11 after 6", n, runs)
	}
}

// due lists the days due from two days before billDay, with no settling margin.
func (f *recFixture) due(settle time.Duration) []civil.Date {
	f.t.Helper()
	days, err := f.rec.DueDays(f.ctx, billMchID, billDay.AddDays(-2), settle, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return days
}

func TestLaterChangesMakeADayDueAgain(t *testing.T) {
	f := newRecFixture(t, nil)
	f.plantDay()
	f.storeBill(billDay, time.Now())
	if diff := cmp.Diff([]civil.Date{billDay}, f.due(0)); diff != "" {
		t.Fatalf("before any run (-want +got):\n%s", diff)
	}
	run := func(day civil.Date) {
		t.Helper()
		if _, err := f.rec.ReconcileDay(f.ctx, billMchID, day, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	find := func(day civil.Date, ref string) (storedEntry, bool) {
		for _, e := range f.entries(day) {
			if e.Ref == ref {
				return e, true
			}
		}
		return storedEntry{}, false
	}

	run(billDay)
	if d := f.due(0); len(d) != 0 {
		t.Fatalf("due right after its run: %v", d)
	}
	// Records that committed while a run read may be older than its checked_at: with a
	// margin they make the day due once more.
	if diff := cmp.Diff([]civil.Date{billDay}, f.due(time.Hour)); diff != "" {
		t.Errorf("with a margin of an hour (-want +got):\n%s", diff)
	}
	// The 23:59:59 payment may be on the next day's bill, not stored yet.
	late, ok := find(billDay, "CT20260314A005")
	if !ok || late.Outcome != "missing_wechat" || !strings.Contains(late.Detail, "next day's bill") {
		t.Fatalf("23:59:59 before the next bill: %+v", late)
	}

	// The next day's bill arrives: both days are due, and the payment moves to it.
	f.storeBill(dayAfter, time.Now())
	if diff := cmp.Diff([]civil.Date{billDay, dayAfter}, f.due(0)); diff != "" {
		t.Fatalf("after the next day's bill (-want +got):\n%s", diff)
	}
	run(billDay)
	run(dayAfter)
	if e, ok := find(billDay, "CT20260314A005"); ok {
		t.Errorf("still a finding of %s: %+v", billDay, e)
	}
	if e, ok := find(dayAfter, "CT20260314A005"); !ok || e.Outcome != "matched" {
		t.Errorf("on %s: %+v, %t", dayAfter, e, ok)
	}
	if d := f.due(0); len(d) != 0 {
		t.Fatalf("due after both runs: %v", d)
	}

	// The lost notification is found by the sweeper's query; the processing refund succeeds.
	if out := f.paid("CT20260314B001", "4200002026031400000000000007", 1200, at(billDay, 12, 30, 0)); out != payment.Credited {
		t.Fatalf("late payment: %s", out)
	}
	if diff := cmp.Diff([]civil.Date{billDay}, f.due(0)); diff != "" {
		t.Fatalf("after a late payment (-want +got):\n%s", diff)
	}
	run(billDay)
	if e, _ := find(billDay, "CT20260314B001"); e.Outcome != "matched" || e.CommunityID == nil || *e.CommunityID != f.ids["B"] {
		t.Errorf("late payment after the re-run: %+v", e)
	}
	f.exec("UPDATE refunds SET status = 'success', settled_at = now() WHERE out_refund_no = 'CT20260314A002R1'")
	if diff := cmp.Diff([]civil.Date{billDay}, f.due(0)); diff != "" {
		t.Fatalf("after a refund settled (-want +got):\n%s", diff)
	}
	run(billDay)
	if e, _ := find(billDay, "CT20260314A002R1"); e.Outcome != "matched" || strings.Contains(e.Detail, "not final") {
		t.Errorf("settled refund after the re-run: %+v", e)
	}
	if d := f.due(0); len(d) != 0 {
		t.Fatalf("due after the re-runs: %v", d)
	}
}

func staffScope(f *recFixture, c string, canteens ...int64) payment.ReconcileScope {
	return payment.ReconcileScope{CommunityID: f.ids[c], CanteenIDs: canteens,
		Actor: audit.Actor{Kind: audit.Staff, ID: f.ids[c] * 100, Name: "财务 " + c}}
}

func refs(fs []payment.Finding) []string {
	out := make([]string, len(fs))
	for i, x := range fs {
		out[i] = string(x.Outcome) + " " + x.Ref
	}
	return out
}

func TestFindingsAreScopedToTheCommunity(t *testing.T) {
	f := newRecFixture(t, nil)
	f.plantDay()
	f.storeBill(billDay, time.Now())
	f.storeBill(dayAfter, time.Now())
	if _, err := f.rec.ReconcileDay(f.ctx, billMchID, billDay, time.Now()); err != nil {
		t.Fatal(err)
	}

	a, days, err := f.rec.Findings(f.ctx, billMchID, billDay, dayAfter, staffScope(f, "A"))
	if err != nil {
		t.Fatal(err)
	}
	// Not matched first; B's lost payment is not A's to see; the unknown trade is everyone's.
	wantA := []string{"amount_mismatch CT20260314A003", "missing_ours XX20260314000009", "missing_wechat CT20260314A004",
		"missing_wechat CT20260314A001R3", "matched CT20260314A001", "matched CT20260314A002",
		"matched CT20260314A001R1", "matched CT20260314A001R2", "matched CT20260314A002R1"}
	if diff := cmp.Diff(wantA, refs(a)); diff != "" {
		t.Errorf("community A sees (-want +got):\n%s", diff)
	}
	if len(days) != 2 || days[0].Day != billDay || days[0].CheckedAt == nil || days[1].Day != dayAfter || days[1].CheckedAt != nil {
		t.Errorf("days %+v: want %s reconciled and %s not yet", days, billDay, dayAfter)
	}
	mismatch := a[0]
	wantOrder := &payment.FindingOrder{ID: f.ids["CT20260314A003"], CanteenID: f.ids["canteenA"], CanteenName: "饭堂 A",
		Day: billDay, Status: "paid", PayFen: 2500}
	if diff := cmp.Diff(wantOrder, mismatch.Order); diff != "" {
		t.Errorf("order of the mismatch (-want +got):\n%s", diff)
	}
	if a[1].Order != nil || a[1].CommunityID != 0 {
		t.Errorf("the unknown trade carries an order: %+v", a[1])
	}

	// B has taken no payment on the merchant account yet: only its own lost payment.
	b, _, err := f.rec.Findings(f.ctx, billMchID, billDay, billDay, staffScope(f, "B"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"missing_ours CT20260314B001"}, refs(b)); diff != "" {
		t.Errorf("community B sees (-want +got):\n%s", diff)
	}
	if b[0].Order == nil || b[0].Order.ID != f.ids["CT20260314B001"] || b[0].Order.CanteenName != "饭堂 B" {
		t.Errorf("B's lost payment shows its order: %+v", b[0].Order)
	}
	// Once it takes payments there, the account's unknown trade is B's to see as well.
	f.order("B", "CT20260315B002", 600)
	f.paid("CT20260315B002", "4200002026031500000000000008", 600, at(dayAfter, 9, 0, 0))
	if b, _, err = f.rec.Findings(f.ctx, billMchID, billDay, billDay, staffScope(f, "B")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"missing_ours CT20260314B001", "missing_ours XX20260314000009"}, refs(b)); diff != "" {
		t.Errorf("community B with a payment sees (-want +got):\n%s", diff)
	}

	// Staff of other canteens only: the findings with no order are left.
	other, _, err := f.rec.Findings(f.ctx, billMchID, billDay, billDay, staffScope(f, "A", f.ids["canteenB"]))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"missing_ours XX20260314000009"}, refs(other)); diff != "" {
		t.Errorf("A's staff of another canteen see (-want +got):\n%s", diff)
	}
}

func TestResolutionsAreScopedAuditedAndSurviveReruns(t *testing.T) {
	f := newRecFixture(t, nil)
	f.plantDay()
	f.paid("CT20260314B001", "4200002026031400000000000007", 1200, at(billDay, 12, 30, 0)) // B takes payments too
	f.storeBill(billDay, time.Now())
	if _, err := f.rec.ReconcileDay(f.ctx, billMchID, billDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	svcAt := func(now time.Time) *payment.Reconciliation {
		return payment.NewReconciliation(f.rec, payment.ReconcileOptions{MchID: billMchID, Now: func() time.Time { return now }})
	}
	noted := time.Date(2026, 3, 16, 9, 0, 0, 0, civil.Shanghai())
	svc := svcAt(noted)
	scopeA, scopeB := staffScope(f, "A"), staffScope(f, "B")
	in := payment.ResolutionInput{Kind: payment.FindingPayment, Ref: "CT20260314A003", Note: "微信多收 0.50 元，已联系商户平台"}

	res, err := svc.Resolve(f.ctx, scopeA, billDay, in)
	if err != nil {
		t.Fatal(err)
	}
	want := payment.Resolution{MchID: billMchID, Day: billDay, Kind: payment.FindingPayment, Ref: "CT20260314A003",
		Note: in.Note, NotedBy: scopeA.Actor.ID, NotedByName: "财务 A", NotedAt: noted}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("resolution (-want +got):\n%s", diff)
	}
	// Another community cannot note, or even find, A's finding.
	if _, err := svc.Resolve(f.ctx, scopeB, billDay, in); !errors.Is(err, payment.ErrFindingNotFound) {
		t.Errorf("B noting A's finding: %v, want ErrFindingNotFound", err)
	}
	if _, err := svc.Resolve(f.ctx, scopeA, billDay.AddDays(1), in); !errors.Is(err, payment.ErrFindingNotFound) {
		t.Errorf("a finding of another day: %v, want ErrFindingNotFound", err)
	}
	// The unknown trade is noted by each community for itself.
	unknown := payment.ResolutionInput{Kind: payment.FindingPayment, Ref: "XX20260314000009", Note: "不是本社区的"}
	if _, err := svc.Resolve(f.ctx, scopeB, billDay, unknown); err != nil {
		t.Fatal(err)
	}
	// A changes its note; then the day is run again.
	in.Note = "商户平台已退回 0.50 元"
	later := noted.Add(time.Hour)
	if _, err := svcAt(later).Resolve(f.ctx, scopeA, billDay, in); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rec.ReconcileDay(f.ctx, billMchID, billDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	notes := func(scope payment.ReconcileScope) map[string]string {
		fs, _, err := f.rec.Findings(f.ctx, billMchID, billDay, billDay, scope)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, x := range fs {
			if x.Resolution != nil {
				out[x.Ref] = x.Resolution.Note + " @" + x.Resolution.NotedAt.In(civil.Shanghai()).Format("15:04")
			}
		}
		return out
	}
	if diff := cmp.Diff(map[string]string{"CT20260314A003": "商户平台已退回 0.50 元 @10:00"}, notes(scopeA)); diff != "" {
		t.Errorf("A's notes after the re-run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"XX20260314000009": "不是本社区的 @09:00"}, notes(scopeB)); diff != "" {
		t.Errorf("B's notes (-want +got):\n%s", diff)
	}

	// Each note is in its community's audit log, with what it replaced.
	var records []struct {
		CommunityID int64  `bun:"community_id"`
		ActorID     int64  `bun:"actor_id"`
		Action      string `bun:"action"`
		EntityID    string `bun:"entity_id"`
		Before      string `bun:"before"`
		After       string `bun:"after"`
	}
	f.scan(`SELECT community_id, actor_id, action, entity_id, coalesce(before::text, '') AS before, after::text AS after
		FROM audit_log WHERE entity = 'reconciliation_resolution' ORDER BY id`, &records)
	if len(records) != 3 {
		t.Fatalf("%d audit records, want 3", len(records))
	}
	key := billMchID + "/2026-03-14/payment/"
	wantAudit := []string{
		fmt.Sprint(f.ids["A"], " ", scopeA.Actor.ID, " create ", key+"CT20260314A003"),
		fmt.Sprint(f.ids["B"], " ", scopeB.Actor.ID, " create ", key+"XX20260314000009"),
		fmt.Sprint(f.ids["A"], " ", scopeA.Actor.ID, " update ", key+"CT20260314A003"),
	}
	for i, r := range records {
		if got := fmt.Sprint(r.CommunityID, " ", r.ActorID, " ", r.Action, " ", r.EntityID); got != wantAudit[i] {
			t.Errorf("audit %d: %s, want %s", i, got, wantAudit[i])
		}
	}
	if !strings.Contains(records[2].Before, "微信多收") || !strings.Contains(records[2].After, "已退回") || records[0].Before != "" {
		t.Errorf("audit before/after: %q → %q", records[2].Before, records[2].After)
	}
}

// TestTradeBillTaskReconcilesFromTheFakeWeChatPay runs the daily task as the worker does:
// the bill is downloaded from the fake WeChat Pay, checked, stored and reconciled.
func TestTradeBillTaskReconcilesFromTheFakeWeChatPay(t *testing.T) {
	bf := newBillFixture(t)
	f := newRecFixture(t, bf.db)
	txOf := func(no string) payment.Transaction {
		for _, o := range bf.fake.Orders() {
			if o.OutTradeNo == no {
				return payment.Transaction{OutTradeNo: no, TransactionID: o.TransactionID, State: payment.StateSuccess,
					AmountFen: o.AmountFen, PayerOpenID: billOpenID, MchID: billMchID, AppID: billAppID, SuccessTime: o.SuccessTime}
			}
		}
		t.Fatalf("the fake has no order %s", no)
		return payment.Transaction{}
	}
	record := func(tx payment.Transaction) {
		if _, err := f.pay.Record(f.ctx, tx, payment.FromNotification, recMerchant); err != nil {
			t.Fatal(err)
		}
	}

	// Paid, notified, partly refunded: matched twice.
	f.order("A", "CT20260314E001", 1800)
	bf.pay("CT20260314E001", 1800, at(billDay, 11, 30, 0))
	record(txOf("CT20260314E001"))
	bf.refund("CT20260314E001", "CT20260314E001R1", 500, 1800, at(billDay, 13, 0, 0))
	f.refund("CT20260314E001", "CT20260314E001R1", 500, "success", at(billDay, 13, 0, 5))
	// Paid at WeChat, the notification lost: missing ours, with its order.
	f.order("B", "CT20260314E002", 2550)
	bf.pay("CT20260314E002", 2550, at(billDay, 12, 0, 0))
	// Recorded here, unknown to WeChat: missing on WeChat's side.
	f.order("A", "CT20260314E003", 800)
	f.paid("CT20260314E003", "4200000000000000000000000099", 800, at(billDay, 15, 0, 0))

	now := at(dayAfter, 10, 15, 0)
	bf.clock.Set(now)
	rec := payment.NewReconciliation(f.rec, payment.ReconcileOptions{MchID: billMchID, Now: bf.clock.Now})
	h := jobs.Handlers{
		FetchTradeBill: func(ctx context.Context) error { _, err := bf.bills.FetchYesterday(ctx, bf.clock.Now()); return err },
		ReconcileBills: func(ctx context.Context) (int, error) { runs, err := rec.RunDue(ctx); return len(runs), err },
	}
	mux := h.Mux(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := mux.ProcessTask(f.ctx, asynq.NewTask(jobs.TypeFetchTradeBill, nil)); err != nil {
		t.Fatal(err)
	}
	want := []storedEntry{
		f.want("payment", "CT20260314E001", "A", "CT20260314E001", i64(1800), i64(1800), "matched"),
		f.want("payment", "CT20260314E002", "B", "CT20260314E002", nil, i64(2550), "missing_ours"),
		f.want("payment", "CT20260314E003", "A", "CT20260314E003", i64(800), nil, "missing_wechat"),
		f.want("refund", "CT20260314E001R1", "A", "CT20260314E001", i64(500), i64(500), "matched"),
	}
	got := f.entries(billDay)
	if diff := cmp.Diff(want, got, ignoreDetailAndTime); diff != "" {
		t.Fatalf("findings after the task (-want +got):\n%s", diff)
	}

	// The next hourly run stores nothing new and leaves the same findings.
	bf.clock.Set(now.Add(time.Hour))
	if err := mux.ProcessTask(f.ctx, asynq.NewTask(jobs.TypeFetchTradeBill, nil)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, f.entries(billDay), ignoreDetailAndTime); diff != "" {
		t.Errorf("findings after the next run (-want +got):\n%s", diff)
	}
	if n := len(f.entries(dayAfter)); n != 0 {
		t.Errorf("%d findings for a day with no bill", n)
	}
}
