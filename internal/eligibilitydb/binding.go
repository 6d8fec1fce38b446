package eligibilitydb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/postgres"
)

type bindingRow struct {
	bun.BaseModel   `bun:"table:family_bindings,alias:b"`
	ID              int64      `bun:"id,pk,autoincrement"`
	CommunityID     int64      `bun:"community_id"`
	FamilyDinerID   int64      `bun:"family_diner_id"`
	ElderDinerID    int64      `bun:"elder_diner_id"`
	Relation        string     `bun:"relation"`
	Status          string     `bun:"status"`
	RequestedAt     time.Time  `bun:"requested_at"`
	RequestedByKind string     `bun:"requested_by_kind"`
	RequestedBy     int64      `bun:"requested_by"`
	ConfirmedAt     *time.Time `bun:"confirmed_at"`
	ConfirmedByKind *string    `bun:"confirmed_by_kind"`
	ConfirmedBy     *int64     `bun:"confirmed_by"`
	RevokedAt       *time.Time `bun:"revoked_at"`
	RevokedByKind   *string    `bun:"revoked_by_kind"`
	RevokedBy       *int64     `bun:"revoked_by"`
	CreatedAt       time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt       time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r bindingRow) binding() eligibility.Binding {
	return eligibility.Binding{ID: r.ID, CommunityID: r.CommunityID, FamilyDinerID: r.FamilyDinerID,
		ElderDinerID: r.ElderDinerID, Relation: r.Relation, Status: eligibility.BindingStatus(r.Status),
		RequestedAt: r.RequestedAt, RequestedByKind: audit.ActorKind(r.RequestedByKind), RequestedBy: r.RequestedBy,
		ConfirmedAt: r.ConfirmedAt, ConfirmedByKind: eligibility.ConfirmerKind(deref(r.ConfirmedByKind)),
		ConfirmedBy: deref(r.ConfirmedBy), RevokedAt: r.RevokedAt,
		RevokedByKind: audit.ActorKind(deref(r.RevokedByKind)), RevokedBy: deref(r.RevokedBy),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// setStatus copies the fields a confirmation or revocation changes from b.
func (r *bindingRow) setStatus(b eligibility.Binding) {
	r.Status = string(b.Status)
	r.ConfirmedAt, r.ConfirmedByKind, r.ConfirmedBy = b.ConfirmedAt, nonZero(string(b.ConfirmedByKind)), nonZero(b.ConfirmedBy)
	r.RevokedAt, r.RevokedByKind, r.RevokedBy = b.RevokedAt, nonZero(string(b.RevokedByKind)), nonZero(b.RevokedBy)
}

// CreateBinding implements eligibility.Store.
func (s *Store) CreateBinding(ctx context.Context, sc eligibility.Scope, b eligibility.Binding) (eligibility.Binding, error) {
	r := bindingRow{CommunityID: sc.CommunityID, FamilyDinerID: b.FamilyDinerID, ElderDinerID: b.ElderDinerID,
		Relation: b.Relation, RequestedAt: b.RequestedAt, RequestedByKind: string(b.RequestedByKind), RequestedBy: b.RequestedBy}
	r.setStatus(b)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			return mapErr(err)
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, eligibility.ActionRequest, eligibility.EntityBinding,
			itoa(r.ID), nil, r.binding())
	})
	if err != nil {
		return eligibility.Binding{}, fmt.Errorf("eligibilitydb: create binding: %w", err)
	}
	return r.binding(), nil
}

// ChangeBinding implements eligibility.Store.
func (s *Store) ChangeBinding(ctx context.Context, sc eligibility.Scope, id int64, action string, change func(*eligibility.Binding) error) (eligibility.Binding, error) {
	var r bindingRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewSelect().Model(&r).Where("b.community_id = ? AND b.id = ?", sc.CommunityID, id).For("UPDATE").Scan(ctx)
		if postgres.IsNoRows(err) {
			return eligibility.ErrBindingNotFound
		}
		if err != nil {
			return err
		}
		before := r.binding()
		next := before
		if err := change(&next); err != nil {
			return err
		}
		r.setStatus(next)
		_, err = tx.NewUpdate().Model(&r).
			Column("status", "confirmed_at", "confirmed_by_kind", "confirmed_by", "revoked_at", "revoked_by_kind", "revoked_by").
			Set("updated_at = now()").WherePK().Returning("*").Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, action, eligibility.EntityBinding, itoa(id), before, r.binding())
	})
	if err != nil {
		return eligibility.Binding{}, fmt.Errorf("eligibilitydb: %s binding %d: %w", action, id, err)
	}
	return r.binding(), nil
}

// Binding implements eligibility.Store.
func (s *Store) Binding(ctx context.Context, communityID, id int64) (eligibility.Binding, error) {
	var r bindingRow
	err := s.db.NewSelect().Model(&r).Where("b.community_id = ? AND b.id = ?", communityID, id).Scan(ctx)
	if postgres.IsNoRows(err) {
		err = eligibility.ErrBindingNotFound
	}
	if err != nil {
		return eligibility.Binding{}, fmt.Errorf("eligibilitydb: get binding %d: %w", id, err)
	}
	return r.binding(), nil
}

// Bindings implements eligibility.Store.
func (s *Store) Bindings(ctx context.Context, communityID int64, q eligibility.BindingQuery) ([]eligibility.Binding, error) {
	var rows []bindingRow
	sel := s.db.NewSelect().Model(&rows).Where("b.community_id = ?", communityID)
	if q.DinerID != 0 {
		sel.Where("(b.family_diner_id = ? OR b.elder_diner_id = ?)", q.DinerID, q.DinerID)
	}
	if q.Status != "" {
		sel.Where("b.status = ?", string(q.Status))
	}
	if q.Limit > 0 {
		sel.Limit(int64(q.Limit))
	}
	if err := sel.OrderExpr("b.id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("eligibilitydb: list bindings: %w", err)
	}
	out := make([]eligibility.Binding, len(rows))
	for i, r := range rows {
		out[i] = r.binding()
	}
	return out, nil
}

// Elders implements eligibility.Store. An elder's name is the diner's name, else the real
// name of their latest eligibility, else the WeChat nickname.
func (s *Store) Elders(ctx context.Context, communityID, familyDinerID int64) ([]eligibility.Elder, error) {
	var out []eligibility.Elder
	err := s.db.NewRaw(`
		SELECT b.id AS binding_id, b.elder_diner_id AS diner_id, b.relation,
		       COALESCE(NULLIF(d.name, ''),
		                (SELECT e.real_name FROM eligibilities e
		                 WHERE e.community_id = d.community_id AND e.diner_id = d.id ORDER BY e.id DESC LIMIT 1),
		                d.nickname) AS name
		FROM family_bindings b
		JOIN diners d ON d.community_id = b.community_id AND d.id = b.elder_diner_id
		WHERE b.community_id = ? AND b.family_diner_id = ? AND b.status = ?
		ORDER BY name, b.id`, communityID, familyDinerID, string(eligibility.BindingConfirmed)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("eligibilitydb: elders of %d: %w", familyDinerID, err)
	}
	if out == nil {
		out = []eligibility.Elder{}
	}
	return out, nil
}

// HasConfirmedBinding implements eligibility.Store.
func (s *Store) HasConfirmedBinding(ctx context.Context, communityID, familyDinerID, elderDinerID int64) (bool, error) {
	ok, err := s.db.NewSelect().Model((*bindingRow)(nil)).
		Where("b.community_id = ? AND b.family_diner_id = ? AND b.elder_diner_id = ? AND b.status = ?",
			communityID, familyDinerID, elderDinerID, string(eligibility.BindingConfirmed)).
		Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("eligibilitydb: has confirmed binding %d->%d: %w", familyDinerID, elderDinerID, err)
	}
	return ok, nil
}
