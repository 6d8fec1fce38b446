package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/community"
)

func (s *server) listMerchants(c *fiber.Ctx) error {
	out, err := s.Community.ListMerchants(c.UserContext(), me(c).CommunityID)
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) createMerchant(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in community.MerchantInput) (community.Merchant, error) {
		p := me(c)
		return s.Community.CreateMerchant(c.UserContext(), p.CommunityID, p.Actor(), in)
	})
}

func (s *server) getMerchant(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (community.Merchant, error) {
		return s.Community.GetMerchant(c.UserContext(), me(c).CommunityID, id)
	})
}

func (s *server) updateMerchant(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in community.MerchantInput) (community.Merchant, error) {
		p := me(c)
		return s.Community.UpdateMerchant(c.UserContext(), p.CommunityID, p.Actor(), id, in)
	})
}

// merchantProfile is a merchant user's view of its own merchant.
func (s *server) merchantProfile(c *fiber.Ctx) error {
	p := me(c)
	out, err := s.Community.GetMerchant(c.UserContext(), p.CommunityID, p.MerchantID)
	return reply(c, http.StatusOK, out, err)
}
