package postgres

import (
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/civil"
)

// Date stores a civil.Date (an Asia/Shanghai calendar day) in a date column; the zero
// Date is NULL.
type Date civil.Date

// Value writes the date as 'YYYY-MM-DD', or NULL for the zero Date.
func (d Date) Value() (driver.Value, error) {
	if civil.Date(d).IsZero() {
		return nil, nil
	}
	return civil.Date(d).String(), nil
}

// Scan reads a date column (time.Time from pgx, or text); NULL is the zero Date.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = Date{}
		return nil
	case time.Time:
		y, m, day := v.Date()
		*d = Date{Year: y, Month: m, Day: day}
		return nil
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	}
	return fmt.Errorf("postgres: scan %T into a date", src)
}

func (d *Date) parse(s string) error {
	v, err := civil.ParseDate(s)
	if err != nil {
		return fmt.Errorf("postgres: scan date %q: %w", s, err)
	}
	*d = Date(v)
	return nil
}

// IsZero reports whether d is the zero Date (stored as NULL).
func (d Date) IsZero() bool { return civil.Date(d).IsZero() }
