package paymentdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// BillStore implements payment.BillStore on the trade_bills and trade_bill_rows tables.
type BillStore struct{ db *bun.DB }

var _ payment.BillStore = (*BillStore)(nil)

// NewBillStore returns a BillStore on db.
func NewBillStore(db *bun.DB) *BillStore { return &BillStore{db: db} }

// billRowsPerInsert bounds the size of one INSERT of bill lines.
const billRowsPerInsert = 500

type tradeBill struct {
	bun.BaseModel      `bun:"table:trade_bills,alias:tb"`
	MchID              string        `bun:"mchid,pk"`
	Day                postgres.Date `bun:"day,pk,type:date"`
	Raw                []byte        `bun:"raw,notnull"`
	SHA1               string        `bun:"sha1"`
	RowCount           int           `bun:"row_count"`
	AmountFen          int64         `bun:"amount_fen"`
	SettlementFen      int64         `bun:"settlement_fen"`
	RefundFen          int64         `bun:"refund_fen"`
	RequestedRefundFen int64         `bun:"requested_refund_fen"`
	FeeMilliFen        int64         `bun:"fee_milli_fen"`
	FetchedAt          time.Time     `bun:"fetched_at"`
}

type tradeBillLine struct {
	bun.BaseModel      `bun:"table:trade_bill_rows"`
	MchID              string        `bun:"mchid,pk"`
	Day                postgres.Date `bun:"day,pk,type:date"`
	LineNo             int           `bun:"line_no,pk"`
	TradeTime          time.Time     `bun:"trade_time"`
	AppID              string        `bun:"appid"`
	TransactionID      string        `bun:"transaction_id"`
	OutTradeNo         string        `bun:"out_trade_no"`
	TradeState         string        `bun:"trade_state"`
	AmountFen          int64         `bun:"amount_fen"`
	SettlementFen      int64         `bun:"settlement_fen"`
	RefundID           string        `bun:"refund_id,nullzero"`
	OutRefundNo        string        `bun:"out_refund_no,nullzero"`
	RefundFen          int64         `bun:"refund_fen"`
	RequestedRefundFen int64         `bun:"requested_refund_fen"`
	RefundState        string        `bun:"refund_state,nullzero"`
	FeeMilliFen        int64         `bun:"fee_milli_fen"`
}

func (b tradeBill) info() payment.BillInfo {
	return payment.BillInfo{MchID: b.MchID, Day: civil.Date(b.Day), SHA1: b.SHA1, Rows: b.RowCount,
		Empty: len(b.Raw) == 0, FetchedAt: b.FetchedAt}
}

// billInfo is a stored bill without its file.
type billInfo struct {
	MchID     string        `bun:"mchid"`
	Day       postgres.Date `bun:"day"`
	SHA1      string        `bun:"sha1"`
	RowCount  int           `bun:"row_count"`
	Empty     bool          `bun:"empty"`
	FetchedAt time.Time     `bun:"fetched_at"`
}

// StoredBill implements payment.BillStore.
func (s *BillStore) StoredBill(ctx context.Context, mchID string, day civil.Date) (payment.BillInfo, error) {
	info, err := storedBill(ctx, s.db, mchID, day)
	if postgres.IsNoRows(err) {
		return payment.BillInfo{}, apperr.New(apperr.NotFound, "bill_not_found", "该日账单尚未下载 / the bill of that day is not stored")
	}
	if err != nil {
		return payment.BillInfo{}, fmt.Errorf("paymentdb: stored bill %s of %s: %w", day, mchID, err)
	}
	return info, nil
}

func storedBill(ctx context.Context, db bun.IDB, mchID string, day civil.Date) (payment.BillInfo, error) {
	var r billInfo
	err := db.NewSelect().Model((*tradeBill)(nil)).Column("mchid", "day", "sha1", "row_count", "fetched_at").
		ColumnExpr("length(raw) = 0 AS empty").Where("mchid = ? AND day = ?", mchID, postgres.Date(day)).Scan(ctx, &r)
	return payment.BillInfo{MchID: r.MchID, Day: civil.Date(r.Day), SHA1: r.SHA1, Rows: r.RowCount, Empty: r.Empty,
		FetchedAt: r.FetchedAt}, err
}

// SaveBill implements payment.BillStore: the bill row is inserted with ON CONFLICT DO
// NOTHING, so of concurrent callers one stores the day and the others wait for its commit
// and then find its bill.
func (s *BillStore) SaveBill(ctx context.Context, b payment.Bill) (payment.BillInfo, bool, error) {
	raw, fetched := b.Raw, b.FetchedAt
	if raw == nil {
		raw = []byte{}
	}
	if fetched.IsZero() {
		fetched = time.Now()
	}
	head := tradeBill{MchID: b.MchID, Day: postgres.Date(b.Day), Raw: raw, SHA1: b.SHA1, RowCount: len(b.Rows),
		AmountFen: b.Summary.AmountFen, SettlementFen: b.Summary.SettlementFen, RefundFen: b.Summary.RefundFen,
		RequestedRefundFen: b.Summary.RequestedRefundFen, FeeMilliFen: b.Summary.FeeMilliFen, FetchedAt: fetched}
	var (
		info    payment.BillInfo
		created bool
	)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&head).On("CONFLICT (mchid, day) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			info, err = storedBill(ctx, tx, b.MchID, b.Day)
			return err
		}
		lines := make([]tradeBillLine, len(b.Rows))
		for i, r := range b.Rows {
			lines[i] = tradeBillLine{MchID: b.MchID, Day: postgres.Date(b.Day), LineNo: i + 1, TradeTime: r.TradeTime,
				AppID: r.AppID, TransactionID: r.TransactionID, OutTradeNo: r.OutTradeNo, TradeState: r.TradeState,
				AmountFen: r.AmountFen, SettlementFen: r.SettlementFen, RefundID: r.RefundID, OutRefundNo: r.OutRefundNo,
				RefundFen: r.RefundFen, RequestedRefundFen: r.RequestedRefundFen, RefundState: r.RefundState,
				FeeMilliFen: r.FeeMilliFen}
		}
		for start := 0; start < len(lines); start += billRowsPerInsert {
			chunk := lines[start:min(start+billRowsPerInsert, len(lines))]
			if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
				return err
			}
		}
		info, created = head.info(), true
		return nil
	})
	if err != nil {
		return payment.BillInfo{}, false, fmt.Errorf("paymentdb: save bill %s of %s: %w", b.Day, b.MchID, err)
	}
	return info, created, nil
}
