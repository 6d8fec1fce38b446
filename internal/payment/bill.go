package payment

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// BillReadyHour is the Asia/Shanghai hour of the next day from which WeChat Pay serves a
// day's trade bill.
const BillReadyHour = 10

// BillGateway is WeChat Pay's trade bill (交易账单, bill_type ALL) as Bills needs it.
// TradeBill returns day's file, already checked against WeChat's SHA1, with its rows in file
// order and its summary. Errors: NotFound when WeChat has no bill for day (NO_STATEMENT_EXIST:
// no trades that day), Transient (not ready yet, hash mismatch, network), Invalid, Internal.
type BillGateway interface {
	TradeBill(ctx context.Context, day civil.Date) ([]byte, []BillRow, BillSummary, error)
}

// BillRow is one line of a trade bill: a payment (TradeState SUCCESS) or a refund
// (TradeState REFUND). Amounts are fen, except the fee.
type BillRow struct {
	TradeTime          time.Time
	AppID              string
	TransactionID      string
	OutTradeNo         string
	TradeState         string // SUCCESS, REFUND (and others WeChat may add)
	AmountFen          int64  // 订单金额: the order total; 0 on refund rows
	SettlementFen      int64  // 应结订单金额: paid less vouchers; 0 on refund rows
	RefundID           string // "" on payment rows
	OutRefundNo        string // "" on payment rows
	RefundFen          int64  // 退款金额
	RequestedRefundFen int64  // 申请退款金额
	RefundState        string // SUCCESS, PROCESSING, …; "" on payment rows
	FeeMilliFen        int64  // 手续费 in 1/1000 fen; negative on refund rows
}

// BillSummary is the summary line of a trade bill, in fen (the fee in 1/1000 fen).
type BillSummary struct {
	Count              int   // 总交易单数
	AmountFen          int64 // 订单总金额
	SettlementFen      int64 // 应结订单总金额
	RefundFen          int64 // 退款总金额
	RequestedRefundFen int64 // 申请退款总金额
	FeeMilliFen        int64 // 手续费总金额
}

// Bill is the trade bill of one merchant's Asia/Shanghai day as downloaded. Raw is empty
// (and Rows nil) when WeChat had no bill for the day because nothing was traded.
type Bill struct {
	MchID     string
	Day       civil.Date
	Raw       []byte
	SHA1      string // lower-case hex SHA1 of Raw
	Rows      []BillRow
	Summary   BillSummary
	FetchedAt time.Time
}

// BillInfo describes a stored trade bill.
type BillInfo struct {
	MchID     string
	Day       civil.Date
	SHA1      string // of the stored file
	Rows      int
	Empty     bool // WeChat had no bill: no trades that day
	FetchedAt time.Time
}

// BillStore keeps trade bills, at most one per merchant and day. StoredBill errors:
// NotFound (the day is not stored). SaveBill stores b and its rows in one transaction unless
// b's day is stored already, also by a concurrent caller: then it stores nothing. It returns
// the day's stored bill and whether it was b.
type BillStore interface {
	StoredBill(ctx context.Context, mchID string, day civil.Date) (BillInfo, error)
	SaveBill(ctx context.Context, b Bill) (stored BillInfo, created bool, err error)
}

// BillOutcome is what fetching a bill did.
type BillOutcome string

// The outcomes.
const (
	BillTooEarly  BillOutcome = "too_early" // before 10:00 Asia/Shanghai: nothing done
	BillStored    BillOutcome = "stored"    // downloaded and stored now
	BillUnchanged BillOutcome = "unchanged" // the day was stored already, identical: nothing changed
)

// BillResult is the outcome of a fetch and the day's stored bill (only Day when BillTooEarly).
type BillResult struct {
	Outcome BillOutcome
	BillInfo
}

// Errors of trade bills.
var (
	ErrBillNotReady = apperr.New(apperr.FailedPrecondition, "bill_not_ready",
		"账单次日 10 点后才能下载 / a day's bill can be downloaded from 10:00 the next day")
	ErrBillChanged = apperr.New(apperr.Conflict, "bill_changed",
		"微信支付账单与已保存的不一致 / WeChat Pay's bill differs from the one stored for that day")
)

// BillOptions configure Bills.
type BillOptions struct {
	MchID string           // the merchant whose bills are fetched
	Now   func() time.Time // time.Now when nil
}

// Bills downloads and keeps WeChat Pay's daily trade bills, so that payments can be
// reconciled with them. A bill never changes once stored.
type Bills struct {
	store BillStore
	gw    BillGateway
	opt   BillOptions
}

// NewBills returns Bills.
func NewBills(store BillStore, gw BillGateway, opt BillOptions) *Bills {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Bills{store: store, gw: gw, opt: opt}
}

// BillReady reports whether day's bill can be fetched at now: from 10:00 Asia/Shanghai of
// the next day.
func BillReady(day civil.Date, now time.Time) bool {
	return !now.Before(day.AddDays(1).Start().Add(BillReadyHour * time.Hour))
}

// FetchYesterday stores the trade bill of the Asia/Shanghai day before now, for the daily
// task. Before 10:00 it does nothing (BillTooEarly); a day stored already is not fetched
// again (BillUnchanged), so concurrent and repeated runs store it once. A day without
// trades is stored as an empty bill. Errors: Transient (retry), Internal.
func (s *Bills) FetchYesterday(ctx context.Context, now time.Time) (BillResult, error) {
	day := civil.Today(now).AddDays(-1)
	if !BillReady(day, now) {
		return BillResult{Outcome: BillTooEarly, BillInfo: BillInfo{MchID: s.opt.MchID, Day: day}}, nil
	}
	info, err := s.store.StoredBill(ctx, s.opt.MchID, day)
	switch {
	case err == nil:
		return BillResult{Outcome: BillUnchanged, BillInfo: info}, nil
	case apperr.KindOf(err) != apperr.NotFound:
		return BillResult{BillInfo: BillInfo{MchID: s.opt.MchID, Day: day}}, err
	}
	return s.fetch(ctx, day, now)
}

// Fetch downloads day's trade bill again, for staff, and stores it if the day is not stored
// yet. An identical bill changes nothing (BillUnchanged). Errors: Invalid (not a date),
// FailedPrecondition (ErrBillNotReady: before 10:00 of the next day), Conflict
// (ErrBillChanged: WeChat now serves a different file for a stored day), Transient, Internal.
func (s *Bills) Fetch(ctx context.Context, day civil.Date) (BillResult, error) {
	none := BillResult{BillInfo: BillInfo{MchID: s.opt.MchID, Day: day}}
	if !day.IsValid() {
		return none, fmt.Errorf("payment: trade bill: %w", civil.ErrDateInvalid)
	}
	now := s.opt.Now()
	if !BillReady(day, now) {
		return none, fmt.Errorf("payment: trade bill %s: %w", day, ErrBillNotReady)
	}
	return s.fetch(ctx, day, now)
}

// fetch downloads day's bill and stores it unless the day is stored already.
func (s *Bills) fetch(ctx context.Context, day civil.Date, now time.Time) (BillResult, error) {
	none := BillResult{BillInfo: BillInfo{MchID: s.opt.MchID, Day: day}}
	raw, rows, summary, err := s.gw.TradeBill(ctx, day)
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		raw, rows, summary = []byte{}, nil, BillSummary{}
	case err != nil:
		return none, fmt.Errorf("payment: trade bill %s: %w", day, err)
	}
	sum := sha1.Sum(raw)
	b := Bill{MchID: s.opt.MchID, Day: day, Raw: raw, SHA1: hex.EncodeToString(sum[:]), Rows: rows,
		Summary: summary, FetchedAt: now}
	stored, created, err := s.store.SaveBill(ctx, b)
	switch {
	case err != nil:
		return none, err
	case created:
		return BillResult{Outcome: BillStored, BillInfo: stored}, nil
	case stored.SHA1 == b.SHA1:
		return BillResult{Outcome: BillUnchanged, BillInfo: stored}, nil
	default:
		return BillResult{BillInfo: stored}, fmt.Errorf("payment: trade bill %s: stored SHA1 %s, WeChat now serves %s: %w",
			day, stored.SHA1, b.SHA1, ErrBillChanged)
	}
}
