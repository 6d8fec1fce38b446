// Package catalogdb keeps the catalogue (canteens, meal periods, closures, dishes, set meals
// and daily menus) in PostgreSQL with bun. It implements catalog.Store: every query is
// filtered by community, every change is one transaction with its audit record, and
// PostgreSQL errors become catalog errors.
package catalogdb

import (
	"database/sql/driver"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// Store implements catalog.Store on PostgreSQL.
type Store struct{ db *bun.DB }

var _ catalog.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *bun.DB) *Store { return &Store{db: db} }

// fieldErr is sentinel naming field, caused by err.
func fieldErr(sentinel *apperr.Error, field, reason string, err error) error {
	return &apperr.Error{Kind: sentinel.Kind, Code: sentinel.Code, Detail: sentinel.Detail,
		Fields: []apperr.FieldError{{Field: field, Reason: reason}}, Err: err}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// date stores a civil.Date in a date column.
type date = postgres.Date

// dates returns days as date column values.
func dates(days []civil.Date) []string {
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = d.String()
	}
	return out
}

// clock stores a catalog.ClockTime in a time column.
type clock catalog.ClockTime

// Value writes the time as 'HH:MM'.
func (c clock) Value() (driver.Value, error) { return catalog.ClockTime(c).String(), nil }

// Scan reads a time column, which pgx gives as text "HH:MM:SS".
func (c *clock) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("catalogdb: scan %T into a clock time", src)
	}
	if len(s) >= 5 {
		s = s[:5]
	}
	t, err := catalog.ParseClockTime(s)
	if err != nil {
		return fmt.Errorf("catalogdb: scan clock time %q: %w", s, err)
	}
	*c = clock(t)
	return nil
}
