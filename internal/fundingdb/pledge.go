package fundingdb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// pledgeRow keeps both kinds in starts_on/ends_on: a monthly pledge from the first day of
// its start month to the last day of its end month (NULL: no end).
type pledgeRow struct {
	bun.BaseModel `bun:"table:pledges,alias:p"`
	ID            int64     `bun:"id,pk,autoincrement"`
	CommunityID   int64     `bun:"community_id"`
	SponsorID     int64     `bun:"sponsor_id"`
	Name          string    `bun:"name"`
	Kind          string    `bun:"kind"`
	AmountFen     int64     `bun:"amount_fen"`
	StartsOn      date      `bun:"starts_on,type:date"`
	EndsOn        date      `bun:"ends_on,type:date,nullzero"`
	CanteenIDs    []int64   `bun:"canteen_ids,array"`
	Active        bool      `bun:"active"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
	SponsorActive bool      `bun:"sponsor_active,scanonly"` // filled only by pledgesByID
}

func (r pledgeRow) pledge() funding.Pledge {
	ids := r.CanteenIDs
	if ids == nil {
		ids = []int64{}
	}
	p := funding.Pledge{ID: r.ID, CommunityID: r.CommunityID, SponsorID: r.SponsorID, Name: r.Name,
		Kind: funding.PledgeKind(r.Kind), AmountFen: r.AmountFen, CanteenIDs: ids, Active: r.Active,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if p.Kind == funding.Monthly {
		p.StartMonth = funding.MonthOf(civil.Date(r.StartsOn))
		if !r.EndsOn.IsZero() {
			p.EndMonth = funding.MonthOf(civil.Date(r.EndsOn))
		}
	} else {
		p.From, p.To = civil.Date(r.StartsOn), civil.Date(r.EndsOn)
	}
	return p
}

func pledgeRowOf(p funding.Pledge) pledgeRow {
	ids := p.CanteenIDs
	if ids == nil {
		ids = []int64{}
	}
	return pledgeRow{ID: p.ID, CommunityID: p.CommunityID, SponsorID: p.SponsorID, Name: p.Name, Kind: string(p.Kind),
		AmountFen: p.AmountFen, StartsOn: date(p.FirstDay()), EndsOn: date(p.LastDay()), CanteenIDs: ids, Active: p.Active}
}

func pledgeErr(op string, err error) error {
	switch {
	case postgres.IsUniqueViolation(err, "pledges_sponsor_name_key"):
		err = funding.WithField(funding.ErrPledgeNameTaken, "name", "该资助方已有同名认捐 / the sponsor has a pledge with this name", err)
	case postgres.IsForeignKeyViolation(err, "pledges_sponsor_fkey"):
		err = funding.WithField(funding.ErrSponsorNotFound, "sponsor_id", "本社区没有该资助方 / no such sponsor in this community", err)
	}
	return fmt.Errorf("fundingdb: %s: %w", op, err)
}

// checkCanteens share-locks the canteens ids names and fails with ErrCanteenNotFound
// naming the first that is not a canteen of the community.
func checkCanteens(ctx context.Context, tx bun.Tx, communityID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var found []int64
	err := tx.NewSelect().Table("canteens").Column("id").
		Where("community_id = ? AND id IN (?)", communityID, bun.List(ids)).OrderExpr("id").For("KEY SHARE").Scan(ctx, &found)
	if err != nil {
		return fmt.Errorf("fundingdb: read canteens: %w", err)
	}
	for i, id := range ids {
		if !slices.Contains(found, id) {
			return funding.WithField(funding.ErrCanteenNotFound, fmt.Sprintf("canteen_ids[%d]", i),
				fmt.Sprintf("本社区没有食堂 %d / no canteen %d in this community", id, id), nil)
		}
	}
	return nil
}

// CreatePledge inserts p for an active sponsor, with its audit record.
func (s *Store) CreatePledge(ctx context.Context, sc funding.Scope, p funding.Pledge) (funding.Pledge, error) {
	var out funding.Pledge
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		p.ID, p.CommunityID = 0, sc.CommunityID
		sp, err := readSponsor(ctx, tx, sc.CommunityID, p.SponsorID, "KEY SHARE")
		if err != nil {
			return funding.WithField(funding.ErrSponsorNotFound, "sponsor_id", "本社区没有该资助方 / no such sponsor in this community", err)
		}
		if !sp.Active {
			return funding.WithField(funding.ErrSponsorInactive, "sponsor_id", "资助方已停用 / the sponsor is inactive", nil)
		}
		if err := checkCanteens(ctx, tx, sc.CommunityID, p.CanteenIDs); err != nil {
			return err
		}
		r := pledgeRowOf(p)
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			return pledgeErr("insert pledge", err)
		}
		out = r.pledge()
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, funding.ActionCreate, funding.EntityPledge, itoa(out.ID), nil, out)
	})
	return out, err
}

// UpdatePledge locks the pledge, applies the change and saves it with the audit record.
func (s *Store) UpdatePledge(ctx context.Context, sc funding.Scope, id int64, apply func(*funding.Pledge) error) (funding.Pledge, error) {
	var out funding.Pledge
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		before, err := readPledge(ctx, tx, sc.CommunityID, id, "NO KEY UPDATE")
		if err != nil {
			return err
		}
		p := before
		p.CanteenIDs = slices.Clone(before.CanteenIDs)
		if err := apply(&p); err != nil {
			return err
		}
		p.ID, p.CommunityID, p.SponsorID, p.Kind = before.ID, before.CommunityID, before.SponsorID, before.Kind
		p.StartMonth, p.From = before.StartMonth, before.From
		if !slices.Equal(p.CanteenIDs, before.CanteenIDs) {
			if err := checkCanteens(ctx, tx, sc.CommunityID, p.CanteenIDs); err != nil {
				return err
			}
		}
		r := pledgeRowOf(p)
		_, err = tx.NewUpdate().Model(&r).Column("name", "amount_fen", "ends_on", "canteen_ids", "active").
			Set("updated_at = now()").Where("community_id = ? AND id = ?", sc.CommunityID, id).Returning("*").Exec(ctx)
		if err != nil {
			return pledgeErr(fmt.Sprintf("update pledge %d", id), err)
		}
		out = r.pledge()
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, funding.ActionUpdate, funding.EntityPledge, itoa(id), before, out)
	})
	return out, err
}

func readPledge(ctx context.Context, db bun.IDB, communityID, id int64, lock string) (funding.Pledge, error) {
	var r pledgeRow
	q := db.NewSelect().Model(&r).Where("p.community_id = ? AND p.id = ?", communityID, id)
	if lock != "" {
		q.For(lock)
	}
	if err := q.Scan(ctx); err != nil {
		if postgres.IsNoRows(err) {
			err = funding.ErrPledgeNotFound
		}
		return funding.Pledge{}, fmt.Errorf("fundingdb: read pledge %d: %w", id, err)
	}
	return r.pledge(), nil
}

// usablePledge is a pledge with whether it may fund anything now: it and its sponsor are active.
type usablePledge struct {
	funding.Pledge
	Usable bool
}

// pledgesByID returns the community's pledges among ids, with whether each is usable.
func pledgesByID(ctx context.Context, db bun.IDB, communityID int64, ids []int64) (map[int64]usablePledge, error) {
	out := map[int64]usablePledge{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []pledgeRow
	err := db.NewSelect().Model(&rows).ColumnExpr("p.*, s.active AS sponsor_active").
		Join("JOIN sponsors AS s ON s.community_id = p.community_id AND s.id = p.sponsor_id").
		Where("p.community_id = ? AND p.id IN (?)", communityID, bun.List(ids)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("fundingdb: read pledges: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = usablePledge{Pledge: r.pledge(), Usable: r.Active && r.SponsorActive}
	}
	return out, nil
}

// Pledge returns one pledge of the community.
func (s *Store) Pledge(ctx context.Context, communityID, id int64) (funding.Pledge, error) {
	return readPledge(ctx, s.db, communityID, id, "")
}

// Pledges returns the community's pledges by sponsor, name and ID.
func (s *Store) Pledges(ctx context.Context, communityID int64) ([]funding.Pledge, error) {
	var rows []pledgeRow
	if err := s.db.NewSelect().Model(&rows).Where("p.community_id = ?", communityID).OrderExpr("p.sponsor_id, p.name, p.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("fundingdb: list pledges: %w", err)
	}
	out := make([]funding.Pledge, len(rows))
	for i, r := range rows {
		out[i] = r.pledge()
	}
	return out, nil
}
