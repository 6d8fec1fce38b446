package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/funding"
)

func fundScope(c *fiber.Ctx) funding.Scope {
	p := me(c)
	return funding.Scope{CommunityID: p.CommunityID, Actor: p.Actor()}
}

func (s *server) listSponsors(c *fiber.Ctx) error {
	out, err := s.Funding.ListSponsors(c.UserContext(), me(c).CommunityID)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) createSponsor(c *fiber.Ctx) error {
	var in funding.SponsorInput
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Funding.CreateSponsor(c.UserContext(), fundScope(c), in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

func (s *server) getSponsor(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Funding.GetSponsor(c.UserContext(), me(c).CommunityID, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) updateSponsor(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in funding.SponsorPatch
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Funding.UpdateSponsor(c.UserContext(), fundScope(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) listPledges(c *fiber.Ctx) error {
	out, err := s.Funding.ListPledges(c.UserContext(), me(c).CommunityID)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

func (s *server) createPledge(c *fiber.Ctx) error {
	var in funding.PledgeInput
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Funding.CreatePledge(c.UserContext(), fundScope(c), in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(out)
}

func (s *server) getPledge(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Funding.GetPledge(c.UserContext(), me(c).CommunityID, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) updatePledge(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in funding.PledgePatch
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Funding.UpdatePledge(c.UserContext(), fundScope(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) pledgeBalances(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Funding.PledgeBalances(c.UserContext(), me(c).CommunityID, id)
	if err != nil {
		return err
	}
	return c.JSON(listOf(out))
}

// topUpPledge adds money to one period of a pledge.
func (s *server) topUpPledge(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Period funding.Period `json:"period"`
		Fen    int64          `json:"fen"`
		Memo   string         `json:"memo"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Funding.TopUp(c.UserContext(), fundScope(c), id, in.Period, in.Fen, in.Memo)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// adjustPledge corrects one period of a pledge by signed fen, with a reason.
func (s *server) adjustPledge(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Period funding.Period `json:"period"`
		Fen    int64          `json:"fen"`
		Reason string         `json:"reason"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := s.Funding.Adjust(c.UserContext(), fundScope(c), id, in.Period, in.Fen, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
