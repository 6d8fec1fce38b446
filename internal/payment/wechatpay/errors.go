package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Details shown to callers; the cause is logged, never shown.
const (
	detailUnavailable = "微信支付暂不可用，请稍后再试 / WeChat Pay is unavailable, try again later"
	detailNotFound    = "微信支付找不到该订单或退款 / WeChat Pay has no such order or refund"
	detailPaid        = "订单已支付 / the order is already paid"
	detailClosed      = "订单已关闭 / the order is closed"
	detailRejected    = "微信支付拒绝了请求 / WeChat Pay rejected the request"
	detailFailed      = "微信支付调用失败 / the WeChat Pay call failed"
	detailForged      = "微信支付应答验签失败 / WeChat Pay's answer failed signature verification"
)

// classify wraps err from the SDK, for operation op ("query ORD-1"), in the apperr kind
// a caller can act on. See the package comment for the table.
func classify(op string, err error) error {
	var e *core.APIError
	switch {
	case errors.As(err, &e):
		return fmt.Errorf("wechatpay: %s: %w", op, fromAPIError(e))
	case errors.Is(err, errBadSignature):
		return fmt.Errorf("wechatpay: %s: %w", op,
			apperr.Wrap(err, apperr.Internal, "wechatpay_bad_signature", detailForged))
	case isNetwork(err):
		return fmt.Errorf("wechatpay: %s: %w", op,
			apperr.Wrap(err, apperr.Transient, "wechatpay_unavailable", detailUnavailable))
	default:
		return fmt.Errorf("wechatpay: %s: %w", op,
			apperr.Wrap(err, apperr.Internal, "wechatpay_failed", detailFailed))
	}
}

// fromAPIError classifies an answer WeChat Pay gave with a non-2xx status.
func fromAPIError(e *core.APIError) *apperr.Error {
	code := "wechatpay_http_" + fmt.Sprint(e.StatusCode)
	if e.Code != "" {
		code = "wechatpay_" + strings.ToLower(e.Code)
	}
	switch {
	case e.StatusCode >= 500, e.StatusCode == http.StatusTooManyRequests:
		return apperr.Wrap(e, apperr.Transient, code, detailUnavailable)
	}
	switch e.Code {
	case "SYSTEM_ERROR", "SYSTEMERROR", "FREQUENCY_LIMITED", "BANKERROR", "STATEMENT_CREATING":
		return apperr.Wrap(e, apperr.Transient, code, detailUnavailable)
	case "ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS", "NO_STATEMENT_EXIST":
		return apperr.Wrap(e, apperr.NotFound, code, detailNotFound)
	case "ORDERPAID":
		return apperr.Wrap(e, apperr.FailedPrecondition, code, detailPaid)
	case "ORDER_CLOSED":
		return apperr.Wrap(e, apperr.FailedPrecondition, code, detailClosed)
	case "PARAM_ERROR", "INVALID_REQUEST":
		return apperr.Wrap(e, apperr.Invalid, code, detailRejected)
	default: // SIGN_ERROR (our key or clock), MCH_NOT_EXISTS, NO_AUTH, …: retrying cannot help
		return apperr.Wrap(e, apperr.Internal, code, detailFailed)
	}
}

// isNetwork reports whether err is a transport failure: no answer, a timeout or a cut body.
func isNetwork(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}
