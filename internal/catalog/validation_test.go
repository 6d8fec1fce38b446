package catalog_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
)

func ptr[T any](v T) *T { return &v }

// TestValidationWritesNothing runs every input rule: each call fails with the expected
// kind naming the offending field, and leaves every table exactly as it was.
func TestValidationWritesNothing(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	c := f.canteen(a, "长者食堂") // breakfast and lunch, every day
	f.period(a, c.ID, catalog.MealPeriod{Period: catalog.Dinner, ServeStart: catalog.Clock(17, 0),
		ServeEnd: catalog.Clock(19, 0), OrderCutoff: catalog.Clock(16, 0), Enabled: false})
	weekdays, err := f.svc.CreateCanteen(ctx, a, catalog.CanteenInput{Name: "工作日食堂", OpenWeekdays: []int{1, 2, 3, 4, 5}})
	if err != nil {
		t.Fatal(err)
	}
	f.period(a, weekdays.ID, catalog.MealPeriod{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0),
		ServeEnd: catalog.Clock(13, 0), OrderCutoff: catalog.Clock(10, 0), Enabled: true})
	shut := f.canteen(a, "停业食堂")
	if _, err := f.svc.UpdateCanteen(ctx, a, shut.ID, catalog.CanteenPatch{Closed: ptr(true), ClosedReason: ptr("装修")}); err != nil {
		t.Fatal(err)
	}
	rice := f.dish(a, "米饭", 100)
	pork := f.dish(a, "红烧肉", 1200)
	greens := f.dish(a, "时蔬", 600)
	old := f.dish(a, "旧菜", 800)
	if _, err := f.svc.UpdateDish(ctx, a, old.ID, catalog.DishPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	set, err := f.svc.CreateDish(ctx, a, catalog.DishInput{Kind: catalog.KindSet, Name: "套餐A", Category: "套餐",
		PriceFen: 1500, Components: []catalog.SetItem{{DishID: rice.ID, Quantity: 1}, {DishID: pork.ID, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	closureDay := monday.AddDays(2)
	f.putMenu(a, c.ID, closureDay, catalog.Lunch, item(rice.ID, 10)) // drafted before the closure was planned
	if _, err := f.svc.AddClosure(ctx, a, c.ID, catalog.Closure{Day: closureDay, Reason: "消防检查"}); err != nil {
		t.Fatal(err)
	}
	f.putMenu(a, c.ID, monday.AddDays(8), catalog.Lunch, item(rice.ID, 10))
	f.putMenu(a, c.ID, monday.AddDays(1), catalog.Breakfast, item(greens.ID, 10))
	if _, err := f.svc.UpdateDish(ctx, a, greens.ID, catalog.DishPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.AddDate(0, 0, 1) // Tuesday: Monday is now in the past
	today := monday.AddDays(1)
	f.putMenu(a, c.ID, today, catalog.Lunch, item(rice.ID, 10))
	f.now = f.now.AddDate(0, 0, -1)
	today = monday

	long := func(n int) string { return strings.Repeat("食", n) }
	tooMany := make([]catalog.MenuItemInput, 101)
	for i := range tooMany {
		tooMany[i] = item(int64(i+1), 1)
	}
	eleven := make([]catalog.SetItem, 11)
	for i := range eleven {
		eleven[i] = catalog.SetItem{DishID: int64(1000 + i), Quantity: 1}
	}
	lunch := func(mp catalog.MealPeriod) catalog.MealPeriod {
		base := catalog.MealPeriod{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0), ServeEnd: catalog.Clock(13, 0),
			OrderCutoff: catalog.Clock(10, 0), PreorderDays: 2, Enabled: true}
		if mp.Period != "" {
			base.Period = mp.Period
		}
		if mp.ServeStart != 0 {
			base.ServeStart = mp.ServeStart
		}
		if mp.ServeEnd != 0 {
			base.ServeEnd = mp.ServeEnd
		}
		if mp.OrderCutoff != 0 {
			base.OrderCutoff = mp.OrderCutoff
		}
		if mp.PreorderDays != 0 {
			base.PreorderDays = mp.PreorderDays
		}
		return base
	}
	newCanteen := func(in catalog.CanteenInput) error {
		if in.Name == "" {
			in.Name = "新食堂"
		}
		_, err := f.svc.CreateCanteen(ctx, a, in)
		return err
	}
	patchCanteen := func(p catalog.CanteenPatch) error { _, err := f.svc.UpdateCanteen(ctx, a, c.ID, p); return err }
	setPeriod := func(mp catalog.MealPeriod) error { _, err := f.svc.SetMealPeriod(ctx, a, c.ID, mp); return err }
	newDish := func(in catalog.DishInput) error {
		if in.Name == "" {
			in.Name = "新菜"
		}
		if in.Category == "" {
			in.Category = "热菜"
		}
		if in.PriceFen == 0 {
			in.PriceFen = 1000
		}
		_, err := f.svc.CreateDish(ctx, a, in)
		return err
	}
	newSet := func(items ...catalog.SetItem) error {
		return newDish(catalog.DishInput{Kind: catalog.KindSet, Components: items})
	}
	patchDish := func(id int64, p catalog.DishPatch) error { _, err := f.svc.UpdateDish(ctx, a, id, p); return err }
	put := func(canteenID int64, day civil.Date, p catalog.Period, items ...catalog.MenuItemInput) error {
		_, err := f.svc.PutMenu(ctx, a, canteenID, day, p, items)
		return err
	}
	publish := func(day civil.Date, p catalog.Period) error {
		_, err := f.svc.PublishMenu(ctx, a, c.ID, day, p)
		return err
	}
	copyWeek := func(from, to civil.Date) error { _, err := f.svc.CopyWeek(ctx, a, c.ID, from, to); return err }
	listMenus := func(from, to civil.Date) error {
		_, err := f.svc.ListMenus(ctx, a.CommunityID, c.ID, from, to)
		return err
	}
	listClosures := func(from, to civil.Date) error {
		_, err := f.svc.ListClosures(ctx, a.CommunityID, c.ID, from, to)
		return err
	}

	tests := []struct {
		name  string
		call  func() error
		kind  apperr.Kind
		field string
	}{
		{"canteen/name blank", func() error { return newCanteen(catalog.CanteenInput{Name: "  "}) }, apperr.Invalid, "name"},
		{"canteen/name too long", func() error { return newCanteen(catalog.CanteenInput{Name: long(101)}) }, apperr.Invalid, "name"},
		{"canteen/address too long", func() error { return newCanteen(catalog.CanteenInput{Address: long(201)}) }, apperr.Invalid, "address"},
		{"canteen/district too long", func() error { return newCanteen(catalog.CanteenInput{District: long(51)}) }, apperr.Invalid, "district"},
		{"canteen/merchant zero", func() error { return newCanteen(catalog.CanteenInput{MerchantID: ptr(int64(0))}) }, apperr.Invalid, "merchant_id"},
		{"canteen/merchant unknown", func() error { return newCanteen(catalog.CanteenInput{MerchantID: ptr(int64(987654))}) }, apperr.NotFound, "merchant_id"},
		{"canteen/no weekday", func() error { return newCanteen(catalog.CanteenInput{OpenWeekdays: []int{}}) }, apperr.Invalid, "open_weekdays"},
		{"canteen/weekday 8", func() error { return newCanteen(catalog.CanteenInput{OpenWeekdays: []int{1, 8}}) }, apperr.Invalid, "open_weekdays[1]"},
		{"canteen/weekday 0", func() error { return newCanteen(catalog.CanteenInput{OpenWeekdays: []int{0}}) }, apperr.Invalid, "open_weekdays[0]"},
		{"canteen/weekday twice", func() error { return newCanteen(catalog.CanteenInput{OpenWeekdays: []int{3, 3}}) }, apperr.Invalid, "open_weekdays[1]"},
		{"canteen update/name blank", func() error { return patchCanteen(catalog.CanteenPatch{Name: ptr("")}) }, apperr.Invalid, "name"},
		{"canteen update/weekday 9", func() error { return patchCanteen(catalog.CanteenPatch{OpenWeekdays: &[]int{9}}) }, apperr.Invalid, "open_weekdays[0]"},
		{"canteen update/no weekday", func() error { return patchCanteen(catalog.CanteenPatch{OpenWeekdays: &[]int{}}) }, apperr.Invalid, "open_weekdays"},
		{"canteen update/reason too long", func() error {
			return patchCanteen(catalog.CanteenPatch{Closed: ptr(true), ClosedReason: ptr(long(201))})
		}, apperr.Invalid, "closed_reason"},
		{"canteen update/merchant negative", func() error { return patchCanteen(catalog.CanteenPatch{MerchantID: ptr(int64(-1))}) }, apperr.Invalid, "merchant_id"},
		{"canteen update/merchant unknown", func() error { return patchCanteen(catalog.CanteenPatch{MerchantID: ptr(int64(987654))}) }, apperr.NotFound, "merchant_id"},
		{"canteen update/missing", func() error {
			_, err := f.svc.UpdateCanteen(ctx, a, 987654, catalog.CanteenPatch{Name: ptr("x")})
			return err
		}, apperr.NotFound, ""},

		{"period/unknown", func() error { return setPeriod(lunch(catalog.MealPeriod{Period: "brunch"})) }, apperr.Invalid, "period"},
		{"period/start negative", func() error { return setPeriod(lunch(catalog.MealPeriod{ServeStart: -1})) }, apperr.Invalid, "serve_start"},
		{"period/end 24:00", func() error { return setPeriod(lunch(catalog.MealPeriod{ServeEnd: 24 * 60})) }, apperr.Invalid, "serve_end"},
		{"period/start equals end", func() error {
			return setPeriod(lunch(catalog.MealPeriod{ServeStart: catalog.Clock(12, 0), ServeEnd: catalog.Clock(12, 0)}))
		}, apperr.Invalid, "serve_end"},
		{"period/start after end", func() error {
			return setPeriod(lunch(catalog.MealPeriod{ServeStart: catalog.Clock(14, 0)}))
		}, apperr.Invalid, "serve_end"},
		{"period/cutoff after end", func() error {
			return setPeriod(lunch(catalog.MealPeriod{OrderCutoff: catalog.Clock(13, 1)}))
		}, apperr.Invalid, "order_cutoff"},
		{"period/preorder negative", func() error { return setPeriod(lunch(catalog.MealPeriod{PreorderDays: -1})) }, apperr.Invalid, "preorder_days"},
		{"period/preorder 15", func() error { return setPeriod(lunch(catalog.MealPeriod{PreorderDays: 15})) }, apperr.Invalid, "preorder_days"},
		{"period/canteen missing", func() error {
			_, err := f.svc.SetMealPeriod(ctx, a, 987654, lunch(catalog.MealPeriod{}))
			return err
		}, apperr.NotFound, ""},

		{"closure/past", func() error {
			_, err := f.svc.AddClosure(ctx, a, c.ID, catalog.Closure{Day: today.AddDays(-1)})
			return err
		}, apperr.Invalid, "day"},
		{"closure/no day", func() error { _, err := f.svc.AddClosure(ctx, a, c.ID, catalog.Closure{}); return err }, apperr.Invalid, "day"},
		{"closure/reason too long", func() error {
			_, err := f.svc.AddClosure(ctx, a, c.ID, catalog.Closure{Day: today.AddDays(20), Reason: long(201)})
			return err
		}, apperr.Invalid, "reason"},
		{"closure/remove none", func() error { return f.svc.RemoveClosure(ctx, a, c.ID, today.AddDays(20)) }, apperr.NotFound, ""},
		{"closures/reversed", func() error { return listClosures(today, today.AddDays(-1)) }, apperr.Invalid, "to"},
		{"closures/too long", func() error { return listClosures(today, today.AddDays(366)) }, apperr.Invalid, "to"},

		{"dish/name blank", func() error { return newDish(catalog.DishInput{Name: " "}) }, apperr.Invalid, "name"},
		{"dish/name too long", func() error { return newDish(catalog.DishInput{Name: long(61)}) }, apperr.Invalid, "name"},
		{"dish/category blank", func() error { return newDish(catalog.DishInput{Category: " "}) }, apperr.Invalid, "category"},
		{"dish/category too long", func() error { return newDish(catalog.DishInput{Category: long(31)}) }, apperr.Invalid, "category"},
		{"dish/description too long", func() error { return newDish(catalog.DishInput{Description: long(501)}) }, apperr.Invalid, "description"},
		{"dish/price negative", func() error { return newDish(catalog.DishInput{PriceFen: -1}) }, apperr.Invalid, "price_fen"},
		{"dish/price over a million yuan", func() error { return newDish(catalog.DishInput{PriceFen: 100_000_001}) }, apperr.Invalid, "price_fen"},
		{"dish/photo ftp", func() error { return newDish(catalog.DishInput{PhotoURL: "ftp://img.example/a.jpg"}) }, apperr.Invalid, "photo_url"},
		{"dish/photo not a url", func() error { return newDish(catalog.DishInput{PhotoURL: "a picture"}) }, apperr.Invalid, "photo_url"},
		{"dish/photo no host", func() error { return newDish(catalog.DishInput{PhotoURL: "https://"}) }, apperr.Invalid, "photo_url"},
		{"dish/unknown diet tag", func() error { return newDish(catalog.DishInput{DietTags: []string{"soft", "keto"}}) }, apperr.Invalid, "diet_tags[1]"},
		{"dish/diet tag twice", func() error { return newDish(catalog.DishInput{DietTags: []string{"halal", "halal"}}) }, apperr.Invalid, "diet_tags[1]"},
		{"dish/unknown kind", func() error { return newDish(catalog.DishInput{Kind: "combo"}) }, apperr.Invalid, "kind"},
		{"dish/plain with components", func() error {
			return newDish(catalog.DishInput{Components: []catalog.SetItem{{DishID: rice.ID, Quantity: 1}}})
		}, apperr.Invalid, "components"},
		{"set/no components", func() error { return newSet() }, apperr.Invalid, "components"},
		{"set/11 components", func() error { return newSet(eleven...) }, apperr.Invalid, "components"},
		{"set/quantity 0", func() error { return newSet(catalog.SetItem{DishID: rice.ID}) }, apperr.Invalid, "components[0].quantity"},
		{"set/quantity 21", func() error { return newSet(catalog.SetItem{DishID: rice.ID, Quantity: 21}) }, apperr.Invalid, "components[0].quantity"},
		{"set/component id 0", func() error { return newSet(catalog.SetItem{Quantity: 1}) }, apperr.Invalid, "components[0].dish_id"},
		{"set/component twice", func() error {
			return newSet(catalog.SetItem{DishID: rice.ID, Quantity: 1}, catalog.SetItem{DishID: rice.ID, Quantity: 2})
		}, apperr.Invalid, "components[1].dish_id"},
		{"set/component is a set", func() error { return newSet(catalog.SetItem{DishID: set.ID, Quantity: 1}) }, apperr.Invalid, "components[0].dish_id"},
		{"set/component inactive", func() error {
			return newSet(catalog.SetItem{DishID: rice.ID, Quantity: 1}, catalog.SetItem{DishID: old.ID, Quantity: 1})
		}, apperr.Invalid, "components[1].dish_id"},
		{"set/component unknown", func() error { return newSet(catalog.SetItem{DishID: 987654, Quantity: 1}) }, apperr.NotFound, "components[0].dish_id"},
		{"dish update/price zero", func() error { return patchDish(rice.ID, catalog.DishPatch{PriceFen: ptr(int64(0))}) }, apperr.Invalid, "price_fen"},
		{"dish update/name too long", func() error { return patchDish(rice.ID, catalog.DishPatch{Name: ptr(long(61))}) }, apperr.Invalid, "name"},
		{"dish update/unknown tag", func() error { return patchDish(rice.ID, catalog.DishPatch{DietTags: &[]string{"raw"}}) }, apperr.Invalid, "diet_tags[0]"},
		{"dish update/components of a plain dish", func() error {
			return patchDish(rice.ID, catalog.DishPatch{Components: &[]catalog.SetItem{{DishID: pork.ID, Quantity: 1}}})
		}, apperr.Invalid, "components"},
		{"dish update/set contains itself", func() error {
			return patchDish(set.ID, catalog.DishPatch{Components: &[]catalog.SetItem{{DishID: set.ID, Quantity: 1}}})
		}, apperr.Invalid, "components[0].dish_id"},
		{"dish update/set gets inactive component", func() error {
			return patchDish(set.ID, catalog.DishPatch{Components: &[]catalog.SetItem{{DishID: old.ID, Quantity: 1}}})
		}, apperr.Invalid, "components[0].dish_id"},
		{"dish update/deactivate a dish of an active set", func() error {
			return patchDish(rice.ID, catalog.DishPatch{Active: ptr(false)})
		}, apperr.Conflict, "active"},
		{"dish update/missing", func() error { return patchDish(987654, catalog.DishPatch{Name: ptr("x")}) }, apperr.NotFound, ""},
		{"dishes/unknown kind filter", func() error {
			_, err := f.svc.ListDishes(ctx, a.CommunityID, catalog.DishFilter{Kind: "combo"})
			return err
		}, apperr.Invalid, "kind"},

		{"menu/day past", func() error { return put(c.ID, today.AddDays(-1), catalog.Lunch, item(rice.ID, 1)) }, apperr.Invalid, "day"},
		{"menu/day 61 ahead", func() error { return put(c.ID, today.AddDays(61), catalog.Lunch, item(rice.ID, 1)) }, apperr.Invalid, "day"},
		{"menu/no day", func() error { return put(c.ID, civil.Date{}, catalog.Lunch, item(rice.ID, 1)) }, apperr.Invalid, "day"},
		{"menu/unknown period", func() error { return put(c.ID, today, "supper", item(rice.ID, 1)) }, apperr.Invalid, "period"},
		{"menu/no items", func() error { return put(c.ID, today, catalog.Lunch) }, apperr.Invalid, "items"},
		{"menu/101 items", func() error { return put(c.ID, today, catalog.Lunch, tooMany...) }, apperr.Invalid, "items"},
		{"menu/dish id 0", func() error { return put(c.ID, today, catalog.Lunch, item(0, 1)) }, apperr.Invalid, "items[0].dish_id"},
		{"menu/dish twice", func() error {
			return put(c.ID, today, catalog.Lunch, item(rice.ID, 1), item(pork.ID, 1), item(rice.ID, 2))
		}, apperr.Invalid, "items[2].dish_id"},
		{"menu/price zero", func() error { return put(c.ID, today, catalog.Lunch, pricedItem(rice.ID, 0, 1)) }, apperr.Invalid, "items[0].price_fen"},
		{"menu/price too high", func() error {
			return put(c.ID, today, catalog.Lunch, item(pork.ID, 1), pricedItem(rice.ID, 100_000_001, 1))
		}, apperr.Invalid, "items[1].price_fen"},
		{"menu/supply negative", func() error { return put(c.ID, today, catalog.Lunch, item(rice.ID, -1)) }, apperr.Invalid, "items[0].supply"},
		{"menu/supply too high", func() error { return put(c.ID, today, catalog.Lunch, item(rice.ID, 100_001)) }, apperr.Invalid, "items[0].supply"},
		{"menu/dish inactive", func() error { return put(c.ID, today, catalog.Lunch, item(rice.ID, 1), item(old.ID, 1)) }, apperr.Invalid, "items[1].dish_id"},
		{"menu/dish unknown", func() error { return put(c.ID, today, catalog.Lunch, item(987654, 1)) }, apperr.NotFound, "items[0].dish_id"},
		{"menu/canteen closed", func() error { return put(shut.ID, today, catalog.Lunch, item(rice.ID, 1)) }, apperr.Invalid, "day"},
		{"menu/closure day", func() error { return put(c.ID, closureDay, catalog.Lunch, item(rice.ID, 1)) }, apperr.Invalid, "day"},
		{"menu/weekday closed", func() error { return put(weekdays.ID, today.AddDays(5), catalog.Lunch, item(rice.ID, 1)) }, apperr.Invalid, "day"},
		{"menu/period not configured", func() error { return put(weekdays.ID, today, catalog.Breakfast, item(rice.ID, 1)) }, apperr.Invalid, "period"},
		{"menu/period disabled", func() error { return put(c.ID, today, catalog.Dinner, item(rice.ID, 1)) }, apperr.Invalid, "period"},
		{"menu/canteen missing", func() error { return put(987654, today, catalog.Lunch, item(rice.ID, 1)) }, apperr.NotFound, ""},
		{"publish/8 days ahead", func() error { return publish(today.AddDays(8), catalog.Lunch) }, apperr.Invalid, "day"},
		{"publish/past", func() error { return publish(today.AddDays(-1), catalog.Lunch) }, apperr.Invalid, "day"},
		{"publish/unknown period", func() error { return publish(today, "tea") }, apperr.Invalid, "period"},
		{"publish/no menu", func() error { return publish(today.AddDays(3), catalog.Lunch) }, apperr.NotFound, ""},
		{"publish/closure day", func() error { return publish(closureDay, catalog.Lunch) }, apperr.Invalid, "day"},
		{"publish/dish deactivated", func() error { return publish(today.AddDays(1), catalog.Breakfast) }, apperr.Invalid, "items[0].dish_id"},
		{"get menu/unknown period", func() error {
			_, err := f.svc.GetMenu(ctx, a.CommunityID, c.ID, today, "tea")
			return err
		}, apperr.Invalid, "period"},
		{"get menu/none", func() error { _, err := f.svc.GetMenu(ctx, a.CommunityID, c.ID, today, catalog.Dinner); return err }, apperr.NotFound, ""},
		{"menus/reversed", func() error { return listMenus(today, today.AddDays(-1)) }, apperr.Invalid, "to"},
		{"menus/63 days", func() error { return listMenus(today, today.AddDays(62)) }, apperr.Invalid, "to"},
		{"menus/no from", func() error { return listMenus(civil.Date{}, today) }, apperr.Invalid, "from"},
		{"copy/from not a Monday", func() error { return copyWeek(monday.AddDays(1), monday.AddDays(7)) }, apperr.Invalid, "from_monday"},
		{"copy/to not a Monday", func() error { return copyWeek(monday, monday.AddDays(8)) }, apperr.Invalid, "to_monday"},
		{"copy/same week", func() error { return copyWeek(monday, monday) }, apperr.Invalid, "to_monday"},
		{"copy/backwards", func() error { return copyWeek(monday, monday.AddDays(-7)) }, apperr.Invalid, "to_monday"},
		{"copy/no date", func() error { return copyWeek(civil.Date{}, monday) }, apperr.Invalid, "from_monday"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			wantErr(t, tc.call(), tc.kind, tc.field)
			if diff := cmp.Diff(before, f.snapshot()); diff != "" {
				t.Fatalf("the failed call wrote (-before +after):\n%s", diff)
			}
		})
	}

	// The limits themselves are accepted (and the snapshot sees the write).
	before := f.snapshot()
	if err := put(c.ID, today.AddDays(60), catalog.Lunch, pricedItem(rice.ID, 100_000_000, 100_000), item(pork.ID, 0)); err != nil {
		t.Fatalf("a menu 60 days ahead at the highest price and supply: %v", err)
	}
	if after := f.snapshot(); after["menus"] == before["menus"] || after["audit_log"] == before["audit_log"] {
		t.Fatal("snapshot did not notice a new menu")
	}
	if err := setPeriod(lunch(catalog.MealPeriod{OrderCutoff: catalog.Clock(13, 0), PreorderDays: 14})); err != nil {
		t.Fatalf("cut-off at the end of serving, 14 days ahead: %v", err)
	}
}
