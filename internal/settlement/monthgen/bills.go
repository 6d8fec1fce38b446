package monthgen

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
)

// billGateway serves the trade bill WeChat Pay would have made for a day: a SUCCESS line
// for every payment it took that day (by its success time) and a REFUND line for every
// refund asked for that day, in WeChat's file format (the fake WeChat Pay's), parsed by
// the real parser. The fake holds only the core's trades, so the bill is written from our
// records of what WeChat said; reconciliation then checks the records against it.
type billGateway struct{ w *World }

// The columns of a trade bill of type ALL and of its summary, as WeChat Pay writes them.
const (
	billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态," +
		"付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态," +
		"商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
	billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)

// feeFen is WeChat Pay's 0.60% fee on fen, rounded half up.
func feeFen(fen int64) int64 { return (fen*6 + 500) / 1000 }

// yuan writes fen as yuan with two decimals: 1800 → "18.00", -27 → "-0.27".
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

func (g billGateway) TradeBill(ctx context.Context, day civil.Date) ([]byte, []payment.BillRow, payment.BillSummary, error) {
	w := g.w
	from, to := day.Start(), day.AddDays(1).Start()
	var pays []struct {
		At            time.Time `bun:"at"`
		TransactionID string    `bun:"transaction_id"`
		OutTradeNo    string    `bun:"out_trade_no"`
		OpenID        string    `bun:"payer_openid"`
		AppID         string    `bun:"appid"`
		Fen           int64     `bun:"amount_fen"`
	}
	if err := w.DB.NewRaw(`SELECT success_time AS at, transaction_id, out_trade_no, payer_openid, appid, amount_fen FROM payments
		WHERE mchid = ? AND success_time >= ? AND success_time < ? ORDER BY success_time, id`, w.MchID, from, to).Scan(ctx, &pays); err != nil {
		return nil, nil, payment.BillSummary{}, err
	}
	var refunds []struct {
		At            time.Time `bun:"at"`
		TransactionID string    `bun:"transaction_id"`
		OutTradeNo    string    `bun:"out_trade_no"`
		OpenID        string    `bun:"payer_openid"`
		AppID         string    `bun:"appid"`
		RefundID      string    `bun:"refund_id"`
		OutRefundNo   string    `bun:"out_refund_no"`
		Fen           int64     `bun:"amount_fen"`
		Status        string    `bun:"status"`
	}
	if err := w.DB.NewRaw(`SELECT r.created_at AS at, p.transaction_id, p.out_trade_no, p.payer_openid, p.appid, r.refund_id,
			r.out_refund_no, r.amount_fen, upper(r.status) AS status
		FROM refunds r JOIN payments p ON p.id = r.payment_id
		WHERE p.mchid = ? AND r.status IN ('processing', 'success') AND r.created_at >= ? AND r.created_at < ?
		ORDER BY r.created_at, r.id`, w.MchID, from, to).Scan(ctx, &refunds); err != nil {
		return nil, nil, payment.BillSummary{}, err
	}
	if len(pays)+len(refunds) == 0 {
		return nil, nil, payment.BillSummary{}, apperr.New(apperr.NotFound, "NO_STATEMENT_EXIST", "no trades that day")
	}
	var b strings.Builder
	b.WriteString(billHeader + "\n")
	line := func(fields ...string) { b.WriteString("`" + strings.Join(fields, ",`") + "\n") }
	var settled, refunded, fees, ordered, requested int64
	i, j := 0, 0
	for i < len(pays) || j < len(refunds) {
		if j == len(refunds) || i < len(pays) && !refunds[j].At.Before(pays[i].At) {
			p := pays[i]
			fee := feeFen(p.Fen)
			settled, fees, ordered = settled+p.Fen, fees+fee, ordered+p.Fen
			line(p.At.In(cst).Format(time.DateTime), p.AppID, w.MchID, "0", "", p.TransactionID, p.OutTradeNo, p.OpenID,
				"JSAPI", "SUCCESS", "OTHERS", "CNY", yuan(p.Fen), "0.00", "0", "0", "0.00", "0.00", "", "",
				"社区食堂订单", "", yuan(fee)+"000", "0.60%", yuan(p.Fen), "0.00", "")
			i++
			continue
		}
		r := refunds[j]
		fee := -feeFen(r.Fen)
		refunded, fees, requested = refunded+r.Fen, fees+fee, requested+r.Fen
		line(r.At.In(cst).Format(time.DateTime), r.AppID, w.MchID, "0", "", r.TransactionID, r.OutTradeNo, r.OpenID,
			"JSAPI", "REFUND", "OTHERS", "CNY", "0.00", "0.00", r.RefundID, r.OutRefundNo, yuan(r.Fen), "0.00", "ORIGINAL", r.Status,
			"社区食堂订单", "", yuan(fee)+"000", "0.60%", "0.00", yuan(r.Fen), "")
		j++
	}
	b.WriteString(billSummaryHeader + "\n")
	fmt.Fprintf(&b, "`%d,`%s,`%s,`0.00,`%s,`%s,`%s\n", len(pays)+len(refunds), yuan(settled), yuan(refunded), yuan(fees)+"000",
		yuan(ordered), yuan(requested))
	raw := []byte(b.String())
	rows, sum, err := wechatpay.ParseBill(raw)
	if err != nil {
		return nil, nil, payment.BillSummary{}, err
	}
	out := make([]payment.BillRow, len(rows))
	for i, r := range rows {
		out[i] = payment.BillRow{TradeTime: r.TradeTime, AppID: r.AppID, TransactionID: r.TransactionID, OutTradeNo: r.OutTradeNo,
			TradeState: r.TradeState, AmountFen: r.OrderFen, SettlementFen: r.SettlementFen, RefundID: r.RefundID,
			OutRefundNo: r.OutRefundNo, RefundFen: r.RefundFen, RequestedRefundFen: r.RequestedRefundFen,
			RefundState: r.RefundStatus, FeeMilliFen: r.FeeMilliFen}
	}
	return raw, out, payment.BillSummary{Count: sum.Count, AmountFen: sum.OrderFen, SettlementFen: sum.SettlementFen,
		RefundFen: sum.RefundFen, RequestedRefundFen: sum.RequestedRefundFen, FeeMilliFen: sum.FeeMilliFen}, nil
}

// billsOfMonth fetches the trade bill of every day of the month at 10:15 the next day,
// stores it (payment.Bills), then reconciles every day (payment.Reconciliation).
func (w *World) billsOfMonth(ctx context.Context) error {
	var days []civil.Date
	for d := w.Month.First(); !d.After(w.Month.Last()); d = d.AddDays(1) {
		days = append(days, d)
	}
	return w.reconcileDays(ctx, days)
}

// reconcileDays fetches and stores the bills of days, then reconciles each.
func (w *World) reconcileDays(ctx context.Context, days []civil.Date) error {
	for _, d := range days {
		w.Clock.Set(shanghai(d.AddDays(1), 10, 15, 0))
		res, err := w.bills.Fetch(ctx, d)
		if err != nil {
			return fmt.Errorf("bill of %s: %w", d, err)
		}
		w.Stats.BillDays++
		w.Stats.BillRows += res.Rows
	}
	for _, d := range days {
		if _, err := w.recon.RunDay(ctx, d); err != nil {
			return fmt.Errorf("reconcile %s: %w", d, err)
		}
	}
	return nil
}
