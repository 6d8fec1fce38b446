package authdb

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/postgres"
)

type deviceRow struct {
	bun.BaseModel    `bun:"table:devices,alias:dv"`
	ID               int64      `bun:"id,pk,autoincrement"`
	CommunityID      int64      `bun:"community_id"`
	CanteenID        int64      `bun:"canteen_id"`
	Name             string     `bun:"name"`
	RegisteredBy     int64      `bun:"registered_by"`
	RegisteredByName string     `bun:"registered_by_name"`
	CreatedAt        time.Time  `bun:"created_at"`
	ExpiresAt        time.Time  `bun:"expires_at"`
	LastSeenAt       *time.Time `bun:"last_seen_at"`
	RevokedAt        *time.Time `bun:"revoked_at"`
	RevokedBy        *int64     `bun:"revoked_by"`
}

func (r deviceRow) device() auth.Device {
	return auth.Device{ID: r.ID, CommunityID: r.CommunityID, CanteenID: r.CanteenID, Name: r.Name,
		RegisteredBy: auth.StaffRef{ID: r.RegisteredBy, Name: r.RegisteredByName},
		CreatedAt:    r.CreatedAt, ExpiresAt: r.ExpiresAt, LastSeenAt: r.LastSeenAt, RevokedAt: r.RevokedAt, RevokedBy: r.RevokedBy}
}

// CreateDevice implements auth.Store: the device, its session and the audit record in
// one transaction.
func (s *Store) CreateDevice(ctx context.Context, actor audit.Actor, d auth.Device, hash []byte) (auth.Device, error) {
	r := deviceRow{CommunityID: d.CommunityID, CanteenID: d.CanteenID, Name: d.Name, RegisteredBy: d.RegisteredBy.ID,
		RegisteredByName: d.RegisteredBy.Name, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			if postgres.IsForeignKeyViolation(err, "devices_canteen_fkey") {
				return auth.ErrDeviceCanteen
			}
			return err
		}
		sess := sessionRow{TokenHash: hash, Kind: string(auth.DeviceKind), CommunityID: r.CommunityID, DeviceID: &r.ID, ExpiresAt: r.ExpiresAt}
		if _, err := tx.NewInsert().Model(&sess).Exec(ctx); err != nil {
			return err
		}
		return auditdb.Write(ctx, tx, r.CommunityID, actor, "create", "device", fmt.Sprint(r.ID), nil, r.device())
	})
	if err != nil {
		return auth.Device{}, fmt.Errorf("authdb: create device: %w", err)
	}
	return r.device(), nil
}

// ListDevices implements auth.Store.
func (s *Store) ListDevices(ctx context.Context, communityID int64) ([]auth.Device, error) {
	var rows []deviceRow
	if err := s.db.NewSelect().Model(&rows).Where("community_id = ?", communityID).Order("id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("authdb: list devices: %w", err)
	}
	out := make([]auth.Device, len(rows))
	for i, r := range rows {
		out[i] = r.device()
	}
	return out, nil
}

// RevokeDevice implements auth.Store: the device and its session are revoked and the
// audit record written in one transaction; a revoked device is left as it is.
func (s *Store) RevokeDevice(ctx context.Context, actor audit.Actor, communityID, id int64, now time.Time) (auth.Device, error) {
	var after deviceRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var before deviceRow
		err := tx.NewSelect().Model(&before).Where("community_id = ? AND id = ?", communityID, id).For("UPDATE").Scan(ctx)
		if postgres.IsNoRows(err) {
			return auth.ErrDeviceNotFound
		}
		if err != nil {
			return err
		}
		after = before
		if before.RevokedAt != nil {
			return nil
		}
		var by *int64
		if actor.Kind == audit.Staff && actor.ID != 0 {
			by = &actor.ID
		}
		return revoke(ctx, tx, actor, before, by, now, &after)
	})
	if err != nil {
		return auth.Device{}, fmt.Errorf("authdb: revoke device %d: %w", id, err)
	}
	return after.device(), nil
}

// revoke revokes the locked device before and its session at now, by staff id by (nil:
// the device itself), and writes the audit record; after receives the revoked device.
func revoke(ctx context.Context, tx bun.Tx, actor audit.Actor, before deviceRow, by *int64, now time.Time, after *deviceRow) error {
	if err := tx.NewUpdate().Model(after).Set("revoked_at = ?, revoked_by = ?", now, by).
		Where("id = ?", before.ID).Returning("*").Scan(ctx); err != nil {
		return err
	}
	if _, err := tx.NewUpdate().Table("sessions").Set("revoked_at = ?", now).
		Where("device_id = ? AND revoked_at IS NULL", before.ID).Exec(ctx); err != nil {
		return err
	}
	return auditdb.Write(ctx, tx, before.CommunityID, actor, "revoke", "device", fmt.Sprint(before.ID), before.device(), after.device())
}

// revokeOwnDevice revokes a device whose session was just ended from the device itself
// (logout), audited under the device.
func revokeOwnDevice(ctx context.Context, tx bun.Tx, id int64, now time.Time) error {
	var before deviceRow
	err := tx.NewSelect().Model(&before).Where("id = ? AND revoked_at IS NULL", id).For("UPDATE").Scan(ctx)
	if postgres.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	actor := before.device().Principal().Actor()
	var after deviceRow
	return revoke(ctx, tx, actor, before, nil, now, &after)
}

// devicePrincipal returns the principal of a live device and records now as its
// last_seen_at when the stored one is auth.DeviceSeenEvery old or more.
func (s *Store) devicePrincipal(ctx context.Context, id int64, now time.Time) (auth.Principal, error) {
	var r deviceRow
	err := s.db.NewSelect().Model(&r).Where("id = ? AND revoked_at IS NULL AND expires_at > ?", id, now).Scan(ctx)
	if postgres.IsNoRows(err) {
		return auth.Principal{}, auth.ErrNoSession
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("authdb: session device: %w", err)
	}
	if r.LastSeenAt == nil || now.Sub(*r.LastSeenAt) >= auth.DeviceSeenEvery {
		stale := now.Add(-auth.DeviceSeenEvery)
		if _, err := s.db.NewUpdate().Table("devices").Set("last_seen_at = ?", now).
			Where("id = ? AND (last_seen_at IS NULL OR last_seen_at <= ?)", id, stale).Exec(ctx); err != nil {
			// Bookkeeping only: a device whose session is valid is let in all the same.
			slog.WarnContext(ctx, "device last seen not recorded", "device", id, "err", err)
		}
	}
	return r.device().Principal(), nil
}

// purgeDevices deletes devices that expired or were revoked before before; their
// sessions go with them.
func (s *Store) purgeDevices(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.NewDelete().Table("devices").Where("expires_at < ? OR revoked_at < ?", before, before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("authdb: purge devices: %w", err)
	}
	return rowsAffected(res), nil
}
