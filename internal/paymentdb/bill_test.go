package paymentdb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
	"github.com/canteen-oss/canteen/internal/paymentdb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

const (
	billMchID  = "1900000109"
	billAppID  = "wx0123456789abcdef"
	billSerial = "5157F09EFDC096DE15EBE81A47057A72"
	billAPIKey = "0123456789abcdefABCDEFGHIJKLMNOP" // 32 bytes
	billOpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	billPath   = "/v3/bill/tradebill"
)

// billMerchantKey is slow to make, so every bill test shares it.
var billMerchantKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

var (
	billDay  = civil.Date{Year: 2026, Month: time.March, Day: 14}
	dayAfter = billDay.AddDays(1)
)

// at is hh:mm:ss of day in Asia/Shanghai.
func at(day civil.Date, h, m, s int) time.Time {
	return day.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
}

// billClock is the business clock of the fake and of Bills.
type billClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *billClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *billClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// billFixture is a fresh database, a fake WeChat Pay, the real client of it, and Bills on both.
type billFixture struct {
	t      *testing.T
	ctx    context.Context
	db     *bun.DB
	clock  *billClock
	fake   *wechatpayfake.Server
	client *wechatpay.Client
	bills  *payment.Bills
}

func newBillFixture(t *testing.T) *billFixture {
	t.Helper()
	db, _ := pgtest.New(t)
	f := &billFixture{t: t, ctx: context.Background(), db: db, clock: &billClock{t: at(billDay, 8, 0, 0)}}
	f.fake = wechatpayfake.New(wechatpayfake.Options{MchID: billMchID, AppID: billAppID, APIv3Key: billAPIKey,
		Mode: wechatpayfake.PublicKey, MerchantPublicKey: &billMerchantKey().PublicKey, MerchantSerial: billSerial,
		Now: f.clock.Now})
	base, stop := f.fake.Start()
	t.Cleanup(stop)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(recv.Close)
	client, err := wechatpay.New(wechatpay.Config{MchID: billMchID, AppID: billAppID, MerchantSerial: billSerial,
		MerchantKey: billMerchantKey(), APIv3Key: billAPIKey, PublicKeyID: f.fake.PublicKeyID(), PublicKey: f.fake.PublicKey(),
		NotifyURL: recv.URL + "/notify", BaseURL: base, HTTPTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.client = client
	f.bills = payment.NewBills(paymentdb.NewBillStore(db), client.BillGateway(),
		payment.BillOptions{MchID: billMchID, Now: f.clock.Now})
	return f
}

// pay places an order with the real client and has the diner pay it at when.
func (f *billFixture) pay(no string, fen int64, when time.Time) {
	f.t.Helper()
	f.clock.Set(when.Add(-time.Minute))
	if _, err := f.client.Prepay(f.ctx, wechatpay.PrepayRequest{OutTradeNo: no, Description: "社区食堂-午餐",
		AmountFen: fen, OpenID: billOpenID}); err != nil {
		f.t.Fatal(err)
	}
	f.clock.Set(when)
	if err := f.fake.Pay(no); err != nil {
		f.t.Fatal(err)
	}
}

// refund refunds fen of a paid order at when, and WeChat settles it.
func (f *billFixture) refund(no, refundNo string, fen, total int64, when time.Time) {
	f.t.Helper()
	f.clock.Set(when)
	if _, err := f.client.Refund(f.ctx, wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: refundNo, RefundFen: fen,
		TotalFen: total}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.fake.SettleRefund(refundNo, true); err != nil {
		f.t.Fatal(err)
	}
}

// tradeDay puts billDay's trades into the fake: two payments and one refund, and a payment
// just before midnight of the day before, which is not on billDay's bill.
func (f *billFixture) tradeDay() {
	f.t.Helper()
	f.pay("CT20260313000001", 990, at(billDay, 0, 0, -1))
	f.pay("CT20260314000001", 1800, at(billDay, 11, 30, 5))
	f.pay("CT20260314000002", 2550, at(billDay, 12, 10, 41))
	f.refund("CT20260314000001", "CT20260314000001R1", 500, 1800, at(billDay, 13, 0, 0))
}

func (f *billFixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.NewRaw(query, args...).Scan(f.ctx, &n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// storedRow is a trade_bill_rows row as the test reads it.
type storedRow struct {
	LineNo             int       `bun:"line_no"`
	TradeTime          time.Time `bun:"trade_time"`
	AppID              string    `bun:"appid"`
	TransactionID      string    `bun:"transaction_id"`
	OutTradeNo         string    `bun:"out_trade_no"`
	TradeState         string    `bun:"trade_state"`
	AmountFen          int64     `bun:"amount_fen"`
	SettlementFen      int64     `bun:"settlement_fen"`
	RefundID           *string   `bun:"refund_id"`
	OutRefundNo        *string   `bun:"out_refund_no"`
	RefundFen          int64     `bun:"refund_fen"`
	RequestedRefundFen int64     `bun:"requested_refund_fen"`
	RefundState        *string   `bun:"refund_state"`
	FeeMilliFen        int64     `bun:"fee_milli_fen"`
}

// storedBill is a trade_bills row as the test reads it.
type storedBill struct {
	Raw                []byte `bun:"raw"`
	SHA1               string `bun:"sha1"`
	RowCount           int    `bun:"row_count"`
	AmountFen          int64  `bun:"amount_fen"`
	SettlementFen      int64  `bun:"settlement_fen"`
	RefundFen          int64  `bun:"refund_fen"`
	RequestedRefundFen int64  `bun:"requested_refund_fen"`
	FeeMilliFen        int64  `bun:"fee_milli_fen"`
}

func (f *billFixture) stored(day civil.Date) (storedBill, []storedRow) {
	f.t.Helper()
	var b storedBill
	if err := f.db.NewRaw(`SELECT raw, sha1, row_count, amount_fen, settlement_fen, refund_fen, requested_refund_fen, fee_milli_fen
		FROM trade_bills WHERE mchid = ? AND day = ?`, billMchID, day.String()).Scan(f.ctx, &b); err != nil {
		f.t.Fatalf("the bill of %s: %v", day, err)
	}
	var rows []storedRow
	if err := f.db.NewRaw(`SELECT line_no, trade_time, appid, transaction_id, out_trade_no, trade_state, amount_fen, settlement_fen,
		refund_id, out_refund_no, refund_fen, requested_refund_fen, refund_state, fee_milli_fen
		FROM trade_bill_rows WHERE mchid = ? AND day = ? ORDER BY line_no`, billMchID, day.String()).Scan(f.ctx, &rows); err != nil {
		f.t.Fatal(err)
	}
	return b, rows
}

func ptr(s string) *string { return &s }

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// wantKind fails t unless err is of kind k with code.
func wantKind(t *testing.T, err error, k apperr.Kind, code string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != k || e.Code != code {
		t.Fatalf("err = %v, want %v %s", err, k, code)
	}
}

func TestFetchYesterdayStoresTheBillRawAndParsed(t *testing.T) {
	f := newBillFixture(t)
	f.tradeDay()
	now := at(dayAfter, 10, 5, 0)
	f.clock.Set(now)

	res, err := f.bills.FetchYesterday(f.ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	served, ok := f.fake.Bill(billDay.String())
	if !ok {
		t.Fatal("the fake has no bill")
	}
	want := payment.BillResult{Outcome: payment.BillStored, BillInfo: payment.BillInfo{MchID: billMchID, Day: billDay,
		SHA1: sha1Hex(served), Rows: 3, FetchedAt: now}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}

	bill, rows := f.stored(billDay)
	if !bytes.Equal(bill.Raw, served) {
		t.Errorf("stored file differs from what the fake served:\n%s\nwant:\n%s", bill.Raw, served)
	}
	wantBill := storedBill{Raw: bill.Raw, SHA1: sha1Hex(served), RowCount: 3, AmountFen: 4350, SettlementFen: 4350,
		RefundFen: 500, RequestedRefundFen: 500, FeeMilliFen: 11_000 + 15_000 - 3_000}
	if diff := cmp.Diff(wantBill, bill); diff != "" {
		t.Errorf("trade_bills (-want +got):\n%s", diff)
	}

	orders, refunds := f.fake.Orders(), f.fake.Refunds()
	wantRows := []storedRow{
		{LineNo: 1, TradeTime: at(billDay, 11, 30, 5), AppID: billAppID, TransactionID: orders[1].TransactionID,
			OutTradeNo: "CT20260314000001", TradeState: "SUCCESS", AmountFen: 1800, SettlementFen: 1800,
			FeeMilliFen: 11_000}, // 0.60% of 18.00 yuan = 0.108 → 0.11
		{LineNo: 2, TradeTime: at(billDay, 12, 10, 41), AppID: billAppID, TransactionID: orders[2].TransactionID,
			OutTradeNo: "CT20260314000002", TradeState: "SUCCESS", AmountFen: 2550, SettlementFen: 2550,
			FeeMilliFen: 15_000}, // 0.60% of 25.50 yuan = 0.153 → 0.15
		{LineNo: 3, TradeTime: at(billDay, 13, 0, 0), AppID: billAppID, TransactionID: orders[1].TransactionID,
			OutTradeNo: "CT20260314000001", TradeState: "REFUND", RefundID: ptr(refunds[0].RefundID),
			OutRefundNo: ptr("CT20260314000001R1"), RefundFen: 500, RequestedRefundFen: 500, RefundState: ptr("SUCCESS"),
			FeeMilliFen: -3_000},
	}
	if diff := cmp.Diff(wantRows, rows, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("trade_bill_rows (-want +got):\n%s", diff)
	}

	// Reconciliation finds the lines by our numbers.
	if n := f.count("SELECT count(*) FROM trade_bill_rows WHERE out_trade_no = ?", "CT20260314000001"); n != 2 {
		t.Errorf("%d lines of CT20260314000001, want 2", n)
	}

	// Once stored, the day is neither downloaded nor stored again.
	downloads := f.fake.Requests(billPath)
	again, err := f.bills.FetchYesterday(f.ctx, now.Add(time.Hour))
	if err != nil || again.Outcome != payment.BillUnchanged || again.SHA1 != res.SHA1 || again.Rows != 3 {
		t.Fatalf("second run: %+v, %v; want unchanged", again, err)
	}
	if n := f.fake.Requests(billPath); n != downloads {
		t.Errorf("the second run asked WeChat again (%d requests, want %d)", n, downloads)
	}
	if n := f.count("SELECT count(*) FROM trade_bill_rows"); n != 3 {
		t.Errorf("%d lines stored, want 3", n)
	}

	// A stored bill is never updated in place.
	if _, err := f.db.ExecContext(f.ctx, "UPDATE trade_bill_rows SET amount_fen = 1 WHERE line_no = 1"); err == nil {
		t.Error("a stored bill line was updated")
	}
	if _, err := f.db.ExecContext(f.ctx, "UPDATE trade_bills SET fee_milli_fen = 0"); err == nil {
		t.Error("a stored bill was updated")
	}
}

func TestFetchYesterdayWaitsForTen(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		day  civil.Date
		want payment.BillOutcome
	}{
		{"just after midnight", at(dayAfter, 0, 0, 1), billDay, payment.BillTooEarly},
		{"a second before ten", at(dayAfter, 9, 59, 59), billDay, payment.BillTooEarly},
		{"at ten", at(dayAfter, 10, 0, 0), billDay, payment.BillStored},
		// The day and the hour are Shanghai's, whatever now's location.
		{"4:00 in Shanghai, still the 14th in UTC", time.Date(2026, 3, 14, 20, 0, 0, 0, time.UTC), billDay, payment.BillTooEarly},
		{"10:00 in Shanghai, 2:00 in UTC", time.Date(2026, 3, 15, 2, 0, 0, 0, time.UTC), billDay, payment.BillStored},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newBillFixture(t)
			f.tradeDay()
			f.clock.Set(tc.now)
			res, err := f.bills.FetchYesterday(f.ctx, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.want || res.Day != tc.day {
				t.Errorf("FetchYesterday at %s = %s of %s, want %s of %s", tc.now, res.Outcome, res.Day, tc.want, tc.day)
			}
			wantStored := 0
			if tc.want == payment.BillStored {
				wantStored = 1
			} else if n := f.fake.Requests(billPath); n != 0 {
				t.Errorf("asked WeChat %d times before the bill was ready", n)
			}
			if n := f.count("SELECT count(*) FROM trade_bills"); n != wantStored {
				t.Errorf("%d bills stored, want %d", n, wantStored)
			}
		})
	}
}

func TestConcurrentFetchesStoreTheBillOnce(t *testing.T) {
	f := newBillFixture(t)
	f.tradeDay()
	now := at(dayAfter, 10, 5, 0)
	f.clock.Set(now)
	const workers = 8
	var wg sync.WaitGroup
	results := make([]payment.BillResult, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				results[i], errs[i] = f.bills.FetchYesterday(f.ctx, now)
			} else {
				results[i], errs[i] = f.bills.Fetch(f.ctx, billDay) // staff pressing the button meanwhile
			}
		}()
	}
	wg.Wait()
	stored := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		switch r.Outcome {
		case payment.BillStored:
			stored++
		case payment.BillUnchanged:
		default:
			t.Fatalf("worker %d: outcome %s", i, r.Outcome)
		}
		if r.Rows != 3 || r.SHA1 != results[0].SHA1 {
			t.Errorf("worker %d: %+v, want 3 rows and the same SHA1 as the others", i, r)
		}
	}
	bills, lines := f.count("SELECT count(*) FROM trade_bills"), f.count("SELECT count(*) FROM trade_bill_rows")
	if stored != 1 || bills != 1 || lines != 3 {
		t.Fatalf("stored %d times, %d bills, %d lines; want 1, 1, 3", stored, bills, lines)
	}
}

func TestTamperedBillIsNotStored(t *testing.T) {
	f := newBillFixture(t)
	f.tradeDay()
	now := at(dayAfter, 10, 5, 0)
	f.clock.Set(now)
	f.fake.TamperNextDownload()
	res, err := f.bills.FetchYesterday(f.ctx, now)
	wantKind(t, err, apperr.Transient, "wechatpay_bill_hash")
	if res.Outcome != "" {
		t.Errorf("outcome %s on failure", res.Outcome)
	}
	if n := f.count("SELECT count(*) FROM trade_bills") + f.count("SELECT count(*) FROM trade_bill_rows"); n != 0 {
		t.Fatalf("a tampered bill left %d rows", n)
	}
	// The task retries; the next download is intact.
	if res, err := f.bills.FetchYesterday(f.ctx, now.Add(time.Minute)); err != nil || res.Outcome != payment.BillStored || res.Rows != 3 {
		t.Fatalf("retry: %+v, %v", res, err)
	}
}

func TestUnavailableWeChatIsTransient(t *testing.T) {
	f := newBillFixture(t)
	f.tradeDay()
	now := at(dayAfter, 10, 5, 0)
	f.clock.Set(now)
	f.fake.FailNext(billPath, 1, wechatpayfake.FailMode{Status: http.StatusServiceUnavailable})
	_, err := f.bills.FetchYesterday(f.ctx, now)
	wantKind(t, err, apperr.Transient, "wechatpay_system_error")
	if n := f.count("SELECT count(*) FROM trade_bills"); n != 0 {
		t.Fatalf("%d bills stored after a failure", n)
	}
}

func TestDayWithoutTradesIsStoredEmpty(t *testing.T) {
	f := newBillFixture(t)
	f.pay("CT20260313000001", 990, at(billDay, 0, 0, -1)) // the day before only
	now := at(dayAfter, 10, 5, 0)
	f.clock.Set(now)
	res, err := f.bills.FetchYesterday(f.ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := payment.BillResult{Outcome: payment.BillStored, BillInfo: payment.BillInfo{MchID: billMchID, Day: billDay,
		SHA1: sha1Hex(nil), Empty: true, FetchedAt: now}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	bill, rows := f.stored(billDay)
	if diff := cmp.Diff(storedBill{Raw: []byte{}, SHA1: sha1Hex(nil)}, bill); diff != "" || len(rows) != 0 {
		t.Errorf("stored (-want +got):\n%s\n%d lines", diff, len(rows))
	}
	downloads := f.fake.Requests(billPath)
	if res, err := f.bills.FetchYesterday(f.ctx, now.Add(time.Hour)); err != nil || res.Outcome != payment.BillUnchanged || !res.Empty {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	if n := f.fake.Requests(billPath); n != downloads {
		t.Error("an empty day was asked for again")
	}

	// Should WeChat later serve a file for the day, staff learn of it: it is not taken silently.
	f.pay("CT20260314000009", 100, at(billDay, 18, 0, 0))
	f.clock.Set(now.Add(2 * time.Hour))
	if _, err := f.bills.Fetch(f.ctx, billDay); !errors.Is(err, payment.ErrBillChanged) {
		t.Fatalf("Fetch of a day stored empty, now with a trade: %v, want ErrBillChanged", err)
	}
}

func TestStaffRefetch(t *testing.T) {
	f := newBillFixture(t)
	f.tradeDay()
	now := at(dayAfter, 10, 5, 0)
	f.clock.Set(now)
	first, err := f.bills.Fetch(f.ctx, billDay)
	if err != nil || first.Outcome != payment.BillStored {
		t.Fatalf("first fetch: %+v, %v", first, err)
	}
	downloads := f.fake.Requests(billPath)
	again, err := f.bills.Fetch(f.ctx, billDay)
	if err != nil || again.Outcome != payment.BillUnchanged || again.SHA1 != first.SHA1 {
		t.Fatalf("re-fetch: %+v, %v; want unchanged", again, err)
	}
	if f.fake.Requests(billPath) != downloads+1 {
		t.Error("a staff re-fetch did not download the bill again")
	}

	// WeChat now serves another file for the stored day: a conflict, and the stored bill stays.
	f.pay("CT20260314000003", 700, at(billDay, 19, 0, 0))
	f.clock.Set(now.Add(time.Hour))
	_, err = f.bills.Fetch(f.ctx, billDay)
	wantKind(t, err, apperr.Conflict, "bill_changed")
	if bill, rows := f.stored(billDay); bill.SHA1 != first.SHA1 || len(rows) != 3 {
		t.Errorf("after the conflict: SHA1 %s with %d lines, want %s with 3", bill.SHA1, len(rows), first.SHA1)
	}

	tests := []struct {
		name string
		day  civil.Date
		kind apperr.Kind
		code string
	}{
		{"today", dayAfter, apperr.FailedPrecondition, "bill_not_ready"},
		{"tomorrow", dayAfter.AddDays(1), apperr.FailedPrecondition, "bill_not_ready"},
		{"no date", civil.Date{}, apperr.Invalid, "date_invalid"},
		{"31 February", civil.Date{Year: 2026, Month: time.February, Day: 31}, apperr.Invalid, "date_invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.bills.Fetch(f.ctx, tc.day)
			wantKind(t, err, tc.kind, tc.code)
		})
	}
}
