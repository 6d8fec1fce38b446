package eligibility

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
)

// BindingStatus is where a family binding stands.
type BindingStatus string

// The binding statuses.
const (
	BindingPending   BindingStatus = "pending"   // requested by or for the family member
	BindingConfirmed BindingStatus = "confirmed" // the family member may order for the elder
	BindingRevoked   BindingStatus = "revoked"   // ended by either side or a reviewer
)

// ConfirmerKind says who confirmed a binding: the elder themselves or a reviewer (for an
// elder without WeChat).
type ConfirmerKind string

// The confirmer kinds.
const (
	ByElder    ConfirmerKind = "elder"
	ByReviewer ConfirmerKind = "reviewer"
)

// Binding lets a family member (a diner) order for an elder (another diner) at the elder's
// price once it is confirmed.
type Binding struct {
	ID              int64           `json:"id"`
	CommunityID     int64           `json:"community_id"`
	FamilyDinerID   int64           `json:"family_diner_id"`
	ElderDinerID    int64           `json:"elder_diner_id"`
	Relation        string          `json:"relation"` // 女儿, 儿子, 配偶 ...
	Status          BindingStatus   `json:"status"`
	RequestedAt     time.Time       `json:"requested_at"`
	RequestedByKind audit.ActorKind `json:"requested_by_kind"`
	RequestedBy     int64           `json:"requested_by"`
	ConfirmedAt     *time.Time      `json:"confirmed_at"`
	ConfirmedByKind ConfirmerKind   `json:"confirmed_by_kind,omitempty"`
	ConfirmedBy     int64           `json:"confirmed_by,omitempty"` // the elder's diner id or the reviewer's staff id
	RevokedAt       *time.Time      `json:"revoked_at"`
	RevokedByKind   audit.ActorKind `json:"revoked_by_kind,omitempty"`
	RevokedBy       int64           `json:"revoked_by,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

// Elder is an elder a family member may order for.
type Elder struct {
	BindingID int64  `json:"binding_id"`
	DinerID   int64  `json:"diner_id"`
	Name      string `json:"name"`
	Relation  string `json:"relation"`
}

// BindingQuery selects bindings; zero fields match everything.
type BindingQuery struct {
	DinerID int64 // the diner on either side
	Status  BindingStatus
	Limit   int
}

// RequestBinding asks for familyDinerID to order for elderDinerID, who are different diners
// of the community; relation is 1..20 characters (女儿, 儿子, 配偶 ...). A diner may request
// only as the family member; staff may request for anyone. The binding is pending until the
// elder or a reviewer confirms it. Forbidden, Invalid, NotFound (ErrDinerNotFound),
// Conflict (ErrBindingExists: a pending or confirmed binding of the pair).
func (s *Service) RequestBinding(ctx context.Context, sc Scope, familyDinerID, elderDinerID int64, relation string) (Binding, error) {
	if err := sc.mayActFor(familyDinerID); err != nil {
		return Binding{}, err
	}
	relation = strings.TrimSpace(relation)
	var f apperr.Fields
	f.Check(familyDinerID > 0, "family_diner_id", "必须是正整数 / must be a positive id")
	f.Check(elderDinerID > 0, "elder_diner_id", "必须是正整数 / must be a positive id")
	f.Check(familyDinerID != elderDinerID, "elder_diner_id", "不能绑定自己 / cannot bind to oneself")
	checkText(&f, "relation", relation, 1, MaxRelationRunes)
	if err := f.Err(); err != nil {
		return Binding{}, err
	}
	b := Binding{CommunityID: sc.CommunityID, FamilyDinerID: familyDinerID, ElderDinerID: elderDinerID,
		Relation: relation, Status: BindingPending, RequestedAt: s.now(),
		RequestedByKind: sc.Actor.Kind, RequestedBy: sc.Actor.ID}
	b, err := s.store.CreateBinding(ctx, sc, b)
	if err != nil {
		return Binding{}, fmt.Errorf("eligibility: request binding %d->%d: %w", familyDinerID, elderDinerID, err)
	}
	return b, nil
}

// ConfirmBinding confirms a pending binding (else ErrBindingState). The elder confirms it
// themselves; for an elder without WeChat a reviewer does (Scope.Reviewer). The family member
// cannot. Forbidden, NotFound, FailedPrecondition.
func (s *Service) ConfirmBinding(ctx context.Context, sc Scope, bindingID int64) (Binding, error) {
	if !sc.isDiner(sc.Actor.ID) && sc.requireReviewer() != nil {
		return Binding{}, ErrNotAllowed
	}
	b, err := s.store.ChangeBinding(ctx, sc, bindingID, ActionConfirm, func(b *Binding) error {
		var by ConfirmerKind
		switch {
		case sc.isDiner(b.ElderDinerID):
			by = ByElder
		case sc.requireReviewer() == nil:
			by = ByReviewer
		default:
			return ErrNotAllowed
		}
		if b.Status != BindingPending {
			return inState(ErrBindingState, b.Status)
		}
		now := s.now()
		b.Status, b.ConfirmedAt, b.ConfirmedByKind, b.ConfirmedBy = BindingConfirmed, &now, by, sc.Actor.ID
		return nil
	})
	if err != nil {
		return Binding{}, fmt.Errorf("eligibility: confirm binding %d: %w", bindingID, err)
	}
	return b, nil
}

// RevokeBinding ends a pending or confirmed binding (else ErrBindingState), by the family
// member, the elder or a reviewer. Forbidden, NotFound, FailedPrecondition.
func (s *Service) RevokeBinding(ctx context.Context, sc Scope, bindingID int64) (Binding, error) {
	if !sc.isDiner(sc.Actor.ID) && sc.requireReviewer() != nil {
		return Binding{}, ErrNotAllowed
	}
	b, err := s.store.ChangeBinding(ctx, sc, bindingID, ActionRevoke, func(b *Binding) error {
		if !sc.isDiner(b.FamilyDinerID) && !sc.isDiner(b.ElderDinerID) && sc.requireReviewer() != nil {
			return ErrNotAllowed
		}
		if b.Status == BindingRevoked {
			return inState(ErrBindingState, b.Status)
		}
		now := s.now()
		b.Status, b.RevokedAt, b.RevokedByKind, b.RevokedBy = BindingRevoked, &now, sc.Actor.Kind, sc.Actor.ID
		return nil
	})
	if err != nil {
		return Binding{}, fmt.Errorf("eligibility: revoke binding %d: %w", bindingID, err)
	}
	return b, nil
}

// GetBinding returns one binding of the community. NotFound.
func (s *Service) GetBinding(ctx context.Context, communityID, id int64) (Binding, error) {
	b, err := s.store.Binding(ctx, communityID, id)
	if err != nil {
		return Binding{}, fmt.Errorf("eligibility: get binding %d: %w", id, err)
	}
	return b, nil
}

// BindingsOf returns every binding the diner is on either side of, newest first, so an
// elder sees the requests waiting for them.
func (s *Service) BindingsOf(ctx context.Context, communityID, dinerID int64) ([]Binding, error) {
	bs, err := s.store.Bindings(ctx, communityID, BindingQuery{DinerID: dinerID, Limit: MaxListLimit})
	if err != nil {
		return nil, fmt.Errorf("eligibility: bindings of %d: %w", dinerID, err)
	}
	return bs, nil
}

// PendingBindings returns up to limit pending bindings (0: 50, at most 200), newest first,
// for reviewers confirming for elders without WeChat. Invalid.
func (s *Service) PendingBindings(ctx context.Context, communityID int64, limit int) ([]Binding, error) {
	var f apperr.Fields
	limit = checkLimit(&f, limit)
	if err := f.Err(); err != nil {
		return nil, err
	}
	bs, err := s.store.Bindings(ctx, communityID, BindingQuery{Status: BindingPending, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("eligibility: pending bindings: %w", err)
	}
	return bs, nil
}

// EldersOf returns the elders familyDinerID has a confirmed binding to, by name.
func (s *Service) EldersOf(ctx context.Context, communityID, familyDinerID int64) ([]Elder, error) {
	es, err := s.store.Elders(ctx, communityID, familyDinerID)
	if err != nil {
		return nil, fmt.Errorf("eligibility: elders of %d: %w", familyDinerID, err)
	}
	return es, nil
}

// CanOrderFor reports whether actorDinerID may order for forDinerID at forDinerID's price:
// themselves, or an elder they have a confirmed binding to.
func (s *Service) CanOrderFor(ctx context.Context, communityID, actorDinerID, forDinerID int64) (bool, error) {
	if actorDinerID <= 0 || forDinerID <= 0 {
		return false, nil
	}
	if actorDinerID == forDinerID {
		return true, nil
	}
	ok, err := s.store.HasConfirmedBinding(ctx, communityID, actorDinerID, forDinerID)
	if err != nil {
		return false, fmt.Errorf("eligibility: can %d order for %d: %w", actorDinerID, forDinerID, err)
	}
	return ok, nil
}
