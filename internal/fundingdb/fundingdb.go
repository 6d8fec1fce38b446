// Package fundingdb keeps sponsors, pledges, pledge balances, the double-entry ledger,
// order holds and versioned policies in PostgreSQL with bun. Store implements
// funding.Store (every change one transaction with its audit record); Ledger moves
// pledge money inside the caller's transaction (an order's own). PostgreSQL errors become
// funding errors.
package fundingdb

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
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
type date civil.Date

// Value writes the date as 'YYYY-MM-DD', or NULL for the zero Date.
func (d date) Value() (driver.Value, error) {
	if civil.Date(d).IsZero() {
		return nil, nil
	}
	return civil.Date(d).String(), nil
}

// Scan reads a date column (time.Time from pgx, or text); NULL is the zero Date.
func (d *date) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = date{}
		return nil
	case time.Time:
		y, m, day := v.Date()
		*d = date{Year: y, Month: m, Day: day}
		return nil
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	}
	return fmt.Errorf("fundingdb: scan %T into a date", src)
}

func (d *date) parse(s string) error {
	v, err := civil.ParseDate(s)
	if err != nil {
		return fmt.Errorf("fundingdb: scan date %q: %w", s, err)
	}
	*d = date(v)
	return nil
}

// IsZero lets bun's nullzero see the zero Date.
func (d date) IsZero() bool { return civil.Date(d).IsZero() }
