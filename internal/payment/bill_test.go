package payment_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/payment"
)

func TestBillReady(t *testing.T) {
	day := civil.Date{Year: 2026, Month: time.December, Day: 31}
	sh := civil.Shanghai()
	tests := []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2026, 12, 31, 23, 59, 59, 0, sh), false},
		{time.Date(2027, 1, 1, 9, 59, 59, 999, sh), false},
		{time.Date(2027, 1, 1, 10, 0, 0, 0, sh), true},
		{time.Date(2027, 1, 1, 1, 59, 59, 0, time.UTC), false}, // 09:59:59 in Shanghai
		{time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC), true},
		{time.Date(2027, 3, 1, 0, 0, 0, 0, sh), true},
	}
	for _, tc := range tests {
		if got := payment.BillReady(day, tc.now); got != tc.want {
			t.Errorf("BillReady(%s, %s) = %t, want %t", day, tc.now, got, tc.want)
		}
	}
}

// stubBills is a gateway and a store in memory.
type stubBills struct {
	raw    []byte
	rows   []payment.BillRow
	gwErr  error
	stored map[civil.Date]payment.Bill
}

func (s *stubBills) TradeBill(context.Context, civil.Date) ([]byte, []payment.BillRow, payment.BillSummary, error) {
	return s.raw, s.rows, payment.BillSummary{Count: len(s.rows)}, s.gwErr
}

func (s *stubBills) StoredBill(_ context.Context, _ string, day civil.Date) (payment.BillInfo, error) {
	b, ok := s.stored[day]
	if !ok {
		return payment.BillInfo{}, apperr.New(apperr.NotFound, "bill_not_found", "none")
	}
	return info(b), nil
}

func (s *stubBills) SaveBill(_ context.Context, b payment.Bill) (payment.BillInfo, bool, error) {
	if old, ok := s.stored[b.Day]; ok {
		return info(old), false, nil
	}
	s.stored[b.Day] = b
	return info(b), true, nil
}

func info(b payment.Bill) payment.BillInfo {
	return payment.BillInfo{MchID: b.MchID, Day: b.Day, SHA1: b.SHA1, Rows: len(b.Rows), Empty: len(b.Raw) == 0, FetchedAt: b.FetchedAt}
}

func TestBillsFetch(t *testing.T) {
	day := civil.Date{Year: 2026, Month: time.March, Day: 14}
	now := day.AddDays(1).Start().Add(11 * time.Hour)
	s := &stubBills{stored: make(map[civil.Date]payment.Bill), gwErr: apperr.New(apperr.NotFound, "wechatpay_no_statement_exist", "none")}
	bills := payment.NewBills(s, s, payment.BillOptions{MchID: "1900000109", Now: func() time.Time { return now }})
	ctx := context.Background()

	// No statement: stored empty, with the SHA1 of no bytes.
	res, err := bills.Fetch(ctx, day)
	if err != nil || res.Outcome != payment.BillStored || !res.Empty || res.SHA1 != "da39a3ee5e6b4b0d3255bfef95601890afd80709" {
		t.Fatalf("no statement: %+v, %v", res, err)
	}
	// WeChat fails: the error comes back as it was, nothing is stored.
	s.gwErr = apperr.New(apperr.Transient, "wechatpay_system_error", "try again")
	if _, err := bills.Fetch(ctx, day.AddDays(-1)); apperr.KindOf(err) != apperr.Transient {
		t.Fatalf("WeChat failing: %v, want Transient", err)
	}
	if _, ok := s.stored[day.AddDays(-1)]; ok {
		t.Fatal("a failed download was stored")
	}
	// WeChat now has a file for the day stored empty: a conflict.
	s.gwErr, s.raw, s.rows = nil, []byte("a bill"), []payment.BillRow{{OutTradeNo: "CT1"}}
	if _, err := bills.Fetch(ctx, day); !errors.Is(err, payment.ErrBillChanged) || apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("changed bill: %v, want ErrBillChanged", err)
	}
	// FetchYesterday finds the day stored and asks WeChat nothing, even though it differs.
	if res, err := bills.FetchYesterday(ctx, now); err != nil || res.Outcome != payment.BillUnchanged || !res.Empty {
		t.Fatalf("FetchYesterday of a stored day: %+v, %v", res, err)
	}
}
