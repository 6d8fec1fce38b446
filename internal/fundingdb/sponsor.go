package fundingdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/postgres"
)

type sponsorRow struct {
	bun.BaseModel `bun:"table:sponsors,alias:s"`
	ID            int64     `bun:"id,pk,autoincrement"`
	CommunityID   int64     `bun:"community_id"`
	Kind          string    `bun:"kind"`
	Name          string    `bun:"name"`
	MerchantID    *int64    `bun:"merchant_id"`
	Active        bool      `bun:"active"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r sponsorRow) sponsor() funding.Sponsor {
	return funding.Sponsor{ID: r.ID, CommunityID: r.CommunityID, Kind: funding.SponsorKind(r.Kind), Name: r.Name,
		MerchantID: r.MerchantID, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func sponsorRowOf(s funding.Sponsor) sponsorRow {
	return sponsorRow{ID: s.ID, CommunityID: s.CommunityID, Kind: string(s.Kind), Name: s.Name, MerchantID: s.MerchantID, Active: s.Active}
}

func sponsorErr(op string, err error) error {
	switch {
	case postgres.IsUniqueViolation(err, "sponsors_community_name_key"):
		err = funding.WithField(funding.ErrSponsorNameTaken, "name", "已有同名资助方 / a sponsor with this name exists", err)
	case postgres.IsForeignKeyViolation(err, "sponsors_merchant_fkey"):
		err = funding.WithField(funding.ErrMerchantNotFound, "merchant_id", "本社区没有该商户 / no such merchant in this community", err)
	}
	return fmt.Errorf("fundingdb: %s: %w", op, err)
}

// CreateSponsor inserts s with its audit record.
func (s *Store) CreateSponsor(ctx context.Context, sc funding.Scope, sp funding.Sponsor) (funding.Sponsor, error) {
	var out funding.Sponsor
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		sp.ID, sp.CommunityID = 0, sc.CommunityID
		r := sponsorRowOf(sp)
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			return sponsorErr("insert sponsor", err)
		}
		out = r.sponsor()
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, funding.ActionCreate, funding.EntitySponsor, itoa(out.ID), nil, out)
	})
	return out, err
}

// UpdateSponsor locks the sponsor, applies the change and saves it with the audit record.
func (s *Store) UpdateSponsor(ctx context.Context, sc funding.Scope, id int64, apply func(*funding.Sponsor) error) (funding.Sponsor, error) {
	var out funding.Sponsor
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		before, err := readSponsor(ctx, tx, sc.CommunityID, id, "NO KEY UPDATE")
		if err != nil {
			return err
		}
		sp := before
		if err := apply(&sp); err != nil {
			return err
		}
		sp.ID, sp.CommunityID, sp.Kind = before.ID, before.CommunityID, before.Kind
		r := sponsorRowOf(sp)
		_, err = tx.NewUpdate().Model(&r).Column("name", "merchant_id", "active").Set("updated_at = now()").
			Where("community_id = ? AND id = ?", sc.CommunityID, id).Returning("*").Exec(ctx)
		if err != nil {
			return sponsorErr(fmt.Sprintf("update sponsor %d", id), err)
		}
		out = r.sponsor()
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, funding.ActionUpdate, funding.EntitySponsor, itoa(id), before, out)
	})
	return out, err
}

func readSponsor(ctx context.Context, db bun.IDB, communityID, id int64, lock string) (funding.Sponsor, error) {
	var r sponsorRow
	q := db.NewSelect().Model(&r).Where("s.community_id = ? AND s.id = ?", communityID, id)
	if lock != "" {
		q.For(lock)
	}
	if err := q.Scan(ctx); err != nil {
		if postgres.IsNoRows(err) {
			err = funding.ErrSponsorNotFound
		}
		return funding.Sponsor{}, fmt.Errorf("fundingdb: read sponsor %d: %w", id, err)
	}
	return r.sponsor(), nil
}

// Sponsor returns one sponsor of the community.
func (s *Store) Sponsor(ctx context.Context, communityID, id int64) (funding.Sponsor, error) {
	return readSponsor(ctx, s.db, communityID, id, "")
}

// Sponsors returns the community's sponsors by name.
func (s *Store) Sponsors(ctx context.Context, communityID int64) ([]funding.Sponsor, error) {
	var rows []sponsorRow
	if err := s.db.NewSelect().Model(&rows).Where("s.community_id = ?", communityID).OrderExpr("s.name, s.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("fundingdb: list sponsors: %w", err)
	}
	out := make([]funding.Sponsor, len(rows))
	for i, r := range rows {
		out[i] = r.sponsor()
	}
	return out, nil
}
