package wechatpayfake

import (
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// billHeader and billSummaryHeader are the column names of a trade bill of type ALL.
const (
	billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态," +
		"付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态," +
		"商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
	billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
	// feeRate is the fake's fee: 0.60% of each payment, returned in part on refunds.
	feeRate = "0.60%"
)

// feeFen is 0.60% of fen, rounded half up to a whole fen, as WeChat Pay charges it.
func feeFen(fen int64) int64 { return (fen*6 + 500) / 1000 }

// yuan writes fen as yuan with two decimals: 1800 → "18.00", -27 → "-0.27".
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// feeYuan writes a fee in fen as WeChat's bills do, with five decimals: 11 → "0.11000".
func feeYuan(fen int64) string { return yuan(fen) + "000" }

// billText keeps a free-text field on its line.
func billText(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

type billLine struct {
	at     time.Time
	seq    int64
	fields []string
}

// Bill returns the trade bill (bill_type ALL) for day, "YYYY-MM-DD" in Asia/Shanghai, as it
// stands now: a row for each payment made that day and for each refund requested that day,
// ordered by time, then the summary. The bytes are a function of the fake's state.
// ok is false when the day has no rows.
func (s *Server) Bill(day string) (bill []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bill(day)
}

// bill builds Bill; the caller holds s.mu.
func (s *Server) bill(day string) ([]byte, bool) {
	onDay := func(t time.Time) bool { return !t.IsZero() && t.In(cst).Format(time.DateOnly) == day }
	var lines []billLine
	var settled, refunded, fees, ordered, requested int64
	for _, o := range s.orders {
		if o.TransactionID == "" || !onDay(o.SuccessTime) {
			continue
		}
		fee := feeFen(o.AmountFen)
		settled, fees, ordered = settled+o.AmountFen, fees+fee, ordered+o.AmountFen
		lines = append(lines, billLine{at: o.SuccessTime, seq: o.seq, fields: []string{
			o.SuccessTime.In(cst).Format(time.DateTime), s.opt.AppID, s.opt.MchID, "0", "",
			o.TransactionID, o.OutTradeNo, o.OpenID, "JSAPI", StateSuccess, "OTHERS", "CNY",
			yuan(o.AmountFen), "0.00", "0", "0", "0.00", "0.00", "", "",
			billText(o.Description), billText(o.Attach), feeYuan(fee), feeRate, yuan(o.AmountFen), "0.00", "",
		}})
	}
	for _, f := range s.refunds {
		if !onDay(f.CreatedAt) {
			continue
		}
		o := s.orders[f.OutTradeNo]
		fee := -feeFen(f.RefundFen)
		refunded, fees, requested = refunded+f.RefundFen, fees+fee, requested+f.RefundFen
		lines = append(lines, billLine{at: f.CreatedAt, seq: f.seq, fields: []string{
			f.CreatedAt.In(cst).Format(time.DateTime), s.opt.AppID, s.opt.MchID, "0", "",
			f.TransactionID, f.OutTradeNo, o.OpenID, "JSAPI", StateRefund, "OTHERS", "CNY",
			"0.00", "0.00", f.RefundID, f.OutRefundNo, yuan(f.RefundFen), "0.00", "ORIGINAL", f.Status,
			billText(o.Description), billText(o.Attach), feeYuan(fee), feeRate, "0.00", yuan(f.RefundFen), "",
		}})
	}
	if len(lines) == 0 {
		return nil, false
	}
	slices.SortFunc(lines, func(a, b billLine) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq))
	})
	var b strings.Builder
	b.WriteString(billHeader + "\n")
	for _, l := range lines {
		b.WriteString("`" + strings.Join(l.fields, ",`") + "\n")
	}
	b.WriteString(billSummaryHeader + "\n")
	fmt.Fprintf(&b, "`%d,`%s,`%s,`0.00,`%s,`%s,`%s\n",
		len(lines), yuan(settled), yuan(refunded), feeYuan(fees), yuan(ordered), yuan(requested))
	return []byte(b.String()), true
}

// tradeBill serves GET /v3/bill/tradebill?bill_date=YYYY-MM-DD[&bill_type=ALL]. The fake
// has only bill_type ALL, uncompressed. Today's bill is still being made (STATEMENT_CREATING);
// a day without trades has none (NO_STATEMENT_EXIST).
func (s *Server) tradeBill(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	day := q.Get("bill_date")
	d, err := time.ParseInLocation(time.DateOnly, day, cst)
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "bill_date 应为 YYYY-MM-DD")
		return
	case q.Get("bill_type") != "" && q.Get("bill_type") != "ALL":
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "fake 只提供 bill_type=ALL")
		return
	case q.Get("tar_type") != "":
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "fake 不提供压缩账单")
		return
	}
	today := s.opt.Now().In(cst).Format(time.DateOnly)
	switch {
	case d.Format(time.DateOnly) > today:
		writeError(w, http.StatusBadRequest, "PARAM_ERROR", "bill_date 不能晚于今天")
		return
	case d.Format(time.DateOnly) == today:
		writeError(w, http.StatusBadRequest, "STATEMENT_CREATING", "账单生成中，请次日 10 点后再下载")
		return
	}
	s.mu.Lock()
	bill, ok := s.bill(day)
	token := randomAlnum(40)
	if ok {
		s.bills[token] = bill
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在")
		return
	}
	sum := sha1.Sum(bill)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.reply(w, r, http.StatusOK, map[string]string{
		"hash_type":    "SHA1",
		"hash_value":   hex.EncodeToString(sum[:]),
		"download_url": scheme + "://" + r.Host + "/v3/billdownload/file?token=" + token,
	})
}

// TamperNextDownload makes the next bill download differ from its hash_value by one digit,
// as a corrupted or altered file would.
func (s *Server) TamperNextDownload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper++
}

// downloadBill serves GET /v3/billdownload/file?token=…: the bill bytes, unsigned, as
// WeChat Pay serves them.
func (s *Server) downloadBill(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	bill, ok := s.bills[r.URL.Query().Get("token")]
	if ok && s.tamper > 0 {
		s.tamper--
		bill = tampered(bill)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "下载链接无效或已过期")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(bill)
}

// tampered returns a copy of bill with its last digit changed.
func tampered(bill []byte) []byte {
	out := slices.Clone(bill)
	for i := len(out) - 1; i >= 0; i-- {
		if c := out[i]; c >= '0' && c <= '9' {
			out[i] = '0' + (c-'0'+1)%10
			break
		}
	}
	return out
}
