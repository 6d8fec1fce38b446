// Package settlementdb keeps month end in PostgreSQL with bun: it reads the facts a
// month's statements and checks are made from (ledger moves on spent, payments, cash,
// refunds, orders, eligibilities, limits, reconciliation findings), and writes a close
// with its statements, lines, sign-offs and attempt in one transaction that inserts the
// close key first. It implements settlement.Store. The tables' triggers refuse any
// change of what a close wrote.
package settlementdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/settlement"
)

// Store implements settlement.Store on PostgreSQL.
type Store struct{ db *bun.DB }

var _ settlement.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *bun.DB) *Store { return &Store{db: db} }

// lockClass is the first key of the transaction advisory lock that serialises, per
// community (the second key), closing a month with booking a correction into it.
const lockClass = 771_200

func lockCommunity(ctx context.Context, tx bun.IDB, communityID int64) error {
	if _, err := tx.NewRaw("SELECT pg_advisory_xact_lock(?, ?::int)", lockClass, communityID).Exec(ctx); err != nil {
		return fmt.Errorf("settlementdb: lock community %d: %w", communityID, err)
	}
	return nil
}

// snapshot runs fn in a read-only transaction on db that sees one snapshot of the database.
func snapshot(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	return db.RunInTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, fn)
}

type date = postgres.Date

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// actorOf reads an actor from its stored columns.
func actorOf(kind string, id *int64, name string) audit.Actor {
	a := audit.Actor{Kind: audit.ActorKind(kind), Name: name}
	if id != nil {
		a.ID = *id
	}
	return a
}

func actorID(a audit.Actor) *int64 {
	if a.ID == 0 {
		return nil
	}
	id := a.ID
	return &id
}

func parseMonth(s string) settlement.Month {
	m, _ := settlement.ParseMonth(s)
	return m
}

func ptr[T any](v T) *T { return &v }

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// bounds returns the first instant of m and of the month after, Asia/Shanghai.
func bounds(m settlement.Month) (time.Time, time.Time) { return settlement.Start(m), settlement.End(m) }
