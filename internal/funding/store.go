package funding

import (
	"context"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Store keeps sponsors, pledges, their balances and the journal (fundingdb implements it).
// Every method reads and writes only rows of the given community; a row of another
// community is reported as not found. Every mutating method runs in one transaction that
// also writes its audit record under Scope.Actor, with before and after as JSON of the
// domain values.
//
// Methods that take a callback load the current rows inside the transaction, locking
// them, and call it before writing anything; an error from the callback is returned as is
// and nothing is written.
type Store interface {
	// CreateSponsor inserts s. ErrSponsorNameTaken, ErrMerchantNotFound.
	CreateSponsor(ctx context.Context, sc Scope, s Sponsor) (Sponsor, error)
	// UpdateSponsor locks sponsor id, lets apply change it and saves it.
	// ErrSponsorNotFound, ErrSponsorNameTaken, ErrMerchantNotFound.
	UpdateSponsor(ctx context.Context, sc Scope, id int64, apply func(*Sponsor) error) (Sponsor, error)
	// Sponsor returns one sponsor. ErrSponsorNotFound.
	Sponsor(ctx context.Context, communityID, id int64) (Sponsor, error)
	// Sponsors returns the community's sponsors by name.
	Sponsors(ctx context.Context, communityID int64) ([]Sponsor, error)

	// CreatePledge inserts p for an active sponsor of the community and canteens of the
	// community. ErrSponsorNotFound, ErrSponsorInactive, ErrCanteenNotFound, ErrPledgeNameTaken.
	CreatePledge(ctx context.Context, sc Scope, p Pledge) (Pledge, error)
	// UpdatePledge locks pledge id, lets apply change it and saves it.
	// ErrPledgeNotFound, ErrCanteenNotFound, ErrPledgeNameTaken.
	UpdatePledge(ctx context.Context, sc Scope, id int64, apply func(*Pledge) error) (Pledge, error)
	// Pledge returns one pledge. ErrPledgeNotFound.
	Pledge(ctx context.Context, communityID, id int64) (Pledge, error)
	// Pledges returns the community's pledges by sponsor and name.
	Pledges(ctx context.Context, communityID int64) ([]Pledge, error)
	// Balances returns the opened balances among keys; unopened periods are absent.
	Balances(ctx context.Context, communityID int64, keys []BalanceKey) (map[BalanceKey]Balance, error)
	// PledgeBalances returns every opened period of a pledge, by period. ErrPledgeNotFound.
	PledgeBalances(ctx context.Context, communityID, pledgeID int64) ([]Balance, error)

	// Fund writes an administrative ledger transaction (KindTopUp or KindAdjust) moving
	// m.Fen between the source and the available account of one period (negative: back to
	// the source), opening the period first if needed. check sees the locked pledge first.
	// ErrPledgeNotFound, ErrBalanceBelowZero.
	Fund(ctx context.Context, sc Scope, m Movement, check func(Pledge) error) (Balance, error)

	// Policies are versioned: versions are immutable and each change of the rules is a new
	// version. check sees the pledges the funding parts name (those found in the
	// community, share-locked) and may change the policy before it is written.

	// CreatePolicy inserts p as version 1 of a new active policy.
	CreatePolicy(ctx context.Context, sc Scope, p subsidy.Policy, check func(*subsidy.Policy, map[int64]PledgeRef) error) (PolicyRecord, error)
	// UpdatePolicy adds p as the next version of policy id and makes it current. ErrPolicyNotFound.
	UpdatePolicy(ctx context.Context, sc Scope, id int64, p subsidy.Policy, check func(*subsidy.Policy, map[int64]PledgeRef) error) (PolicyRecord, error)
	// SetPolicyActive activates or deactivates policy id. ErrPolicyNotFound.
	SetPolicyActive(ctx context.Context, sc Scope, id int64, active bool) (PolicyRecord, error)
	// Policy returns version of policy id (0: the current one). ErrPolicyNotFound.
	Policy(ctx context.Context, communityID, id, version int64) (subsidy.Policy, error)
	// Policies returns the community's policies (current versions) by ID.
	Policies(ctx context.Context, communityID int64) ([]PolicyRecord, error)
	// ActivePolicies returns the current versions of the active policies valid on day, by ID.
	ActivePolicies(ctx context.Context, communityID int64, day civil.Date) ([]subsidy.Policy, error)
}

// Movement is an administrative change of one pledge period's available money.
type Movement struct {
	Kind     EntryKind `json:"kind"` // KindTopUp or KindAdjust
	PledgeID int64     `json:"pledge_id"`
	Period   Period    `json:"period"`
	Fen      int64     `json:"fen"` // signed: negative takes money back to the sponsor
	Memo     string    `json:"memo"`
}

// BalanceChange is the audit record of a Movement: the balance after it and what moved.
type BalanceChange struct {
	Balance
	Fen  int64  `json:"fen"`
	Memo string `json:"memo"`
}
