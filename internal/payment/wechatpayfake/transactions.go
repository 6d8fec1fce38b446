package wechatpayfake

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"
)

// Trade states the fake uses, as WeChat Pay names them.
const (
	StateNotPay  = "NOTPAY"
	StateSuccess = "SUCCESS"
	StateClosed  = "CLOSED"
	StateRefund  = "REFUND" // paid, then (partly) refunded
)

// Order is a snapshot of one JSAPI order the fake holds.
type Order struct {
	OutTradeNo    string
	PrepayID      string
	TransactionID string // minted by Pay
	State         string // StateNotPay, StateSuccess, StateClosed or StateRefund
	Description   string
	AmountFen     int64
	RefundedFen   int64 // refunds not closed: processing, successful or abnormal
	OpenID        string
	Attach        string
	NotifyURL     string
	TimeExpire    string // as the merchant sent it (RFC 3339), "" if none
	CreatedAt     time.Time
	SuccessTime   time.Time // zero until paid
}

// prepayParams are what a repeated prepay must repeat exactly to get the same prepay_id.
type prepayParams struct {
	appID, mchID, description, notifyURL, attach, timeExpire, currency, openID string
	total                                                                      int64
}

type order struct {
	Order
	seq    int64
	params prepayParams
	notice *event // the TRANSACTION.SUCCESS notification, fixed when paid
}

type amountJSON struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

type payerJSON struct {
	OpenID string `json:"openid,omitempty"`
}

// transactionJSON is payments.Transaction as WeChat Pay writes it.
type transactionJSON struct {
	AppID          string     `json:"appid"`
	MchID          string     `json:"mchid"`
	OutTradeNo     string     `json:"out_trade_no"`
	TransactionID  string     `json:"transaction_id,omitempty"`
	TradeType      string     `json:"trade_type,omitempty"`
	TradeState     string     `json:"trade_state"`
	TradeStateDesc string     `json:"trade_state_desc"`
	BankType       string     `json:"bank_type,omitempty"`
	Attach         string     `json:"attach,omitempty"`
	SuccessTime    string     `json:"success_time,omitempty"`
	Payer          payerJSON  `json:"payer"`
	Amount         amountJSON `json:"amount"`
}

var stateDesc = map[string]string{
	StateNotPay: "订单未支付", StateSuccess: "支付成功", StateClosed: "订单已关闭", StateRefund: "转入退款",
}

// transaction renders o as WeChat Pay answers a query, in state. The caller holds s.mu.
func (s *Server) transaction(o *order, state string) transactionJSON {
	t := transactionJSON{
		AppID: o.params.appID, MchID: o.params.mchID, OutTradeNo: o.OutTradeNo,
		TradeState: state, TradeStateDesc: stateDesc[state], Attach: o.Attach,
		Amount: amountJSON{Total: o.AmountFen, Currency: "CNY", PayerCurrency: "CNY"},
	}
	if o.TransactionID != "" {
		paid := o.AmountFen
		t.TransactionID, t.TradeType, t.BankType = o.TransactionID, "JSAPI", "OTHERS"
		t.SuccessTime = rfc3339(o.SuccessTime)
		t.Payer.OpenID = o.OpenID
		t.Amount.PayerTotal = &paid
	}
	return t
}

func rfc3339(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// validOutNo reports whether no is a merchant number WeChat accepts: min–max characters of
// digits, letters and _-|*.
func validOutNo(no string, minLen, maxLen int) bool {
	if len(no) < minLen || len(no) > maxLen {
		return false
	}
	for _, c := range []byte(no) {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			c == '_' || c == '-' || c == '|' || c == '*'
		if !ok {
			return false
		}
	}
	return true
}

// validNotifyURL reports whether u is an absolute URL without a query string. WeChat Pay
// also requires https; the fake allows http so a local service can receive notifications.
func validNotifyURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" &&
		p.RawQuery == "" && p.Fragment == "" && len(u) <= 256
}

// prepay serves POST /v3/pay/transactions/jsapi.
func (s *Server) prepay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppID       string `json:"appid"`
		MchID       string `json:"mchid"`
		Description string `json:"description"`
		OutTradeNo  string `json:"out_trade_no"`
		TimeExpire  string `json:"time_expire"`
		Attach      string `json:"attach"`
		NotifyURL   string `json:"notify_url"`
		Amount      *struct {
			Total    *int64 `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
		Payer *struct {
			OpenID string `json:"openid"`
		} `json:"payer"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的 JSON")
		return
	}
	bad := func(msg string) { writeError(w, http.StatusBadRequest, "PARAM_ERROR", msg) }
	switch {
	case req.AppID == "" || req.MchID == "" || req.Description == "" || req.OutTradeNo == "" ||
		req.NotifyURL == "" || req.Amount == nil || req.Amount.Total == nil || req.Payer == nil:
		bad("缺少必填参数 appid、mchid、description、out_trade_no、notify_url、amount 或 payer")
	case req.MchID != s.opt.MchID:
		bad("mchid 与请求签名的商户号不一致")
	case req.AppID != s.opt.AppID:
		bad("appid和mch_id不匹配")
	case !validOutNo(req.OutTradeNo, 6, 32):
		bad("out_trade_no 应为 6-32 位数字、字母或 _-|*")
	case utf8.RuneCountInString(req.Description) > 127:
		bad("description 超过 127 个字符")
	case utf8.RuneCountInString(req.Attach) > 128:
		bad("attach 超过 128 个字符")
	case !validNotifyURL(req.NotifyURL):
		bad("notify_url 应为不带查询串的完整 URL")
	case *req.Amount.Total <= 0:
		bad("amount.total 应大于 0")
	case req.Amount.Currency != "" && req.Amount.Currency != "CNY":
		bad("amount.currency 只支持 CNY")
	case req.Payer.OpenID == "":
		bad("缺少 payer.openid")
	default:
		if req.TimeExpire != "" {
			if _, err := time.Parse(time.RFC3339, req.TimeExpire); err != nil {
				bad("time_expire 应为 RFC 3339 时间")
				return
			}
		}
		s.prepayChecked(w, r, prepayParams{
			appID: req.AppID, mchID: req.MchID, description: req.Description, notifyURL: req.NotifyURL,
			attach: req.Attach, timeExpire: req.TimeExpire, currency: "CNY",
			openID: req.Payer.OpenID, total: *req.Amount.Total,
		}, req.OutTradeNo)
	}
}

func (s *Server) prepayChecked(w http.ResponseWriter, r *http.Request, p prepayParams, outTradeNo string) {
	s.mu.Lock()
	o := s.orders[outTradeNo]
	switch {
	case o == nil:
		now := s.opt.Now()
		seq := s.nextSeq()
		o = &order{seq: seq, params: p, Order: Order{
			OutTradeNo: outTradeNo, State: StateNotPay, Description: p.description,
			AmountFen: p.total, OpenID: p.openID, Attach: p.attach, NotifyURL: p.notifyURL,
			TimeExpire: p.timeExpire, CreatedAt: now,
			PrepayID: fmt.Sprintf("wx%s%020d", now.In(cst).Format("20060102150405"), seq),
		}}
		s.orders[outTradeNo] = o
	case o.State == StateSuccess || o.State == StateRefund:
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "ORDERPAID", "该订单已支付")
		return
	case o.State == StateClosed:
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "ORDER_CLOSED", "该订单已关闭")
		return
	case o.params != p:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "201 商户订单号重复，且参数与原订单不一致")
		return
	}
	id := o.PrepayID
	s.mu.Unlock()
	s.reply(w, r, http.StatusOK, map[string]string{"prepay_id": id})
}

// queryOrder serves GET /v3/pay/transactions/out-trade-no/{no}?mchid=.
func (s *Server) queryOrder(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("mchid") != s.opt.MchID {
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "mchid 缺失或与请求签名的商户号不一致")
		return
	}
	s.mu.Lock()
	o := s.orders[r.PathValue("no")]
	if o == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	}
	t := s.transaction(o, o.State)
	s.mu.Unlock()
	s.reply(w, r, http.StatusOK, t)
}

// closeOrder serves POST /v3/pay/transactions/out-trade-no/{no}/close with {"mchid"}.
func (s *Server) closeOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MchID string `json:"mchid"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.MchID != s.opt.MchID {
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "mchid 缺失或与请求签名的商户号不一致")
		return
	}
	s.mu.Lock()
	o := s.orders[r.PathValue("no")]
	switch {
	case o == nil:
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	case o.State == StateSuccess || o.State == StateRefund:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "ORDERPAID", "订单已支付，不能关闭")
		return
	}
	o.State = StateClosed
	s.mu.Unlock()
	s.reply(w, r, http.StatusNoContent, nil)
}

// Pay marks the order paid as if the diner had paid in WeChat: SUCCESS, with a new
// transaction_id and the fake clock's time. Then it sends the TRANSACTION.SUCCESS
// notification to the order's notify_url once. Errors: ErrNotFound; ErrState if the order
// is not NOTPAY or its time_expire has passed; ErrNotDelivered if the receiver could not be
// reached or did not answer 2xx (the order stays paid; send again with Notify).
func (s *Server) Pay(outTradeNo string) error {
	s.mu.Lock()
	o := s.orders[outTradeNo]
	if o == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: out_trade_no %q", ErrNotFound, outTradeNo)
	}
	now := s.opt.Now()
	if o.State != StateNotPay {
		s.mu.Unlock()
		return fmt.Errorf("%w: order %s is %s", ErrState, outTradeNo, o.State)
	}
	if exp, err := time.Parse(time.RFC3339, o.TimeExpire); err == nil && now.After(exp) {
		s.mu.Unlock()
		return fmt.Errorf("%w: order %s expired at %s", ErrState, outTradeNo, o.TimeExpire)
	}
	o.State, o.SuccessTime = StateSuccess, now
	o.TransactionID = fmt.Sprintf("4200%s%016d", now.In(cst).Format("20060102"), s.nextSeq())
	plain, _ := json.Marshal(s.transaction(o, StateSuccess))
	o.notice = &event{
		id: "EV-" + randomAlnum(24), createTime: rfc3339(now), eventType: "TRANSACTION.SUCCESS",
		summary: "支付成功", originalType: "transaction", plaintext: plain,
	}
	target, ev := o.NotifyURL, *o.notice
	s.mu.Unlock()
	return s.deliverOnce(target, ev)
}

// Notify sends (again) the TRANSACTION.SUCCESS notification of a paid order to its
// notify_url, as opt says, and returns the HTTP status of each answer. The payload is the
// same every time, as WeChat's retries are. Errors: ErrNotFound; ErrState if the order was
// never paid; ErrNotDelivered if a send failed before an answer came.
func (s *Server) Notify(ctx context.Context, outTradeNo string, opt NotifyOptions) ([]int, error) {
	s.mu.Lock()
	o := s.orders[outTradeNo]
	if o == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: out_trade_no %q", ErrNotFound, outTradeNo)
	}
	if o.notice == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: order %s was never paid", ErrState, outTradeNo)
	}
	target, ev := o.NotifyURL, *o.notice
	s.mu.Unlock()
	return s.deliver(ctx, target, ev, opt)
}

// Orders returns a snapshot of every order, oldest first.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*order, 0, len(s.orders))
	for _, o := range s.orders {
		list = append(list, o)
	}
	slices.SortFunc(list, func(a, b *order) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Order, len(list))
	for i, o := range list {
		out[i] = o.Order
	}
	return out
}

// demoPay serves POST /fake/pay {"out_trade_no":"…"}: Pay for the demo page's "pay" button.
// Demo only; it needs no signature and allows any origin (CORS).
func (s *Server) demoPay(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var req struct {
		OutTradeNo string `json:"out_trade_no"`
		PrepayID   string `json:"prepay_id"` // what a page holding wx.requestPayment's package knows
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || (req.OutTradeNo == "" && req.PrepayID == "") {
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "需要 out_trade_no 或 prepay_id")
		return
	}
	if req.OutTradeNo == "" {
		s.mu.Lock()
		for no, o := range s.orders {
			if o.PrepayID == req.PrepayID {
				req.OutTradeNo = no
			}
		}
		s.mu.Unlock()
	}
	err := s.Pay(req.OutTradeNo)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	case errors.Is(err, ErrState):
		writeError(w, http.StatusConflict, "ORDER_NOT_PAYABLE", err.Error())
		return
	}
	s.mu.Lock()
	o := s.orders[req.OutTradeNo].Order
	s.mu.Unlock()
	resp := map[string]any{
		"out_trade_no": o.OutTradeNo, "transaction_id": o.TransactionID,
		"trade_state": o.State, "notified": err == nil,
	}
	if err != nil {
		resp["notify_error"] = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
