package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// policyInput is a policy as an admin writes it: the store assigns the id, version and
// community, and each funding part's sponsor comes from its pledge.
type policyInput struct {
	Name      string          `json:"name"`
	Priority  int             `json:"priority"`
	Stackable bool            `json:"stackable"`
	ValidFrom civil.Date      `json:"valid_from"`
	ValidTo   civil.Date      `json:"valid_to"`
	Who       subsidy.Who     `json:"who"`
	When      subsidy.When    `json:"when"`
	What      subsidy.What    `json:"what"`
	Benefit   subsidy.Benefit `json:"benefit"`
	Limits    []subsidy.Limit `json:"limits"`
	Funding   subsidy.Funding `json:"funding"`
}

func (in policyInput) policy() subsidy.Policy {
	return subsidy.Policy{Name: in.Name, Priority: in.Priority, Stackable: in.Stackable, ValidFrom: in.ValidFrom,
		ValidTo: in.ValidTo, Who: in.Who, When: in.When, What: in.What, Benefit: in.Benefit, Limits: in.Limits,
		Funding: in.Funding}
}

func (s *server) listPolicies(c *fiber.Ctx) error {
	out, err := s.Funding.ListPolicies(c.UserContext(), me(c).CommunityID)
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) createPolicy(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in policyInput) (funding.PolicyRecord, error) {
		return s.Funding.CreatePolicy(c.UserContext(), fundScope(c), in.policy())
	})
}

// getPolicy returns the current version of a policy, or the one ?version= names.
func (s *server) getPolicy(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (subsidy.Policy, error) {
		version, err := queryInt(c, "version", 0, 1, 1<<53)
		if err != nil {
			return subsidy.Policy{}, err
		}
		return s.Funding.GetPolicy(c.UserContext(), me(c).CommunityID, id, version)
	})
}

// updatePolicy makes the body the new current version of a policy.
func (s *server) updatePolicy(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in policyInput) (funding.PolicyRecord, error) {
		return s.Funding.UpdatePolicy(c.UserContext(), fundScope(c), id, in.policy())
	})
}

func (s *server) deactivatePolicy(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (funding.PolicyRecord, error) {
		return s.Funding.DeactivatePolicy(c.UserContext(), fundScope(c), id)
	})
}

func (s *server) activatePolicy(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (funding.PolicyRecord, error) {
		return s.Funding.ActivatePolicy(c.UserContext(), fundScope(c), id)
	})
}
