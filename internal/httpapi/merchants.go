package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/community"
)

func (s *server) listMerchants(c *fiber.Ctx) error {
	out, err := s.Community.ListMerchants(c.UserContext(), me(c).CommunityID)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) createMerchant(c *fiber.Ctx) error {
	var in community.MerchantInput
	if err := bind(c, &in); err != nil {
		return err
	}
	p := me(c)
	out, err := s.Community.CreateMerchant(c.UserContext(), p.CommunityID, p.Actor(), in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

func (s *server) getMerchant(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Community.GetMerchant(c.UserContext(), me(c).CommunityID, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) updateMerchant(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in community.MerchantInput
	if err := bind(c, &in); err != nil {
		return err
	}
	p := me(c)
	out, err := s.Community.UpdateMerchant(c.UserContext(), p.CommunityID, p.Actor(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// merchantProfile is a merchant user's view of its own merchant.
func (s *server) merchantProfile(c *fiber.Ctx) error {
	p := me(c)
	out, err := s.Community.GetMerchant(c.UserContext(), p.CommunityID, p.MerchantID)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
