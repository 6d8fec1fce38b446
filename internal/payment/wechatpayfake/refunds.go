package wechatpayfake

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// Refund states, as WeChat Pay names them.
const (
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
	RefundAbnormal   = "ABNORMAL"
	RefundClosed     = "CLOSED"
)

// Refund is a snapshot of one refund the fake holds.
type Refund struct {
	OutRefundNo   string
	RefundID      string
	OutTradeNo    string
	TransactionID string
	Status        string // RefundProcessing until SettleRefund
	RefundFen     int64
	TotalFen      int64
	Reason        string
	NotifyURL     string
	CreatedAt     time.Time
	SuccessTime   time.Time // zero unless RefundSuccess
}

type refund struct {
	Refund
	seq    int64
	notice *event // fixed when settled
}

type refundAmountJSON struct {
	Total            int64    `json:"total"`
	Refund           int64    `json:"refund"`
	From             []string `json:"from"`
	PayerTotal       int64    `json:"payer_total"`
	PayerRefund      int64    `json:"payer_refund"`
	SettlementRefund int64    `json:"settlement_refund"`
	SettlementTotal  int64    `json:"settlement_total"`
	DiscountRefund   int64    `json:"discount_refund"`
	Currency         string   `json:"currency"`
}

// refundJSON is refunddomestic.Refund as WeChat Pay writes it.
type refundJSON struct {
	RefundID            string           `json:"refund_id"`
	OutRefundNo         string           `json:"out_refund_no"`
	TransactionID       string           `json:"transaction_id"`
	OutTradeNo          string           `json:"out_trade_no"`
	Channel             string           `json:"channel"`
	UserReceivedAccount string           `json:"user_received_account"`
	SuccessTime         string           `json:"success_time,omitempty"`
	CreateTime          string           `json:"create_time"`
	Status              string           `json:"status"`
	FundsAccount        string           `json:"funds_account"`
	Amount              refundAmountJSON `json:"amount"`
}

const receivedAccount = "支付用户零钱"

func (f *refund) json() refundJSON {
	j := refundJSON{
		RefundID: f.RefundID, OutRefundNo: f.OutRefundNo, TransactionID: f.TransactionID,
		OutTradeNo: f.OutTradeNo, Channel: "ORIGINAL", UserReceivedAccount: receivedAccount,
		CreateTime: rfc3339(f.CreatedAt), Status: f.Status, FundsAccount: "AVAILABLE",
		Amount: refundAmountJSON{
			Total: f.TotalFen, Refund: f.RefundFen, From: []string{}, PayerTotal: f.TotalFen,
			PayerRefund: f.RefundFen, SettlementRefund: f.RefundFen, SettlementTotal: f.TotalFen,
			Currency: "CNY",
		},
	}
	if f.Status == RefundSuccess {
		j.SuccessTime = rfc3339(f.SuccessTime)
	}
	return j
}

// createRefund serves POST /v3/refund/domestic/refunds. It is idempotent on out_refund_no;
// the refunds of an order that are not closed never add up to more than it paid.
func (s *Server) createRefund(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TransactionID string `json:"transaction_id"`
		OutTradeNo    string `json:"out_trade_no"`
		OutRefundNo   string `json:"out_refund_no"`
		Reason        string `json:"reason"`
		NotifyURL     string `json:"notify_url"`
		Amount        *struct {
			Refund   *int64 `json:"refund"`
			Total    *int64 `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的 JSON")
		return
	}
	bad := func(msg string) { writeError(w, http.StatusBadRequest, "PARAM_ERROR", msg) }
	switch {
	case req.TransactionID == "" && req.OutTradeNo == "":
		bad("transaction_id 和 out_trade_no 必须二选一")
		return
	case !validOutNo(req.OutRefundNo, 1, 64):
		bad("out_refund_no 应为 1-64 位数字、字母或 _-|*")
		return
	case req.Amount == nil || req.Amount.Refund == nil || req.Amount.Total == nil || req.Amount.Currency == "":
		bad("缺少 amount.refund、amount.total 或 amount.currency")
		return
	case req.Amount.Currency != "CNY":
		bad("amount.currency 只支持 CNY")
		return
	case *req.Amount.Refund <= 0 || *req.Amount.Total <= 0:
		bad("退款金额和订单金额应大于 0")
		return
	case utf8.RuneCountInString(req.Reason) > 80:
		bad("reason 超过 80 个字符")
		return
	case req.NotifyURL != "" && !validNotifyURL(req.NotifyURL):
		bad("notify_url 应为不带查询串的完整 URL")
		return
	}
	amount, total := *req.Amount.Refund, *req.Amount.Total

	s.mu.Lock()
	var o *order
	if req.OutTradeNo != "" {
		o = s.orders[req.OutTradeNo]
	} else {
		for _, c := range s.orders {
			if c.TransactionID == req.TransactionID {
				o = c
			}
		}
	}
	if o != nil && req.TransactionID != "" && o.TransactionID != req.TransactionID {
		o = nil
	}
	fail := func(status int, code, msg string) {
		s.mu.Unlock()
		writeError(w, status, code, msg)
	}
	if f := s.refunds[req.OutRefundNo]; f != nil {
		if o == nil || f.OutTradeNo != o.OutTradeNo || f.RefundFen != amount || f.TotalFen != total {
			fail(http.StatusBadRequest, "INVALID_REQUEST", "商户退款单号重复，且参数与原退款单不一致")
			return
		}
		j := f.json()
		s.mu.Unlock()
		s.reply(w, r, http.StatusOK, j)
		return
	}
	switch {
	case o == nil:
		fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
		return
	case o.State != StateSuccess && o.State != StateRefund:
		fail(http.StatusBadRequest, "INVALID_REQUEST", "订单未支付，不能退款")
		return
	case total != o.AmountFen:
		fail(http.StatusBadRequest, "PARAM_ERROR", "订单金额与实际支付金额不符")
		return
	case o.RefundedFen+amount > o.AmountFen:
		fail(http.StatusBadRequest, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
		return
	}
	now := s.opt.Now()
	seq := s.nextSeq()
	f := &refund{seq: seq, Refund: Refund{
		OutRefundNo: req.OutRefundNo, OutTradeNo: o.OutTradeNo, TransactionID: o.TransactionID,
		Status: RefundProcessing, RefundFen: amount, TotalFen: total, Reason: req.Reason,
		NotifyURL: req.NotifyURL, CreatedAt: now,
		RefundID: fmt.Sprintf("5030%s%017d", now.In(cst).Format("20060102"), seq),
	}}
	s.refunds[f.OutRefundNo] = f
	o.RefundedFen += amount
	j := f.json()
	s.mu.Unlock()
	s.reply(w, r, http.StatusOK, j)
}

// queryRefund serves GET /v3/refund/domestic/refunds/{out_refund_no}.
func (s *Server) queryRefund(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.refunds[r.PathValue("no")]
	if f == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
		return
	}
	j := f.json()
	s.mu.Unlock()
	s.reply(w, r, http.StatusOK, j)
}

// refundNoticeJSON is the decrypted resource of a REFUND.* notification.
type refundNoticeJSON struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// SettleRefund ends a PROCESSING refund as WeChat Pay would: SUCCESS (the order's state
// becomes REFUND) or, when success is false, ABNORMAL (the money is stuck, e.g. the diner's
// card was closed). Then it sends the REFUND.* notification to the refund's notify_url once,
// if it had one. Errors: ErrNotFound; ErrState if the refund is not PROCESSING;
// ErrNotDelivered as for Pay.
func (s *Server) SettleRefund(outRefundNo string, success bool) error {
	s.mu.Lock()
	f := s.refunds[outRefundNo]
	if f == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: out_refund_no %q", ErrNotFound, outRefundNo)
	}
	if f.Status != RefundProcessing {
		s.mu.Unlock()
		return fmt.Errorf("%w: refund %s is %s", ErrState, outRefundNo, f.Status)
	}
	now := s.opt.Now()
	ev := event{id: "EV-" + randomAlnum(24), createTime: rfc3339(now), originalType: "refund"}
	if success {
		f.Status, f.SuccessTime = RefundSuccess, now
		s.orders[f.OutTradeNo].State = StateRefund
		ev.eventType, ev.summary = "REFUND.SUCCESS", "退款成功"
	} else {
		f.Status = RefundAbnormal
		ev.eventType, ev.summary = "REFUND.ABNORMAL", "退款异常"
	}
	n := refundNoticeJSON{
		MchID: s.opt.MchID, OutTradeNo: f.OutTradeNo, TransactionID: f.TransactionID,
		OutRefundNo: f.OutRefundNo, RefundID: f.RefundID, RefundStatus: f.Status,
		UserReceivedAccount: receivedAccount,
	}
	if success {
		n.SuccessTime = rfc3339(now)
	}
	n.Amount.Total, n.Amount.Refund = f.TotalFen, f.RefundFen
	n.Amount.PayerTotal, n.Amount.PayerRefund = f.TotalFen, f.RefundFen
	ev.plaintext, _ = json.Marshal(n)
	f.notice = &ev
	target := f.NotifyURL
	s.mu.Unlock()
	return s.deliverOnce(target, ev)
}

// NotifyRefund sends (again) the REFUND.* notification of a settled refund to its
// notify_url, as opt says, and returns the HTTP status of each answer. Errors: ErrNotFound;
// ErrState if the refund is not settled; ErrNotDelivered if it has no notify_url or a send
// failed before an answer came.
func (s *Server) NotifyRefund(ctx context.Context, outRefundNo string, opt NotifyOptions) ([]int, error) {
	s.mu.Lock()
	f := s.refunds[outRefundNo]
	if f == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: out_refund_no %q", ErrNotFound, outRefundNo)
	}
	if f.notice == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: refund %s is not settled", ErrState, outRefundNo)
	}
	target, ev := f.NotifyURL, *f.notice
	s.mu.Unlock()
	return s.deliver(ctx, target, ev, opt)
}

// Refunds returns a snapshot of every refund, oldest first.
func (s *Server) Refunds() []Refund {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*refund, 0, len(s.refunds))
	for _, f := range s.refunds {
		list = append(list, f)
	}
	slices.SortFunc(list, func(a, b *refund) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Refund, len(list))
	for i, f := range list {
		out[i] = f.Refund
	}
	return out
}
