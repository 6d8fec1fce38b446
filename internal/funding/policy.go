package funding

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// PolicyRecord is a policy's current version with its state. Only active policies price orders.
type PolicyRecord struct {
	Policy    subsidy.Policy `json:"policy"`
	Active    bool           `json:"active"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// PledgeRef is a pledge a policy's funding names, as the store found it, with whether its
// sponsor is active.
type PledgeRef struct {
	Pledge        Pledge
	SponsorActive bool
}

// CreatePolicy validates p and stores it as version 1 of a new active policy. Every
// funding part's pledge must be an active pledge of the community with an active sponsor,
// serving every canteen the policy names (all of them when it names none); each part's
// SponsorID is filled from its pledge. Invalid, NotFound (ErrPledgeNotFound),
// FailedPrecondition (ErrPledgeInactive); errors name the field ("funding.parts[0].pledge_id").
func (s *Service) CreatePolicy(ctx context.Context, sc Scope, p subsidy.Policy) (PolicyRecord, error) {
	if err := validatePolicy(&p); err != nil {
		return PolicyRecord{}, err
	}
	r, err := s.store.CreatePolicy(ctx, sc, p, checkPolicyPledges)
	if err != nil {
		return PolicyRecord{}, fmt.Errorf("funding: create policy: %w", err)
	}
	return r, nil
}

// UpdatePolicy makes p the new current version of policy id, checked as CreatePolicy
// checks. Earlier versions stay readable, unchanged, for the orders priced by them; the
// policy stays active or inactive as it was. Invalid, NotFound, FailedPrecondition.
func (s *Service) UpdatePolicy(ctx context.Context, sc Scope, id int64, p subsidy.Policy) (PolicyRecord, error) {
	if err := validatePolicy(&p); err != nil {
		return PolicyRecord{}, err
	}
	r, err := s.store.UpdatePolicy(ctx, sc, id, p, checkPolicyPledges)
	if err != nil {
		return PolicyRecord{}, fmt.Errorf("funding: update policy %d: %w", id, err)
	}
	return r, nil
}

// DeactivatePolicy stops policy id pricing new orders; orders already priced keep their
// holds. Deactivating an inactive policy changes nothing. NotFound.
func (s *Service) DeactivatePolicy(ctx context.Context, sc Scope, id int64) (PolicyRecord, error) {
	r, err := s.store.SetPolicyActive(ctx, sc, id, false)
	if err != nil {
		return PolicyRecord{}, fmt.Errorf("funding: deactivate policy %d: %w", id, err)
	}
	return r, nil
}

// ActivatePolicy lets policy id price orders again. NotFound.
func (s *Service) ActivatePolicy(ctx context.Context, sc Scope, id int64) (PolicyRecord, error) {
	r, err := s.store.SetPolicyActive(ctx, sc, id, true)
	if err != nil {
		return PolicyRecord{}, fmt.Errorf("funding: activate policy %d: %w", id, err)
	}
	return r, nil
}

// GetPolicy returns the given version of policy id, or the current one for version 0.
// NotFound.
func (s *Service) GetPolicy(ctx context.Context, communityID, id, version int64) (subsidy.Policy, error) {
	if version < 0 {
		var f apperr.Fields
		f.Add("version", "应为正整数，0 表示当前版本 / must be positive, or 0 for the current version")
		return subsidy.Policy{}, f.Err()
	}
	p, err := s.store.Policy(ctx, communityID, id, version)
	if err != nil {
		return subsidy.Policy{}, fmt.Errorf("funding: get policy %d v%d: %w", id, version, err)
	}
	return p, nil
}

// ListPolicies returns the community's policies, current versions, active or not, by ID.
func (s *Service) ListPolicies(ctx context.Context, communityID int64) ([]PolicyRecord, error) {
	rs, err := s.store.Policies(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("funding: list policies: %w", err)
	}
	return rs, nil
}

// ActivePolicies returns, for pricing, the current versions of the community's active
// policies whose validity includes day, by ID. Invalid for a bad day.
func (s *Service) ActivePolicies(ctx context.Context, communityID int64, day civil.Date) ([]subsidy.Policy, error) {
	if !day.IsValid() {
		var f apperr.Fields
		f.Add("day", "不是有效日期 / not a real date")
		return nil, f.Err()
	}
	ps, err := s.store.ActivePolicies(ctx, communityID, day)
	if err != nil {
		return nil, fmt.Errorf("funding: active policies of %s: %w", day, err)
	}
	return ps, nil
}

// validatePolicy runs subsidy's own validation. Sponsor IDs are not the caller's to set
// (they are filled from the pledges), so they are cleared and not checked.
func validatePolicy(p *subsidy.Policy) error {
	p.Funding.Parts = slices.Clone(p.Funding.Parts)
	q := *p
	q.Funding.Parts = slices.Clone(p.Funding.Parts)
	for i := range q.Funding.Parts {
		p.Funding.Parts[i].SponsorID = 0
		q.Funding.Parts[i].SponsorID = 1 // any valid ID: the real one comes from the pledge
	}
	return q.Validate()
}

// checkPolicyPledges checks the pledges of p's funding parts and fills their sponsors.
func checkPolicyPledges(p *subsidy.Policy, refs map[int64]PledgeRef) error {
	for i := range p.Funding.Parts {
		part := &p.Funding.Parts[i]
		field := fmt.Sprintf("funding.parts[%d].pledge_id", i)
		ref, ok := refs[part.PledgeID]
		switch {
		case !ok:
			return WithField(ErrPledgeNotFound, field, fmt.Sprintf("本社区没有认捐 %d / no pledge %d in this community", part.PledgeID, part.PledgeID), nil)
		case !ref.Pledge.Active:
			return WithField(ErrPledgeInactive, field, "认捐已停用 / the pledge is inactive", nil)
		case !ref.SponsorActive:
			return WithField(ErrSponsorInactive, field, "认捐的资助方已停用 / the pledge's sponsor is inactive", nil)
		}
		if pc := ref.Pledge.CanteenIDs; len(pc) > 0 {
			ok := len(p.When.CanteenIDs) > 0
			for _, c := range p.When.CanteenIDs {
				ok = ok && slices.Contains(pc, c)
			}
			if !ok {
				var f apperr.Fields
				f.Add(field, fmt.Sprintf("该认捐只资助食堂 %v，规则须限定在这些食堂 / the pledge funds only canteens %v: limit when.canteen_ids to them", pc, pc))
				return f.Err()
			}
		}
		part.SponsorID = ref.Pledge.SponsorID
	}
	return nil
}
