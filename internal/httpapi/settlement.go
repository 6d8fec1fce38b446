package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/settlement"
)

// settleScope is the caller as month end records it.
func settleScope(c *fiber.Ctx) settlement.Scope {
	p := me(c)
	return settlement.Scope{CommunityID: p.CommunityID, Actor: p.Actor()}
}

var errMonthInvalid = &apperr.Error{Kind: apperr.Invalid, Code: "month_invalid",
	Detail: "月份格式应为 YYYY-MM / month must be written YYYY-MM, like 2026-11",
	Fields: []apperr.FieldError{{Field: "month", Reason: "must be YYYY-MM"}}}

// monthParam reads the :month path parameter, YYYY-MM.
func monthParam(c *fiber.Ctx) (settlement.Month, error) {
	m, err := settlement.ParseMonth(c.Params("month"))
	if err != nil {
		return settlement.Month{}, errMonthInvalid
	}
	return m, nil
}

// queryMonth reads the optional ?month=YYYY-MM; the zero Month when absent.
func queryMonth(c *fiber.Ctx) (settlement.Month, error) {
	raw := c.Query("month")
	if raw == "" {
		return settlement.Month{}, nil
	}
	m, err := settlement.ParseMonth(raw)
	if err != nil {
		return settlement.Month{}, errMonthInvalid
	}
	return m, nil
}

// previewMonth works out an open month's statements and checks without keeping anything.
func (s *server) previewMonth(c *fiber.Ctx) error {
	return withPath(c, monthParam, func(m settlement.Month) (settlement.Preview, error) {
		return s.Settlement.Preview(c.UserContext(), me(c).CommunityID, m)
	})
}

// monthChecks runs the checks of a month.
func (s *server) monthChecks(c *fiber.Ctx) error {
	return withPath(c, monthParam, func(m settlement.Month) (list[settlement.Finding], error) {
		return listed(s.Settlement.Checks(c.UserContext(), me(c).CommunityID, m))
	})
}

// closeMonth closes a month by hand; the body may be left out when nothing is overridden.
func (s *server) closeMonth(c *fiber.Ctx) error {
	return withPathOptionalBody(c, monthParam, http.StatusCreated, func(m settlement.Month, in settlement.CloseRequest) (settlement.Close, error) {
		return s.Settlement.Close(c.UserContext(), settleScope(c), m, in)
	})
}

// listCloses lists the closed months, newest first.
func (s *server) listCloses(c *fiber.Ctx) error {
	out, err := listed(s.Settlement.Closes(c.UserContext(), me(c).CommunityID))
	return reply(c, http.StatusOK, out, err)
}

// listCloseAttempts lists the attempts to close a month, those the checks blocked included.
func (s *server) listCloseAttempts(c *fiber.Ctx) error {
	out, err := listed(s.Settlement.Attempts(c.UserContext(), me(c).CommunityID))
	return reply(c, http.StatusOK, out, err)
}

// listStatements lists closed statements, filtered by ?month=, ?kind= and ?merchant_id=.
func (s *server) listStatements(c *fiber.Ctx) error {
	m, err := queryMonth(c)
	if err != nil {
		return err
	}
	merchant, err := queryInt(c, "merchant_id", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	kind := settlement.PartyKind(c.Query("kind"))
	if kind != "" && kind != settlement.Sponsor && kind != settlement.Operator {
		var f apperr.Fields
		f.Add("kind", "应为 sponsor 或 operator / must be sponsor or operator")
		return f.Err()
	}
	out, err := listed(s.Settlement.Statements(c.UserContext(), me(c).CommunityID,
		settlement.StatementQuery{Month: m, MerchantID: merchant, Kind: kind}))
	return reply(c, http.StatusOK, out, err)
}

// statementPage is a statement's :id and the page of its lines it is asked for.
type statementPage struct {
	id   int64
	page settlement.LinePage
}

// statementPageParams reads the :id path parameter, then ?after= (a line number) and
// ?limit= (1..5000) for the page of the statement's lines.
func statementPageParams(c *fiber.Ctx) (statementPage, error) {
	id, err := idParam(c)
	if err != nil {
		return statementPage{}, err
	}
	after, err := queryInt(c, "after", 0, 0, 1<<31-1)
	if err != nil {
		return statementPage{}, err
	}
	limit, err := queryInt(c, "limit", 500, 1, 5000)
	if err != nil {
		return statementPage{}, err
	}
	return statementPage{id: id, page: settlement.LinePage{After: int(after), Limit: int(limit)}}, nil
}

// getStatement answers a statement with its breakdowns, sign-offs and a page of lines.
func (s *server) getStatement(c *fiber.Ctx) error {
	return withPath(c, statementPageParams, func(p statementPage) (settlement.Report, error) {
		return s.Settlement.Statement(c.UserContext(), me(c).CommunityID, p.id, p.page)
	})
}

// merchantStatement is getStatement for a merchant user: its own merchant's only.
func (s *server) merchantStatement(c *fiber.Ctx) error {
	return withPath(c, statementPageParams, func(p statementPage) (settlement.Report, error) {
		return s.Settlement.MerchantStatement(c.UserContext(), me(c).CommunityID, me(c).MerchantID, p.id, p.page)
	})
}

// postAdjustment books finance's correction of a closed statement into the next open month.
func (s *server) postAdjustment(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in settlement.AdjustmentInput) (settlement.Adjustment, error) {
		return s.Settlement.Adjust(c.UserContext(), settleScope(c), in)
	})
}

// merchantStatements lists the statements of the caller's merchant, as sponsor or as
// canteen operator, optionally of one ?month=.
func (s *server) merchantStatements(c *fiber.Ctx) error {
	m, err := queryMonth(c)
	if err != nil {
		return err
	}
	out, err := listed(s.Settlement.MerchantStatements(c.UserContext(), me(c).CommunityID, me(c).MerchantID, m))
	return reply(c, http.StatusOK, out, err)
}

// signoffBody is a merchant's answer to a statement: a comment, which a dispute needs.
type signoffBody struct {
	Comment string `json:"comment"`
}

// confirmStatement records that the caller's merchant agrees with its statement.
func (s *server) confirmStatement(c *fiber.Ctx) error {
	return s.signoff(c, s.Settlement.Confirm)
}

// disputeStatement records that the caller's merchant disputes its statement, and why.
func (s *server) disputeStatement(c *fiber.Ctx) error {
	return s.signoff(c, s.Settlement.Dispute)
}

func (s *server) signoff(c *fiber.Ctx, fn func(ctx context.Context, sc settlement.Scope, merchantID, id int64, comment string) (settlement.Signoff, error)) error {
	return withPathOptionalBody(c, idParam, http.StatusCreated, func(id int64, in signoffBody) (settlement.Signoff, error) {
		return fn(c.UserContext(), settleScope(c), me(c).MerchantID, id, strings.Clone(in.Comment))
	})
}
