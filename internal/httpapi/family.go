package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/eligibility"
)

// bindingBody names the elder a family member asks to order for, and how they are related.
type bindingBody struct {
	ElderDinerID int64  `json:"elder_diner_id"`
	Relation     string `json:"relation"`
}

// requestBinding asks, as the family member, to order for an elder.
func (s *server) requestBinding(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in bindingBody) (eligibility.Binding, error) {
		return s.Eligibility.RequestBinding(c.UserContext(), eligScope(c), me(c).ID, in.ElderDinerID, in.Relation)
	})
}

func (s *server) myBindings(c *fiber.Ctx) error {
	p := me(c)
	out, err := s.Eligibility.BindingsOf(c.UserContext(), p.CommunityID, p.ID)
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) myElders(c *fiber.Ctx) error {
	p := me(c)
	out, err := s.Eligibility.EldersOf(c.UserContext(), p.CommunityID, p.ID)
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) confirmBinding(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (eligibility.Binding, error) {
		return s.Eligibility.ConfirmBinding(c.UserContext(), eligScope(c), id)
	})
}

func (s *server) revokeBinding(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (eligibility.Binding, error) {
		return s.Eligibility.RevokeBinding(c.UserContext(), eligScope(c), id)
	})
}

func (s *server) pendingBindings(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 0, 1, eligibility.MaxListLimit)
	if err != nil {
		return err
	}
	out, err := s.Eligibility.PendingBindings(c.UserContext(), me(c).CommunityID, int(limit))
	return reply(c, http.StatusOK, listOf(out), err)
}
