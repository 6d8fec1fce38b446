package fundingdb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

type policyRow struct {
	bun.BaseModel  `bun:"table:policies,alias:po"`
	ID             int64     `bun:"id,pk,autoincrement"`
	CommunityID    int64     `bun:"community_id"`
	CurrentVersion int64     `bun:"current_version"`
	Active         bool      `bun:"active"`
	CreatedAt      time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt      time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

type versionRow struct {
	bun.BaseModel `bun:"table:policy_versions,alias:pv"`
	CommunityID   int64           `bun:"community_id"`
	PolicyID      int64           `bun:"policy_id,pk"`
	Version       int64           `bun:"version,pk"`
	Name          string          `bun:"name"`
	Rules         json.RawMessage `bun:"rules,type:jsonb"`
	ValidFrom     date            `bun:"valid_from,type:date,nullzero"`
	ValidTo       date            `bun:"valid_to,type:date,nullzero"`
	ActorKind     string          `bun:"actor_kind"`
	ActorID       *int64          `bun:"actor_id"`
	ActorName     string          `bun:"actor_name"`
	CreatedAt     time.Time       `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// policy decodes the stored rules; ID, version and community come from the row.
func (r versionRow) policy() (subsidy.Policy, error) {
	var p subsidy.Policy
	if err := json.Unmarshal(r.Rules, &p); err != nil {
		return subsidy.Policy{}, fmt.Errorf("fundingdb: decode policy %d v%d: %w", r.PolicyID, r.Version, err)
	}
	p.ID, p.Version, p.CommunityID = r.PolicyID, r.Version, r.CommunityID
	return p, nil
}

type policyPledgeRow struct {
	bun.BaseModel `bun:"table:policy_pledges,alias:pp"`
	CommunityID   int64 `bun:"community_id"`
	PolicyID      int64 `bun:"policy_id,pk"`
	Version       int64 `bun:"version,pk"`
	PledgeID      int64 `bun:"pledge_id,pk"`
}

// policyRefs reads, and share-locks, the community's pledges p's funding parts name, with
// whether their sponsors are active.
func policyRefs(ctx context.Context, tx bun.Tx, communityID int64, p subsidy.Policy) (map[int64]funding.PledgeRef, error) {
	out := map[int64]funding.PledgeRef{}
	var ids []int64
	for _, part := range p.Funding.Parts {
		ids = append(ids, part.PledgeID)
	}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []pledgeRow
	err := tx.NewSelect().Model(&rows).ColumnExpr("p.*, s.active AS sponsor_active").
		Join("JOIN sponsors AS s ON s.community_id = p.community_id AND s.id = p.sponsor_id").
		Where("p.community_id = ? AND p.id IN (?)", communityID, bun.List(ids)).OrderExpr("p.id").For("SHARE").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("fundingdb: read pledges of policy: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = funding.PledgeRef{Pledge: r.pledge(), SponsorActive: r.SponsorActive}
	}
	return out, nil
}

// insertVersion writes p (ID and Version set) as a policy version with its pledges and
// returns it as stored.
func insertVersion(ctx context.Context, tx bun.Tx, sc funding.Scope, p subsidy.Policy) (subsidy.Policy, error) {
	rules, err := json.Marshal(p)
	if err != nil {
		return subsidy.Policy{}, fmt.Errorf("fundingdb: encode policy %d: %w", p.ID, err)
	}
	v := versionRow{CommunityID: sc.CommunityID, PolicyID: p.ID, Version: p.Version, Name: p.Name, Rules: rules,
		ValidFrom: date(p.ValidFrom), ValidTo: date(p.ValidTo), ActorKind: string(sc.Actor.Kind), ActorName: sc.Actor.Name}
	if sc.Actor.ID != 0 {
		v.ActorID = &sc.Actor.ID
	}
	if _, err := tx.NewInsert().Model(&v).Exec(ctx); err != nil {
		return subsidy.Policy{}, fmt.Errorf("fundingdb: insert policy %d v%d: %w", p.ID, p.Version, err)
	}
	if len(p.Funding.Parts) > 0 {
		pp := make([]policyPledgeRow, len(p.Funding.Parts))
		for i, part := range p.Funding.Parts {
			pp[i] = policyPledgeRow{CommunityID: sc.CommunityID, PolicyID: p.ID, Version: p.Version, PledgeID: part.PledgeID}
		}
		if _, err := tx.NewInsert().Model(&pp).Exec(ctx); err != nil {
			if postgres.IsForeignKeyViolation(err, "") {
				err = funding.WithField(funding.ErrPledgeNotFound, "funding.parts", "本社区没有该认捐 / no such pledge in this community", err)
			}
			return subsidy.Policy{}, fmt.Errorf("fundingdb: insert pledges of policy %d v%d: %w", p.ID, p.Version, err)
		}
	}
	return v.policy()
}

// CreatePolicy inserts p as version 1 of a new active policy, once check accepts it, with
// the audit record.
func (s *Store) CreatePolicy(ctx context.Context, sc funding.Scope, p subsidy.Policy, check func(*subsidy.Policy, map[int64]funding.PledgeRef) error) (funding.PolicyRecord, error) {
	var out funding.PolicyRecord
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		refs, err := policyRefs(ctx, tx, sc.CommunityID, p)
		if err != nil {
			return err
		}
		if err := check(&p, refs); err != nil {
			return err
		}
		r := policyRow{CommunityID: sc.CommunityID, CurrentVersion: 1, Active: true}
		if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
			return fmt.Errorf("fundingdb: insert policy: %w", err)
		}
		p.ID, p.Version, p.CommunityID = r.ID, 1, sc.CommunityID
		if p, err = insertVersion(ctx, tx, sc, p); err != nil {
			return err
		}
		out = funding.PolicyRecord{Policy: p, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, funding.ActionCreate, funding.EntityPolicy, itoa(r.ID), nil, out)
	})
	return out, err
}

// UpdatePolicy adds p as the next version of policy id, once check accepts it, and makes
// it current, with the audit record (before: the previous current version).
func (s *Store) UpdatePolicy(ctx context.Context, sc funding.Scope, id int64, p subsidy.Policy, check func(*subsidy.Policy, map[int64]funding.PledgeRef) error) (funding.PolicyRecord, error) {
	var out funding.PolicyRecord
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		before, err := readPolicyRecord(ctx, tx, sc.CommunityID, id, "NO KEY UPDATE")
		if err != nil {
			return err
		}
		refs, err := policyRefs(ctx, tx, sc.CommunityID, p)
		if err != nil {
			return err
		}
		if err := check(&p, refs); err != nil {
			return err
		}
		p.ID, p.Version, p.CommunityID = id, before.Policy.Version+1, sc.CommunityID
		if p, err = insertVersion(ctx, tx, sc, p); err != nil {
			return err
		}
		r := policyRow{}
		if _, err := tx.NewUpdate().Model(&r).Set("current_version = ?, updated_at = now()", p.Version).
			Where("community_id = ? AND id = ?", sc.CommunityID, id).Returning("*").Exec(ctx); err != nil {
			return fmt.Errorf("fundingdb: update policy %d: %w", id, err)
		}
		out = funding.PolicyRecord{Policy: p, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, funding.ActionUpdate, funding.EntityPolicy, itoa(id), before, out)
	})
	return out, err
}

// SetPolicyActive activates or deactivates policy id, with the audit record; setting the
// state it already has writes nothing.
func (s *Store) SetPolicyActive(ctx context.Context, sc funding.Scope, id int64, active bool) (funding.PolicyRecord, error) {
	var out funding.PolicyRecord
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		before, err := readPolicyRecord(ctx, tx, sc.CommunityID, id, "NO KEY UPDATE")
		if err != nil {
			return err
		}
		if out = before; before.Active == active {
			return nil
		}
		r := policyRow{}
		if _, err := tx.NewUpdate().Model(&r).Set("active = ?, updated_at = now()", active).
			Where("community_id = ? AND id = ?", sc.CommunityID, id).Returning("*").Exec(ctx); err != nil {
			return fmt.Errorf("fundingdb: set policy %d active=%t: %w", id, active, err)
		}
		out.Active, out.UpdatedAt = r.Active, r.UpdatedAt
		action := funding.ActionDeactivate
		if active {
			action = funding.ActionActivate
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, action, funding.EntityPolicy, itoa(id), before, out)
	})
	return out, err
}

// readPolicyRecord reads policy id with its current version, locking the policy row as lock says.
func readPolicyRecord(ctx context.Context, db bun.IDB, communityID, id int64, lock string) (funding.PolicyRecord, error) {
	var r policyRow
	q := db.NewSelect().Model(&r).Where("po.community_id = ? AND po.id = ?", communityID, id)
	if lock != "" {
		q.For(lock)
	}
	if err := q.Scan(ctx); err != nil {
		if postgres.IsNoRows(err) {
			err = funding.ErrPolicyNotFound
		}
		return funding.PolicyRecord{}, fmt.Errorf("fundingdb: read policy %d: %w", id, err)
	}
	p, err := readVersion(ctx, db, communityID, id, r.CurrentVersion)
	if err != nil {
		return funding.PolicyRecord{}, err
	}
	return funding.PolicyRecord{Policy: p, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

func readVersion(ctx context.Context, db bun.IDB, communityID, id, version int64) (subsidy.Policy, error) {
	var v versionRow
	err := db.NewSelect().Model(&v).Where("pv.community_id = ? AND pv.policy_id = ? AND pv.version = ?", communityID, id, version).Scan(ctx)
	if err != nil {
		if postgres.IsNoRows(err) {
			err = funding.ErrPolicyNotFound
		}
		return subsidy.Policy{}, fmt.Errorf("fundingdb: read policy %d v%d: %w", id, version, err)
	}
	return v.policy()
}

// Policy returns version of policy id, or the current version for 0.
func (s *Store) Policy(ctx context.Context, communityID, id, version int64) (subsidy.Policy, error) {
	if version == 0 {
		r, err := readPolicyRecord(ctx, s.db, communityID, id, "")
		return r.Policy, err
	}
	return readVersion(ctx, s.db, communityID, id, version)
}

// currentVersions selects the current version rows of the community's policies.
func currentVersions(db bun.IDB, communityID int64) *bun.SelectQuery {
	return db.NewSelect().Model((*versionRow)(nil)).ColumnExpr("pv.*").ColumnExpr("po.active, po.created_at AS policy_created_at, po.updated_at AS policy_updated_at").
		Join("JOIN policies AS po ON po.community_id = pv.community_id AND po.id = pv.policy_id AND po.current_version = pv.version").
		Where("pv.community_id = ?", communityID).OrderExpr("pv.policy_id")
}

type currentRow struct {
	versionRow
	Active          bool      `bun:"active"`
	PolicyCreatedAt time.Time `bun:"policy_created_at"`
	PolicyUpdatedAt time.Time `bun:"policy_updated_at"`
}

// Policies returns the community's policies with their current versions, by ID.
func (s *Store) Policies(ctx context.Context, communityID int64) ([]funding.PolicyRecord, error) {
	var rows []currentRow
	if err := currentVersions(s.db, communityID).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("fundingdb: list policies: %w", err)
	}
	out := make([]funding.PolicyRecord, len(rows))
	for i, r := range rows {
		p, err := r.policy()
		if err != nil {
			return nil, err
		}
		out[i] = funding.PolicyRecord{Policy: p, Active: r.Active, CreatedAt: r.PolicyCreatedAt, UpdatedAt: r.PolicyUpdatedAt}
	}
	return out, nil
}

// ActivePolicies returns the current versions of the active policies valid on day, by ID.
func (s *Store) ActivePolicies(ctx context.Context, communityID int64, day civil.Date) ([]subsidy.Policy, error) {
	var rows []currentRow
	err := currentVersions(s.db, communityID).Where("po.active").
		Where("(pv.valid_from IS NULL OR pv.valid_from <= ?) AND (pv.valid_to IS NULL OR pv.valid_to >= ?)", date(day), date(day)).
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("fundingdb: active policies: %w", err)
	}
	out := make([]subsidy.Policy, len(rows))
	for i, r := range rows {
		if out[i], err = r.policy(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
