package funding

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// Service manages a community's sponsors, pledges, balances and subsidy policies. "Today"
// is the Asia/Shanghai date of the injected clock. Input errors are apperr Invalid naming
// every offending field; rows of another community are NotFound.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service on store. now is the clock (time.Now when nil).
func NewService(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

func (s *Service) today() civil.Date { return civil.Today(s.now()) }

// CreateSponsor creates an active sponsor. Invalid, Conflict (ErrSponsorNameTaken),
// NotFound (ErrMerchantNotFound).
func (s *Service) CreateSponsor(ctx context.Context, sc Scope, in SponsorInput) (Sponsor, error) {
	sp, err := in.sponsor(sc.CommunityID)
	if err != nil {
		return Sponsor{}, err
	}
	if sp, err = s.store.CreateSponsor(ctx, sc, sp); err != nil {
		return Sponsor{}, fmt.Errorf("funding: create sponsor: %w", err)
	}
	return sp, nil
}

// UpdateSponsor changes the fields p sets. A deactivated sponsor's pledges fund nothing
// from then on; what is already held stays held. Invalid, NotFound, Conflict.
func (s *Service) UpdateSponsor(ctx context.Context, sc Scope, id int64, p SponsorPatch) (Sponsor, error) {
	if err := p.validate(); err != nil {
		return Sponsor{}, err
	}
	sp, err := s.store.UpdateSponsor(ctx, sc, id, p.apply)
	if err != nil {
		return Sponsor{}, fmt.Errorf("funding: update sponsor %d: %w", id, err)
	}
	return sp, nil
}

// GetSponsor returns a sponsor of the community. NotFound.
func (s *Service) GetSponsor(ctx context.Context, communityID, id int64) (Sponsor, error) {
	sp, err := s.store.Sponsor(ctx, communityID, id)
	if err != nil {
		return Sponsor{}, fmt.Errorf("funding: get sponsor %d: %w", id, err)
	}
	return sp, nil
}

// ListSponsors returns the community's sponsors by name.
func (s *Service) ListSponsors(ctx context.Context, communityID int64) ([]Sponsor, error) {
	sps, err := s.store.Sponsors(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("funding: list sponsors: %w", err)
	}
	return sps, nil
}

// CreatePledge creates an active pledge of an active sponsor. Invalid, NotFound
// (ErrSponsorNotFound, ErrCanteenNotFound), FailedPrecondition (ErrSponsorInactive),
// Conflict (ErrPledgeNameTaken).
func (s *Service) CreatePledge(ctx context.Context, sc Scope, in PledgeInput) (Pledge, error) {
	p, err := in.pledge(sc.CommunityID)
	if err != nil {
		return Pledge{}, err
	}
	if p, err = s.store.CreatePledge(ctx, sc, p); err != nil {
		return Pledge{}, fmt.Errorf("funding: create pledge: %w", err)
	}
	return p, nil
}

// UpdatePledge changes the fields p sets. A new amount applies only to periods not yet
// funded: a period is funded with the amount of the moment it is first touched, and later
// changes to a funded period go through TopUp and Adjust. Invalid, NotFound, Conflict.
func (s *Service) UpdatePledge(ctx context.Context, sc Scope, id int64, p PledgePatch) (Pledge, error) {
	if err := p.validate(); err != nil {
		return Pledge{}, err
	}
	pl, err := s.store.UpdatePledge(ctx, sc, id, p.apply)
	if err != nil {
		return Pledge{}, fmt.Errorf("funding: update pledge %d: %w", id, err)
	}
	return pl, nil
}

// GetPledge returns a pledge of the community. NotFound.
func (s *Service) GetPledge(ctx context.Context, communityID, id int64) (Pledge, error) {
	p, err := s.store.Pledge(ctx, communityID, id)
	if err != nil {
		return Pledge{}, fmt.Errorf("funding: get pledge %d: %w", id, err)
	}
	return p, nil
}

// ListPledges returns the community's pledges, each with the balance of the period that
// funds today (an unopened period shows what it will be funded with; nil when the pledge
// does not cover today).
func (s *Service) ListPledges(ctx context.Context, communityID int64) ([]PledgeStatus, error) {
	ps, err := s.store.Pledges(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("funding: list pledges: %w", err)
	}
	today := s.today()
	var keys []BalanceKey
	for _, p := range ps {
		if period, ok := p.PeriodOf(today); ok {
			keys = append(keys, BalanceKey{p.ID, period})
		}
	}
	bs, err := s.store.Balances(ctx, communityID, keys)
	if err != nil {
		return nil, fmt.Errorf("funding: list pledges: %w", err)
	}
	out := make([]PledgeStatus, len(ps))
	for i, p := range ps {
		out[i].Pledge = p
		if period, ok := p.PeriodOf(today); ok {
			b, opened := bs[BalanceKey{p.ID, period}]
			if !opened {
				b = p.Unopened(period)
			}
			out[i].Current = &b
		}
	}
	return out, nil
}

// PledgeBalances returns every funded period of a pledge, by period. NotFound.
func (s *Service) PledgeBalances(ctx context.Context, communityID, pledgeID int64) ([]Balance, error) {
	bs, err := s.store.PledgeBalances(ctx, communityID, pledgeID)
	if err != nil {
		return nil, fmt.Errorf("funding: balances of pledge %d: %w", pledgeID, err)
	}
	return bs, nil
}

const maxMemo = 200

// TopUp adds fen (> 0) to the available money of one period of a pledge, funding the
// period first if it was never touched; journaled and audited. memo is optional.
// Invalid (a period the pledge does not have), NotFound.
func (s *Service) TopUp(ctx context.Context, sc Scope, pledgeID int64, period Period, fen int64, memo string) (Balance, error) {
	m := Movement{Kind: KindTopUp, PledgeID: pledgeID, Period: period, Fen: fen, Memo: strings.TrimSpace(memo)}
	var f apperr.Fields
	checkFen(&f, "fen", fen)
	checkText(&f, "memo", m.Memo, 0, maxMemo)
	return s.fund(ctx, sc, m, &f)
}

// Adjust corrects one period of a pledge by signed fen (negative gives money back to the
// sponsor), with a required reason; journaled and audited. It never makes the available
// money negative: Conflict (ErrBalanceBelowZero). Invalid, NotFound.
func (s *Service) Adjust(ctx context.Context, sc Scope, pledgeID int64, period Period, fen int64, reason string) (Balance, error) {
	m := Movement{Kind: KindAdjust, PledgeID: pledgeID, Period: period, Fen: fen, Memo: strings.TrimSpace(reason)}
	var f apperr.Fields
	f.Check(fen != 0 && fen >= -MaxFen && fen <= MaxFen, "fen", "应为非零且绝对值不超过 1 亿元 / must be non-zero and at most 10,000,000,000 fen either way")
	checkText(&f, "reason", m.Memo, 1, maxMemo)
	return s.fund(ctx, sc, m, &f)
}

func (s *Service) fund(ctx context.Context, sc Scope, m Movement, f *apperr.Fields) (Balance, error) {
	if _, err := ParsePeriod(string(m.Period)); err != nil {
		f.Add("period", `应为 "range" 或月份 YYYY-MM / must be "range" or a month YYYY-MM`)
	}
	if err := f.Err(); err != nil {
		return Balance{}, err
	}
	b, err := s.store.Fund(ctx, sc, m, func(p Pledge) error {
		if !p.HasPeriod(m.Period) {
			var f apperr.Fields
			f.Add("period", "不在该认捐的期间内 / not a period of this pledge")
			return f.Err()
		}
		return nil
	})
	if err != nil {
		return Balance{}, fmt.Errorf("funding: %s pledge %d period %s: %w", m.Kind, m.PledgeID, m.Period, err)
	}
	return b, nil
}
