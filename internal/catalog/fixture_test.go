package catalog_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr/apperrtest"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/catalogdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

// monday is the fixture's today: Monday 2026-11-30 in Asia/Shanghai.
var monday = civil.Date{Year: 2026, Month: time.November, Day: 30}

// fixture is a fresh database with two communities (A and B), a service on a clock the
// test moves, and helpers.
type fixture struct {
	t   *testing.T
	ctx context.Context
	db  *bun.DB
	svc *catalog.Service
	now time.Time
	a   catalog.Scope
	b   catalog.Scope
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, _ := pgtest.New(t)
	f := &fixture{t: t, ctx: context.Background(), db: db,
		now: time.Date(2026, 11, 30, 8, 0, 0, 0, civil.Shanghai())}
	f.svc = catalog.NewService(catalogdb.New(db), func() time.Time { return f.now })
	f.a = catalog.Scope{CommunityID: f.community("comm-a"), Actor: audit.Actor{Kind: audit.Staff, ID: 7, Name: "王阿姨"}}
	f.b = catalog.Scope{CommunityID: f.community("comm-b"), Actor: audit.Actor{Kind: audit.Staff, ID: 8, Name: "李师傅"}}
	return f
}

// community inserts a community row and returns its ID.
func (f *fixture) community(code string) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.NewRaw("INSERT INTO communities (code, name) VALUES (?, ?) RETURNING id", code, "社区 "+code).Scan(f.ctx, &id); err != nil {
		f.t.Fatalf("insert community: %v", err)
	}
	return id
}

// merchant inserts a merchant of community and returns its ID.
func (f *fixture) merchant(communityID int64, name string) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.NewRaw("INSERT INTO merchants (community_id, name) VALUES (?, ?) RETURNING id", communityID, name).Scan(f.ctx, &id); err != nil {
		f.t.Fatalf("insert merchant: %v", err)
	}
	return id
}

// exec runs SQL the test needs to set up state the service does not offer (sales).
func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	if _, err := f.db.NewRaw(query, args...).Exec(f.ctx); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

// canteen creates a canteen of sc serving lunch (preorder 3 days) and breakfast
// (preorder 1 day) every day.
func (f *fixture) canteen(sc catalog.Scope, name string) catalog.Canteen {
	f.t.Helper()
	c, err := f.svc.CreateCanteen(f.ctx, sc, catalog.CanteenInput{Name: name, Address: "幸福路 1 号", District: "天河区"})
	if err != nil {
		f.t.Fatalf("create canteen: %v", err)
	}
	f.period(sc, c.ID, catalog.MealPeriod{Period: catalog.Breakfast, ServeStart: catalog.Clock(7, 0),
		ServeEnd: catalog.Clock(9, 0), OrderCutoff: catalog.Clock(8, 30), PreorderDays: 1, Enabled: true})
	f.period(sc, c.ID, catalog.MealPeriod{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0),
		ServeEnd: catalog.Clock(13, 0), OrderCutoff: catalog.Clock(10, 0), PreorderDays: 3, Enabled: true})
	c, err = f.svc.GetCanteen(f.ctx, sc.CommunityID, c.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) period(sc catalog.Scope, canteenID int64, mp catalog.MealPeriod) {
	f.t.Helper()
	if _, err := f.svc.SetMealPeriod(f.ctx, sc, canteenID, mp); err != nil {
		f.t.Fatalf("set meal period: %v", err)
	}
}

// dish creates a plain dish of sc at priceFen.
func (f *fixture) dish(sc catalog.Scope, name string, priceFen int64) catalog.Dish {
	f.t.Helper()
	d, err := f.svc.CreateDish(f.ctx, sc, catalog.DishInput{Name: name, Category: "热菜", PriceFen: priceFen, DietTags: []string{"soft"}})
	if err != nil {
		f.t.Fatalf("create dish %s: %v", name, err)
	}
	return d
}

func (f *fixture) putMenu(sc catalog.Scope, canteenID int64, day civil.Date, p catalog.Period, items ...catalog.MenuItemInput) catalog.Menu {
	f.t.Helper()
	m, err := f.svc.PutMenu(f.ctx, sc, canteenID, day, p, items)
	if err != nil {
		f.t.Fatalf("put menu %s %s: %v", day, p, err)
	}
	return m
}

func (f *fixture) publish(sc catalog.Scope, canteenID int64, day civil.Date, p catalog.Period) catalog.Menu {
	f.t.Helper()
	m, err := f.svc.PublishMenu(f.ctx, sc, canteenID, day, p)
	if err != nil {
		f.t.Fatalf("publish menu %s %s: %v", day, p, err)
	}
	return m
}

func item(dishID int64, supply int) catalog.MenuItemInput {
	return catalog.MenuItemInput{DishID: dishID, Supply: supply}
}

func pricedItem(dishID, priceFen int64, supply int) catalog.MenuItemInput {
	return catalog.MenuItemInput{DishID: dishID, PriceFen: &priceFen, Supply: supply}
}

// snapshot fingerprints every catalogue table and the audit log, so a test can prove
// that a failed call wrote nothing at all.
func (f *fixture) snapshot() map[string]string {
	f.t.Helper()
	out := map[string]string{}
	for _, table := range []string{"canteens", "meal_periods", "canteen_closures", "dishes", "set_meal_items", "menus", "menu_items", "audit_log"} {
		var sum string
		q := fmt.Sprintf("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM %s t", table)
		if err := f.db.NewRaw(q).Scan(f.ctx, &sum); err != nil {
			f.t.Fatalf("snapshot %s: %v", table, err)
		}
		out[table] = sum
	}
	return out
}

func (f *fixture) audits(sc catalog.Scope, entity string) []audit.Record {
	f.t.Helper()
	recs, err := auditdb.New(f.db).List(f.ctx, sc.CommunityID, audit.Filter{Entity: entity, Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Reverse(recs) // oldest first
	return recs
}

// wantErr and wantIs are the shared apperr assertions.
var (
	wantErr = apperrtest.Want
	wantIs  = apperrtest.WantIs
)

func date(s string) civil.Date {
	d, err := civil.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func itoa(id int64) string { return fmt.Sprint(id) }
