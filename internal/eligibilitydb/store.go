// Package eligibilitydb keeps eligibilities, counter-registered diners and family bindings in
// PostgreSQL with bun. It implements eligibility.Store: every query is filtered by community,
// every change is one transaction with its audit record, ID-card and phone numbers are sealed
// with the data keyring and blind-indexed before they are written and only masked when read,
// and PostgreSQL errors become eligibility errors.
package eligibilitydb

import (
	"strconv"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// Sealer encrypts personal data at rest and indexes it for exact lookups; aad binds a
// ciphertext to its row and column. *secure.Keyring implements it.
type Sealer interface {
	Seal(plaintext []byte, aad string) (keyID string, ciphertext []byte, err error)
	Open(keyID string, ciphertext []byte, aad string) ([]byte, error)
	BlindIndex(kind, value string) []byte
}

// Store implements eligibility.Store on PostgreSQL.
type Store struct {
	db   *bun.DB
	keys Sealer
}

var _ eligibility.Store = (*Store)(nil)

// New returns a Store on db sealing ID-card and phone numbers with keys.
func New(db *bun.DB, keys Sealer) *Store { return &Store{db: db, keys: keys} }

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// idAAD and phoneAAD name where a sealed value lives; Open fails anywhere else.
func idAAD(id int64) string    { return "eligibilities.id_number:" + itoa(id) }
func phoneAAD(id int64) string { return "diners.phone:" + itoa(id) }

// mapErr turns constraint violations into eligibility errors; anything else is returned as is.
func mapErr(err error) error {
	switch {
	case postgres.IsUniqueViolation(err, "eligibilities_live_person_key"),
		postgres.IsUniqueViolation(err, "eligibilities_live_diner_key"),
		postgres.IsUniqueViolation(err, "eligibilities_live_worker_key"):
		return eligibility.ErrExists
	case postgres.IsUniqueViolation(err, "family_bindings_live_pair_key"):
		return eligibility.ErrBindingExists
	case postgres.IsForeignKeyViolation(err, "eligibilities_reviewed_by_fkey"),
		postgres.IsForeignKeyViolation(err, "eligibilities_revoked_by_fkey"),
		postgres.IsForeignKeyViolation(err, "diners_registered_by_fkey"):
		return eligibility.ErrStaffNotFound
	case postgres.IsForeignKeyViolation(err, ""):
		// The diner (or its community) is not there, or is another community's.
		return eligibility.ErrDinerNotFound
	}
	return err
}

// nullDate stores a civil.Date in a nullable date column: the zero Date is NULL.
type nullDate = postgres.Date

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// nonZero returns a pointer to v, or nil for the zero value.
func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
