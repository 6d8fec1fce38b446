package kitchendb_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/kitchendb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	db    *bun.DB
	dsn   string
	svc   *kitchen.Service
	store *kitchendb.Store
}

func newFixture(t *testing.T) *fixture {
	db, dsn := pgtest.New(t)
	store := kitchendb.New(db)
	return &fixture{t: t, ctx: context.Background(), db: db, dsn: dsn, store: store, svc: kitchen.NewService(store, nil)}
}

func (f *fixture) scan(query string, dst any, args ...any) {
	f.t.Helper()
	if err := f.db.NewRaw(query, args...).Scan(f.ctx, dst); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	if _, err := f.db.NewRaw(query, args...).Exec(f.ctx); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

// A canteen with a community and two dishes: 红烧肉 (category hot) and 凉拌黄瓜 (cold).
type canteen struct {
	community, id  int64
	pork, cucumber int64
	menus          map[string]int64 // by period
}

var seq atomic.Int64

func (f *fixture) canteen() *canteen {
	f.t.Helper()
	c := &canteen{menus: map[string]int64{}}
	f.scan("INSERT INTO communities (code, name) VALUES (?, 'C') RETURNING id", &c.community, fmt.Sprintf("c%d", seq.Add(1)))
	f.scan("INSERT INTO canteens (community_id, name) VALUES (?, 'K') RETURNING id", &c.id, c.community)
	f.scan("INSERT INTO dishes (community_id, name, category, price_fen) VALUES (?, '红烧肉', 'hot', 1200) RETURNING id", &c.pork, c.community)
	f.scan("INSERT INTO dishes (community_id, name, category, price_fen) VALUES (?, '凉拌黄瓜', 'cold', 600) RETURNING id", &c.cucumber, c.community)
	return c
}

func (f *fixture) menu(c *canteen, period string) int64 {
	if id, ok := c.menus[period]; ok {
		return id
	}
	var id int64
	f.scan(`INSERT INTO menus (community_id, canteen_id, day, period, status, published_at)
		VALUES (?, ?, '2026-11-28', ?, 'published', now()) RETURNING id`, &id, c.community, c.id, period)
	c.menus[period] = id
	return id
}

// order places an order of 2 红烧肉 (note 少辣) and 1 凉拌黄瓜 in status, for period;
// kind is dine_in or delivery; subsidised adds a subsidy part to the first line.
func (f *fixture) order(c *canteen, period, status, kind string, subsidised bool) int64 {
	f.t.Helper()
	menu := f.menu(c, period)
	addr, paidAt := "", "now() - interval '1 minute'"
	if kind == "delivery" {
		addr = "1-101"
	}
	if status == "pending" {
		paidAt = "NULL"
	}
	var oid int64
	f.scan(`INSERT INTO orders (community_id, canteen_id, menu_id, placed_by_kind, placed_by_id, day, period, kind, delivery_address,
		status, payment_method, standard_fen, subsidy_fen, pay_fen, idempotency_key, request_hash, pay_deadline, paid_at)
		VALUES (?, ?, ?, 'staff', 1, '2026-11-28', ?, ?, ?, ?, 'cash', 3000, 0, 3000, ?, '\x00', now() + interval '15 minutes', `+paidAt+`)
		RETURNING id`, &oid, c.community, c.id, menu, period, kind, addr, status, fmt.Sprintf("key-%08d", seq.Add(1)))
	f.exec(`INSERT INTO order_lines (community_id, order_id, line_no, dish_id, name, category, qty, unit_fen, standard_fen, subsidy_fen, pay_fen, note)
		VALUES (?, ?, 1, ?, '红烧肉', 'hot', 2, 1200, 2400, 0, 2400, '少辣'), (?, ?, 2, ?, '凉拌黄瓜', 'cold', 1, 600, 600, 0, 600, '')`,
		c.community, oid, c.pork, c.community, oid, c.cucumber)
	if subsidised {
		f.exec(`INSERT INTO order_subsidies (community_id, order_id, line_no, policy_id, policy_version, pledge_id, sponsor_id, fen)
			VALUES (?, ?, 1, 1, 1, 1, 1, 500)`, c.community, oid)
	}
	return oid
}

func (f *fixture) status(orderID int64) string {
	f.t.Helper()
	var s string
	f.scan("SELECT status FROM orders WHERE id = ?", &s, orderID)
	return s
}
