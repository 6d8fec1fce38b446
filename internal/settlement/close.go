package settlement

import (
	"time"

	"github.com/canteen-oss/canteen/internal/audit"
)

// Trigger says who started a close.
type Trigger string

// The triggers.
const (
	Scheduled Trigger = "scheduled" // the monthly task, on the 1st at 02:00
	Manual    Trigger = "manual"    // finance, by hand
)

// CloseRequest is finance closing a month by hand. When the checks find anything the
// month closes only with Override and a Reason (2 to 500 characters).
type CloseRequest struct {
	Override bool   `json:"override"`
	Reason   string `json:"reason"`
}

// Close is a closed month. Override says finance asked to close despite the checks'
// findings, for OverrideReason; Findings are those the checks found when it closed.
type Close struct {
	ID             int64       `json:"id"`
	CommunityID    int64       `json:"community_id"`
	Month          Month       `json:"month"`
	Trigger        Trigger     `json:"trigger"`
	Override       bool        `json:"override"`
	OverrideReason string      `json:"override_reason,omitempty"`
	Actor          audit.Actor `json:"actor"`
	ClosedAt       time.Time   `json:"closed_at"`
	Findings       []Finding   `json:"findings"`
	Statements     int         `json:"statements"`
}

// Outcome is how a close attempt ended.
type Outcome string

// The outcomes.
const (
	Blocked Outcome = "blocked" // the checks found something; the month stays open
	Closed  Outcome = "closed"
)

// Attempt is a run of the checks that tried to close a month: blocked, with the findings
// finance must look at, or closed (CloseID), with the findings finance overrode if any.
type Attempt struct {
	ID          int64       `json:"id"`
	CommunityID int64       `json:"community_id"`
	Month       Month       `json:"month"`
	Trigger     Trigger     `json:"trigger"`
	Outcome     Outcome     `json:"outcome"`
	Findings    []Finding   `json:"findings"`
	CloseID     int64       `json:"close_id,omitempty"`
	Actor       audit.Actor `json:"actor"`
	At          time.Time   `json:"at"`
}

// Preview is what closing an open month would write now, computed and not kept: the
// statements (their lines left out) with their breakdowns, the checks' findings, and
// the earlier months that must be closed first.
type Preview struct {
	CommunityID int64     `json:"community_id"`
	Month       Month     `json:"month"`
	Statements  []Report  `json:"statements"`
	Findings    []Finding `json:"findings"`
	OpenBefore  []Month   `json:"open_before"`
	GeneratedAt time.Time `json:"generated_at"`
	MonthEnded  bool      `json:"month_ended"`
}

// DueResult is what the monthly task did for one community.
type DueResult struct {
	CommunityID int64    `json:"community_id"`
	Closed      []Close  `json:"closed"`
	Blocked     *Attempt `json:"blocked,omitempty"`
}
