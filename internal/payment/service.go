package payment

import (
	"context"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/order"
)

// Orders is what payment reads of orders: the order and its payer's openid.
type Orders interface {
	Payable(ctx context.Context, communityID, orderID int64) (order.Order, string, error)
}

// Options tune the service.
type Options struct {
	Merchant   Merchant
	QueryAfter time.Duration // how long to wait for a notification before asking WeChat (1 minute)
	Now        func() time.Time
}

// Service takes payments for orders.
type Service struct {
	orders  Orders
	store   Store
	gw      Gateway
	opt     Options
	refunds RefundOptions
}

// NewService returns a Service.
func NewService(orders Orders, store Store, gw Gateway, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.QueryAfter <= 0 {
		opt.QueryAfter = time.Minute
	}
	return &Service{orders: orders, store: store, gw: gw, opt: opt}
}

// Pay starts (or resumes) the WeChat payment of an order the diner placed and returns
// the wx.requestPayment parameters. Calling it again while the order awaits payment
// reuses the same out_trade_no, so WeChat returns the same prepay. Errors: NotFound
// (not the caller's order), FailedPrecondition (nothing to pay, deadline passed, no
// WeChat payer), Transient (WeChat unreachable).
func (s *Service) Pay(ctx context.Context, by order.Caller, orderID int64) (RequestPayment, error) {
	o, openid, err := s.orders.Payable(ctx, by.CommunityID, orderID)
	if err != nil {
		return RequestPayment{}, err
	}
	if by.Kind != "diner" || o.PlacedByKind != "diner" || o.PlacedByID != by.ID {
		return RequestPayment{}, ErrNotYourOrder
	}
	now := s.opt.Now()
	if o.Status != order.Pending || o.PayFen <= 0 || !now.Before(o.PayDeadline) {
		return RequestPayment{}, ErrNotPayable
	}
	if openid == "" {
		return RequestPayment{}, ErrNoWeChat
	}
	in, err := s.store.OpenIntent(ctx, o.ID)
	if err != nil && apperr.KindOf(err) != apperr.NotFound {
		return RequestPayment{}, err
	}
	if err != nil || in.AmountFen != o.PayFen || in.PayerOpenID != openid {
		in, err = s.store.NewIntent(ctx, Intent{CommunityID: o.CommunityID, OrderID: o.ID, AmountFen: o.PayFen,
			PayerOpenID: openid, ExpiresAt: o.PayDeadline, CreatedAt: now})
		if err != nil {
			return RequestPayment{}, err
		}
	}
	rp, err := s.gw.Prepay(ctx, PrepayRequest{OutTradeNo: in.OutTradeNo, AmountFen: in.AmountFen, OpenID: openid,
		Expire: in.ExpiresAt, Description: fmt.Sprintf("社区食堂订单 %d", o.ID)})
	if err != nil {
		return RequestPayment{}, fmt.Errorf("payment: prepay order %d: %w", o.ID, err)
	}
	if rp.PrepayID != in.PrepayID {
		if err := s.store.SetPrepay(ctx, in.ID, rp.PrepayID); err != nil {
			return RequestPayment{}, err
		}
	}
	return rp, nil
}

// Notified records a payment WeChat notified (already verified and decrypted).
func (s *Service) Notified(ctx context.Context, t Transaction) (Outcome, error) {
	if t.State != StateSuccess {
		return "", apperr.New(apperr.Invalid, "not_a_success", "notification of trade state "+t.State)
	}
	return s.store.Record(ctx, t, FromNotification, s.opt.Merchant)
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	Queried, Credited, Closed, Failed int
}

// Sweep asks WeChat about open payments that have had no notification for QueryAfter,
// at most limit of them (each query costs a signature), with a backoff per payment:
// a payment WeChat reports is recorded; an unpaid one past its deadline is closed at
// WeChat so it can no longer be paid (the order itself expires on its own schedule).
func (s *Service) Sweep(ctx context.Context, limit int) (SweepResult, error) {
	var res SweepResult
	now := s.opt.Now()
	due, err := s.store.DueForQuery(ctx, now.Add(-s.opt.QueryAfter), now, limit)
	if err != nil {
		return res, err
	}
	for _, in := range due {
		res.Queried++
		t, err := s.gw.Query(ctx, in.OutTradeNo)
		switch {
		case apperr.KindOf(err) == apperr.NotFound && !now.Before(in.ExpiresAt):
			// WeChat never saw it (the diner did not open the pay sheet): nothing to close.
			err = s.store.CloseIntent(ctx, in.ID)
		case err != nil:
		case t.State == StateSuccess:
			var out Outcome
			if out, err = s.store.Record(ctx, t, FromQuery, s.opt.Merchant); err == nil && out == Credited {
				res.Credited++
			}
		case (t.State == StateNotPay || t.State == StatePayError) && !now.Before(in.ExpiresAt):
			if err = s.gw.Close(ctx, in.OutTradeNo); err == nil || apperr.KindOf(err) == apperr.FailedPrecondition {
				err = s.store.CloseIntent(ctx, in.ID)
				res.Closed++
			}
		case t.State == StateClosed:
			err = s.store.CloseIntent(ctx, in.ID)
		}
		if err != nil {
			res.Failed++
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
		}
		if merr := s.store.MarkQueried(ctx, in.ID, now); merr != nil {
			return res, merr
		}
	}
	return res, nil
}

// NeedingAttention lists the community's payments staff must look at: those flagged
// (amount, merchant or app did not match) and those sent back (the order was cancelled).
func (s *Service) NeedingAttention(ctx context.Context, communityID int64) ([]Payment, error) {
	return s.store.NeedingAttention(ctx, communityID, 200)
}
