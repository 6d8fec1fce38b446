package order

import (
	"context"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Allowance is how much of one limit of one policy a diner has left in the window that
// contains a given meal: "2 of 3 subsidised lunches left this month".
type Allowance struct {
	PolicyID       int64               `json:"policy_id"`
	PolicyName     string              `json:"policy_name"`
	Window         subsidy.LimitWindow `json:"window"`
	WindowKey      string              `json:"window_key"`
	LimitCount     int                 `json:"limit_count,omitempty"`
	LimitFen       int64               `json:"limit_fen,omitempty"`
	UsedCount      int                 `json:"used_count"`
	UsedFen        int64               `json:"used_fen"`
	RemainingCount int                 `json:"remaining_count,omitempty"`
	RemainingFen   int64               `json:"remaining_fen,omitempty"`
}

// Allowances lists what a diner (the caller, or an elder they may order for) has left of
// each limited policy that admits them, for the meal of day and period. Errors: Forbidden.
func (s *Service) Allowances(ctx context.Context, by Caller, forDinerID int64, day civil.Date, period catalog.Period) ([]Allowance, error) {
	dinerID, err := s.dinerFor(ctx, by, forDinerID)
	if err != nil {
		return nil, err
	}
	out := []Allowance{}
	if dinerID == 0 {
		return out, nil
	}
	active, err := s.elig.ActiveFor(ctx, by.CommunityID, dinerID, day.Start())
	if err != nil {
		return nil, err
	}
	var d subsidy.Diner
	for _, a := range active {
		d.Eligibilities = append(d.Eligibilities, subsidy.Eligibility{Group: a.Group, BirthDate: a.BirthDate, Flags: a.Flags, District: a.District})
	}
	policies, err := s.policies.ActivePolicies(ctx, by.CommunityID, day)
	if err != nil {
		return nil, err
	}
	var windows []Window
	for _, p := range policies {
		if !p.Who.Includes(d, day) {
			continue
		}
		for _, l := range p.Limits {
			w := Window{Key: subsidy.UsageKey{PolicyID: p.ID, Window: l.Window}, WindowKey: l.Window.Key(day, period)}
			windows = append(windows, w)
			out = append(out, Allowance{PolicyID: p.ID, PolicyName: p.Name, Window: l.Window, WindowKey: w.WindowKey,
				LimitCount: l.Count, LimitFen: l.AmountFen})
		}
	}
	if len(windows) == 0 {
		return out, nil
	}
	used, err := s.store.Usage(ctx, by.CommunityID, dinerID, windows)
	if err != nil {
		return nil, err
	}
	for i, w := range windows {
		u := used[w.Key]
		a := &out[i]
		a.UsedCount, a.UsedFen = u.Count, u.AmountFen
		if a.LimitCount > 0 {
			a.RemainingCount = max(a.LimitCount-u.Count, 0)
		}
		if a.LimitFen > 0 {
			a.RemainingFen = max(a.LimitFen-u.AmountFen, 0)
		}
	}
	return out, nil
}
