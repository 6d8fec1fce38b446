package httpapi

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/payment"
)

// payOrder starts or resumes the WeChat payment of the caller's order and answers the
// wx.requestPayment parameters.
func (s *server) payOrder(c *fiber.Ctx) error {
	if s.Payments == nil {
		return errNoWeChatPay
	}
	return withPath(c, idParam, func(id int64) (payment.RequestPayment, error) {
		return s.Payments.Pay(c.UserContext(), caller(c), id)
	})
}

var errNoWeChatPay = apperr.New(apperr.FailedPrecondition, "wechat_pay_not_configured",
	"暂不支持微信支付，请到前台付款 / WeChat Pay is not set up here; pay at the counter")

// wechatPayFail is WeChat Pay's failure answer to a notification; WeChat retries it.
type wechatPayFail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// wechatPayNotify receives WeChat Pay's payment notifications. The headers, timestamp
// and signature are verified and the resource decrypted before anything else; then the
// payment is recorded once per transaction_id. It answers 204 on success (a duplicate
// included) and, following WeChat's contract, 4xx or 5xx with a FAIL body otherwise.
func (s *server) wechatPayNotify(c *fiber.Ctx) error {
	fail := func(status int, msg string) error {
		return c.Status(status).JSON(wechatPayFail{Code: "FAIL", Message: msg})
	}
	if s.Payments == nil || s.PaymentNotice == nil {
		return fail(http.StatusServiceUnavailable, "WeChat Pay is not configured")
	}
	req, err := adaptor.ConvertRequest(c, false)
	if err != nil {
		return fail(http.StatusBadRequest, "unreadable request")
	}
	t, err := s.PaymentNotice(req)
	if err != nil {
		s.Log.WarnContext(c.UserContext(), "payment notification refused", "err", err.Error(), "request_id", requestID(c))
		if apperr.KindOf(err) == apperr.Invalid {
			return fail(http.StatusBadRequest, "verification failed")
		}
		return fail(http.StatusInternalServerError, "try again")
	}
	out, err := s.Payments.Notified(c.UserContext(), t)
	switch {
	case err == nil:
		if out == payment.Flagged || out == payment.RefundDue {
			s.Log.WarnContext(c.UserContext(), "payment needs attention", "outcome", string(out),
				"out_trade_no", t.OutTradeNo, "transaction_id", t.TransactionID)
		}
		return c.SendStatus(http.StatusNoContent)
	case apperr.KindOf(err) == apperr.Invalid:
		s.Log.ErrorContext(c.UserContext(), "payment notification for an unknown trade", "err", err.Error(), "out_trade_no", t.OutTradeNo)
		return fail(http.StatusBadRequest, "unknown trade")
	default:
		s.Log.ErrorContext(c.UserContext(), "payment notification not recorded", "err", err.Error(), "out_trade_no", t.OutTradeNo)
		return fail(http.StatusInternalServerError, "try again")
	}
}

// refundOrder refunds (part of) a paid order: staff at any time, the diner before pickup.
// The Idempotency-Key header makes a repeated request the same refund.
func (s *server) refundOrder(c *fiber.Ctx) error {
	if s.Payments == nil {
		return errNoWeChatPay
	}
	key := strings.Clone(c.Get(headerIdempotencyKey))
	return withPathBody(c, idParam, http.StatusCreated, func(id int64, in payment.RefundInput) (payment.Refund, error) {
		return s.Payments.RequestRefund(c.UserContext(), caller(c), me(c).Kind == auth.StaffKind, id, key, in)
	})
}

// wechatRefundNotify receives WeChat Pay's refund notifications: verified like payment
// notifications, applied once (a duplicate changes nothing), answered per WeChat's contract.
func (s *server) wechatRefundNotify(c *fiber.Ctx) error {
	fail := func(status int, msg string) error {
		return c.Status(status).JSON(wechatPayFail{Code: "FAIL", Message: msg})
	}
	if s.Payments == nil || s.RefundNotice == nil {
		return fail(http.StatusServiceUnavailable, "WeChat Pay is not configured")
	}
	req, err := adaptor.ConvertRequest(c, false)
	if err != nil {
		return fail(http.StatusBadRequest, "unreadable request")
	}
	st, err := s.RefundNotice(req)
	if err != nil {
		s.Log.WarnContext(c.UserContext(), "refund notification refused", "err", err.Error(), "request_id", requestID(c))
		if apperr.KindOf(err) == apperr.Invalid {
			return fail(http.StatusBadRequest, "verification failed")
		}
		return fail(http.StatusInternalServerError, "try again")
	}
	if _, err := s.Payments.RefundNotified(c.UserContext(), st); err != nil {
		s.Log.ErrorContext(c.UserContext(), "refund notification not applied", "err", err.Error(), "out_refund_no", st.OutRefundNo)
		if apperr.KindOf(err) == apperr.Invalid {
			return fail(http.StatusBadRequest, "unknown refund")
		}
		return fail(http.StatusInternalServerError, "try again")
	}
	return c.SendStatus(http.StatusNoContent)
}

// paymentsNeedingAttention lists flagged payments and payments sent back, for staff.
func (s *server) paymentsNeedingAttention(c *fiber.Ctx) error {
	if s.Payments == nil {
		return c.JSON(listOf([]payment.Payment{}))
	}
	out, err := listed(s.Payments.NeedingAttention(c.UserContext(), me(c).CommunityID))
	return reply(c, http.StatusOK, out, err)
}
