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

// reasonBody is the body of reject and revoke.
type reasonBody struct {
	Reason string `json:"reason"`
}

// applyElderly files the calling diner's application for the elderly group.
func (s *server) applyElderly(c *fiber.Ctx) error {
	var in eligibility.ElderlyApplication
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Eligibility.ApplyElderly(c.UserContext(), eligScope(c), me(c).ID, in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

// applyWorker files the calling diner's application for the new-employment worker group.
func (s *server) applyWorker(c *fiber.Ctx) error {
	var in eligibility.WorkerApplication
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Eligibility.ApplyWorker(c.UserContext(), eligScope(c), me(c).ID, in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

func (s *server) myEligibilities(c *fiber.Ctx) error {
	p := me(c)
	out, err := s.Eligibility.ForDiner(c.UserContext(), p.CommunityID, p.ID)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) pendingEligibilities(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 0, 1, eligibility.MaxListLimit)
	if err != nil {
		return err
	}
	out, err := s.Eligibility.Pending(c.UserContext(), me(c).CommunityID, subsidy.Group(c.Query("group")), int(limit))
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) expiringEligibilities(c *fiber.Ctx) error {
	days, err := queryInt(c, "days", 30, 1, eligibility.MaxExpiringDays)
	if err != nil {
		return err
	}
	out, err := s.Eligibility.ExpiringSoon(c.UserContext(), me(c).CommunityID, int(days))
	if err != nil {
		return renameField(err, "within_days", "days")
	}
	return c.JSON(listOf(out))
}

func (s *server) getEligibility(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Eligibility.Get(c.UserContext(), me(c).CommunityID, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// approveEligibility approves an application; the body, with valid_from and valid_until,
// may be left out for today and one year on.
func (s *server) approveEligibility(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		ValidFrom  civil.Date `json:"valid_from"`
		ValidUntil civil.Date `json:"valid_until"`
	}
	if err := bindOptional(c, &in); err != nil {
		return err
	}
	out, err := s.Eligibility.Approve(c.UserContext(), eligScope(c), id, in.ValidFrom, in.ValidUntil)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) rejectEligibility(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in reasonBody
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Eligibility.Reject(c.UserContext(), eligScope(c), id, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) revokeEligibility(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in reasonBody
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Eligibility.Revoke(c.UserContext(), eligScope(c), id, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) renewEligibility(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		ValidUntil civil.Date `json:"valid_until"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Eligibility.Renew(c.UserContext(), eligScope(c), id, in.ValidUntil)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// unmaskEligibility shows a reviewer the clear ID number; the service records the reading.
func (s *server) unmaskEligibility(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	n, err := s.Eligibility.Unmask(c.UserContext(), eligScope(c), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"id_number": n})
}
