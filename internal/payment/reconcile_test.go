package payment_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/payment"
)

var recDay = civil.Date{Year: 2026, Month: time.March, Day: 14}

// hms is h:m:s of day in Asia/Shanghai; s may be negative (the day before).
func hms(day civil.Date, h, m, s int) time.Time {
	return day.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
}

func paid(no string, fen int64) payment.BillRow {
	return payment.BillRow{TradeTime: hms(recDay, 12, 0, 0), OutTradeNo: no, TradeState: payment.StateSuccess, AmountFen: fen}
}

func refunded(no, refundNo string, fen int64, state string) payment.BillRow {
	return payment.BillRow{TradeTime: hms(recDay, 13, 0, 0), OutTradeNo: no, TradeState: payment.StateRefund,
		OutRefundNo: refundNo, RefundFen: fen, RefundState: state}
}

func ours(no, txid string, fen int64, at time.Time) payment.OurPayment {
	return payment.OurPayment{CommunityID: 1, OrderID: 10, TransactionID: txid, OutTradeNo: no, AmountFen: fen, At: at}
}

func ourRefund(no, refundNo string, fen int64, status string, settled time.Time) payment.OurRefund {
	return payment.OurRefund{CommunityID: 1, OrderID: 10, OutRefundNo: refundNo, OutTradeNo: no, AmountFen: fen,
		Status: status, SettledAt: settled}
}

// line is what a test checks of a finding; Detail is checked to contain detail.
type line struct {
	Kind      payment.FindingKind
	Ref       string
	Outcome   payment.MatchOutcome
	Our, Bill *int64
	Community int64
	Order     int64
	TradeNo   string
}

func fenp(v int64) *int64 { return &v }

func lines(fs []payment.Finding) []line {
	out := make([]line, len(fs))
	for i, f := range fs {
		out[i] = line{f.Kind, f.Ref, f.Outcome, f.OurFen, f.BillFen, f.CommunityID, f.OrderID, f.OutTradeNo}
	}
	return out
}

func TestReconcile(t *testing.T) {
	noon := hms(recDay, 12, 0, 0)
	tests := []struct {
		name    string
		in      payment.ReconcileInput
		want    []line
		details map[string]string // ref → a part of its detail
	}{
		{
			name: "matched",
			in: payment.ReconcileInput{Bill: []payment.BillRow{paid("CT1", 1200)},
				Payments: []payment.OurPayment{ours("CT1", "tx1", 1200, noon)}},
			want: []line{{payment.FindingPayment, "CT1", payment.Matched, fenp(1200), fenp(1200), 1, 10, "CT1"}},
		},
		{
			name: "amount mismatch",
			in: payment.ReconcileInput{Bill: []payment.BillRow{paid("CT1", 1200)},
				Payments: []payment.OurPayment{ours("CT1", "tx1", 1100, noon)}},
			want: []line{{payment.FindingPayment, "CT1", payment.AmountMismatch, fenp(1100), fenp(1200), 1, 10, "CT1"}},
		},
		{
			name: "on the bill, not ours: the order it was for, or none",
			in: payment.ReconcileInput{Bill: []payment.BillRow{paid("CT1", 1200), paid("XX9", 500)},
				Owners: map[string]payment.TradeOwner{"CT1": {CommunityID: 2, OrderID: 20}}},
			want: []line{
				{payment.FindingPayment, "CT1", payment.MissingOurs, nil, fenp(1200), 2, 20, "CT1"},
				{payment.FindingPayment, "XX9", payment.MissingOurs, nil, fenp(500), 0, 0, "XX9"},
			},
			details: map[string]string{"CT1": "notification lost", "XX9": "not an out_trade_no of ours"},
		},
		{
			name: "ours, not on the bill",
			in: payment.ReconcileInput{NextBillStored: true,
				Payments: []payment.OurPayment{ours("CT1", "tx1", 1200, noon)}},
			want: []line{{payment.FindingPayment, "CT1", payment.MissingWeChat, fenp(1200), nil, 1, 10, "CT1"}},
		},
		{
			name: "a duplicated notification is one payment",
			in: payment.ReconcileInput{Bill: []payment.BillRow{paid("CT1", 1200)},
				Payments: []payment.OurPayment{ours("CT1", "tx1", 1200, noon), ours("CT1", "tx1", 1200, noon)}},
			want: []line{{payment.FindingPayment, "CT1", payment.Matched, fenp(1200), fenp(1200), 1, 10, "CT1"}},
		},
		{
			name: "two WeChat payments of one number are added up",
			in: payment.ReconcileInput{Bill: []payment.BillRow{paid("CT1", 1200)},
				Payments: []payment.OurPayment{ours("CT1", "tx1", 1200, noon), ours("CT1", "tx2", 1200, noon)}},
			want:    []line{{payment.FindingPayment, "CT1", payment.AmountMismatch, fenp(2400), fenp(1200), 1, 10, "CT1"}},
			details: map[string]string{"CT1": "we recorded it 2 times"},
		},
		{
			name: "a line twice on the bill is added up",
			in: payment.ReconcileInput{Bill: []payment.BillRow{paid("CT1", 1200), paid("CT1", 1200)},
				Payments: []payment.OurPayment{ours("CT1", "tx1", 1200, noon)}},
			want:    []line{{payment.FindingPayment, "CT1", payment.AmountMismatch, fenp(1200), fenp(2400), 1, 10, "CT1"}},
			details: map[string]string{"CT1": "listed 2 times"},
		},
		{
			name: "23:59:59 ours, listed on the next day's bill: that day's finding",
			in: payment.ReconcileInput{NextBillStored: true,
				Payments:  []payment.OurPayment{ours("CT1", "tx1", 1200, hms(recDay, 23, 59, 59))},
				Elsewhere: map[payment.FindingKey]civil.Date{{Kind: payment.FindingPayment, Ref: "CT1"}: recDay.AddDays(1)}},
			want: []line{},
		},
		{
			name:    "23:59:59 ours, the next day's bill not stored yet",
			in:      payment.ReconcileInput{Payments: []payment.OurPayment{ours("CT1", "tx1", 1200, hms(recDay, 23, 59, 59))}},
			want:    []line{{payment.FindingPayment, "CT1", payment.MissingWeChat, fenp(1200), nil, 1, 10, "CT1"}},
			details: map[string]string{"CT1": "may be on the next day's bill"},
		},
		{
			name: "the bill lists ours of 23:59:59 the day before",
			in: payment.ReconcileInput{Bill: []payment.BillRow{paid("CT1", 1200)},
				Payments: []payment.OurPayment{ours("CT1", "tx1", 1200, hms(recDay, 0, 0, -1))}},
			want:    []line{{payment.FindingPayment, "CT1", payment.Matched, fenp(1200), fenp(1200), 1, 10, "CT1"}},
			details: map[string]string{"CT1": "our success time is on 2026-03-13"},
		},
		{
			name: "ours of another day that this bill does not list is not this day's",
			in:   payment.ReconcileInput{Payments: []payment.OurPayment{ours("CT1", "tx1", 1200, hms(recDay, 0, 0, -1))}},
			want: []line{},
		},
		{
			name: "partial refunds match one by one",
			in: payment.ReconcileInput{
				Bill: []payment.BillRow{refunded("CT1", "CT1R1", 300, "SUCCESS"), refunded("CT1", "CT1R2", 500, "SUCCESS")},
				Refunds: []payment.OurRefund{ourRefund("CT1", "CT1R2", 500, "success", noon),
					ourRefund("CT1", "CT1R1", 300, "success", noon)}},
			want: []line{
				{payment.FindingRefund, "CT1R1", payment.Matched, fenp(300), fenp(300), 1, 10, "CT1"},
				{payment.FindingRefund, "CT1R2", payment.Matched, fenp(500), fenp(500), 1, 10, "CT1"},
			},
		},
		{
			name: "a refund processing on both sides is compared, and says so",
			in: payment.ReconcileInput{Bill: []payment.BillRow{refunded("CT1", "CT1R1", 300, "PROCESSING")},
				Refunds: []payment.OurRefund{ourRefund("CT1", "CT1R1", 300, "processing", time.Time{})}},
			want:    []line{{payment.FindingRefund, "CT1R1", payment.Matched, fenp(300), fenp(300), 1, 10, "CT1"}},
			details: map[string]string{"CT1R1": "PROCESSING when the bill was made；我方退款尚未完成"},
		},
		{
			name: "a refund processing when the bill was made that succeeded since",
			in: payment.ReconcileInput{Bill: []payment.BillRow{refunded("CT1", "CT1R1", 300, "PROCESSING")},
				Refunds: []payment.OurRefund{ourRefund("CT1", "CT1R1", 300, "success", recDay.AddDays(2).Start())}},
			want: []line{{payment.FindingRefund, "CT1R1", payment.Matched, fenp(300), fenp(300), 1, 10, "CT1"}},
		},
		{
			name: "a refund we record as closed is missing ours",
			in: payment.ReconcileInput{Bill: []payment.BillRow{refunded("CT1", "CT1R1", 300, "SUCCESS")},
				Refunds: []payment.OurRefund{ourRefund("CT1", "CT1R1", 300, "closed", noon)}},
			want:    []line{{payment.FindingRefund, "CT1R1", payment.MissingOurs, nil, fenp(300), 1, 10, "CT1"}},
			details: map[string]string{"CT1R1": "our refund is closed"},
		},
		{
			name: "a refund on the bill we know nothing of, for an order of ours",
			in: payment.ReconcileInput{Bill: []payment.BillRow{refunded("CT1", "CT1R1", 300, "SUCCESS")},
				Owners: map[string]payment.TradeOwner{"CT1": {CommunityID: 3, OrderID: 30}}},
			want: []line{{payment.FindingRefund, "CT1R1", payment.MissingOurs, nil, fenp(300), 3, 30, "CT1"}},
		},
		{
			name: "a refund amount mismatch",
			in: payment.ReconcileInput{Bill: []payment.BillRow{refunded("CT1", "CT1R1", 300, "SUCCESS")},
				Refunds: []payment.OurRefund{ourRefund("CT1", "CT1R1", 350, "success", noon)}},
			want: []line{{payment.FindingRefund, "CT1R1", payment.AmountMismatch, fenp(350), fenp(300), 1, 10, "CT1"}},
		},
		{
			name: "our refund that succeeded on the day: missing on WeChat unless another bill lists it",
			in: payment.ReconcileInput{Refunds: []payment.OurRefund{
				ourRefund("CT1", "CT1R1", 300, "success", noon),
				ourRefund("CT1", "CT1R2", 200, "success", noon),
				ourRefund("CT1", "CT1R3", 100, "processing", time.Time{}), // not final: not yet anyone's
				ourRefund("CT1", "CT1R4", 100, "success", hms(recDay, 0, 0, -1)),
			}, Elsewhere: map[payment.FindingKey]civil.Date{{Kind: payment.FindingRefund, Ref: "CT1R2"}: recDay.AddDays(-1)}},
			want: []line{{payment.FindingRefund, "CT1R1", payment.MissingWeChat, fenp(300), nil, 1, 10, "CT1"}},
		},
		{
			name: "payments before refunds, by number",
			in: payment.ReconcileInput{
				Bill:     []payment.BillRow{paid("CT2", 100), refunded("CT1", "CT1R1", 50, "SUCCESS"), paid("CT1", 100)},
				Payments: []payment.OurPayment{ours("CT2", "tx2", 100, noon), ours("CT1", "tx1", 100, noon)},
				Refunds:  []payment.OurRefund{ourRefund("CT1", "CT1R1", 50, "success", noon)}},
			want: []line{
				{payment.FindingPayment, "CT1", payment.Matched, fenp(100), fenp(100), 1, 10, "CT1"},
				{payment.FindingPayment, "CT2", payment.Matched, fenp(100), fenp(100), 1, 10, "CT2"},
				{payment.FindingRefund, "CT1R1", payment.Matched, fenp(50), fenp(50), 1, 10, "CT1"},
			},
		},
	}
	checked := hms(recDay.AddDays(1), 10, 15, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.MchID, tc.in.Day, tc.in.CheckedAt = "1900000109", recDay, checked
			got := payment.Reconcile(tc.in)
			if diff := cmp.Diff(tc.want, lines(got)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			for _, f := range got {
				if f.MchID != "1900000109" || f.Day != recDay || !f.CheckedAt.Equal(checked) {
					t.Errorf("%s: merchant %s, day %s, checked %s", f.Ref, f.MchID, f.Day, f.CheckedAt)
				}
				if want, ok := tc.details[f.Ref]; ok && !strings.Contains(f.Detail, want) {
					t.Errorf("%s: detail %q, want it to say %q", f.Ref, f.Detail, want)
				}
			}
			if again := payment.Reconcile(tc.in); !cmp.Equal(got, again) {
				t.Error("the same input gave other findings")
			}
		})
	}
}

func TestCountOutcomes(t *testing.T) {
	fs := []payment.Finding{{Outcome: payment.Matched}, {Outcome: payment.Matched}, {Outcome: payment.MissingOurs},
		{Outcome: payment.MissingWeChat}, {Outcome: payment.AmountMismatch}, {Outcome: payment.AmountMismatch}}
	want := payment.OutcomeCounts{Matched: 2, MissingOurs: 1, MissingWeChat: 1, AmountMismatch: 2}
	if got := payment.CountOutcomes(fs); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
}

// stubReconcile is a ReconcileStore that records what it is asked.
type stubReconcile struct {
	due     []civil.Date
	failOn  civil.Date
	ran     []civil.Date
	from    civil.Date
	noted   payment.Resolution
	scopeOf int64
}

func (s *stubReconcile) ReconcileDay(_ context.Context, mchID string, day civil.Date, at time.Time) (payment.ReconcileRun, error) {
	if day == s.failOn {
		return payment.ReconcileRun{}, payment.ErrNoBill
	}
	s.ran = append(s.ran, day)
	return payment.ReconcileRun{MchID: mchID, Day: day, CheckedAt: at}, nil
}

func (s *stubReconcile) DueDays(_ context.Context, _ string, from civil.Date, _ time.Duration, _ int) ([]civil.Date, error) {
	s.from = from
	return s.due, nil
}

func (s *stubReconcile) Findings(context.Context, string, civil.Date, civil.Date, payment.ReconcileScope) ([]payment.Finding, []payment.BillDay, error) {
	return []payment.Finding{{Outcome: payment.MissingOurs}, {Outcome: payment.Matched}}, nil, nil
}

func (s *stubReconcile) Resolve(_ context.Context, r payment.Resolution, scope payment.ReconcileScope) (payment.Resolution, error) {
	s.noted, s.scopeOf = r, scope.CommunityID
	return r, nil
}

func TestRunDueGoesOnPastAFailingDay(t *testing.T) {
	now := hms(recDay.AddDays(1), 10, 15, 0)
	st := &stubReconcile{due: []civil.Date{recDay.AddDays(-2), recDay.AddDays(-1), recDay}, failOn: recDay.AddDays(-1)}
	r := payment.NewReconciliation(st, payment.ReconcileOptions{MchID: "1900000109", Now: func() time.Time { return now }})
	runs, err := r.RunDue(context.Background())
	if !errors.Is(err, payment.ErrNoBill) {
		t.Errorf("err = %v, want the failing day's", err)
	}
	if len(runs) != 2 || runs[0].Day != recDay.AddDays(-2) || runs[1].Day != recDay {
		t.Errorf("runs %+v, want the two other days", runs)
	}
	if want := recDay.AddDays(1 - 40); st.from != want {
		t.Errorf("looked back to %s, want %s", st.from, want)
	}
}

func TestReportAndResolveCheckTheirInput(t *testing.T) {
	st := &stubReconcile{}
	now := hms(recDay.AddDays(1), 10, 15, 0)
	r := payment.NewReconciliation(st, payment.ReconcileOptions{MchID: "1900000109", Now: func() time.Time { return now }})
	ctx := context.Background()
	scope := payment.ReconcileScope{CommunityID: 7}

	rep, err := r.Report(ctx, scope, recDay, recDay.AddDays(30))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts != (payment.OutcomeCounts{Matched: 1, MissingOurs: 1}) || len(rep.Days) != 0 || rep.Days == nil {
		t.Errorf("report %+v", rep)
	}
	for _, tc := range []struct {
		name     string
		from, to civil.Date
	}{
		{"32 days", recDay, recDay.AddDays(31)},
		{"backwards", recDay, recDay.AddDays(-1)},
		{"no date", civil.Date{}, recDay},
	} {
		if _, err := r.Report(ctx, scope, tc.from, tc.to); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%s: %v, want Invalid", tc.name, err)
		}
	}

	bad := []payment.ResolutionInput{
		{Kind: "order", Ref: "CT1", Note: "已核实"},
		{Kind: payment.FindingPayment, Ref: " ", Note: "已核实"},
		{Kind: payment.FindingPayment, Ref: "CT1", Note: "好"},
		{Kind: payment.FindingPayment, Ref: "CT1", Note: strings.Repeat("长", 501)},
	}
	for _, in := range bad {
		if _, err := r.Resolve(ctx, scope, recDay, in); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%+v: %v, want Invalid", in, err)
		}
	}
	res, err := r.Resolve(ctx, scope, recDay, payment.ResolutionInput{Kind: payment.FindingRefund, Ref: " CT1R1 ", Note: " 微信已退回 "})
	if err != nil {
		t.Fatal(err)
	}
	want := payment.Resolution{MchID: "1900000109", Day: recDay, Kind: payment.FindingRefund, Ref: "CT1R1", Note: "微信已退回", NotedAt: now}
	if diff := cmp.Diff(want, res); diff != "" || st.scopeOf != 7 {
		t.Errorf("resolution (-want +got):\n%s\ncommunity %d", diff, st.scopeOf)
	}
	if _, err := r.RunDay(ctx, civil.Date{Year: 2026, Month: 2, Day: 30}); apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("RunDay of 30 February: %v", err)
	}
}
