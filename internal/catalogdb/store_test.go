package catalogdb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/catalogdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
)

var today = civil.Date{Year: 2026, Month: time.November, Day: 30}

type env struct {
	ctx   context.Context
	db    *bun.DB
	store *catalogdb.Store
	svc   *catalog.Service
	sc    catalog.Scope
}

func newEnv(t *testing.T) env {
	t.Helper()
	db, _ := pgtest.New(t)
	e := env{ctx: context.Background(), db: db, store: catalogdb.New(db)}
	e.svc = catalog.NewService(e.store, func() time.Time { return today.Start().Add(8 * time.Hour) })
	var id int64
	if err := db.NewRaw("INSERT INTO communities (code, name) VALUES ('c1', '幸福社区') RETURNING id").Scan(e.ctx, &id); err != nil {
		t.Fatal(err)
	}
	e.sc = catalog.Scope{CommunityID: id, Actor: audit.Actor{Kind: audit.Staff, ID: 1, Name: "管理员"}}
	return e
}

func (e env) count(t *testing.T, table string) int {
	t.Helper()
	n, err := e.db.NewSelect().Table(table).Count(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func (e env) canteen(t *testing.T) catalog.Canteen {
	t.Helper()
	c, err := e.svc.CreateCanteen(e.ctx, e.sc, catalog.CanteenInput{Name: "长者食堂"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.SetMealPeriod(e.ctx, e.sc, c.ID, catalog.MealPeriod{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0),
		ServeEnd: catalog.Clock(13, 0), OrderCutoff: catalog.Clock(10, 30), PreorderDays: 2, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e env) dish(t *testing.T, name string) catalog.Dish {
	t.Helper()
	d, err := e.svc.CreateDish(e.ctx, e.sc, catalog.DishInput{Name: name, Category: "热菜", PriceFen: 1200})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCallbackErrorWritesNothing: an error from a callback comes back as is and the
// transaction leaves no row and no audit record.
func TestCallbackErrorWritesNothing(t *testing.T) {
	e := newEnv(t)
	c := e.canteen(t)
	d := e.dish(t, "红烧肉")
	audits := e.count(t, "audit_log")
	boom := errors.New("boom")

	_, err := e.store.UpdateCanteen(e.ctx, e.sc, c.ID, func(c *catalog.Canteen) error { c.Name = "改名"; return boom })
	if err != boom {
		t.Fatalf("UpdateCanteen err = %v", err)
	}
	_, err = e.store.UpdateDish(e.ctx, e.sc, d.ID, func(*catalog.Dish) error { return nil },
		func(catalog.Dish, catalog.DishRefs) error { return boom })
	if err != boom {
		t.Fatalf("UpdateDish err = %v", err)
	}
	_, err = e.store.CreateDish(e.ctx, e.sc, catalog.Dish{Kind: catalog.KindDish, Name: "新菜", Category: "热菜", PriceFen: 1},
		func(catalog.Dish, catalog.DishRefs) error { return boom })
	if err != boom {
		t.Fatalf("CreateDish err = %v", err)
	}
	_, err = e.store.ChangeMenus(e.ctx, e.sc, catalog.MenuQuery{CanteenID: c.ID, Days: []civil.Date{today}, DishIDs: []int64{d.ID}},
		func(st catalog.MenuState) ([]catalog.MenuChange, error) {
			if st.Canteen.ID != c.ID || st.Dishes[d.ID].Name != "红烧肉" || len(st.Menus) != 0 {
				t.Errorf("state = %+v", st)
			}
			return nil, boom
		})
	if err != boom {
		t.Fatalf("ChangeMenus err = %v", err)
	}
	if n := e.count(t, "audit_log"); n != audits {
		t.Fatalf("audit records %d -> %d", audits, n)
	}
	if n := e.count(t, "dishes"); n != 1 {
		t.Fatalf("dishes = %d", n)
	}
	if got, _ := e.store.Canteen(e.ctx, e.sc.CommunityID, c.ID); got.Name != "长者食堂" {
		t.Fatalf("canteen renamed to %s", got.Name)
	}
}

// TestConcurrentPutMenu: many staff saving the same new menu at once make one menu, one
// "create" and the rest updates; none fails.
func TestConcurrentPutMenu(t *testing.T) {
	e := newEnv(t)
	c := e.canteen(t)
	d := e.dish(t, "红烧肉")
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.PutMenu(e.ctx, e.sc, c.ID, today, catalog.Lunch,
				[]catalog.MenuItemInput{{DishID: d.ID, Supply: 10 + i}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.count(t, "menus"); got != 1 {
		t.Fatalf("menus = %d", got)
	}
	var creates, updates int
	err := e.db.NewRaw("SELECT count(*) FILTER (WHERE action = 'create'), count(*) FILTER (WHERE action = 'update') FROM audit_log WHERE entity = 'menu'").
		Scan(e.ctx, &creates, &updates)
	if err != nil || creates != 1 || updates != n-1 {
		t.Fatalf("creates %d updates %d (%v)", creates, updates, err)
	}
}

// TestSupplyCutRacesSales: while orders take portions (as the order package does, with a
// conditional UPDATE), staff cut the supply. Every cut either succeeds or fails with
// ErrMenuItemSold, and sold never exceeds supply.
func TestSupplyCutRacesSales(t *testing.T) {
	e := newEnv(t)
	c := e.canteen(t)
	d := e.dish(t, "红烧肉")
	m, err := e.svc.PutMenu(e.ctx, e.sc, c.ID, today, catalog.Lunch, []catalog.MenuItemInput{{DishID: d.ID, Supply: 100}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	sellErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		for range 80 {
			if _, err := e.db.ExecContext(e.ctx,
				"UPDATE menu_items SET sold = sold + 1 WHERE menu_id = ? AND dish_id = ? AND sold < supply", m.ID, d.ID); err != nil {
				sellErr <- err
				return
			}
		}
	}()
	var ok, refused int
	go func() {
		defer wg.Done()
		for i := range 40 {
			_, err := e.svc.PutMenu(e.ctx, e.sc, c.ID, today, catalog.Lunch, []catalog.MenuItemInput{{DishID: d.ID, Supply: 60 - i}})
			switch {
			case err == nil:
				ok++
			case errors.Is(err, catalog.ErrMenuItemSold):
				refused++
			default:
				t.Errorf("cut %d: %v (kind %s)", i, err, apperr.KindOf(err))
				return
			}
		}
	}()
	wg.Wait()
	select {
	case err := <-sellErr:
		t.Fatal(err)
	default:
	}
	got, err := e.svc.GetMenu(e.ctx, e.sc.CommunityID, c.ID, today, catalog.Lunch)
	if err != nil {
		t.Fatal(err)
	}
	it := got.Items[0]
	if it.Sold > it.Supply || it.Remaining != it.Supply-it.Sold || ok+refused != 40 {
		t.Fatalf("item %+v after %d cuts and %d refusals", it, ok, refused)
	}
	t.Logf("%d cuts, %d refused; final supply %d sold %d", ok, refused, it.Supply, it.Sold)
}

// TestConcurrentDishNames: of many creations with one name, one wins; the rest get
// ErrDishNameTaken.
func TestConcurrentDishNames(t *testing.T) {
	e := newEnv(t)
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.CreateDish(e.ctx, e.sc, catalog.DishInput{Name: "红烧肉", Category: "热菜", PriceFen: 1200})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	var won int
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, catalog.ErrDishNameTaken):
			t.Fatalf("err = %v", err)
		}
	}
	if won != 1 || e.count(t, "dishes") != 1 || e.count(t, "audit_log") != 1 {
		t.Fatalf("won %d, dishes %d", won, e.count(t, "dishes"))
	}
}

// TestRowsRoundTrip reads back what was written: dates, clock times, arrays, nullable merchant.
func TestRowsRoundTrip(t *testing.T) {
	e := newEnv(t)
	var merchant int64
	if err := e.db.NewRaw("INSERT INTO merchants (community_id, name) VALUES (?, 'm') RETURNING id", e.sc.CommunityID).Scan(e.ctx, &merchant); err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.CreateCanteen(e.ctx, e.sc, catalog.CanteenInput{Name: "长者食堂", MerchantID: &merchant, OpenWeekdays: []int{7, 6}})
	if err != nil {
		t.Fatal(err)
	}
	mp := catalog.MealPeriod{Period: catalog.Breakfast, ServeStart: catalog.Clock(6, 5), ServeEnd: catalog.Clock(23, 59),
		OrderCutoff: catalog.Clock(0, 0), PreorderDays: 14, Enabled: false}
	if _, err := e.svc.SetMealPeriod(e.ctx, e.sc, c.ID, mp); err != nil {
		t.Fatal(err)
	}
	leap := civil.Date{Year: 2028, Month: time.February, Day: 29}
	if _, err := e.svc.AddClosure(e.ctx, e.sc, c.ID, catalog.Closure{Day: leap, Reason: "闰日"}); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Canteen(e.ctx, e.sc.CommunityID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got.MerchantID != merchant || fmt.Sprint(got.OpenWeekdays) != "[6 7]" || len(got.Periods) != 1 || got.Periods[0] != mp {
		t.Fatalf("canteen = %+v", got)
	}
	cs, err := e.store.Closures(e.ctx, e.sc.CommunityID, c.ID, leap, leap)
	if err != nil || len(cs) != 1 || cs[0].Day != leap {
		t.Fatalf("closures = %+v, %v", cs, err)
	}
	d, err := e.svc.CreateDish(e.ctx, e.sc, catalog.DishInput{Name: "素三鲜", Category: "素菜", PriceFen: 1,
		DietTags: []string{"vegetarian", "halal", "low_fat"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.Dish(e.ctx, e.sc.CommunityID, d.ID); err != nil || fmt.Sprint(got.DietTags) != "[vegetarian halal low_fat]" {
		t.Fatalf("dish = %+v, %v", got, err)
	}
}
