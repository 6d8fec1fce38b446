package settlementdb

import (
	"context"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlement/export"
)

// DinerKeys opens diners' sealed phone numbers; *secure.Keyring implements it.
type DinerKeys interface {
	Open(keyID string, ciphertext []byte, aad string) ([]byte, error)
}

// Exports reads what a statement's lines name, for its exports. It implements
// export.Store. Diners leave it masked only: names as 张*, phones as 138****5678.
type Exports struct {
	db   *bun.DB
	keys DinerKeys
}

var _ export.Store = (*Exports)(nil)

// NewExports returns an Exports on db that opens phone numbers with keys.
func NewExports(db *bun.DB, keys DinerKeys) *Exports { return &Exports{db: db, keys: keys} }

// exportNameRow is an id and a name.
type exportNameRow struct {
	ID   int64  `bun:"id"`
	Name string `bun:"name"`
}

// exportRefRow is a statement an adjustment line refers to.
type exportRefRow struct {
	ID        int64  `bun:"id"`
	Month     string `bun:"month"`
	PartyName string `bun:"party_name"`
}

// exportDinerRow is the diner of an order: the name kept on the diner (counter
// registration), the real name of their latest eligibility, their WeChat nickname, and
// the sealed phone number.
type exportDinerRow struct {
	OrderID  int64   `bun:"order_id"`
	DinerID  int64   `bun:"diner_id"`
	Name     string  `bun:"name"`
	RealName *string `bun:"real_name"`
	Nickname string  `bun:"nickname"`
	PhoneEnc []byte  `bun:"phone_enc"`
	PhoneKey *string `bun:"phone_key"`
}

const (
	exportCanteensSQL = `SELECT c.id, c.name FROM canteens c WHERE c.community_id = ?
		AND c.id IN (SELECT l.canteen_id FROM statement_lines l WHERE l.statement_id = ?)`
	exportSponsorsSQL = `SELECT sp.id, sp.name FROM sponsors sp WHERE sp.community_id = ?
		AND sp.id IN (SELECT l.sponsor_id FROM statement_lines l WHERE l.statement_id = ?)`
	exportRefsSQL = `SELECT r.id, r.month, r.party_name FROM statements r WHERE r.community_id = ?
		AND r.id IN (SELECT l.ref_statement_id FROM statement_lines l WHERE l.statement_id = ?)`
	exportDinersSQL = `
SELECT o.id AS order_id, d.id AS diner_id, d.name, d.nickname, d.phone_enc, d.phone_key, x.real_name
FROM orders o
JOIN diners d ON d.community_id = o.community_id AND d.id = o.diner_id
LEFT JOIN LATERAL (
    SELECT e.real_name FROM eligibilities e
    WHERE e.community_id = d.community_id AND e.diner_id = d.id
    ORDER BY e.id DESC
    LIMIT 1) x ON true
WHERE o.community_id = ?
  AND o.id IN (SELECT l.order_id FROM statement_lines l WHERE l.statement_id = ?)`
)

// Details implements export.Store: in one snapshot, the community's name and the
// canteens, sponsors, diners (masked) and earlier statements that statement
// statementID's lines name. settlement.ErrStatementNotFound when the community has no
// such statement.
func (s *Exports) Details(ctx context.Context, communityID, statementID int64) (export.Details, error) {
	out := export.Details{Canteens: map[int64]string{}, Sponsors: map[int64]string{}, Diners: map[int64]export.Diner{},
		Refs: map[int64]export.Ref{}}
	err := snapshot(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var found bool
		if err := tx.NewRaw("SELECT EXISTS (SELECT 1 FROM statements WHERE community_id = ? AND id = ?)", communityID, statementID).
			Scan(ctx, &found); err != nil {
			return err
		}
		if !found {
			return settlement.ErrStatementNotFound
		}
		if err := tx.NewRaw("SELECT name FROM communities WHERE id = ?", communityID).Scan(ctx, &out.Community); err != nil &&
			!postgres.IsNoRows(err) {
			return err
		}
		for _, q := range []struct {
			sql string
			dst map[int64]string
		}{{exportCanteensSQL, out.Canteens}, {exportSponsorsSQL, out.Sponsors}} {
			var rows []exportNameRow
			if err := tx.NewRaw(q.sql, communityID, statementID).Scan(ctx, &rows); err != nil {
				return err
			}
			for _, r := range rows {
				q.dst[r.ID] = r.Name
			}
		}
		var refs []exportRefRow
		if err := tx.NewRaw(exportRefsSQL, communityID, statementID).Scan(ctx, &refs); err != nil {
			return err
		}
		for _, r := range refs {
			m, _ := settlement.ParseMonth(r.Month)
			out.Refs[r.ID] = export.Ref{Month: m, PartyName: r.PartyName}
		}
		var diners []exportDinerRow
		if err := tx.NewRaw(exportDinersSQL, communityID, statementID).Scan(ctx, &diners); err != nil {
			return err
		}
		masked := map[int64]export.Diner{} // by diner: a diner eats many meals
		for _, r := range diners {
			d, ok := masked[r.DinerID]
			if !ok {
				var err error
				if d, err = s.maskDiner(r); err != nil {
					return err
				}
				masked[r.DinerID] = d
			}
			out.Diners[r.OrderID] = d
		}
		return nil
	})
	if err != nil {
		return export.Details{}, fmt.Errorf("settlementdb: export details of statement %d: %w", statementID, err)
	}
	return out, nil
}

// maskDiner names a diner as the counter does (the diner's name, else the real name of
// their latest eligibility, else their nickname) and masks the name and phone number.
func (s *Exports) maskDiner(r exportDinerRow) (export.Diner, error) {
	name := r.Name
	if name == "" && r.RealName != nil {
		name = *r.RealName
	}
	if name == "" {
		name = r.Nickname
	}
	d := export.Diner{Name: export.MaskName(name)}
	if r.PhoneKey != nil {
		p, err := s.keys.Open(*r.PhoneKey, r.PhoneEnc, "diners.phone:"+strconv.FormatInt(r.DinerID, 10))
		if err != nil {
			return export.Diner{}, fmt.Errorf("open phone of diner %d: %w", r.DinerID, err)
		}
		d.Phone = secure.MaskPhone(string(p))
	}
	return d, nil
}
