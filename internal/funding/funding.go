// Package funding holds who pays the gap between the standard price and the public-benefit
// price: sponsors (资助方), their pledges (认捐/预算) with a balance per pledge period, the
// ledger moves that orders make on those balances (hold, commit, release, reverse), and the
// storage of versioned subsidy policies. Amounts are fen; dates are Asia/Shanghai dates.
// Service applies the rules; Store (fundingdb) keeps the rows and the double-entry journal.
package funding

import (
	"strings"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/audit"
)

// Scope is who makes a change and in which community. Every change is confined to
// Scope.CommunityID and recorded in the audit log under Scope.Actor.
type Scope struct {
	CommunityID int64
	Actor       audit.Actor
}

// Audit vocabulary: the entities and actions funding changes are recorded under.
const (
	EntitySponsor = "sponsor"
	EntityPledge  = "pledge"
	EntityBalance = "pledge_balance" // entity id "PLEDGE/PERIOD", e.g. "12/2026-11"
	EntityPolicy  = "policy"

	ActionCreate     = "create"
	ActionUpdate     = "update"
	ActionOpen       = "open" // a pledge period funded the first time it is touched
	ActionTopUp      = "topup"
	ActionAdjust     = "adjust"
	ActionDeactivate = "deactivate"
	ActionActivate   = "activate"
)

// MaxFen bounds every amount of the package: 1 亿元 (10,000,000,000 fen).
const MaxFen = 10_000_000_000

// runes reports whether s has between min and max runes and is valid UTF-8 without NUL bytes.
func runes(s string, min, max int) bool {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return false
	}
	n := utf8.RuneCountInString(s)
	return n >= min && n <= max
}
