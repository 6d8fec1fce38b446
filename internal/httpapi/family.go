package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/eligibility"
)

// requestBinding asks, as the family member, to order for an elder.
func (s *server) requestBinding(c *fiber.Ctx) error {
	var in struct {
		ElderDinerID int64  `json:"elder_diner_id"`
		Relation     string `json:"relation"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Eligibility.RequestBinding(c.UserContext(), eligScope(c), me(c).ID, in.ElderDinerID, in.Relation)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

func (s *server) myBindings(c *fiber.Ctx) error {
	p := me(c)
	out, err := s.Eligibility.BindingsOf(c.UserContext(), p.CommunityID, p.ID)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) myElders(c *fiber.Ctx) error {
	p := me(c)
	out, err := s.Eligibility.EldersOf(c.UserContext(), p.CommunityID, p.ID)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) confirmBinding(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Eligibility.ConfirmBinding(c.UserContext(), eligScope(c), id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) revokeBinding(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Eligibility.RevokeBinding(c.UserContext(), eligScope(c), id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) pendingBindings(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 0, 1, eligibility.MaxListLimit)
	if err != nil {
		return err
	}
	out, err := s.Eligibility.PendingBindings(c.UserContext(), me(c).CommunityID, int(limit))
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}
