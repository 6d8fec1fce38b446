package eligibility

import (
	"context"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Store keeps eligibilities, counter-registered diners and family bindings (eligibilitydb
// implements it). Every method reads and writes only rows of the given community; a row of
// another community is reported as not found. Every change is one transaction that also
// writes its audit record under Scope.Actor, with before and after as JSON of the domain
// values, which carry ID-card and phone numbers only masked.
//
// Eligibilities come back with their stored status (never Expired, never a Tier); the
// Service computes both for the day it reads them.
type Store interface {
	// Apply inserts e (status Applied, or Approved for a counter registration) with id sealed
	// and blind-indexed (elderly; zero for workers). In the same transaction it first closes,
	// as expired, approved eligibilities of the same diner or person and group whose
	// ValidUntil is before today. ErrDinerNotFound, ErrExists, ErrStaffNotFound.
	Apply(ctx context.Context, sc Scope, e Eligibility, id subsidy.IDNumber, today civil.Date) (Eligibility, error)
	// Register inserts d and then e for it, as Apply does, in one transaction.
	// ErrExists, ErrStaffNotFound.
	Register(ctx context.Context, sc Scope, d NewDiner, e Eligibility, id subsidy.IDNumber, today civil.Date) (Diner, Eligibility, error)
	// Change locks eligibility id, lets change modify its review fields (status, validity,
	// reviewed_*, reject_reason, revoked_*) and saves them, recording action. An error from
	// change is returned as is and nothing is written. ErrNotFound, ErrStaffNotFound.
	Change(ctx context.Context, sc Scope, id int64, action string, change func(*Eligibility) error) (Eligibility, error)
	// RevealIDNumber returns the clear ID number of eligibility id and records who read it
	// (action unmask, without the number). ErrNotFound, ErrNoIDNumber.
	RevealIDNumber(ctx context.Context, sc Scope, id int64) (string, error)

	// Eligibility returns one eligibility. ErrNotFound.
	Eligibility(ctx context.Context, communityID, id int64) (Eligibility, error)
	// Pending returns applications waiting for review, oldest first; group "" means every group.
	Pending(ctx context.Context, communityID int64, group subsidy.Group, limit int) ([]Eligibility, error)
	// ApprovedUntil returns approved eligibilities whose ValidUntil is from..to (inclusive),
	// by ValidUntil.
	ApprovedUntil(ctx context.Context, communityID int64, from, to civil.Date) ([]Eligibility, error)
	// ForDiner returns every eligibility of the diner, newest first.
	ForDiner(ctx context.Context, communityID, dinerID int64) ([]Eligibility, error)
	// ApprovedOn returns the diner's approved eligibilities valid on day.
	ApprovedOn(ctx context.Context, communityID, dinerID int64, day civil.Date) ([]Eligibility, error)
	// FindDiners returns the diners q matches, by ID, at most q.Limit.
	FindDiners(ctx context.Context, communityID int64, q DinerQuery) ([]Diner, error)

	// CreateBinding inserts b. ErrDinerNotFound, ErrBindingExists.
	CreateBinding(ctx context.Context, sc Scope, b Binding) (Binding, error)
	// ChangeBinding locks binding id, lets change modify its status fields and saves them,
	// recording action. An error from change is returned as is. ErrBindingNotFound.
	ChangeBinding(ctx context.Context, sc Scope, id int64, action string, change func(*Binding) error) (Binding, error)
	// Binding returns one binding. ErrBindingNotFound.
	Binding(ctx context.Context, communityID, id int64) (Binding, error)
	// Bindings returns the bindings q selects, newest first.
	Bindings(ctx context.Context, communityID int64, q BindingQuery) ([]Binding, error)
	// Elders returns the elders with a confirmed binding to the family member, by name.
	Elders(ctx context.Context, communityID, familyDinerID int64) ([]Elder, error)
	// HasConfirmedBinding reports whether family may order for elder.
	HasConfirmedBinding(ctx context.Context, communityID, familyDinerID, elderDinerID int64) (bool, error)
}
