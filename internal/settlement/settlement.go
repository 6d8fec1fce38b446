// Package settlement closes a community's month (月结): the checks run before closing,
// the statements (结算单) written once at close for every sponsor and every canteen
// operator, the merchants' sign-off, and the corrections booked after a month is closed.
// Amounts are fen; months and days are Asia/Shanghai.
//
// The accounting rule. The statement of month M covers every ledger move on a pledge's
// spent account whose created_at falls in M: a commit (the order was paid) counts
// positive, a reverse (a refund gave subsidy back) negative, and an adjust entry that
// touches spent with its sign. A canteen operator's statement adds the diners' money of M:
// WeChat payments credited in M (by WeChat's success time), cash taken at the counter in
// M (the order's paid_at) and refunds that succeeded in M. A move for an order whose meal
// day lies in an earlier month that is already closed is shown as an adjustment line
// that refers to the statement that covered the order; so a refund after the close lands
// in the next open month. Finance's manual corrections land likewise, in the first open
// month after the statement they correct. The ledger lines of a month's statements sum
// to the ledger's spent moves of that month, to the fen.
//
// Closing is exactly once per (community, month): the closing transaction first inserts
// that key, so a second closer waits for it and then finds the month closed. A month is
// closed only after it has ended, when the months before it are closed, and when the
// checks find nothing (or finance overrides them, with a reason). Closed months,
// statements, lines and sign-offs are never changed; the database refuses it.
//
// Service applies the rules; Build and Check are pure functions over Facts; Store
// (settlementdb) reads the facts and keeps what a close writes.
package settlement

import (
	"time"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
)

// Month is an Asia/Shanghai calendar month, written "2026-11".
type Month = funding.Month

// ParseMonth parses exactly "YYYY-MM". Errors are funding.ErrMonthInvalid (Invalid).
func ParseMonth(s string) (Month, error) { return funding.ParseMonth(s) }

// MonthOf returns the month of an Asia/Shanghai day.
func MonthOf(d civil.Date) Month { return funding.MonthOf(d) }

// MonthAt returns the Asia/Shanghai month of instant t.
func MonthAt(t time.Time) Month { return funding.MonthOf(civil.Today(t)) }

// Start returns the first instant of m in Asia/Shanghai.
func Start(m Month) time.Time { return m.First().Start() }

// End returns the first instant after m in Asia/Shanghai.
func End(m Month) time.Time { return m.Next().First().Start() }

// Scope is who acts and in which community. Every change is confined to CommunityID and
// recorded in the audit log under Actor.
type Scope struct {
	CommunityID int64
	Actor       audit.Actor
}

// Audit vocabulary: the entities and actions month end records.
const (
	EntityMonth      = "settlement_month" // entity id "YYYY-MM"
	EntityStatement  = "statement"
	EntityAdjustment = "settlement_adjustment"

	ActionClose   = "close"
	ActionConfirm = "confirm"
	ActionDispute = "dispute"
	ActionCreate  = "create"
)

// MaxFen bounds a manual adjustment: 1 亿元.
const MaxFen = funding.MaxFen

// runes reports whether s is valid UTF-8 of min to max runes.
func runes(s string, min, max int) bool {
	n := utf8.RuneCountInString(s)
	return utf8.ValidString(s) && n >= min && n <= max
}
