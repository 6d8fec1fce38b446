package payment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/order"
)

// Refunder is WeChat Pay's refund API.
type Refunder interface {
	Refund(ctx context.Context, r RefundCall) (RefundState, error)
	QueryRefund(ctx context.Context, outRefundNo string) (RefundState, error)
}

// RefundCall asks WeChat to return RefundFen of the TotalFen paid for OutTradeNo.
type RefundCall struct {
	OutTradeNo  string
	OutRefundNo string
	RefundFen   int64
	TotalFen    int64
	Reason      string
}

// Refund states as WeChat reports them.
const (
	RefundSuccess    = "SUCCESS"
	RefundProcessing = "PROCESSING"
	RefundClosed     = "CLOSED"
	RefundAbnormal   = "ABNORMAL"
)

// RefundState is what WeChat says about one refund.
type RefundState struct {
	OutRefundNo string
	RefundID    string
	Status      string
}

// RefundLine asks for Qty units of an order line back.
type RefundLine struct {
	LineNo int `json:"line_no"`
	Qty    int `json:"qty"`
}

// RefundInput is a refund request: some lines, or (no lines) everything not yet refunded.
type RefundInput struct {
	Lines  []RefundLine `json:"lines"`
	Reason string       `json:"reason"`
}

// Refund is one refund of an order.
type Refund struct {
	ID          int64        `json:"id"`
	OrderID     int64        `json:"order_id"`
	OutRefundNo string       `json:"out_refund_no"`
	OutTradeNo  string       `json:"-"`
	PaidFen     int64        `json:"-"` // what the payment it returns was for
	AmountFen   int64        `json:"amount_fen"`
	Reason      string       `json:"reason"`
	Kind        string       `json:"kind"`   // order, or return (money that came for a cancelled order)
	Status      string       `json:"status"` // requested, processing, success, closed, abnormal
	Lines       []RefundLine `json:"lines"`
	CreatedAt   time.Time    `json:"created_at"`
}

// RefundStore keeps refunds. RequestRefund is idempotent on OutRefundNo; Settle applies
// a final state once: a success of an order refund also moves the order's refunded
// amount and reverses its subsidy in the same transaction.
type RefundStore interface {
	RequestRefund(ctx context.Context, r Refund, communityID int64) (Refund, error)
	RefundByNo(ctx context.Context, outRefundNo string) (Refund, error)
	MarkSent(ctx context.Context, outRefundNo, refundID string) error
	Settle(ctx context.Context, outRefundNo, status, refundID string) (bool, error)
	RefundsDue(ctx context.Context, sentBefore time.Time, limit int) ([]Refund, error)
}

// RefundOptions are the refund side of the service.
type RefundOptions struct {
	Store    RefundStore
	Refunder Refunder
}

// WithRefunds lets the service refund.
func (s *Service) WithRefunds(o RefundOptions) *Service {
	s.refunds = o
	return s
}

var errNoRefunds = apperr.New(apperr.FailedPrecondition, "refunds_not_configured", "暂不支持退款 / refunds are not set up")

// RequestRefund refunds (part of) a paid order: staff at any time, the diner who placed it
// only before pickup. key makes a repeated request the same refund. The money goes back
// through WeChat; the order and the subsidy change when WeChat confirms. Errors: Invalid,
// NotFound, FailedPrecondition, Conflict (more than was paid).
func (s *Service) RequestRefund(ctx context.Context, by order.Caller, staff bool, orderID int64, key string, in RefundInput) (Refund, error) {
	if s.refunds.Store == nil {
		return Refund{}, errNoRefunds
	}
	var f apperr.Fields
	key = strings.TrimSpace(key)
	f.Check(len(key) >= 8 && len(key) <= 128, "Idempotency-Key", "a header of 8 to 128 characters is required")
	in.Reason = strings.TrimSpace(in.Reason)
	f.Check(utf8.RuneCountInString(in.Reason) >= 2 && utf8.RuneCountInString(in.Reason) <= 80, "reason", "2 to 80 characters")
	o, _, err := s.orders.Payable(ctx, by.CommunityID, orderID)
	if err != nil {
		return Refund{}, err
	}
	if !staff && (by.Kind != "diner" || o.PlacedByKind != "diner" || o.PlacedByID != by.ID) {
		return Refund{}, ErrNotYourOrder
	}
	amount := int64(0)
	for i, l := range in.Lines {
		p := fmt.Sprintf("lines[%d]", i)
		j := l.LineNo - 1
		if j < 0 || j >= len(o.Lines) {
			f.Add(p+".line_no", "no such line")
			continue
		}
		f.Check(l.Qty >= 1 && l.Qty <= o.Lines[j].Qty, p+".qty", fmt.Sprintf("1 to %d", o.Lines[j].Qty))
		if l.Qty >= 1 && l.Qty <= o.Lines[j].Qty {
			amount += o.Lines[j].PayFen * int64(l.Qty) / int64(o.Lines[j].Qty)
		}
	}
	if err := f.Err(); err != nil {
		return Refund{}, err
	}
	switch o.Status {
	case order.Paid, order.InKitchen, order.Ready:
	case order.PickedUp:
		if !staff {
			return Refund{}, apperr.New(apperr.FailedPrecondition, "picked_up", "已取餐，请到前台办理退款 / the meal was picked up: ask at the counter")
		}
	default:
		return Refund{}, apperr.New(apperr.FailedPrecondition, "not_refundable", "订单未支付或已退款 / the order is not paid or already refunded")
	}
	if o.Payment != order.WeChat {
		return Refund{}, apperr.New(apperr.FailedPrecondition, "not_wechat", "现金订单请在前台退款 / cash orders are refunded at the counter")
	}
	if len(in.Lines) == 0 {
		amount = o.PayFen - o.RefundedFen
	}
	if amount <= 0 {
		return Refund{}, apperr.New(apperr.FailedPrecondition, "nothing_to_refund", "没有可退的金额 / nothing is left to refund")
	}
	sum := sha256.Sum256([]byte(key))
	r := Refund{OrderID: o.ID, OutRefundNo: fmt.Sprintf("RF%d-%s", o.ID, hex.EncodeToString(sum[:8])), AmountFen: amount,
		Reason: in.Reason, Kind: "order", Lines: in.Lines}
	r, err = s.refunds.Store.RequestRefund(ctx, r, by.CommunityID)
	if err != nil {
		return Refund{}, err
	}
	if r.Status == "requested" {
		if err := s.send(ctx, r); err != nil {
			return r, nil // the refund is recorded; the sweep sends it again
		}
		r.Status = "processing"
	}
	return r, nil
}

// send asks WeChat to refund r and records that it was asked.
func (s *Service) send(ctx context.Context, r Refund) error {
	st, err := s.refunds.Refunder.Refund(ctx, RefundCall{OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo,
		RefundFen: r.AmountFen, TotalFen: r.PaidFen, Reason: r.Reason})
	if err != nil {
		return fmt.Errorf("payment: refund %s: %w", r.OutRefundNo, err)
	}
	if err := s.refunds.Store.MarkSent(ctx, r.OutRefundNo, st.RefundID); err != nil {
		return err
	}
	if st.Status == RefundSuccess || st.Status == RefundClosed || st.Status == RefundAbnormal {
		_, err = s.refunds.Store.Settle(ctx, r.OutRefundNo, st.Status, st.RefundID)
	}
	return err
}

// RefundNotified applies a refund notification (already verified and decrypted). A
// duplicate changes nothing and reports false.
func (s *Service) RefundNotified(ctx context.Context, st RefundState) (bool, error) {
	if s.refunds.Store == nil {
		return false, errNoRefunds
	}
	if st.Status == RefundProcessing {
		return false, nil
	}
	return s.refunds.Store.Settle(ctx, st.OutRefundNo, st.Status, st.RefundID)
}

// SweepRefunds sends refunds not yet sent (among them the automatic returns of money
// that came for a cancelled order) and asks WeChat about those sent over a minute ago
// without a final answer. It returns how many it sent or settled.
func (s *Service) SweepRefunds(ctx context.Context, limit int) (int, error) {
	if s.refunds.Store == nil {
		return 0, nil
	}
	due, err := s.refunds.Store.RefundsDue(ctx, s.opt.Now().Add(-s.opt.QueryAfter), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range due {
		if r.Status == "requested" {
			if s.send(ctx, r) == nil {
				n++
			}
			continue
		}
		st, err := s.refunds.Refunder.QueryRefund(ctx, r.OutRefundNo)
		if err != nil || st.Status == RefundProcessing {
			continue
		}
		if changed, err := s.refunds.Store.Settle(ctx, r.OutRefundNo, st.Status, st.RefundID); err == nil && changed {
			n++
		}
	}
	return n, nil
}
