// Package eligibility decides who belongs to which group (资格): elders prove their age with an
// ID-card number, new-employment workers with a platform account; reviewers approve, reject
// and revoke; approved eligibilities expire by themselves; family members order for elders
// they are bound to. Service applies the rules; Store (eligibilitydb) keeps the rows, sealing
// ID-card and phone numbers, which leave this package only masked.
package eligibility

import (
	"time"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Scope is who acts and in which community. Every change is confined to CommunityID and
// recorded in the audit log under Actor. Reviewer says that the actor is staff holding the
// reviewer role; the HTTP layer sets it from the session, and the Service refuses review
// actions (approve, reject, revoke, renew, unmask, approval at the counter, confirming a
// family binding for an elder) without it.
type Scope struct {
	CommunityID int64
	Actor       audit.Actor
	Reviewer    bool
}

// Status is where an eligibility stands.
type Status string

// The statuses. Expired is computed on read: an approved eligibility whose valid_until is
// before today (Asia/Shanghai) is reported as expired, with no job to mark it.
const (
	Applied  Status = "applied"  // 已申请: waiting for review
	Approved Status = "approved" // 已通过: valid from ValidFrom to ValidUntil inclusive
	Rejected Status = "rejected" // 已驳回: see RejectReason; the diner may apply again
	Revoked  Status = "revoked"  // 已撤销: withdrawn by a reviewer; see RevokeReason
	Expired  Status = "expired"  // 已过期: approved, but ValidUntil has passed
)

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	switch s {
	case Applied, Approved, Rejected, Revoked, Expired:
		return true
	}
	return false
}

// Eligibility is one application for a group and its review. The ID-card number appears only
// masked; the birth date, which the masked number hides, is kept out of JSON too.
type Eligibility struct {
	ID             int64                `json:"id"`
	CommunityID    int64                `json:"community_id"`
	DinerID        int64                `json:"diner_id"`
	Group          subsidy.Group        `json:"group"`
	Status         Status               `json:"status"`
	Name           string               `json:"name"` // real name
	IDNumberMasked string               `json:"id_number_masked,omitempty"`
	BirthDate      civil.Date           `json:"-"`              // from the ID number; elderly only
	Tier           subsidy.AgeTier      `json:"tier,omitempty"` // age tier today (Asia/Shanghai); elderly only
	Platform       string               `json:"platform,omitempty"`
	WorkerID       string               `json:"worker_id,omitempty"`
	ProofRef       string               `json:"proof_ref,omitempty"`
	Flags          []subsidy.StatusFlag `json:"flags"`
	EvidenceRef    string               `json:"evidence_ref,omitempty"`
	District       string               `json:"district"`
	ValidFrom      civil.Date           `json:"valid_from"`  // null until approved
	ValidUntil     civil.Date           `json:"valid_until"` // last valid day; null until approved
	AppliedAt      time.Time            `json:"applied_at"`
	AppliedByKind  audit.ActorKind      `json:"applied_by_kind"` // diner (for themselves) or staff
	AppliedBy      int64                `json:"applied_by"`
	ReviewedAt     *time.Time           `json:"reviewed_at"`
	ReviewedBy     int64                `json:"reviewed_by,omitempty"` // staff id
	RejectReason   string               `json:"reject_reason,omitempty"`
	RevokedAt      *time.Time           `json:"revoked_at"`
	RevokedBy      int64                `json:"revoked_by,omitempty"` // staff id
	RevokeReason   string               `json:"revoke_reason,omitempty"`
	CreatedAt      time.Time            `json:"created_at"`
	UpdatedAt      time.Time            `json:"updated_at"`
}

// StatusOn returns the status e has on day: Expired for an approved eligibility whose
// ValidUntil is before day, otherwise the stored status.
func (e Eligibility) StatusOn(day civil.Date) Status {
	if e.Status == Approved && e.ValidUntil.Before(day) {
		return Expired
	}
	return e.Status
}

// ValidOn reports whether e is approved and day lies within ValidFrom..ValidUntil.
func (e Eligibility) ValidOn(day civil.Date) bool {
	return e.Status == Approved && !day.Before(e.ValidFrom) && !day.After(e.ValidUntil)
}

// Active is an approved eligibility valid on a given day, as pricing needs it. Tier is the
// age tier on that day, so it moves up on the birthday by itself (TierUnder60 for workers).
type Active struct {
	EligibilityID int64                `json:"eligibility_id"`
	Group         subsidy.Group        `json:"group"`
	BirthDate     civil.Date           `json:"-"`
	Tier          subsidy.AgeTier      `json:"tier"`
	Flags         []subsidy.StatusFlag `json:"flags"`
	District      string               `json:"district"`
	ValidUntil    civil.Date           `json:"valid_until"`
}

// Audit vocabulary: the entities and actions eligibility changes are recorded under.
const (
	EntityEligibility = "eligibility"
	EntityDiner       = "diner"
	EntityBinding     = "family_binding"

	ActionApply    = "apply"
	ActionApprove  = "approve"
	ActionReject   = "reject"
	ActionRevoke   = "revoke"
	ActionRenew    = "renew"
	ActionExpire   = "expire" // an expired eligibility closed when a new application replaces it
	ActionUnmask   = "unmask"
	ActionRegister = "register"
	ActionRequest  = "request"
	ActionConfirm  = "confirm"
)
