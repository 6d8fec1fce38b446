package wechatpay

import (
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// maxBill caps a downloaded bill; a canteen's daily bill is a few hundred kilobytes.
const maxBill = 64 << 20

// BillRow is one line of a trade bill (bill_type ALL): a payment (TradeState SUCCESS) or a
// refund (TradeState REFUND). Amounts are fen, read exactly from the yuan in the file.
type BillRow struct {
	TradeTime               time.Time // Asia/Shanghai
	AppID                   string
	MchID                   string
	SubMchID                string
	DeviceID                string
	TransactionID           string
	OutTradeNo              string
	OpenID                  string
	TradeType               string // JSAPI
	TradeState              string // SUCCESS or REFUND (and others WeChat may add)
	BankType                string
	Currency                string
	SettlementFen           int64  // 应结订单金额: paid, less vouchers; 0 on refund rows
	CouponFen               int64  // 代金券金额
	RefundID                string // "" on payment rows (WeChat writes 0)
	OutRefundNo             string // "" on payment rows (WeChat writes 0)
	RefundFen               int64  // 退款金额
	RechargeCouponRefundFen int64  // 充值券退款金额
	RefundType              string // ORIGINAL, …; "" on payment rows
	RefundStatus            string // SUCCESS, PROCESSING, …; "" on payment rows
	Description             string // 商品名称
	Attach                  string // 商户数据包
	FeeMilliFen             int64  // 手续费 in 1/1000 fen (the file has 5 decimals of yuan); negative on refunds
	FeeRate                 string // e.g. "0.60%"
	OrderFen                int64  // 订单金额
	RequestedRefundFen      int64  // 申请退款金额
	FeeRateNote             string // 费率备注
}

// BillSummary is the summary line of a trade bill.
type BillSummary struct {
	Count                   int   // 总交易单数
	SettlementFen           int64 // 应结订单总金额
	RefundFen               int64 // 退款总金额
	RechargeCouponRefundFen int64 // 充值券退款总金额
	FeeMilliFen             int64 // 手续费总金额, 1/1000 fen
	OrderFen                int64 // 订单总金额
	RequestedRefundFen      int64 // 申请退款总金额
}

// TradeBill downloads the trade bill (bill_type ALL) of day, an Asia/Shanghai date,
// checks it against the SHA1 WeChat Pay gave and parses it. A bill is ready after 10:00 the
// next day and kept for three months. Errors: Invalid (bad date, malformed bill),
// NotFound (no trades that day), Transient (not ready yet, hash mismatch, network),
// Internal.
func (c *Client) TradeBill(ctx context.Context, day civil.Date) (raw []byte, rows []BillRow, summary BillSummary, err error) {
	if !day.IsValid() {
		return nil, nil, BillSummary{}, fmt.Errorf("wechatpay: trade bill: %w", civil.ErrDateInvalid)
	}
	op := "trade bill " + day.String()
	q := url.Values{"bill_date": {day.String()}, "bill_type": {"ALL"}}
	res, err := c.api.Get(ctx, apiURL("/v3/bill/tradebill?"+q.Encode()))
	if err != nil {
		return nil, nil, BillSummary{}, classify(op, err)
	}
	var meta struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	if err := core.UnMarshalResponse(res.Response, &meta); err != nil {
		return nil, nil, BillSummary{}, classify(op, err)
	}
	if meta.HashType != "SHA1" || meta.DownloadURL == "" {
		return nil, nil, BillSummary{}, fmt.Errorf("wechatpay: %s: %w", op, apperr.New(apperr.Internal,
			"wechatpay_bad_answer", fmt.Sprintf("unexpected hash_type %q or no download_url", meta.HashType)))
	}
	// The file itself is not signed; the request is, and the SHA1 from the signed answer
	// vouches for the bytes.
	dl, err := c.download.Get(ctx, meta.DownloadURL)
	if err != nil {
		return nil, nil, BillSummary{}, classify(op+" download", err)
	}
	defer dl.Response.Body.Close()
	raw, err = io.ReadAll(io.LimitReader(dl.Response.Body, maxBill+1))
	if err != nil {
		return nil, nil, BillSummary{}, classify(op+" download", err)
	}
	if len(raw) > maxBill {
		return nil, nil, BillSummary{}, fmt.Errorf("wechatpay: %s: %w", op, apperr.New(apperr.Internal,
			"wechatpay_bill_too_large", "the bill is larger than 64 MiB"))
	}
	sum := sha1.Sum(raw)
	want, _ := hex.DecodeString(strings.ToLower(meta.HashValue))
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return nil, nil, BillSummary{}, fmt.Errorf("wechatpay: %s: %w", op, apperr.New(apperr.Transient,
			"wechatpay_bill_hash", "账单校验失败，请重新下载 / the bill does not match its SHA1, download it again"))
	}
	rows, summary, err = ParseBill(raw)
	if err != nil {
		return nil, nil, BillSummary{}, fmt.Errorf("wechatpay: %s: %w", op, err)
	}
	return raw, rows, summary, nil
}

// The columns of a trade bill of type ALL, and of its summary, as WeChat Pay names them.
const (
	colTradeTime       = "交易时间"
	colAppID           = "公众账号ID"
	colMchID           = "商户号"
	colSubMchID        = "特约商户号"
	colDeviceID        = "设备号"
	colTransactionID   = "微信订单号"
	colOutTradeNo      = "商户订单号"
	colOpenID          = "用户标识"
	colTradeType       = "交易类型"
	colTradeState      = "交易状态"
	colBankType        = "付款银行"
	colCurrency        = "货币种类"
	colSettlement      = "应结订单金额"
	colCoupon          = "代金券金额"
	colRefundID        = "微信退款单号"
	colOutRefundNo     = "商户退款单号"
	colRefund          = "退款金额"
	colRechargeRefund  = "充值券退款金额"
	colRefundType      = "退款类型"
	colRefundStatus    = "退款状态"
	colDescription     = "商品名称"
	colAttach          = "商户数据包"
	colFee             = "手续费"
	colFeeRate         = "费率"
	colOrder           = "订单金额"
	colRequestedRefund = "申请退款金额"
	colFeeRateNote     = "费率备注"

	sumCount           = "总交易单数"
	sumSettlement      = "应结订单总金额"
	sumRefund          = "退款总金额"
	sumRechargeRefund  = "充值券退款总金额"
	sumFee             = "手续费总金额"
	sumOrder           = "订单总金额"
	sumRequestedRefund = "申请退款总金额"
)

// requiredCols must be in every bill; the others may be missing (then they read as "").
var requiredCols = []string{
	colTradeTime, colAppID, colMchID, colTransactionID, colOutTradeNo, colOpenID, colTradeType,
	colTradeState, colSettlement, colRefundID, colOutRefundNo, colRefund, colRefundStatus,
	colFee, colOrder, colRequestedRefund,
}

var requiredSumCols = []string{sumCount, sumSettlement, sumRefund, sumFee, sumOrder, sumRequestedRefund}

func billMalformed(format string, args ...any) error {
	return apperr.Wrap(fmt.Errorf(format, args...), apperr.Invalid, "wechatpay_bill_malformed",
		"账单格式无法识别 / the bill is malformed")
}

// ParseBill parses a trade bill of type ALL in WeChat Pay's format: a header line, one
// line per trade with every field prefixed by a backtick, then a summary header and a
// summary line. Columns are found by name. Yuan amounts become fen exactly (no floats);
// the summary's count must equal the number of rows. Errors are Invalid.
func ParseBill(data []byte) ([]BillRow, BillSummary, error) {
	text := strings.TrimPrefix(string(data), "\uFEFF")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) < 3 {
		return nil, BillSummary{}, billMalformed("%d lines; want a header, a summary header and a summary", len(lines))
	}
	cols, err := columns(lines[0], requiredCols)
	if err != nil {
		return nil, BillSummary{}, err
	}
	sumCols, err := columns(lines[len(lines)-2], requiredSumCols)
	if err != nil {
		return nil, BillSummary{}, err
	}
	body := lines[1 : len(lines)-2]
	rows := make([]BillRow, 0, len(body))
	for i, l := range body {
		row, err := parseRow(l, cols)
		if err != nil {
			return nil, BillSummary{}, billMalformed("line %d: %w", i+2, err)
		}
		rows = append(rows, row)
	}
	summary, err := parseSummary(lines[len(lines)-1], sumCols)
	if err != nil {
		return nil, BillSummary{}, billMalformed("summary: %w", err)
	}
	if summary.Count != len(rows) {
		return nil, BillSummary{}, billMalformed("summary counts %d trades, the bill has %d", summary.Count, len(rows))
	}
	return rows, summary, nil
}

// columns maps each name in a header line to its index; every name in required must be
// there, and no name twice.
func columns(header string, required []string) (map[string]int, error) {
	cols := make(map[string]int)
	for i, name := range strings.Split(header, ",") {
		name = strings.TrimSpace(name)
		if _, dup := cols[name]; dup {
			return nil, billMalformed("column %q appears twice", name)
		}
		cols[name] = i
	}
	for _, name := range required {
		if _, ok := cols[name]; !ok {
			return nil, billMalformed("no column %q in %q", name, header)
		}
	}
	return cols, nil
}

// fields splits a data line: every field starts with a backtick, so fields are separated
// by ",`" and commas inside a field survive.
func fields(line string, n int) ([]string, error) {
	if !strings.HasPrefix(line, "`") {
		return nil, errors.New("a data line must start with a backtick")
	}
	f := strings.Split(line[1:], ",`")
	if len(f) != n {
		return nil, fmt.Errorf("%d fields, the header has %d", len(f), n)
	}
	return f, nil
}

// record reads named fields of one line, remembering the first error.
type record struct {
	f    []string
	cols map[string]int
	err  error
}

func (r *record) str(name string) string {
	i, ok := r.cols[name]
	if !ok {
		return ""
	}
	return r.f[i]
}

// amount reads a non-negative amount in yuan with at most `places` decimals, in units of
// 10^-places yuan (places 2: fen).
func (r *record) amount(name string, places int, signed bool) int64 {
	s := r.str(name)
	v, ok := parseDecimal(s, places)
	if !ok || (!signed && v < 0) {
		if r.err == nil {
			r.err = fmt.Errorf("%s: %q is not an amount in yuan", name, s)
		}
		return 0
	}
	return v
}

func parseRow(line string, cols map[string]int) (BillRow, error) {
	f, err := fields(line, len(cols))
	if err != nil {
		return BillRow{}, err
	}
	r := &record{f: f, cols: cols}
	row := BillRow{
		AppID:                   r.str(colAppID),
		MchID:                   r.str(colMchID),
		SubMchID:                r.str(colSubMchID),
		DeviceID:                r.str(colDeviceID),
		TransactionID:           r.str(colTransactionID),
		OutTradeNo:              r.str(colOutTradeNo),
		OpenID:                  r.str(colOpenID),
		TradeType:               r.str(colTradeType),
		TradeState:              r.str(colTradeState),
		BankType:                r.str(colBankType),
		Currency:                r.str(colCurrency),
		SettlementFen:           r.amount(colSettlement, 2, false),
		CouponFen:               r.amountOpt(colCoupon),
		RefundID:                r.str(colRefundID),
		OutRefundNo:             r.str(colOutRefundNo),
		RefundFen:               r.amount(colRefund, 2, false),
		RechargeCouponRefundFen: r.amountOpt(colRechargeRefund),
		RefundType:              r.str(colRefundType),
		RefundStatus:            r.str(colRefundStatus),
		Description:             r.str(colDescription),
		Attach:                  r.str(colAttach),
		FeeMilliFen:             r.amount(colFee, 5, true),
		FeeRate:                 r.str(colFeeRate),
		OrderFen:                r.amount(colOrder, 2, false),
		RequestedRefundFen:      r.amount(colRequestedRefund, 2, false),
		FeeRateNote:             r.str(colFeeRateNote),
	}
	if r.err != nil {
		return BillRow{}, r.err
	}
	t, err := time.ParseInLocation(time.DateTime, r.str(colTradeTime), civil.Shanghai())
	if err != nil {
		return BillRow{}, fmt.Errorf("%s: %q is not YYYY-MM-DD hh:mm:ss", colTradeTime, r.str(colTradeTime))
	}
	row.TradeTime = t
	if row.TradeState != string(TradeRefund) {
		// Payment rows carry 0 where a refund would have its numbers.
		if row.RefundID == "0" {
			row.RefundID = ""
		}
		if row.OutRefundNo == "0" {
			row.OutRefundNo = ""
		}
	}
	return row, nil
}

// amountOpt reads an optional amount column: missing or empty is 0.
func (r *record) amountOpt(name string) int64 {
	if r.str(name) == "" {
		return 0
	}
	return r.amount(name, 2, false)
}

func parseSummary(line string, cols map[string]int) (BillSummary, error) {
	f, err := fields(line, len(cols))
	if err != nil {
		return BillSummary{}, err
	}
	r := &record{f: f, cols: cols}
	n, err := strconv.ParseUint(r.str(sumCount), 10, 31)
	if err != nil {
		return BillSummary{}, fmt.Errorf("%s: %q is not a count", sumCount, r.str(sumCount))
	}
	s := BillSummary{
		Count:                   int(n),
		SettlementFen:           r.amount(sumSettlement, 2, false),
		RefundFen:               r.amount(sumRefund, 2, false),
		RechargeCouponRefundFen: r.amountOpt(sumRechargeRefund),
		FeeMilliFen:             r.amount(sumFee, 5, true),
		OrderFen:                r.amount(sumOrder, 2, false),
		RequestedRefundFen:      r.amount(sumRequestedRefund, 2, false),
	}
	return s, r.err
}

// parseDecimal reads an optionally negative decimal ("18.00", "-0.27000", "3") with at
// most places decimals as an integer count of 10^-places units, exactly. It reports false
// for anything else, including overflow.
func parseDecimal(s string, places int) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && frac == "") || len(frac) > places {
		return 0, false
	}
	var v int64
	for _, c := range []byte(whole + frac) {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	for range places - len(frac) {
		if v > math.MaxInt64/10 {
			return 0, false
		}
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, true
}
