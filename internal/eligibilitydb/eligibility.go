package eligibilitydb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

type eligibilityRow struct {
	bun.BaseModel `bun:"table:eligibilities,alias:e"`
	ID            int64      `bun:"id,pk"`
	CommunityID   int64      `bun:"community_id"`
	DinerID       int64      `bun:"diner_id"`
	Grp           string     `bun:"grp"`
	Status        string     `bun:"status"`
	RealName      string     `bun:"real_name"`
	IDNumberEnc   []byte     `bun:"id_number_enc"`
	IDNumberKey   *string    `bun:"id_number_key"`
	IDIndex       []byte     `bun:"id_index"`
	BirthDate     nullDate   `bun:"birth_date"`
	Platform      string     `bun:"platform"`
	WorkerID      string     `bun:"worker_id"`
	ProofRef      string     `bun:"proof_ref"`
	Flags         []string   `bun:"flags,array"`
	EvidenceRef   string     `bun:"evidence_ref"`
	District      string     `bun:"district"`
	ValidFrom     nullDate   `bun:"valid_from"`
	ValidUntil    nullDate   `bun:"valid_until"`
	AppliedAt     time.Time  `bun:"applied_at"`
	AppliedByKind string     `bun:"applied_by_kind"`
	AppliedBy     int64      `bun:"applied_by"`
	ReviewedAt    *time.Time `bun:"reviewed_at"`
	ReviewedBy    *int64     `bun:"reviewed_by"`
	RejectReason  *string    `bun:"reject_reason"`
	RevokedAt     *time.Time `bun:"revoked_at"`
	RevokedBy     *int64     `bun:"revoked_by"`
	RevokeReason  *string    `bun:"revoke_reason"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// rowOf returns the row of e without its sealed ID number.
func rowOf(e eligibility.Eligibility) eligibilityRow {
	r := eligibilityRow{ID: e.ID, CommunityID: e.CommunityID, DinerID: e.DinerID, Grp: string(e.Group),
		Status: string(e.Status), RealName: e.Name, Platform: e.Platform, WorkerID: e.WorkerID,
		ProofRef: e.ProofRef, Flags: make([]string, 0, len(e.Flags)), EvidenceRef: e.EvidenceRef, District: e.District,
		AppliedAt: e.AppliedAt, AppliedByKind: string(e.AppliedByKind), AppliedBy: e.AppliedBy}
	for _, f := range e.Flags {
		r.Flags = append(r.Flags, string(f))
	}
	r.setReview(e)
	return r
}

// setReview copies the fields a review changes from e.
func (r *eligibilityRow) setReview(e eligibility.Eligibility) {
	r.Status = string(e.Status)
	r.ValidFrom, r.ValidUntil = nullDate(e.ValidFrom), nullDate(e.ValidUntil)
	r.ReviewedAt, r.ReviewedBy, r.RejectReason = e.ReviewedAt, nonZero(e.ReviewedBy), nonZero(e.RejectReason)
	r.RevokedAt, r.RevokedBy, r.RevokeReason = e.RevokedAt, nonZero(e.RevokedBy), nonZero(e.RevokeReason)
}

// eligibility returns r as the domain sees it: the ID number opened only to be masked.
func (s *Store) eligibility(r eligibilityRow) (eligibility.Eligibility, error) {
	e := eligibility.Eligibility{ID: r.ID, CommunityID: r.CommunityID, DinerID: r.DinerID,
		Group: subsidy.Group(r.Grp), Status: eligibility.Status(r.Status), Name: r.RealName,
		BirthDate: civil.Date(r.BirthDate), Platform: r.Platform, WorkerID: r.WorkerID, ProofRef: r.ProofRef,
		Flags: make([]subsidy.StatusFlag, 0, len(r.Flags)), EvidenceRef: r.EvidenceRef, District: r.District,
		ValidFrom: civil.Date(r.ValidFrom), ValidUntil: civil.Date(r.ValidUntil),
		AppliedAt: r.AppliedAt, AppliedByKind: audit.ActorKind(r.AppliedByKind), AppliedBy: r.AppliedBy,
		ReviewedAt: r.ReviewedAt, ReviewedBy: deref(r.ReviewedBy), RejectReason: deref(r.RejectReason),
		RevokedAt: r.RevokedAt, RevokedBy: deref(r.RevokedBy), RevokeReason: deref(r.RevokeReason),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	for _, f := range r.Flags {
		e.Flags = append(e.Flags, subsidy.StatusFlag(f))
	}
	if r.IDNumberKey != nil {
		n, err := s.openID(r)
		if err != nil {
			return eligibility.Eligibility{}, err
		}
		e.IDNumberMasked = secure.MaskIDNumber(n)
	}
	return e, nil
}

func (s *Store) openID(r eligibilityRow) (string, error) {
	if r.IDNumberKey == nil {
		return "", eligibility.ErrNoIDNumber
	}
	b, err := s.keys.Open(*r.IDNumberKey, r.IDNumberEnc, idAAD(r.ID))
	if err != nil {
		return "", fmt.Errorf("eligibilitydb: open ID number of eligibility %d: %w", r.ID, err)
	}
	return string(b), nil
}

func (s *Store) eligibilities(rows []eligibilityRow) ([]eligibility.Eligibility, error) {
	out := make([]eligibility.Eligibility, 0, len(rows))
	for _, r := range rows {
		e, err := s.eligibility(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Apply implements eligibility.Store.
func (s *Store) Apply(ctx context.Context, sc eligibility.Scope, e eligibility.Eligibility, id subsidy.IDNumber, today civil.Date) (eligibility.Eligibility, error) {
	var out eligibility.Eligibility
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = s.apply(ctx, tx, sc, e, id, today)
		return err
	})
	if err != nil {
		return eligibility.Eligibility{}, fmt.Errorf("eligibilitydb: apply: %w", err)
	}
	return out, nil
}

// apply inserts e inside tx after closing the expired eligibilities it replaces.
func (s *Store) apply(ctx context.Context, tx bun.Tx, sc eligibility.Scope, e eligibility.Eligibility, id subsidy.IDNumber, today civil.Date) (eligibility.Eligibility, error) {
	r := rowOf(e)
	r.CommunityID = sc.CommunityID
	// The id comes first so that the ID number's aad can name the row.
	if err := tx.NewRaw("SELECT nextval(pg_get_serial_sequence('eligibilities', 'id'))").Scan(ctx, &r.ID); err != nil {
		return eligibility.Eligibility{}, fmt.Errorf("draw eligibility id: %w", err)
	}
	if !id.IsZero() {
		kid, ct, err := s.keys.Seal([]byte(id.Reveal()), idAAD(r.ID))
		if err != nil {
			return eligibility.Eligibility{}, fmt.Errorf("seal ID number: %w", err)
		}
		r.IDNumberEnc, r.IDNumberKey = ct, &kid
		r.IDIndex = s.keys.BlindIndex(secure.KindIDNumber, id.Reveal())
		r.BirthDate = nullDate(id.BirthDate())
	}
	if err := s.expireReplaced(ctx, tx, r, today); err != nil {
		return eligibility.Eligibility{}, err
	}
	if _, err := tx.NewInsert().Model(&r).Returning("*").Exec(ctx); err != nil {
		return eligibility.Eligibility{}, mapErr(err)
	}
	out, err := s.eligibility(r)
	if err != nil {
		return eligibility.Eligibility{}, err
	}
	if out.Status != eligibility.Approved {
		return out, auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, eligibility.ActionApply,
			eligibility.EntityEligibility, itoa(r.ID), nil, out)
	}
	// Approved at the counter: recorded as an application and its approval.
	applied := out
	applied.Status, applied.ValidFrom, applied.ValidUntil = eligibility.Applied, civil.Date{}, civil.Date{}
	applied.ReviewedAt, applied.ReviewedBy = nil, 0
	if err := auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, eligibility.ActionApply,
		eligibility.EntityEligibility, itoa(r.ID), nil, applied); err != nil {
		return eligibility.Eligibility{}, err
	}
	return out, auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, eligibility.ActionApprove,
		eligibility.EntityEligibility, itoa(r.ID), applied, out)
}

// expireReplaced closes as expired the approved eligibilities, past their last day, that
// would keep r out of the one-live-per-person indexes: same group and the same diner, ID
// number or platform account. The system records the expiry.
func (s *Store) expireReplaced(ctx context.Context, tx bun.Tx, r eligibilityRow, today civil.Date) error {
	var rows []eligibilityRow
	q := tx.NewUpdate().Model((*eligibilityRow)(nil)).
		Set("status = ?", string(eligibility.Expired)).Set("updated_at = now()").
		Where("community_id = ? AND grp = ? AND status = ? AND valid_until < ?",
			r.CommunityID, r.Grp, string(eligibility.Approved), nullDate(today)).
		WhereGroup(" AND ", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			q.WhereOr("diner_id = ?", r.DinerID)
			if r.IDIndex != nil {
				q.WhereOr("id_index = ?", r.IDIndex)
			}
			if r.Grp == string(subsidy.Worker) {
				q.WhereOr("platform = ? AND worker_id = ?", r.Platform, r.WorkerID)
			}
			return q
		}).
		Returning("*")
	if _, err := q.Exec(ctx, &rows); err != nil {
		return fmt.Errorf("expire replaced eligibilities: %w", err)
	}
	for _, x := range rows {
		after, err := s.eligibility(x)
		if err != nil {
			return err
		}
		before := after
		before.Status = eligibility.Approved
		if err := auditdb.Write(ctx, tx, x.CommunityID, audit.SystemActor, eligibility.ActionExpire,
			eligibility.EntityEligibility, itoa(x.ID), before, after); err != nil {
			return err
		}
	}
	return nil
}

// Register implements eligibility.Store.
func (s *Store) Register(ctx context.Context, sc eligibility.Scope, d eligibility.NewDiner, e eligibility.Eligibility, id subsidy.IDNumber, today civil.Date) (eligibility.Diner, eligibility.Eligibility, error) {
	var diner eligibility.Diner
	var out eligibility.Eligibility
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if diner, err = s.insertDiner(ctx, tx, sc, d); err != nil {
			return err
		}
		e.DinerID = diner.ID
		if out, err = s.apply(ctx, tx, sc, e, id, today); err != nil {
			return err
		}
		diner.IDNumberMasked = out.IDNumberMasked
		return nil
	})
	if err != nil {
		return eligibility.Diner{}, eligibility.Eligibility{}, fmt.Errorf("eligibilitydb: register: %w", err)
	}
	return diner, out, nil
}

// Change implements eligibility.Store.
func (s *Store) Change(ctx context.Context, sc eligibility.Scope, id int64, action string, change func(*eligibility.Eligibility) error) (eligibility.Eligibility, error) {
	var out eligibility.Eligibility
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var r eligibilityRow
		err := tx.NewSelect().Model(&r).Where("e.community_id = ? AND e.id = ?", sc.CommunityID, id).For("UPDATE").Scan(ctx)
		if postgres.IsNoRows(err) {
			return eligibility.ErrNotFound
		}
		if err != nil {
			return err
		}
		before, err := s.eligibility(r)
		if err != nil {
			return err
		}
		next := before
		if err := change(&next); err != nil {
			return err
		}
		r.setReview(next)
		_, err = tx.NewUpdate().Model(&r).
			Column("status", "valid_from", "valid_until", "reviewed_at", "reviewed_by", "reject_reason",
				"revoked_at", "revoked_by", "revoke_reason").
			Set("updated_at = now()").WherePK().Returning("*").Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		if out, err = s.eligibility(r); err != nil {
			return err
		}
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, action, eligibility.EntityEligibility, itoa(id), before, out)
	})
	if err != nil {
		return eligibility.Eligibility{}, fmt.Errorf("eligibilitydb: %s eligibility %d: %w", action, id, err)
	}
	return out, nil
}

// RevealIDNumber implements eligibility.Store.
func (s *Store) RevealIDNumber(ctx context.Context, sc eligibility.Scope, id int64) (string, error) {
	var n string
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var r eligibilityRow
		err := tx.NewSelect().Model(&r).Where("e.community_id = ? AND e.id = ?", sc.CommunityID, id).Scan(ctx)
		if postgres.IsNoRows(err) {
			return eligibility.ErrNotFound
		}
		if err != nil {
			return err
		}
		if n, err = s.openID(r); err != nil {
			return err
		}
		// Who read which number, and when: never the number itself.
		return auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, eligibility.ActionUnmask, eligibility.EntityEligibility,
			itoa(id), nil, map[string]any{"field": "id_number", "diner_id": r.DinerID})
	})
	if err != nil {
		return "", fmt.Errorf("eligibilitydb: reveal ID number of eligibility %d: %w", id, err)
	}
	return n, nil
}

// Eligibility implements eligibility.Store.
func (s *Store) Eligibility(ctx context.Context, communityID, id int64) (eligibility.Eligibility, error) {
	var r eligibilityRow
	err := s.db.NewSelect().Model(&r).Where("e.community_id = ? AND e.id = ?", communityID, id).Scan(ctx)
	if postgres.IsNoRows(err) {
		err = eligibility.ErrNotFound
	}
	if err != nil {
		return eligibility.Eligibility{}, fmt.Errorf("eligibilitydb: get eligibility %d: %w", id, err)
	}
	return s.eligibility(r)
}

func (s *Store) list(ctx context.Context, op string, build func(q *bun.SelectQuery)) ([]eligibility.Eligibility, error) {
	var rows []eligibilityRow
	q := s.db.NewSelect().Model(&rows)
	build(q)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("eligibilitydb: %s: %w", op, err)
	}
	return s.eligibilities(rows)
}

// Pending implements eligibility.Store.
func (s *Store) Pending(ctx context.Context, communityID int64, group subsidy.Group, limit int) ([]eligibility.Eligibility, error) {
	return s.list(ctx, "pending", func(q *bun.SelectQuery) {
		q.Where("e.community_id = ? AND e.status = ?", communityID, string(eligibility.Applied))
		if group != "" {
			q.Where("e.grp = ?", string(group))
		}
		q.OrderExpr("e.applied_at, e.id").Limit(int64(limit))
	})
}

// ApprovedUntil implements eligibility.Store.
func (s *Store) ApprovedUntil(ctx context.Context, communityID int64, from, to civil.Date) ([]eligibility.Eligibility, error) {
	return s.list(ctx, "approved until", func(q *bun.SelectQuery) {
		q.Where("e.community_id = ? AND e.status = ? AND e.valid_until BETWEEN ? AND ?",
			communityID, string(eligibility.Approved), nullDate(from), nullDate(to)).
			OrderExpr("e.valid_until, e.id")
	})
}

// ForDiner implements eligibility.Store.
func (s *Store) ForDiner(ctx context.Context, communityID, dinerID int64) ([]eligibility.Eligibility, error) {
	return s.list(ctx, "for diner", func(q *bun.SelectQuery) {
		q.Where("e.community_id = ? AND e.diner_id = ?", communityID, dinerID).OrderExpr("e.id DESC")
	})
}

// ApprovedOn implements eligibility.Store.
func (s *Store) ApprovedOn(ctx context.Context, communityID, dinerID int64, day civil.Date) ([]eligibility.Eligibility, error) {
	return s.list(ctx, "approved on", func(q *bun.SelectQuery) {
		q.Where("e.community_id = ? AND e.diner_id = ? AND e.status = ?", communityID, dinerID, string(eligibility.Approved)).
			Where("e.valid_from <= ? AND e.valid_until >= ?", nullDate(day), nullDate(day)).
			OrderExpr("e.grp, e.id")
	})
}
