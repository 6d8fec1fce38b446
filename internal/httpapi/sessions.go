package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/auth"
)

// staffLoginBody is a staff member's username and password.
type staffLoginBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *server) staffLogin(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in staffLoginBody) (auth.Session, error) {
		return s.Auth.StaffLogin(c.UserContext(), in.Username, in.Password, c.IP())
	})
}

// dinerLoginBody is a diner's WeChat login code for a community.
type dinerLoginBody struct {
	CommunityID int64  `json:"community_id"`
	Code        string `json:"code"`
}

func (s *server) dinerLogin(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in dinerLoginBody) (auth.Session, error) {
		return s.Auth.DinerLogin(c.UserContext(), in.CommunityID, in.Code)
	})
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
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) createStaff(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in auth.StaffInput) (auth.Staff, error) {
		return s.Auth.CreateStaff(c.UserContext(), me(c), in)
	})
}

func (s *server) getStaff(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (auth.Staff, error) {
		return s.Auth.GetStaff(c.UserContext(), me(c).CommunityID, id)
	})
}

func (s *server) updateStaff(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in auth.StaffPatch) (auth.Staff, error) {
		return s.Auth.UpdateStaff(c.UserContext(), me(c), id, in)
	})
}
