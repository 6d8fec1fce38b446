// Package catalog holds what a community offers: canteens with their meal periods and
// closures, dishes and set meals, and the daily menus (canteen × date × meal period) with
// prices in fen and supply counts. Service applies the rules; Store (catalogdb) keeps the rows.
package catalog

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

// Audit vocabulary: the entity names and actions catalogue changes are recorded under.
const (
	EntityCanteen    = "canteen"
	EntityMealPeriod = "meal_period"
	EntityClosure    = "closure"
	EntityDish       = "dish"
	EntityMenu       = "menu"

	ActionCreate  = "create"
	ActionUpdate  = "update"
	ActionDelete  = "delete"
	ActionPublish = "publish"
	ActionCopy    = "copy"
)

// runes reports whether s has between min and max runes and is valid UTF-8 without NUL bytes.
func runes(s string, min, max int) bool {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return false
	}
	n := utf8.RuneCountInString(s)
	return n >= min && n <= max
}
