// Package fundingdb keeps sponsors, pledges, pledge balances, the double-entry ledger,
// order holds and versioned policies in PostgreSQL with bun. Store implements
// funding.Store (every change one transaction with its audit record); Ledger moves
// pledge money inside the caller's transaction (an order's own). PostgreSQL errors become
// funding errors.
package fundingdb

import (
	"strconv"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// Store implements funding.Store on PostgreSQL.
type Store struct{ db *bun.DB }

var _ funding.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *bun.DB) *Store { return &Store{db: db} }

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// balanceID is the audit entity id of a pledge period: "PLEDGE/PERIOD".
func balanceID(pledgeID int64, period funding.Period) string {
	return itoa(pledgeID) + "/" + string(period)
}

// date stores a civil.Date in a date column; the zero Date is NULL.
type date = postgres.Date
