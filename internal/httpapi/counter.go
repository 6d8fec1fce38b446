package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
)

// registeredElder is what the counter gets back from registering an elder: the diner, masked,
// and where the application stands, never its flags.
type registeredElder struct {
	Diner         eligibility.Diner  `json:"diner"`
	EligibilityID int64              `json:"eligibility_id"`
	Status        eligibility.Status `json:"status"`
	ValidUntil    civil.Date         `json:"valid_until"`
}

// findDiners looks diners up at the counter; results are masked and carry no group.
func (s *server) findDiners(c *fiber.Ctx) error {
	out, err := s.Eligibility.FindDiners(c.UserContext(), me(c).CommunityID, c.Query("q"))
	return reply(c, http.StatusOK, listOf(out), renameField(err, "query", "q"))
}

// registerElder registers an elder without WeChat at the counter; approving at once needs
// the reviewer role.
func (s *server) registerElder(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in eligibility.CounterRegistration) (registeredElder, error) {
		r, err := s.Eligibility.RegisterAtCounter(c.UserContext(), eligScope(c), in)
		if err != nil {
			return registeredElder{}, err
		}
		return registeredElder{Diner: r.Diner, EligibilityID: r.Eligibility.ID,
			Status: r.Eligibility.Status, ValidUntil: r.Eligibility.ValidUntil}, nil
	})
}
