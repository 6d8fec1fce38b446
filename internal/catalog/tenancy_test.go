package catalog_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
)

// TestTenancy: community B can neither see nor change community A's canteens, dishes and
// menus, nor use A's dishes or merchants in its own; each attempt is NotFound and writes nothing.
func TestTenancy(t *testing.T) {
	f := newFixture(t)
	ctx, a, b := f.ctx, f.a, f.b
	ca := f.canteen(a, "长者食堂")
	cb := f.canteen(b, "长者食堂")
	da := f.dish(a, "红烧肉", 1200)
	db := f.dish(b, "米饭", 100)
	f.putMenu(a, ca.ID, monday, catalog.Lunch, item(da.ID, 10))
	f.publish(a, ca.ID, monday, catalog.Lunch)
	f.putMenu(a, ca.ID, monday.AddDays(1), catalog.Lunch, item(da.ID, 10))
	if _, err := f.svc.AddClosure(ctx, a, ca.ID, catalog.Closure{Day: monday.AddDays(5)}); err != nil {
		t.Fatal(err)
	}
	merchantA := f.merchant(a.CommunityID, "爱心餐饮")

	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"get canteen", func() error { _, err := f.svc.GetCanteen(ctx, b.CommunityID, ca.ID); return err }, ""},
		{"update canteen", func() error {
			_, err := f.svc.UpdateCanteen(ctx, b, ca.ID, catalog.CanteenPatch{Closed: ptr(true)})
			return err
		}, ""},
		{"set meal period", func() error {
			_, err := f.svc.SetMealPeriod(ctx, b, ca.ID, catalog.MealPeriod{Period: catalog.Dinner,
				ServeStart: catalog.Clock(17, 0), ServeEnd: catalog.Clock(19, 0), OrderCutoff: catalog.Clock(16, 0), Enabled: true})
			return err
		}, ""},
		{"add closure", func() error {
			_, err := f.svc.AddClosure(ctx, b, ca.ID, catalog.Closure{Day: monday.AddDays(3)})
			return err
		}, ""},
		{"remove closure", func() error { return f.svc.RemoveClosure(ctx, b, ca.ID, monday.AddDays(5)) }, ""},
		{"list closures", func() error {
			_, err := f.svc.ListClosures(ctx, b.CommunityID, ca.ID, monday, monday.AddDays(6))
			return err
		}, ""},
		{"canteen with A's merchant", func() error {
			_, err := f.svc.CreateCanteen(ctx, b, catalog.CanteenInput{Name: "新食堂", MerchantID: &merchantA})
			return err
		}, "merchant_id"},
		{"get dish", func() error { _, err := f.svc.GetDish(ctx, b.CommunityID, da.ID); return err }, ""},
		{"update dish", func() error {
			_, err := f.svc.UpdateDish(ctx, b, da.ID, catalog.DishPatch{PriceFen: ptr(int64(1))})
			return err
		}, ""},
		{"set with A's dish", func() error {
			_, err := f.svc.CreateDish(ctx, b, catalog.DishInput{Kind: catalog.KindSet, Name: "套餐", Category: "套餐", PriceFen: 1000,
				Components: []catalog.SetItem{{DishID: db.ID, Quantity: 1}, {DishID: da.ID, Quantity: 1}}})
			return err
		}, "components[1].dish_id"},
		{"menu of A's canteen", func() error {
			_, err := f.svc.PutMenu(ctx, b, ca.ID, monday.AddDays(2), catalog.Lunch, []catalog.MenuItemInput{item(db.ID, 5)})
			return err
		}, ""},
		{"menu with A's dish", func() error {
			_, err := f.svc.PutMenu(ctx, b, cb.ID, monday.AddDays(2), catalog.Lunch, []catalog.MenuItemInput{item(db.ID, 5), item(da.ID, 5)})
			return err
		}, "items[1].dish_id"},
		{"publish A's menu", func() error {
			_, err := f.svc.PublishMenu(ctx, b, ca.ID, monday.AddDays(1), catalog.Lunch)
			return err
		}, ""},
		{"get A's menu", func() error { _, err := f.svc.GetMenu(ctx, b.CommunityID, ca.ID, monday, catalog.Lunch); return err }, ""},
		{"list A's menus", func() error {
			_, err := f.svc.ListMenus(ctx, b.CommunityID, ca.ID, monday, monday.AddDays(6))
			return err
		}, ""},
		{"copy A's week", func() error { _, err := f.svc.CopyWeek(ctx, b, ca.ID, monday, monday.AddDays(7)); return err }, ""},
		{"diner menus of A's canteen", func() error { _, err := f.svc.DinerMenus(ctx, b.CommunityID, ca.ID); return err }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			wantErr(t, tc.call(), apperr.NotFound, tc.field)
			if diff := cmp.Diff(before, f.snapshot()); diff != "" {
				t.Fatalf("the call wrote (-before +after):\n%s", diff)
			}
		})
	}

	canteens, err := f.svc.ListCanteens(ctx, b.CommunityID)
	if err != nil || len(canteens) != 1 || canteens[0].ID != cb.ID {
		t.Fatalf("B's canteens = %+v, %v", canteens, err)
	}
	dishes, err := f.svc.ListDishes(ctx, b.CommunityID, catalog.DishFilter{})
	if err != nil || len(dishes) != 1 || dishes[0].ID != db.ID {
		t.Fatalf("B's dishes = %+v, %v", dishes, err)
	}
	if recs := f.audits(b, ""); len(recs) != 4 { // B's canteen, its two periods and its dish
		t.Fatalf("B's audit records = %d, want 4", len(recs))
	}
	// A's data is intact.
	if m, err := f.svc.GetMenu(ctx, a.CommunityID, ca.ID, monday, catalog.Lunch); err != nil || m.Status != catalog.Published {
		t.Fatalf("A's menu = %+v, %v", m, err)
	}
}
