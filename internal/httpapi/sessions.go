package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/auth"
)

type list[T any] struct {
	Items []T `json:"items"`
}

func listOf[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items}
}

func (s *server) staffLogin(c *fiber.Ctx) error {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	sess, err := s.Auth.StaffLogin(c.UserContext(), in.Username, in.Password, c.IP())
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(sess)
}

func (s *server) dinerLogin(c *fiber.Ctx) error {
	var in struct {
		CommunityID int64  `json:"community_id"`
		Code        string `json:"code"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	sess, err := s.Auth.DinerLogin(c.UserContext(), in.CommunityID, in.Code)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(sess)
}

func (s *server) logout(c *fiber.Ctx) error {
	token, _ := c.Locals("token").(string)
	if err := s.Auth.Logout(c.UserContext(), token); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (s *server) getMe(c *fiber.Ctx) error { return c.JSON(me(c)) }

func (s *server) listStaff(c *fiber.Ctx) error {
	out, err := s.Auth.ListStaff(c.UserContext(), me(c).CommunityID)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) createStaff(c *fiber.Ctx) error {
	var in auth.StaffInput
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Auth.CreateStaff(c.UserContext(), me(c), in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

func (s *server) getStaff(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Auth.GetStaff(c.UserContext(), me(c).CommunityID, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) updateStaff(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in auth.StaffPatch
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Auth.UpdateStaff(c.UserContext(), me(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
