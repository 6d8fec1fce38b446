package eligibilitydb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/secure"
)

// dinerRow is the part of a diners row this package writes: a diner registered at the
// counter has no app_id or openid.
type dinerRow struct {
	bun.BaseModel `bun:"table:diners,alias:d"`
	ID            int64     `bun:"id,pk,autoincrement"`
	CommunityID   int64     `bun:"community_id"`
	Name          string    `bun:"name"`
	PhoneEnc      []byte    `bun:"phone_enc"`
	PhoneKey      *string   `bun:"phone_key"`
	PhoneIndex    []byte    `bun:"phone_index"`
	RegisteredBy  *int64    `bun:"registered_by"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// insertDiner inserts a counter-registered diner inside tx, seals the phone under the new
// row's id, and records it.
func (s *Store) insertDiner(ctx context.Context, tx bun.Tx, sc eligibility.Scope, d eligibility.NewDiner) (eligibility.Diner, error) {
	r := dinerRow{CommunityID: sc.CommunityID, Name: d.Name, RegisteredBy: nonZero(d.RegisteredBy)}
	if _, err := tx.NewInsert().Model(&r).Returning("id, created_at").Exec(ctx); err != nil {
		return eligibility.Diner{}, mapErr(err)
	}
	out := eligibility.Diner{ID: r.ID, CommunityID: r.CommunityID, Name: r.Name,
		RegisteredBy: d.RegisteredBy, CreatedAt: r.CreatedAt}
	if d.Phone != "" {
		kid, ct, err := s.keys.Seal([]byte(d.Phone), phoneAAD(r.ID))
		if err != nil {
			return eligibility.Diner{}, fmt.Errorf("seal phone: %w", err)
		}
		r.PhoneEnc, r.PhoneKey, r.PhoneIndex = ct, &kid, s.keys.BlindIndex(secure.KindPhone, d.Phone)
		if _, err := tx.NewUpdate().Model(&r).Column("phone_enc", "phone_key", "phone_index").WherePK().Exec(ctx); err != nil {
			return eligibility.Diner{}, fmt.Errorf("store phone of diner %d: %w", r.ID, err)
		}
		out.PhoneMasked = secure.MaskPhone(d.Phone)
	}
	if err := auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, eligibility.ActionRegister, eligibility.EntityDiner,
		itoa(r.ID), nil, out); err != nil {
		return eligibility.Diner{}, err
	}
	return out, nil
}

// matchRow is a diner found at the counter with their latest eligibility that has an ID number
// (or their latest eligibility when none has).
type matchRow struct {
	ID            int64     `bun:"id"`
	CommunityID   int64     `bun:"community_id"`
	Name          string    `bun:"name"`
	Nickname      string    `bun:"nickname"`
	PhoneEnc      []byte    `bun:"phone_enc"`
	PhoneKey      *string   `bun:"phone_key"`
	RegisteredBy  *int64    `bun:"registered_by"`
	CreatedAt     time.Time `bun:"created_at"`
	EligibilityID *int64    `bun:"eligibility_id"`
	RealName      *string   `bun:"real_name"`
	IDNumberEnc   []byte    `bun:"id_number_enc"`
	IDNumberKey   *string   `bun:"id_number_key"`
}

const findDinersSQL = `
SELECT d.id, d.community_id, d.name, d.nickname, d.phone_enc, d.phone_key, d.registered_by, d.created_at,
       x.id AS eligibility_id, x.real_name, x.id_number_enc, x.id_number_key
FROM diners d
LEFT JOIN LATERAL (
    SELECT e.id, e.real_name, e.id_number_enc, e.id_number_key
    FROM eligibilities e
    WHERE e.community_id = d.community_id AND e.diner_id = d.id
    ORDER BY (e.id_number_enc IS NOT NULL) DESC, e.id DESC
    LIMIT 1) x ON true
WHERE d.community_id = ? AND ?
ORDER BY d.id
LIMIT ?`

// likePrefix escapes s for LIKE and appends %.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// FindDiners implements eligibility.Store.
func (s *Store) FindDiners(ctx context.Context, communityID int64, q eligibility.DinerQuery) ([]eligibility.Diner, error) {
	var cond schema.QueryWithArgs
	switch {
	case q.Phone != "":
		cond = bun.SafeQuery("d.phone_index = ?", s.keys.BlindIndex(secure.KindPhone, q.Phone))
	case !q.IDNumber.IsZero():
		cond = bun.SafeQuery(`EXISTS (SELECT 1 FROM eligibilities y
			WHERE y.community_id = d.community_id AND y.diner_id = d.id AND y.id_index = ?)`,
			s.keys.BlindIndex(secure.KindIDNumber, q.IDNumber.Reveal()))
	case q.NamePrefix != "":
		p := likePrefix(q.NamePrefix)
		cond = bun.SafeQuery(`(d.name LIKE ? OR EXISTS (SELECT 1 FROM eligibilities y
			WHERE y.community_id = d.community_id AND y.diner_id = d.id AND y.real_name LIKE ?))`, p, p)
	default:
		return []eligibility.Diner{}, nil
	}
	var rows []matchRow
	if err := s.db.NewRaw(findDinersSQL, communityID, cond, q.Limit).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("eligibilitydb: find diners: %w", err)
	}
	out := make([]eligibility.Diner, 0, len(rows))
	for _, r := range rows {
		d := eligibility.Diner{ID: r.ID, CommunityID: r.CommunityID, Name: r.Name,
			RegisteredBy: deref(r.RegisteredBy), CreatedAt: r.CreatedAt}
		if d.Name == "" {
			d.Name = deref(r.RealName)
		}
		if d.Name == "" {
			d.Name = r.Nickname
		}
		if r.PhoneKey != nil {
			p, err := s.keys.Open(*r.PhoneKey, r.PhoneEnc, phoneAAD(r.ID))
			if err != nil {
				return nil, fmt.Errorf("eligibilitydb: open phone of diner %d: %w", r.ID, err)
			}
			d.PhoneMasked = secure.MaskPhone(string(p))
		}
		if r.IDNumberKey != nil {
			n, err := s.openID(eligibilityRow{ID: *r.EligibilityID, IDNumberEnc: r.IDNumberEnc, IDNumberKey: r.IDNumberKey})
			if err != nil {
				return nil, err
			}
			d.IDNumberMasked = secure.MaskIDNumber(n)
		}
		out = append(out, d)
	}
	return out, nil
}
