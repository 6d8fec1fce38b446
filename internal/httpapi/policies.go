package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/civil"
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
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) createPolicy(c *fiber.Ctx) error {
	var in policyInput
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Funding.CreatePolicy(c.UserContext(), fundScope(c), in.policy())
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

// getPolicy returns the current version of a policy, or the one ?version= names.
func (s *server) getPolicy(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	version, err := queryInt(c, "version", 0, 1, 1<<53)
	if err != nil {
		return err
	}
	out, err := s.Funding.GetPolicy(c.UserContext(), me(c).CommunityID, id, version)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// updatePolicy makes the body the new current version of a policy.
func (s *server) updatePolicy(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in policyInput
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Funding.UpdatePolicy(c.UserContext(), fundScope(c), id, in.policy())
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) deactivatePolicy(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Funding.DeactivatePolicy(c.UserContext(), fundScope(c), id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) activatePolicy(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Funding.ActivatePolicy(c.UserContext(), fundScope(c), id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
