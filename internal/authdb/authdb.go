// Package authdb stores staff accounts, diners and sessions in PostgreSQL.
package authdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// Store implements auth.Store.
type Store struct{ db *bun.DB }

var _ auth.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *bun.DB) *Store { return &Store{db: db} }

type staffRow struct {
	bun.BaseModel `bun:"table:staff,alias:s"`
	ID            int64      `bun:"id,pk,autoincrement"`
	CommunityID   int64      `bun:"community_id"`
	Username      string     `bun:"username"`
	DisplayName   string     `bun:"display_name"`
	PasswordHash  string     `bun:"password_hash"`
	Roles         []string   `bun:"roles,array"`
	CanteenIDs    []int64    `bun:"canteen_ids,array"`
	MerchantID    *int64     `bun:"merchant_id"`
	DisabledAt    *time.Time `bun:"disabled_at"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r staffRow) staff() auth.Staff {
	st := auth.Staff{ID: r.ID, CommunityID: r.CommunityID, Username: r.Username, DisplayName: r.DisplayName,
		CanteenIDs: r.CanteenIDs, MerchantID: r.MerchantID, DisabledAt: r.DisabledAt, CreatedAt: r.CreatedAt}
	if st.CanteenIDs == nil {
		st.CanteenIDs = []int64{}
	}
	for _, role := range r.Roles {
		st.Roles = append(st.Roles, auth.Role(role))
	}
	return st
}

func rowOf(st auth.Staff, hash string) staffRow {
	r := staffRow{ID: st.ID, CommunityID: st.CommunityID, Username: st.Username, DisplayName: st.DisplayName,
		PasswordHash: hash, CanteenIDs: st.CanteenIDs, MerchantID: st.MerchantID, DisabledAt: st.DisabledAt}
	for _, role := range st.Roles {
		r.Roles = append(r.Roles, string(role))
	}
	if r.CanteenIDs == nil {
		r.CanteenIDs = []int64{}
	}
	return r
}

// StaffByUsername implements auth.Store.
func (s *Store) StaffByUsername(ctx context.Context, username string) (auth.Staff, string, error) {
	var r staffRow
	err := s.db.NewSelect().Model(&r).Where("username = ?", username).Scan(ctx)
	if postgres.IsNoRows(err) {
		return auth.Staff{}, "", auth.ErrStaffNotFound
	}
	if err != nil {
		return auth.Staff{}, "", fmt.Errorf("authdb: staff by username: %w", err)
	}
	return r.staff(), r.PasswordHash, nil
}

// GetStaff implements auth.Store.
func (s *Store) GetStaff(ctx context.Context, communityID, id int64) (auth.Staff, error) {
	var r staffRow
	err := s.db.NewSelect().Model(&r).Where("community_id = ? AND id = ?", communityID, id).Scan(ctx)
	if postgres.IsNoRows(err) {
		return auth.Staff{}, auth.ErrStaffNotFound
	}
	if err != nil {
		return auth.Staff{}, fmt.Errorf("authdb: get staff %d: %w", id, err)
	}
	return r.staff(), nil
}

// ListStaff implements auth.Store.
func (s *Store) ListStaff(ctx context.Context, communityID int64) ([]auth.Staff, error) {
	var rows []staffRow
	if err := s.db.NewSelect().Model(&rows).Where("community_id = ?", communityID).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("authdb: list staff: %w", err)
	}
	out := make([]auth.Staff, len(rows))
	for i, r := range rows {
		out[i] = r.staff()
	}
	return out, nil
}

func mapStaffErr(err error) error {
	switch {
	case postgres.IsUniqueViolation(err, "staff_username_key"):
		return auth.ErrUsernameTaken
	case postgres.IsForeignKeyViolation(err, "staff_merchant_fkey"):
		return apperr.New(apperr.Invalid, "merchant_not_found", "merchant_id: no such merchant in this community")
	case postgres.IsForeignKeyViolation(err, ""):
		return auth.ErrCommunityAbsent
	}
	return err
}

// CreateStaff implements auth.Store.
func (s *Store) CreateStaff(ctx context.Context, actor audit.Actor, st auth.Staff, hash string) (auth.Staff, error) {
	r := rowOf(st, hash)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			return mapStaffErr(err)
		}
		return auditdb.Write(ctx, tx, r.CommunityID, actor, "create", "staff", fmt.Sprint(r.ID), nil, r.staff())
	})
	if err != nil {
		return auth.Staff{}, fmt.Errorf("authdb: create staff: %w", err)
	}
	return r.staff(), nil
}

// UpdateStaff implements auth.Store.
func (s *Store) UpdateStaff(ctx context.Context, actor audit.Actor, st auth.Staff, hash string) (auth.Staff, error) {
	var after staffRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var before staffRow
		err := tx.NewSelect().Model(&before).Where("community_id = ? AND id = ?", st.CommunityID, st.ID).For("UPDATE").Scan(ctx)
		if postgres.IsNoRows(err) {
			return auth.ErrStaffNotFound
		}
		if err != nil {
			return err
		}
		after = rowOf(st, before.PasswordHash)
		cols := []string{"display_name", "roles", "canteen_ids", "merchant_id", "disabled_at"}
		if hash != "" {
			after.PasswordHash = hash
			cols = append(cols, "password_hash")
		}
		q := tx.NewUpdate().Model(&after).Column(cols...).Set("updated_at = now()").
			Where("community_id = ? AND id = ?", st.CommunityID, st.ID).Returning("*")
		if _, err := q.Exec(ctx); err != nil {
			return mapStaffErr(err)
		}
		if hash != "" || (after.DisabledAt != nil && before.DisabledAt == nil) {
			if _, err := tx.NewUpdate().Table("sessions").Set("revoked_at = now()").
				Where("staff_id = ? AND revoked_at IS NULL", st.ID).Exec(ctx); err != nil {
				return err
			}
		}
		b, a := before.staff(), after.staff()
		if hash != "" {
			a.Username += " (password changed)"
		}
		return auditdb.Write(ctx, tx, st.CommunityID, actor, "update", "staff", fmt.Sprint(st.ID), b, a)
	})
	if err != nil {
		return auth.Staff{}, fmt.Errorf("authdb: update staff %d: %w", st.ID, err)
	}
	return after.staff(), nil
}

type dinerRow struct {
	bun.BaseModel `bun:"table:diners,alias:d"`
	ID            int64     `bun:"id,pk,autoincrement"`
	CommunityID   int64     `bun:"community_id"`
	AppID         string    `bun:"app_id"`
	OpenID        string    `bun:"openid"`
	UnionID       *string   `bun:"unionid"`
	Nickname      string    `bun:"nickname"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	LastLoginAt   time.Time `bun:"last_login_at,nullzero,notnull,default:current_timestamp"`
}

// UpsertDiner implements auth.Store. A diner keeps the community of their first login.
func (s *Store) UpsertDiner(ctx context.Context, communityID int64, appID, openID, unionID string) (auth.Diner, error) {
	r := dinerRow{CommunityID: communityID, AppID: appID, OpenID: openID}
	if unionID != "" {
		r.UnionID = &unionID
	}
	_, err := s.db.NewInsert().Model(&r).
		On("CONFLICT (app_id, openid) DO UPDATE").
		Set("last_login_at = now(), unionid = COALESCE(EXCLUDED.unionid, d.unionid)").
		Returning("id, community_id, app_id, openid, unionid, nickname, created_at, last_login_at").Exec(ctx)
	if postgres.IsForeignKeyViolation(err, "") {
		return auth.Diner{}, auth.ErrCommunityAbsent
	}
	if err != nil {
		return auth.Diner{}, fmt.Errorf("authdb: upsert diner: %w", err)
	}
	return auth.Diner{ID: r.ID, CommunityID: r.CommunityID, AppID: r.AppID, OpenID: r.OpenID, Nickname: r.Nickname, CreatedAt: r.CreatedAt}, nil
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`
	TokenHash     []byte     `bun:"token_hash,pk"`
	Kind          string     `bun:"kind"`
	CommunityID   int64      `bun:"community_id"`
	StaffID       *int64     `bun:"staff_id"`
	DinerID       *int64     `bun:"diner_id"`
	DeviceID      *int64     `bun:"device_id"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	RevokedAt     *time.Time `bun:"revoked_at"`
}

// CreateSession implements auth.Store.
func (s *Store) CreateSession(ctx context.Context, hash []byte, p auth.Principal, exp time.Time) error {
	r := sessionRow{TokenHash: hash, Kind: string(p.Kind), CommunityID: p.CommunityID, ExpiresAt: exp}
	id := p.ID
	switch p.Kind {
	case auth.StaffKind:
		r.StaffID = &id
	case auth.DinerKind:
		r.DinerID = &id
	default: // a device's session is made with the device (CreateDevice)
		return fmt.Errorf("authdb: create session: kind %q", p.Kind)
	}
	if _, err := s.db.NewInsert().Model(&r).Exec(ctx); err != nil {
		return fmt.Errorf("authdb: create session: %w", err)
	}
	return nil
}

// SessionPrincipal implements auth.Store: a live session of an enabled account.
func (s *Store) SessionPrincipal(ctx context.Context, hash []byte, now time.Time) (auth.Principal, error) {
	var sess sessionRow
	err := s.db.NewSelect().Model(&sess).
		Where("token_hash = ? AND revoked_at IS NULL AND expires_at > ?", hash, now).Scan(ctx)
	if postgres.IsNoRows(err) {
		return auth.Principal{}, auth.ErrNoSession
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("authdb: session: %w", err)
	}
	if sess.DeviceID != nil {
		return s.devicePrincipal(ctx, *sess.DeviceID, now)
	}
	if sess.StaffID != nil {
		var r staffRow
		err := s.db.NewSelect().Model(&r).Where("id = ? AND disabled_at IS NULL", *sess.StaffID).Scan(ctx)
		if postgres.IsNoRows(err) {
			return auth.Principal{}, auth.ErrNoSession
		}
		if err != nil {
			return auth.Principal{}, fmt.Errorf("authdb: session staff: %w", err)
		}
		return r.staff().Principal(), nil
	}
	var d dinerRow
	if err := s.db.NewSelect().Model(&d).Where("id = ?", *sess.DinerID).Scan(ctx); err != nil {
		if postgres.IsNoRows(err) {
			return auth.Principal{}, auth.ErrNoSession
		}
		return auth.Principal{}, fmt.Errorf("authdb: session diner: %w", err)
	}
	return auth.Diner{ID: d.ID, CommunityID: d.CommunityID, Nickname: d.Nickname}.Principal(), nil
}

// RevokeSession implements auth.Store. Revoking an unknown or revoked session is not an
// error; revoking a device's session revokes the device.
func (s *Store) RevokeSession(ctx context.Context, hash []byte, now time.Time) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var deviceIDs []int64
		if err := tx.NewRaw(`WITH s AS (UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL RETURNING device_id)
			SELECT device_id FROM s WHERE device_id IS NOT NULL`, now, hash).Scan(ctx, &deviceIDs); err != nil && !postgres.IsNoRows(err) {
			return err
		}
		for _, id := range deviceIDs {
			if err := revokeOwnDevice(ctx, tx, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("authdb: revoke session: %w", err)
	}
	return nil
}

// PurgeSessions implements auth.Store: sessions, and then devices, that expired or were
// revoked before before. It returns how many rows of both it deleted.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.NewDelete().Table("sessions").Where("expires_at < ? OR revoked_at < ?", before, before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("authdb: purge sessions: %w", err)
	}
	n, err := s.purgeDevices(ctx, before)
	return rowsAffected(res) + n, err
}

func rowsAffected(res sql.Result) int64 {
	n, _ := res.RowsAffected()
	return n
}
