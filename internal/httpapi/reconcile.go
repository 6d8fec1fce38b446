package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/settlement"
)

// reconcileScope is the caller as reconciliation sees it: its community and canteens.
func reconcileScope(c *fiber.Ctx) payment.ReconcileScope {
	p := me(c)
	return payment.ReconcileScope{CommunityID: p.CommunityID, CanteenIDs: p.CanteenIDs, Actor: p.Actor()}
}

// dayParam reads the :day path parameter.
func dayParam(c *fiber.Ctx) (civil.Date, error) { return pathDate(c, "day") }

// reconcileRange reads ?day=YYYY-MM-DD or ?month=YYYY-MM: exactly one of them.
func reconcileRange(c *fiber.Ctx) (from, to civil.Date, err error) {
	day, month := c.Query("day"), c.Query("month")
	var f apperr.Fields
	switch {
	case day != "" && month != "":
		f.Add("month", "give day or month, not both")
	case day != "":
		from, err = civil.ParseDate(day)
		f.Check(err == nil, "day", "must be YYYY-MM-DD")
		to = from
	case month != "":
		m, err := settlement.ParseMonth(month)
		f.Check(err == nil, "month", "must be YYYY-MM")
		from, to = m.First(), m.Last()
	default:
		f.Add("day", "day=YYYY-MM-DD or month=YYYY-MM is required")
	}
	return from, to, f.Err()
}

// listReconciliation answers a day's or a month's reconciliation findings that the
// caller's community may see, not matched first, with counts per outcome.
func (s *server) listReconciliation(c *fiber.Ctx) error {
	if s.Reconciliation == nil {
		return errNoWeChatPay
	}
	from, to, err := reconcileRange(c)
	if err != nil {
		return err
	}
	out, err := s.Reconciliation.Report(c.UserContext(), reconcileScope(c), from, to)
	return reply(c, http.StatusOK, out, err)
}

// rerunReconciliation reconciles a stored bill day again and answers its findings.
func (s *server) rerunReconciliation(c *fiber.Ctx) error {
	if s.Reconciliation == nil {
		return errNoWeChatPay
	}
	return withPath(c, dayParam, func(day civil.Date) (payment.ReconcileReport, error) {
		return s.Reconciliation.Rerun(c.UserContext(), reconcileScope(c), day)
	})
}

// resolveFinding sets the caller's community's note on a finding of a day.
func (s *server) resolveFinding(c *fiber.Ctx) error {
	if s.Reconciliation == nil {
		return errNoWeChatPay
	}
	return withPathBody(c, dayParam, http.StatusOK, func(day civil.Date, in payment.ResolutionInput) (payment.Resolution, error) {
		return s.Reconciliation.Resolve(c.UserContext(), reconcileScope(c), day, in)
	})
}
