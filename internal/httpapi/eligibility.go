package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// eligScope is the caller as the eligibility service sees them: Reviewer only for staff
// holding the reviewer role.
func eligScope(c *fiber.Ctx) eligibility.Scope {
	p := me(c)
	return eligibility.Scope{CommunityID: p.CommunityID, Actor: p.Actor(), Reviewer: p.HasAny(auth.Reviewer)}
}

// reasonBody is the body of reject, revoke and cancel.
type reasonBody struct {
	Reason string `json:"reason"`
}

// applyElderly files the calling diner's application for the elderly group.
func (s *server) applyElderly(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in eligibility.ElderlyApplication) (eligibility.Eligibility, error) {
		return s.Eligibility.ApplyElderly(c.UserContext(), eligScope(c), me(c).ID, in)
	})
}

// applyWorker files the calling diner's application for the new-employment worker group.
func (s *server) applyWorker(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in eligibility.WorkerApplication) (eligibility.Eligibility, error) {
		return s.Eligibility.ApplyWorker(c.UserContext(), eligScope(c), me(c).ID, in)
	})
}

func (s *server) myEligibilities(c *fiber.Ctx) error {
	p := me(c)
	out, err := s.Eligibility.ForDiner(c.UserContext(), p.CommunityID, p.ID)
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) pendingEligibilities(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 0, 1, eligibility.MaxListLimit)
	if err != nil {
		return err
	}
	out, err := s.Eligibility.Pending(c.UserContext(), me(c).CommunityID, subsidy.Group(c.Query("group")), int(limit))
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) expiringEligibilities(c *fiber.Ctx) error {
	days, err := queryInt(c, "days", 30, 1, eligibility.MaxExpiringDays)
	if err != nil {
		return err
	}
	out, err := s.Eligibility.ExpiringSoon(c.UserContext(), me(c).CommunityID, int(days))
	return reply(c, http.StatusOK, listOf(out), renameField(err, "within_days", "days"))
}

func (s *server) getEligibility(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (eligibility.Eligibility, error) {
		return s.Eligibility.Get(c.UserContext(), me(c).CommunityID, id)
	})
}

// approveBody is the optional body of approve.
type approveBody struct {
	ValidFrom  civil.Date `json:"valid_from"`
	ValidUntil civil.Date `json:"valid_until"`
}

// approveEligibility approves an application; the body, with valid_from and valid_until,
// may be left out for today and one year on.
func (s *server) approveEligibility(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (eligibility.Eligibility, error) {
		var in approveBody
		if err := bindOptional(c, &in); err != nil {
			return eligibility.Eligibility{}, err
		}
		return s.Eligibility.Approve(c.UserContext(), eligScope(c), id, in.ValidFrom, in.ValidUntil)
	})
}

func (s *server) rejectEligibility(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in reasonBody) (eligibility.Eligibility, error) {
		return s.Eligibility.Reject(c.UserContext(), eligScope(c), id, in.Reason)
	})
}

func (s *server) revokeEligibility(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in reasonBody) (eligibility.Eligibility, error) {
		return s.Eligibility.Revoke(c.UserContext(), eligScope(c), id, in.Reason)
	})
}

// renewBody is the body of renew.
type renewBody struct {
	ValidUntil civil.Date `json:"valid_until"`
}

func (s *server) renewEligibility(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in renewBody) (eligibility.Eligibility, error) {
		return s.Eligibility.Renew(c.UserContext(), eligScope(c), id, in.ValidUntil)
	})
}

// unmaskEligibility shows a reviewer the clear ID number; the service records the reading.
// The answer is never cached.
func (s *server) unmaskEligibility(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (fiber.Map, error) {
		n, err := s.Eligibility.Unmask(c.UserContext(), eligScope(c), id)
		if err != nil {
			return nil, err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return fiber.Map{"id_number": n}, nil
	})
}
