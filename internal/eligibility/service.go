package eligibility

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Service manages eligibilities and family bindings. Dates are Asia/Shanghai dates counted
// from the injected clock. Input errors are apperr Invalid naming every offending field and
// write nothing; rows of another community are NotFound; review actions without
// Scope.Reviewer are Forbidden (ErrReviewerRequired).
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

// view returns e as read on day: Expired computed, the age tier filled in.
func view(e Eligibility, day civil.Date) Eligibility {
	e.Status = e.StatusOn(day)
	if e.Group == subsidy.Elderly && !e.BirthDate.IsZero() {
		e.Tier = subsidy.TierOn(e.BirthDate, day)
	}
	if e.Flags == nil {
		e.Flags = []subsidy.StatusFlag{}
	}
	return e
}

func views(es []Eligibility, day civil.Date) []Eligibility {
	out := make([]Eligibility, len(es))
	for i, e := range es {
		out[i] = view(e, day)
	}
	return out
}

func (sc Scope) isStaff() bool { return sc.Actor.Kind == audit.Staff && sc.Actor.ID > 0 }

func (sc Scope) isDiner(id int64) bool {
	return sc.Actor.Kind == audit.Diner && sc.Actor.ID > 0 && sc.Actor.ID == id
}

// requireReviewer refuses anyone but staff holding the reviewer role.
func (sc Scope) requireReviewer() error {
	if !sc.Reviewer || !sc.isStaff() {
		return ErrReviewerRequired
	}
	return nil
}

// requireStaff refuses anyone but staff.
func (sc Scope) requireStaff() error {
	if !sc.isStaff() {
		return ErrNotAllowed
	}
	return nil
}

// mayActFor allows the diner themselves and staff.
func (sc Scope) mayActFor(dinerID int64) error {
	if sc.isDiner(dinerID) || sc.isStaff() {
		return nil
	}
	return ErrNotAllowed
}

// ApplyElderly files an application for the elderly group for dinerID, by the diner
// themselves or by staff. The ID number must be valid and its holder 60 or older today; it is
// stored sealed and appears afterwards only masked. A live application or eligibility of the
// same diner or the same person (ID number) for the group is ErrExists (Conflict); after
// rejection, revocation or expiry the diner may apply again. Forbidden, Invalid, NotFound.
func (s *Service) ApplyElderly(ctx context.Context, sc Scope, dinerID int64, in ElderlyApplication) (Eligibility, error) {
	if err := sc.mayActFor(dinerID); err != nil {
		return Eligibility{}, err
	}
	today := s.today()
	var f apperr.Fields
	e, id := in.eligibility(&f, today)
	if err := f.Err(); err != nil {
		return Eligibility{}, err
	}
	return s.apply(ctx, sc, dinerID, e, id, today)
}

// ApplyWorker files an application for the new-employment worker group for dinerID, by the
// diner themselves or by staff. A live application or eligibility of the same diner, or of the
// same platform account, is ErrExists (Conflict). Forbidden, Invalid, NotFound.
func (s *Service) ApplyWorker(ctx context.Context, sc Scope, dinerID int64, in WorkerApplication) (Eligibility, error) {
	if err := sc.mayActFor(dinerID); err != nil {
		return Eligibility{}, err
	}
	var f apperr.Fields
	e := in.eligibility(&f)
	if err := f.Err(); err != nil {
		return Eligibility{}, err
	}
	return s.apply(ctx, sc, dinerID, e, subsidy.IDNumber{}, s.today())
}

func (s *Service) apply(ctx context.Context, sc Scope, dinerID int64, e Eligibility, id subsidy.IDNumber, today civil.Date) (Eligibility, error) {
	e.CommunityID, e.DinerID = sc.CommunityID, dinerID
	e.AppliedAt, e.AppliedByKind, e.AppliedBy = s.now(), sc.Actor.Kind, sc.Actor.ID
	saved, err := s.store.Apply(ctx, sc, e, id, today)
	if err != nil {
		return Eligibility{}, fmt.Errorf("eligibility: apply %s for diner %d: %w", e.Group, dinerID, err)
	}
	return view(saved, today), nil
}

// RegisterAtCounter registers an elder without WeChat: a diner with no openid, registered by
// the staff member in sc, and their elderly eligibility, in one transaction. With in.Approve
// the eligibility is approved at once by that staff member, which needs Scope.Reviewer
// (ErrReviewerRequired); otherwise it waits in the review queue. Forbidden, Invalid, Conflict
// (ErrExists: the person already has a live elderly eligibility; no diner is created then).
func (s *Service) RegisterAtCounter(ctx context.Context, sc Scope, in CounterRegistration) (Registration, error) {
	if err := sc.requireStaff(); err != nil {
		return Registration{}, err
	}
	if in.Approve {
		if err := sc.requireReviewer(); err != nil {
			return Registration{}, err
		}
	}
	today := s.today()
	var f apperr.Fields
	e, id := ElderlyApplication{Name: in.Name, IDNumber: in.IDNumber, District: in.District,
		Flags: in.Flags, EvidenceRef: in.EvidenceRef}.eligibility(&f, today)
	phone := normalizePhone(&f, in.Phone)
	var until civil.Date
	switch {
	case !in.Approve && in.ValidDays != 0:
		f.Add("valid_days", "仅在当场通过时填写 / only with approve")
	case in.ValidDays < 0:
		f.Add("valid_days", "不能为负数 / must not be negative")
	case in.ValidDays > 0:
		until = today.AddDays(in.ValidDays)
	}
	var from civil.Date
	if in.Approve {
		from, until = checkValidity(&f, today, today, until, "valid_from", "valid_days")
	}
	if err := f.Err(); err != nil {
		return Registration{}, err
	}
	now := s.now()
	e.CommunityID = sc.CommunityID
	e.AppliedAt, e.AppliedByKind, e.AppliedBy = now, sc.Actor.Kind, sc.Actor.ID
	if in.Approve {
		e.Status, e.ValidFrom, e.ValidUntil = Approved, from, until
		e.ReviewedAt, e.ReviewedBy = &now, sc.Actor.ID
	}
	d, e, err := s.store.Register(ctx, sc, NewDiner{Name: e.Name, Phone: phone, RegisteredBy: sc.Actor.ID}, e, id, today)
	if err != nil {
		return Registration{}, fmt.Errorf("eligibility: register at counter: %w", err)
	}
	return Registration{Diner: d, Eligibility: view(e, today)}, nil
}

// Get returns one eligibility of the community. NotFound.
func (s *Service) Get(ctx context.Context, communityID, id int64) (Eligibility, error) {
	e, err := s.store.Eligibility(ctx, communityID, id)
	if err != nil {
		return Eligibility{}, fmt.Errorf("eligibility: get %d: %w", id, err)
	}
	return view(e, s.today()), nil
}

// Pending returns up to limit applications waiting for review (0: 50, at most 200), oldest
// first; group "" means every group. Invalid.
func (s *Service) Pending(ctx context.Context, communityID int64, group subsidy.Group, limit int) ([]Eligibility, error) {
	var f apperr.Fields
	f.Check(group == "" || group == subsidy.Elderly || group == subsidy.Worker, "group",
		"应为 elderly 或 worker / must be elderly or worker")
	limit = checkLimit(&f, limit)
	if err := f.Err(); err != nil {
		return nil, err
	}
	es, err := s.store.Pending(ctx, communityID, group, limit)
	if err != nil {
		return nil, fmt.Errorf("eligibility: pending: %w", err)
	}
	return views(es, s.today()), nil
}

func checkLimit(f *apperr.Fields, limit int) int {
	if limit == 0 {
		return defaultListLimit
	}
	f.Check(limit > 0 && limit <= MaxListLimit, "limit", fmt.Sprintf("应为 1 到 %d / must be 1 to %d", MaxListLimit, MaxListLimit))
	return limit
}

// Approve approves an application (status Applied only, else ErrNotApplied) from validFrom
// to validUntil inclusive. A zero validFrom is today; a zero validUntil is one year on
// (validFrom + 1 year - 1 day). validFrom is today..today+90; validUntil is after validFrom
// and at most 3 years on. Needs Scope.Reviewer. Forbidden, Invalid, NotFound, FailedPrecondition.
func (s *Service) Approve(ctx context.Context, sc Scope, id int64, validFrom, validUntil civil.Date) (Eligibility, error) {
	if err := sc.requireReviewer(); err != nil {
		return Eligibility{}, err
	}
	today := s.today()
	var f apperr.Fields
	validFrom, validUntil = checkValidity(&f, today, validFrom, validUntil, "valid_from", "valid_until")
	if err := f.Err(); err != nil {
		return Eligibility{}, err
	}
	e, err := s.store.Change(ctx, sc, id, ActionApprove, func(e *Eligibility) error {
		if e.Status != Applied {
			return inState(ErrNotApplied, e.StatusOn(today))
		}
		now := s.now()
		e.Status, e.ValidFrom, e.ValidUntil = Approved, validFrom, validUntil
		e.ReviewedAt, e.ReviewedBy = &now, sc.Actor.ID
		return nil
	})
	if err != nil {
		return Eligibility{}, fmt.Errorf("eligibility: approve %d: %w", id, err)
	}
	return view(e, today), nil
}

// Reject rejects an application (status Applied only, else ErrNotApplied) for reason
// (2..200 characters), which the diner sees; they may apply again. Needs Scope.Reviewer.
// Forbidden, Invalid, NotFound, FailedPrecondition.
func (s *Service) Reject(ctx context.Context, sc Scope, id int64, reason string) (Eligibility, error) {
	return s.withReason(ctx, sc, id, reason, ActionReject, func(e *Eligibility, reason string, now time.Time) error {
		if e.Status != Applied {
			return inState(ErrNotApplied, e.StatusOn(civil.Today(now)))
		}
		e.Status, e.RejectReason = Rejected, reason
		e.ReviewedAt, e.ReviewedBy = &now, sc.Actor.ID
		return nil
	})
}

// Revoke withdraws an approved eligibility (expired ones included, so that a fraud can be
// recorded; anything else is ErrNotApproved) for reason (2..200 characters). The diner may
// apply again. Needs Scope.Reviewer. Forbidden, Invalid, NotFound, FailedPrecondition.
func (s *Service) Revoke(ctx context.Context, sc Scope, id int64, reason string) (Eligibility, error) {
	return s.withReason(ctx, sc, id, reason, ActionRevoke, func(e *Eligibility, reason string, now time.Time) error {
		if e.Status != Approved {
			return inState(ErrNotApproved, e.StatusOn(civil.Today(now)))
		}
		e.Status, e.RevokeReason = Revoked, reason
		e.RevokedAt, e.RevokedBy = &now, sc.Actor.ID
		return nil
	})
}

// withReason is a reviewer's change that needs a reason (2..200 characters): change checks
// the row's status and applies it inside the store's transaction.
func (s *Service) withReason(ctx context.Context, sc Scope, id int64, reason, action string,
	change func(e *Eligibility, reason string, now time.Time) error) (Eligibility, error) {
	if err := sc.requireReviewer(); err != nil {
		return Eligibility{}, err
	}
	reason = strings.TrimSpace(reason)
	var f apperr.Fields
	checkReason(&f, reason)
	if err := f.Err(); err != nil {
		return Eligibility{}, err
	}
	e, err := s.store.Change(ctx, sc, id, action, func(e *Eligibility) error { return change(e, reason, s.now()) })
	if err != nil {
		return Eligibility{}, fmt.Errorf("eligibility: %s %d: %w", action, id, err)
	}
	return view(e, s.today()), nil
}

// Renew extends an approved eligibility, expired or not (else ErrNotApproved), to
// validUntil: after both today and its current ValidUntil, and at most 3 years from today
// or ValidFrom, whichever is later. It is how a reviewer acts on ExpiringSoon without a gap.
// Needs Scope.Reviewer. Forbidden, Invalid, NotFound, FailedPrecondition.
func (s *Service) Renew(ctx context.Context, sc Scope, id int64, validUntil civil.Date) (Eligibility, error) {
	if err := sc.requireReviewer(); err != nil {
		return Eligibility{}, err
	}
	today := s.today()
	var f apperr.Fields
	f.Check(validUntil.IsValid(), "valid_until", civil.ErrDateInvalid.Detail)
	if err := f.Err(); err != nil {
		return Eligibility{}, err
	}
	e, err := s.store.Change(ctx, sc, id, ActionRenew, func(e *Eligibility) error {
		if e.Status != Approved {
			return inState(ErrNotApproved, e.StatusOn(today))
		}
		start := e.ValidFrom
		if today.After(start) {
			start = today
		}
		var f apperr.Fields
		switch {
		case !validUntil.After(e.ValidUntil) || !validUntil.After(today):
			f.Add("valid_until", "应晚于当前有效期和今天 / must be after the current valid_until and today")
		case validUntil.After(lastDayWithin(start, MaxValidityYears)):
			f.Add("valid_until", fmt.Sprintf("有效期最长 %d 年 / at most %d years", MaxValidityYears, MaxValidityYears))
		}
		if err := f.Err(); err != nil {
			return err
		}
		e.ValidUntil = validUntil
		return nil
	})
	if err != nil {
		return Eligibility{}, fmt.Errorf("eligibility: renew %d: %w", id, err)
	}
	return view(e, today), nil
}

// ExpiringSoon returns approved eligibilities whose ValidUntil falls today..today+withinDays
// (1..366), by ValidUntil, for reviewers to renew ahead of time. Invalid.
func (s *Service) ExpiringSoon(ctx context.Context, communityID int64, withinDays int) ([]Eligibility, error) {
	var f apperr.Fields
	f.Check(withinDays >= 1 && withinDays <= MaxExpiringDays, "within_days",
		fmt.Sprintf("应为 1 到 %d / must be 1 to %d", MaxExpiringDays, MaxExpiringDays))
	if err := f.Err(); err != nil {
		return nil, err
	}
	today := s.today()
	es, err := s.store.ApprovedUntil(ctx, communityID, today, today.AddDays(withinDays))
	if err != nil {
		return nil, fmt.Errorf("eligibility: expiring soon: %w", err)
	}
	return views(es, today), nil
}

// Unmask returns the clear ID number of an elderly eligibility, for a reviewer checking it
// against a card, and records who read it and when (never the number). Needs Scope.Reviewer.
// Forbidden, NotFound, FailedPrecondition (ErrNoIDNumber for a worker).
func (s *Service) Unmask(ctx context.Context, sc Scope, id int64) (string, error) {
	if err := sc.requireReviewer(); err != nil {
		return "", err
	}
	n, err := s.store.RevealIDNumber(ctx, sc, id)
	if err != nil {
		return "", fmt.Errorf("eligibility: unmask %d: %w", id, err)
	}
	return n, nil
}

// ForDiner returns every eligibility of the diner, newest first, with expiry computed
// ("my eligibilities").
func (s *Service) ForDiner(ctx context.Context, communityID, dinerID int64) ([]Eligibility, error) {
	es, err := s.store.ForDiner(ctx, communityID, dinerID)
	if err != nil {
		return nil, fmt.Errorf("eligibility: for diner %d: %w", dinerID, err)
	}
	return views(es, s.today()), nil
}

// ActiveFor returns, for pricing, the diner's eligibilities approved and valid on the
// Asia/Shanghai day of at, with the age tier on that day. None is an empty slice (the diner
// is General).
func (s *Service) ActiveFor(ctx context.Context, communityID, dinerID int64, at time.Time) ([]Active, error) {
	day := civil.Today(at)
	es, err := s.store.ApprovedOn(ctx, communityID, dinerID, day)
	if err != nil {
		return nil, fmt.Errorf("eligibility: active for diner %d: %w", dinerID, err)
	}
	out := make([]Active, 0, len(es))
	for _, e := range es {
		if !e.ValidOn(day) {
			continue
		}
		a := Active{EligibilityID: e.ID, Group: e.Group, BirthDate: e.BirthDate, Flags: e.Flags,
			District: e.District, ValidUntil: e.ValidUntil}
		if a.Flags == nil {
			a.Flags = []subsidy.StatusFlag{}
		}
		if !e.BirthDate.IsZero() {
			a.Tier = subsidy.TierOn(e.BirthDate, day)
		}
		out = append(out, a)
	}
	return out, nil
}

// FindDiners looks diners up at the counter by an exact phone number, an exact ID-card
// number, or otherwise the start of a real name (1..30 characters), returning at most 20.
// Results carry phone and ID numbers masked and no group or status. Invalid.
func (s *Service) FindDiners(ctx context.Context, communityID int64, query string) ([]Diner, error) {
	query = strings.TrimSpace(query)
	q := DinerQuery{Limit: maxFindResults}
	var f apperr.Fields
	if p, err := secure.NormalizePhone(query); err == nil {
		q.Phone = p
	} else if id, err := subsidy.ParseIDNumber(query); err == nil {
		q.IDNumber = id
	} else if looksNumeric(query) {
		f.Add("query", "不是有效的手机号码或身份证号码 / not a valid phone or ID number")
	} else {
		q.NamePrefix = query
		checkText(&f, "query", query, 1, maxQueryRunes)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	ds, err := s.store.FindDiners(ctx, communityID, q)
	if err != nil {
		return nil, fmt.Errorf("eligibility: find diners: %w", err)
	}
	return ds, nil
}

// looksNumeric reports whether s is long and made of what phone and ID numbers are made of,
// so that a mistyped number is reported rather than searched as a name.
func looksNumeric(s string) bool {
	if utf8.RuneCountInString(s) < 7 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == 'x' || r == 'X' || r == '+' || r == '-' || r == ' ') {
			return false
		}
	}
	return true
}
