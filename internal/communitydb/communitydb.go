// Package communitydb stores communities and partner merchants in PostgreSQL.
// Merchant contact phones are sealed with the data keyring before they are written.
package communitydb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/community"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/secure"
)

// Sealer encrypts personal data at rest; aad binds a ciphertext to its row and column.
type Sealer interface {
	Seal(plaintext []byte, aad string) (keyID string, ciphertext []byte, err error)
	Open(keyID string, ciphertext []byte, aad string) ([]byte, error)
}

// Store implements community.Store.
type Store struct {
	db   *bun.DB
	keys Sealer
}

var _ community.Store = (*Store)(nil)

// New returns a Store on db sealing personal data with keys.
func New(db *bun.DB, keys Sealer) *Store { return &Store{db: db, keys: keys} }

type communityRow struct {
	bun.BaseModel `bun:"table:communities"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Code          string    `bun:"code"`
	Name          string    `bun:"name"`
	City          string    `bun:"city"`
	District      string    `bun:"district"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

func (r communityRow) community() community.Community {
	return community.Community{ID: r.ID, Code: r.Code, Name: r.Name, City: r.City, District: r.District, CreatedAt: r.CreatedAt}
}

// CreateCommunity implements community.Store. The audit record is the new community's first.
func (s *Store) CreateCommunity(ctx context.Context, actor audit.Actor, c community.Community) (community.Community, error) {
	r := communityRow{Code: c.Code, Name: c.Name, City: c.City, District: c.District}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			if postgres.IsUniqueViolation(err, "") {
				return community.ErrCommunityExists
			}
			return err
		}
		return auditdb.Write(ctx, tx, r.ID, actor, "create", "community", fmt.Sprint(r.ID), nil, r.community())
	})
	if err != nil {
		return community.Community{}, fmt.Errorf("communitydb: create community: %w", err)
	}
	return r.community(), nil
}

func (s *Store) oneCommunity(ctx context.Context, where string, arg any) (community.Community, error) {
	var r communityRow
	err := s.db.NewSelect().Model(&r).Where(where, arg).Scan(ctx)
	if postgres.IsNoRows(err) {
		return community.Community{}, community.ErrCommunityNotFound
	}
	if err != nil {
		return community.Community{}, fmt.Errorf("communitydb: get community: %w", err)
	}
	return r.community(), nil
}

// GetCommunity implements community.Store.
func (s *Store) GetCommunity(ctx context.Context, id int64) (community.Community, error) {
	return s.oneCommunity(ctx, "id = ?", id)
}

// CommunityByCode implements community.Store.
func (s *Store) CommunityByCode(ctx context.Context, code string) (community.Community, error) {
	return s.oneCommunity(ctx, "code = ?", code)
}

// ListCommunities implements community.Store.
func (s *Store) ListCommunities(ctx context.Context) ([]community.Community, error) {
	var rows []communityRow
	if err := s.db.NewSelect().Model(&rows).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("communitydb: list communities: %w", err)
	}
	out := make([]community.Community, len(rows))
	for i, r := range rows {
		out[i] = r.community()
	}
	return out, nil
}

type merchantRow struct {
	bun.BaseModel `bun:"table:merchants"`
	ID            int64     `bun:"id,pk,autoincrement"`
	CommunityID   int64     `bun:"community_id"`
	Name          string    `bun:"name"`
	ContactName   string    `bun:"contact_name"`
	PhoneEnc      []byte    `bun:"contact_phone_enc"`
	PhoneKey      *string   `bun:"contact_phone_key"`
	ContactEmail  string    `bun:"contact_email"`
	Address       string    `bun:"address"`
	Active        bool      `bun:"active"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func phoneAAD(id int64) string { return fmt.Sprintf("merchants.contact_phone:%d", id) }

func (s *Store) merchant(r merchantRow) (community.Merchant, error) {
	m := community.Merchant{ID: r.ID, CommunityID: r.CommunityID, Name: r.Name, ContactName: r.ContactName,
		ContactEmail: r.ContactEmail, Address: r.Address, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.PhoneKey != nil {
		p, err := s.keys.Open(*r.PhoneKey, r.PhoneEnc, phoneAAD(r.ID))
		if err != nil {
			return community.Merchant{}, fmt.Errorf("communitydb: open phone of merchant %d: %w", r.ID, err)
		}
		m.ContactPhone = string(p)
		m.ContactPhoneMasked = secure.MaskPhone(m.ContactPhone)
	}
	return m, nil
}

// auditView is what the audit log keeps of a merchant: never the clear phone.
func auditView(m community.Merchant) community.Merchant {
	m.ContactPhone = ""
	return m
}

func (s *Store) seal(r *merchantRow, phone string) error {
	r.PhoneEnc, r.PhoneKey = nil, nil
	if phone == "" {
		return nil
	}
	kid, ct, err := s.keys.Seal([]byte(phone), phoneAAD(r.ID))
	if err != nil {
		return fmt.Errorf("seal phone: %w", err)
	}
	r.PhoneEnc, r.PhoneKey = ct, &kid
	return nil
}

func mapMerchantErr(err error) error {
	switch {
	case postgres.IsUniqueViolation(err, "merchants_community_name_key"):
		return community.ErrMerchantExists
	case postgres.IsForeignKeyViolation(err, ""):
		return community.ErrCommunityNotFound
	}
	return err
}

// CreateMerchant implements community.Store.
func (s *Store) CreateMerchant(ctx context.Context, actor audit.Actor, m community.Merchant) (community.Merchant, error) {
	var out community.Merchant
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r := merchantRow{CommunityID: m.CommunityID, Name: m.Name, ContactName: m.ContactName,
			ContactEmail: m.ContactEmail, Address: m.Address, Active: m.Active}
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			return mapMerchantErr(err)
		}
		if err := s.seal(&r, m.ContactPhone); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(&r).Column("contact_phone_enc", "contact_phone_key").WherePK().Exec(ctx); err != nil {
			return err
		}
		var err error
		if out, err = s.merchant(r); err != nil {
			return err
		}
		return auditdb.Write(ctx, tx, m.CommunityID, actor, "create", "merchant", fmt.Sprint(r.ID), nil, auditView(out))
	})
	if err != nil {
		return community.Merchant{}, fmt.Errorf("communitydb: create merchant: %w", err)
	}
	return out, nil
}

// UpdateMerchant implements community.Store.
func (s *Store) UpdateMerchant(ctx context.Context, actor audit.Actor, m community.Merchant) (community.Merchant, error) {
	var out community.Merchant
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var before merchantRow
		err := tx.NewSelect().Model(&before).Where("community_id = ? AND id = ?", m.CommunityID, m.ID).For("UPDATE").Scan(ctx)
		if postgres.IsNoRows(err) {
			return community.ErrMerchantNotFound
		}
		if err != nil {
			return err
		}
		prev, err := s.merchant(before)
		if err != nil {
			return err
		}
		r := before
		r.Name, r.ContactName, r.ContactEmail, r.Address, r.Active = m.Name, m.ContactName, m.ContactEmail, m.Address, m.Active
		if err := s.seal(&r, m.ContactPhone); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model(&r).
			Column("name", "contact_name", "contact_phone_enc", "contact_phone_key", "contact_email", "address", "active").
			Set("updated_at = now()").WherePK().Returning("*").Exec(ctx)
		if err != nil {
			return mapMerchantErr(err)
		}
		if out, err = s.merchant(r); err != nil {
			return err
		}
		return auditdb.Write(ctx, tx, m.CommunityID, actor, "update", "merchant", fmt.Sprint(r.ID), auditView(prev), auditView(out))
	})
	if err != nil {
		return community.Merchant{}, fmt.Errorf("communitydb: update merchant %d: %w", m.ID, err)
	}
	return out, nil
}

// GetMerchant implements community.Store.
func (s *Store) GetMerchant(ctx context.Context, communityID, id int64) (community.Merchant, error) {
	var r merchantRow
	err := s.db.NewSelect().Model(&r).Where("community_id = ? AND id = ?", communityID, id).Scan(ctx)
	if postgres.IsNoRows(err) {
		return community.Merchant{}, community.ErrMerchantNotFound
	}
	if err != nil {
		return community.Merchant{}, fmt.Errorf("communitydb: get merchant %d: %w", id, err)
	}
	return s.merchant(r)
}

// ListMerchants implements community.Store.
func (s *Store) ListMerchants(ctx context.Context, communityID int64) ([]community.Merchant, error) {
	var rows []merchantRow
	if err := s.db.NewSelect().Model(&rows).Where("community_id = ?", communityID).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("communitydb: list merchants: %w", err)
	}
	out := make([]community.Merchant, 0, len(rows))
	for _, r := range rows {
		m, err := s.merchant(r)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
