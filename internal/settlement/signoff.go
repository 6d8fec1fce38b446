package settlement

import (
	"time"

	"github.com/canteen-oss/canteen/internal/audit"
)

// SignoffStatus is where a statement's sign-off (商户确认) stands.
type SignoffStatus string

// The sign-off statuses. Every statement is issued at close; the merchant it belongs to
// confirms it, or disputes it with a comment; a disputed statement may be disputed again
// or confirmed later; a confirmed one is final.
const (
	Issued    SignoffStatus = "issued"    // 已出具
	Confirmed SignoffStatus = "confirmed" // 已确认
	Disputed  SignoffStatus = "disputed"  // 有异议
)

// CanBecome reports whether a statement whose latest sign-off is s may take next.
func (s SignoffStatus) CanBecome(next SignoffStatus) bool {
	switch s {
	case Issued, Disputed:
		return next == Confirmed || next == Disputed
	}
	return false
}

// Signoff is one entry of a statement's append-only sign-off history; Seq 1 is Issued.
type Signoff struct {
	Seq     int           `json:"seq"`
	Status  SignoffStatus `json:"status"`
	Comment string        `json:"comment,omitempty"`
	Actor   audit.Actor   `json:"actor"`
	At      time.Time     `json:"at"`
}

// Sign-off limits: a dispute says why in 2 to 500 characters; a confirmation may say
// something too.
const (
	minComment = 2
	maxComment = 500
)
