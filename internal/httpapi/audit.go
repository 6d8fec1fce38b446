package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
)

func (s *server) listAudit(c *fiber.Ctx) error {
	f := audit.Filter{Entity: c.Query("entity"), EntityID: c.Query("entity_id")}
	var fields apperr.Fields
	if v := c.Query("before_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		fields.Check(err == nil && n > 0, "before_id", "must be a positive integer")
		f.BeforeID = n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		fields.Check(err == nil && n > 0 && n <= 500, "limit", "must be 1-500")
		f.Limit = n
	}
	if err := fields.Err(); err != nil {
		return err
	}
	out, err := s.Audit.List(c.UserContext(), me(c).CommunityID, f)
	return reply(c, http.StatusOK, listOf(out), err)
}
