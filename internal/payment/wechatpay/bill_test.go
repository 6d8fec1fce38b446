package wechatpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var cst = time.FixedZone("CST", 8*3600)

func at(day, hms string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, day+" "+hms, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func TestTradeBill(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		day := civil.Date{Year: 2026, Month: time.March, Day: 14}
		payAt := func(no string, fen int64, desc string, when time.Time) {
			t.Helper()
			e.clock.Set(when.Add(-time.Minute))
			req := lunch(no)
			req.AmountFen, req.Description = fen, desc
			if _, err := e.client.Prepay(ctx, req); err != nil {
				t.Fatal(err)
			}
			e.clock.Set(when)
			if err := e.fake.Pay(no); err != nil {
				t.Fatal(err)
			}
		}
		payAt("CT20260313000001", 990, "前一天的晚餐", at("2026-03-13", "23:59:59"))
		payAt("CT20260314000031", 1800, "社区食堂-午餐 红烧肉套餐", at("2026-03-14", "11:30:05"))
		payAt("CT20260314000032", 123456789, "团餐, 周末加菜", at("2026-03-14", "12:10:41"))
		e.clock.Set(at("2026-03-14", "13:00:00"))
		if _, err := e.client.Prepay(ctx, lunch("CT20260314000033")); err != nil { // never paid
			t.Fatal(err)
		}
		if _, err := e.client.Refund(ctx, wechatpay.RefundRequest{
			OutTradeNo: "CT20260314000031", OutRefundNo: "CT20260314000031R1", RefundFen: 500, TotalFen: 1800,
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.fake.SettleRefund("CT20260314000031R1", true); err != nil {
			t.Fatal(err)
		}
		e.take()

		_, _, _, err := e.client.TradeBill(ctx, day)
		check(t, err, want{apperr.Transient, "wechatpay_statement_creating"}) // still the same day

		e.clock.Set(at("2026-03-15", "10:30:00"))
		raw, rows, summary, err := e.client.TradeBill(ctx, day)
		check(t, err, want{})
		if fakeBill, _ := e.fake.Bill("2026-03-14"); !bytes.Equal(raw, fakeBill) {
			t.Errorf("raw bill differs from the fake's:\n%s\nwant:\n%s", raw, fakeBill)
		}
		orders := e.fake.Orders()
		refunds := e.fake.Refunds()
		pay := func(o wechatpayfake.Order, fee int64) wechatpay.BillRow {
			return wechatpay.BillRow{
				TradeTime: o.SuccessTime, AppID: appID, MchID: mchID, SubMchID: "0",
				TransactionID: o.TransactionID, OutTradeNo: o.OutTradeNo, OpenID: openID,
				TradeType: "JSAPI", TradeState: "SUCCESS", BankType: "OTHERS", Currency: "CNY",
				SettlementFen: o.AmountFen, Description: o.Description, Attach: "order=42",
				FeeMilliFen: fee, FeeRate: "0.60%", OrderFen: o.AmountFen,
			}
		}
		wantRows := []wechatpay.BillRow{
			pay(orders[1], 11_000),      // 0.60% of 18.00 = 0.108 → 0.11 yuan
			pay(orders[2], 740_741_000), // 0.60% of 1234567.89 = 7407.40734 → 7407.41 yuan
			{
				TradeTime: refunds[0].CreatedAt, AppID: appID, MchID: mchID, SubMchID: "0",
				TransactionID: orders[1].TransactionID, OutTradeNo: "CT20260314000031", OpenID: openID,
				TradeType: "JSAPI", TradeState: "REFUND", BankType: "OTHERS", Currency: "CNY",
				RefundID: refunds[0].RefundID, OutRefundNo: "CT20260314000031R1", RefundFen: 500,
				RefundType: "ORIGINAL", RefundStatus: "SUCCESS", Description: "社区食堂-午餐 红烧肉套餐",
				Attach: "order=42", FeeMilliFen: -3_000, FeeRate: "0.60%", RequestedRefundFen: 500,
			},
		}
		if diff := cmp.Diff(wantRows, rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		wantSummary := wechatpay.BillSummary{
			Count: 3, SettlementFen: 123458589, RefundFen: 500, FeeMilliFen: 740_749_000,
			OrderFen: 123458589, RequestedRefundFen: 500,
		}
		if diff := cmp.Diff(wantSummary, summary); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}

		e.fake.TamperNextDownload()
		_, _, _, err = e.client.TradeBill(ctx, day)
		check(t, err, want{apperr.Transient, "wechatpay_bill_hash"})
		if _, _, _, err := e.client.TradeBill(ctx, day); err != nil {
			t.Errorf("the next download: %v", err)
		}

		_, _, _, err = e.client.TradeBill(ctx, civil.Date{Year: 2026, Month: time.March, Day: 10})
		check(t, err, want{apperr.NotFound, "wechatpay_no_statement_exist"})
		_, _, _, err = e.client.TradeBill(ctx, civil.Date{Year: 2026, Month: time.March, Day: 16})
		check(t, err, want{apperr.Invalid, "wechatpay_param_error"})
		_, _, _, err = e.client.TradeBill(ctx, civil.Date{})
		check(t, err, want{apperr.Invalid, "date_invalid"})
	})
}

func TestTradeBillTransient(t *testing.T) {
	e := setup(t, keyModes[0])
	e.fake.FailNext(billPath, 1, wechatpayfake.FailMode{Status: 503})
	_, _, _, err := e.client.TradeBill(context.Background(), civil.Date{Year: 2026, Month: time.March, Day: 1})
	check(t, err, want{apperr.Transient, "wechatpay_system_error"})
}

// billJSON is the golden form of a parsed bill.
type billJSON struct {
	Rows    []wechatpay.BillRow
	Summary wechatpay.BillSummary
}

func TestParseBillGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "tradebill_all.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, variant := range []struct{ name, data string }{
		{"LF", string(data)},
		{"CRLF", strings.ReplaceAll(string(data), "\n", "\r\n")},
		{"BOM", "\uFEFF" + string(data)},
		{"no final newline", strings.TrimSuffix(string(data), "\n")},
	} {
		t.Run(variant.name, func(t *testing.T) {
			rows, summary, err := wechatpay.ParseBill([]byte(variant.data))
			if err != nil {
				t.Fatalf("ParseBill: %v", err)
			}
			got, err := json.MarshalIndent(billJSON{rows, summary}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "tradebill_all.golden.json")
			if *update && variant.name == "LF" {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantJSON, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(strings.TrimSpace(string(wantJSON)), string(got)); diff != "" {
				t.Errorf("parsed bill (-golden +got):\n%s", diff)
			}
			// The amount that floats get wrong: 1234567.89 * 100 = 123456788.99999999.
			if rows[1].OrderFen != 123456789 {
				t.Errorf("1234567.89 yuan read as %d fen", rows[1].OrderFen)
			}
		})
	}
}

const (
	header  = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
	row     = "`2026-03-14 11:30:05,`wx1,`1900000109,`0,`,`4200,`CT1,`o1,`JSAPI,`SUCCESS,`OTHERS,`CNY,`18.00,`0.00,`0,`0,`0.00,`0.00,`,`,`午餐,`,`0.11000,`0.60%,`18.00,`0.00,`"
	sumHead = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
	sumLine = "`1,`18.00,`0.00,`0.00,`0.11000,`18.00,`0.00"
)

func bill(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

func TestParseBillRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"no summary", bill(header, row)},
		{"count mismatch", bill(header, row, row, sumHead, sumLine)},
		{"three decimals", bill(header, strings.Replace(row, "`18.00,", "`18.001,", 1), sumHead, sumLine)},
		{"exponent", bill(header, strings.Replace(row, "`18.00,", "`1e3,", 1), sumHead, sumLine)},
		{"float spelling", bill(header, strings.Replace(row, "`18.00,", "`.5,", 1), sumHead, sumLine)},
		{"negative amount", bill(header, strings.Replace(row, "`18.00,", "`-18.00,", 1), sumHead, sumLine)},
		{"huge amount", bill(header, strings.Replace(row, "`18.00,", "`99999999999999999999.00,", 1), sumHead, sumLine)},
		{"no backtick", bill(header, strings.TrimPrefix(row, "`"), sumHead, sumLine)},
		{"missing field", bill(header, strings.TrimSuffix(row, ",`"), sumHead, sumLine)},
		{"missing column", bill(strings.Replace(header, "订单金额", "金额", 1), row, sumHead, sumLine)},
		{"duplicate column", bill(strings.Replace(header, "费率备注", "费率", 1), row, sumHead, sumLine)},
		{"bad time", bill(header, strings.Replace(row, "2026-03-14 11:30:05", "2026/03/14 11:30", 1), sumHead, sumLine)},
		{"bad count", bill(header, row, sumHead, strings.Replace(sumLine, "`1,", "`one,", 1))},
		{"blank line inside", bill(header, row, "", sumHead, sumLine)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, _, err := wechatpay.ParseBill(tc.data)
			check(t, err, want{apperr.Invalid, "wechatpay_bill_malformed"})
			if rows != nil {
				t.Errorf("rows = %v, want none with an error", rows)
			}
		})
	}
	if _, _, err := wechatpay.ParseBill(bill(header, row, sumHead, sumLine)); err != nil {
		t.Errorf("the well-formed base case: %v", err)
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in     string
		places int
		want   int64
		ok     bool
	}{
		{"18.00", 2, 1800, true},
		{"0.01", 2, 1, true},
		{"18", 2, 1800, true},
		{"18.5", 2, 1850, true},
		{"1234567.89", 2, 123456789, true},
		{"-0.27000", 5, -27000, true},
		{"0.00000", 5, 0, true},
		{"92233720368547758.07", 2, 9223372036854775807, true},
		{"92233720368547758.08", 2, 0, false},
		{"18.001", 2, 0, false},
		{"18.", 2, 0, false},
		{".5", 2, 0, false},
		{"", 2, 0, false},
		{"-", 2, 0, false},
		{"+1.00", 2, 0, false},
		{"1,000.00", 2, 0, false},
		{"１.00", 2, 0, false},
	}
	for _, tc := range tests {
		got, ok := wechatpay.ParseDecimal(tc.in, tc.places)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseDecimal(%q, %d) = %d, %v; want %d, %v", tc.in, tc.places, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseBill feeds ParseBill arbitrary files: it must never panic, must fail only with
// Invalid, and what it accepts must be self-consistent.
func FuzzParseBill(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("testdata", "tradebill_all.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add(bill(header, row, sumHead, sumLine))
	f.Add(bill(header, sumHead, "`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00"))
	f.Add([]byte(strings.ReplaceAll(string(sample), "\n", "\r\n")))
	f.Add(bill(header, strings.Replace(row, "`18.00,", "`18.001,", 1), sumHead, sumLine))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, summary, err := wechatpay.ParseBill(data)
		if err != nil {
			if k := apperr.KindOf(err); k != apperr.Invalid {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			return
		}
		if len(rows) != summary.Count {
			t.Fatalf("%d rows, summary counts %d", len(rows), summary.Count)
		}
		for i, r := range rows {
			if r.SettlementFen < 0 || r.OrderFen < 0 || r.RefundFen < 0 || r.RequestedRefundFen < 0 || r.CouponFen < 0 {
				t.Fatalf("row %d has a negative amount: %+v", i, r)
			}
			if r.TradeTime.IsZero() {
				t.Fatalf("row %d has no time", i)
			}
		}
		again, summary2, err := wechatpay.ParseBill(data)
		if err != nil || !cmp.Equal(rows, again) || summary != summary2 {
			t.Fatalf("a second parse differs")
		}
	})
}

// FuzzParseDecimal checks the decimal reader against math/big: whatever it accepts, it
// reads exactly.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"18.00", "-0.27000", "1234567.89", "0", "92233720368547758.07", "1.2.3", "-"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, places int) {
		places = (places%6 + 6) % 6
		v, ok := wechatpay.ParseDecimal(s, places)
		if !ok {
			return
		}
		r, good := new(big.Rat).SetString(s)
		if !good {
			t.Fatalf("accepted %q, which is no number", s)
		}
		scaled := r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)))
		if !scaled.IsInt() || scaled.Num().Cmp(big.NewInt(v)) != 0 {
			t.Fatalf("parseDecimal(%q, %d) = %d, want %s", s, places, v, scaled.RatString())
		}
	})
}
