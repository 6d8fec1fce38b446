package monthgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/settlement"
)

// LateRefund is a refund made after the month closed, of an order of the month.
type LateRefund struct {
	OrderID     int64
	CanteenID   int64
	OperatorID  int64 // the canteen's operator; 0: the community
	OutRefundNo string
	RefundFen   int64           // what went back to the diner
	ReversedFen map[int64]int64 // the subsidy given back, by sponsor id (positive)
	At          time.Time       // when it succeeded
}

// LateRefund refunds, in full and at at (after the month, typically after its close),
// a rider's WeChat order of the month that had a subsidy, through the refund path: the
// payment service asks the fake WeChat Pay, which settles it and sends the refund
// notification. With Options.Bills, the bill of at's day is then stored and reconciled.
func (w *World) LateRefund(ctx context.Context, at time.Time) (LateRefund, error) {
	o := w.cs.late
	if o.ID == 0 {
		return LateRefund{}, errors.New("monthgen: the month has no rider order to refund late")
	}
	if !w.Month.Before(settlement.MonthAt(at)) {
		return LateRefund{}, fmt.Errorf("monthgen: a late refund at %s is not after %s", at, w.Month)
	}
	out := LateRefund{OrderID: o.ID, CanteenID: o.CanteenID, ReversedFen: map[int64]int64{}, At: at}
	for _, c := range w.Canteens {
		if c.ID == o.CanteenID {
			out.OperatorID = c.OperatorID
		}
	}
	err := w.during(ctx, at, func() error {
		r, err := w.refundCore(ctx, w.dinerCaller(w.cs.riders[0]), false, o, nil, false)
		out.OutRefundNo, out.RefundFen = r.OutRefundNo, r.AmountFen
		return err
	})
	if err != nil {
		return out, fmt.Errorf("monthgen: late refund: %w", err)
	}
	var rows []struct {
		SponsorID int64 `bun:"sponsor_id"`
		Fen       int64 `bun:"fen"`
	}
	if err := w.DB.NewRaw(`SELECT p.sponsor_id, -sum(le.amount_fen) AS fen FROM ledger_entries le
		JOIN pledges p ON p.id = le.pledge_id
		WHERE le.community_id = ? AND le.order_id = ? AND le.kind = 'reverse' AND le.account = 'spent'
		GROUP BY p.sponsor_id`, w.CommunityID, o.ID).Scan(ctx, &rows); err != nil {
		return out, err
	}
	for _, r := range rows {
		out.ReversedFen[r.SponsorID] = r.Fen
	}
	if w.opt.Bills {
		if err := w.reconcileDays(ctx, []civil.Date{civil.Today(at)}); err != nil {
			return out, fmt.Errorf("monthgen: late refund: %w", err)
		}
	}
	return out, nil
}
