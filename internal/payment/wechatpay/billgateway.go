package wechatpay

import (
	"context"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/payment"
)

// BillGateway returns c as the trade bill gateway of payment.Bills.
func (c *Client) BillGateway() payment.BillGateway { return billGateway{c} }

type billGateway struct{ c *Client }

func (g billGateway) TradeBill(ctx context.Context, day civil.Date) ([]byte, []payment.BillRow, payment.BillSummary, error) {
	raw, rows, sum, err := g.c.TradeBill(ctx, day)
	if err != nil {
		return nil, nil, payment.BillSummary{}, err
	}
	out := make([]payment.BillRow, len(rows))
	for i, r := range rows {
		out[i] = payment.BillRow{
			TradeTime: r.TradeTime, AppID: r.AppID, TransactionID: r.TransactionID, OutTradeNo: r.OutTradeNo,
			TradeState: r.TradeState, AmountFen: r.OrderFen, SettlementFen: r.SettlementFen,
			RefundID: r.RefundID, OutRefundNo: r.OutRefundNo, RefundFen: r.RefundFen,
			RequestedRefundFen: r.RequestedRefundFen, RefundState: r.RefundStatus, FeeMilliFen: r.FeeMilliFen,
		}
	}
	return raw, out, payment.BillSummary{Count: sum.Count, AmountFen: sum.OrderFen, SettlementFen: sum.SettlementFen,
		RefundFen: sum.RefundFen, RequestedRefundFen: sum.RequestedRefundFen, FeeMilliFen: sum.FeeMilliFen}, nil
}
