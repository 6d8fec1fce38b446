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
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) createSponsor(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in funding.SponsorInput) (funding.Sponsor, error) {
		return s.Funding.CreateSponsor(c.UserContext(), fundScope(c), in)
	})
}

func (s *server) getSponsor(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (funding.Sponsor, error) {
		return s.Funding.GetSponsor(c.UserContext(), me(c).CommunityID, id)
	})
}

func (s *server) updateSponsor(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in funding.SponsorPatch) (funding.Sponsor, error) {
		return s.Funding.UpdateSponsor(c.UserContext(), fundScope(c), id, in)
	})
}

func (s *server) listPledges(c *fiber.Ctx) error {
	out, err := s.Funding.ListPledges(c.UserContext(), me(c).CommunityID)
	return reply(c, http.StatusOK, listOf(out), err)
}

func (s *server) createPledge(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in funding.PledgeInput) (funding.Pledge, error) {
		return s.Funding.CreatePledge(c.UserContext(), fundScope(c), in)
	})
}

func (s *server) getPledge(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (funding.Pledge, error) {
		return s.Funding.GetPledge(c.UserContext(), me(c).CommunityID, id)
	})
}

func (s *server) updatePledge(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in funding.PledgePatch) (funding.Pledge, error) {
		return s.Funding.UpdatePledge(c.UserContext(), fundScope(c), id, in)
	})
}

func (s *server) pledgeBalances(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (list[funding.Balance], error) {
		return listed(s.Funding.PledgeBalances(c.UserContext(), me(c).CommunityID, id))
	})
}

// topUpBody is money added to one period of a pledge.
type topUpBody struct {
	Period funding.Period `json:"period"`
	Fen    int64          `json:"fen"`
	Memo   string         `json:"memo"`
}

// topUpPledge adds money to one period of a pledge.
func (s *server) topUpPledge(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in topUpBody) (funding.Balance, error) {
		return s.Funding.TopUp(c.UserContext(), fundScope(c), id, in.Period, in.Fen, in.Memo)
	})
}

// adjustBody is a signed correction to one period of a pledge, with its reason.
type adjustBody struct {
	Period funding.Period `json:"period"`
	Fen    int64          `json:"fen"`
	Reason string         `json:"reason"`
}

// adjustPledge corrects one period of a pledge by signed fen, with a reason.
func (s *server) adjustPledge(c *fiber.Ctx) error {
	return withPathBody(c, idParam, http.StatusOK, func(id int64, in adjustBody) (funding.Balance, error) {
		return s.Funding.Adjust(c.UserContext(), fundScope(c), id, in.Period, in.Fen, in.Reason)
	})
}
