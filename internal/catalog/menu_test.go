package catalog_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
)

func TestPutPublishAndAudit(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	c := f.canteen(a, "长者食堂")
	rice := f.dish(a, "米饭", 100)
	pork := f.dish(a, "红烧肉", 1200)
	fish := f.dish(a, "清蒸鱼", 1800)
	day := monday.AddDays(1)

	m := f.putMenu(a, c.ID, day, catalog.Lunch, pricedItem(pork.ID, 1000, 50), item(rice.ID, 200))
	want := catalog.Menu{ID: m.ID, CommunityID: a.CommunityID, CanteenID: c.ID, Day: day, Period: catalog.Lunch, Status: catalog.Draft,
		Items: []catalog.MenuItem{
			{DishID: pork.ID, Name: "红烧肉", Category: "热菜", Kind: catalog.KindDish, DietTags: []string{"soft"}, PriceFen: 1000, Supply: 50, Remaining: 50},
			{DishID: rice.ID, Name: "米饭", Category: "热菜", Kind: catalog.KindDish, DietTags: []string{"soft"}, PriceFen: 100, Supply: 200, Remaining: 200},
		}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("draft (-want +got):\n%s", diff)
	}

	// Replace: fish first, pork repriced, rice removed.
	m = f.putMenu(a, c.ID, day, catalog.Lunch, item(fish.ID, 20), pricedItem(pork.ID, 1100, 40))
	want.Items = []catalog.MenuItem{
		{DishID: fish.ID, Name: "清蒸鱼", Category: "热菜", Kind: catalog.KindDish, DietTags: []string{"soft"}, PriceFen: 1800, Supply: 20, Remaining: 20},
		{DishID: pork.ID, Name: "红烧肉", Category: "热菜", Kind: catalog.KindDish, DietTags: []string{"soft"}, PriceFen: 1100, Supply: 40, Remaining: 40},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("replaced (-want +got):\n%s", diff)
	}

	f.now = f.now.Add(90 * time.Minute)
	m = f.publish(a, c.ID, day, catalog.Lunch)
	if m.Status != catalog.Published || m.PublishedAt == nil || !m.PublishedAt.Equal(f.now) {
		t.Fatalf("published = %+v (at %v, now %v)", m, m.PublishedAt, f.now)
	}
	again := f.publish(a, c.ID, day, catalog.Lunch) // no change, no record
	if !again.PublishedAt.Equal(*m.PublishedAt) {
		t.Fatalf("republished at %v", again.PublishedAt)
	}
	// A published menu may still be edited; it stays published.
	m = f.putMenu(a, c.ID, day, catalog.Lunch, item(fish.ID, 25), pricedItem(pork.ID, 1100, 40), item(rice.ID, 100))
	if m.Status != catalog.Published || len(m.Items) != 3 || m.Items[0].Supply != 25 {
		t.Fatalf("edited published menu = %+v", m)
	}
	got, err := f.svc.GetMenu(ctx, a.CommunityID, c.ID, day, catalog.Lunch)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Fatalf("read back (-want +got):\n%s", diff)
	}
	list, err := f.svc.ListMenus(ctx, a.CommunityID, c.ID, monday, monday.AddDays(61))
	if err != nil || len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("list = %+v, %v", list, err)
	}

	recs := f.audits(a, catalog.EntityMenu)
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
		if r.EntityID != itoa(m.ID) {
			t.Errorf("record entity id %s, want %d", r.EntityID, m.ID)
		}
	}
	if diff := cmp.Diff([]string{"create", "update", "publish", "update"}, actions); diff != "" {
		t.Fatalf("menu audit actions (-want +got):\n%s", diff)
	}
	if recs[0].Before != nil {
		t.Fatalf("create record has before %s", recs[0].Before)
	}
	var before, after catalog.Menu
	if err := json.Unmarshal(recs[1].Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(recs[1].After, &after); err != nil {
		t.Fatal(err)
	}
	if len(before.Items) != 2 || before.Items[1].DishID != rice.ID || after.Items[1].PriceFen != 1100 || after.Day != day {
		t.Fatalf("update record: before %+v after %+v", before, after)
	}
	if err := json.Unmarshal(recs[2].After, &after); err != nil || after.Status != catalog.Published {
		t.Fatalf("publish record after %s (%v)", recs[2].After, err)
	}
}

// TestSoldItems: once portions are sold, an item keeps at least that supply and cannot be removed.
func TestSoldItems(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	c := f.canteen(a, "长者食堂")
	rice := f.dish(a, "米饭", 100)
	pork := f.dish(a, "红烧肉", 1200)
	m := f.putMenu(a, c.ID, monday, catalog.Lunch, item(pork.ID, 10), item(rice.ID, 10))
	f.publish(a, c.ID, monday, catalog.Lunch)
	f.exec("UPDATE menu_items SET sold = 3 WHERE menu_id = ? AND dish_id = ?", m.ID, pork.ID)

	tests := []struct {
		name  string
		items []catalog.MenuItemInput
		field string
	}{
		{"supply below sold", []catalog.MenuItemInput{item(pork.ID, 2), item(rice.ID, 10)}, "items[0].supply"},
		{"sold item removed", []catalog.MenuItemInput{item(rice.ID, 10)}, "items"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			_, err := f.svc.PutMenu(ctx, a, c.ID, monday, catalog.Lunch, tc.items)
			wantIs(t, err, catalog.ErrMenuItemSold)
			wantErr(t, err, apperr.Conflict, tc.field)
			if diff := cmp.Diff(before, f.snapshot()); diff != "" {
				t.Fatalf("the failed call wrote (-before +after):\n%s", diff)
			}
		})
	}

	// Supply down to exactly what was sold, and the unsold item removed.
	m = f.putMenu(a, c.ID, monday, catalog.Lunch, pricedItem(pork.ID, 1300, 3))
	want := []catalog.MenuItem{{DishID: pork.ID, Name: "红烧肉", Category: "热菜", Kind: catalog.KindDish, DietTags: []string{"soft"},
		PriceFen: 1300, Supply: 3, Sold: 3, Remaining: 0}}
	if diff := cmp.Diff(want, m.Items); diff != "" || m.Status != catalog.Published {
		t.Fatalf("items (-want +got):\n%s (status %s)", diff, m.Status)
	}
}

func TestPublishWindow(t *testing.T) {
	f := newFixture(t)
	a := f.a
	c := f.canteen(a, "长者食堂")
	rice := f.dish(a, "米饭", 100)
	for i := range 9 {
		f.putMenu(a, c.ID, monday.AddDays(i), catalog.Lunch, item(rice.ID, 10))
	}
	f.publish(a, c.ID, monday, catalog.Lunch)
	f.publish(a, c.ID, monday.AddDays(7), catalog.Lunch)
	_, err := f.svc.PublishMenu(f.ctx, a, c.ID, monday.AddDays(8), catalog.Lunch)
	wantErr(t, err, apperr.Invalid, "day")

	// A day later the eighth day is within the week, and Monday is past.
	f.now = f.now.Add(24 * time.Hour)
	f.publish(a, c.ID, monday.AddDays(8), catalog.Lunch)
	_, err = f.svc.PublishMenu(f.ctx, a, c.ID, monday, catalog.Lunch)
	wantErr(t, err, apperr.Invalid, "day")
}

// TestShanghaiDates: "today" is the Asia/Shanghai date, whatever the clock's zone.
func TestShanghaiDates(t *testing.T) {
	f := newFixture(t)
	a := f.a
	c := f.canteen(a, "长者食堂")
	rice := f.dish(a, "米饭", 100)
	f.now = time.Date(2026, 11, 29, 16, 30, 0, 0, time.UTC) // 00:30 on 30 November in Shanghai
	_, err := f.svc.PutMenu(f.ctx, a, c.ID, date("2026-11-29"), catalog.Lunch, []catalog.MenuItemInput{item(rice.ID, 1)})
	wantErr(t, err, apperr.Invalid, "day")
	f.putMenu(a, c.ID, date("2026-11-30"), catalog.Breakfast, item(rice.ID, 1))
	f.publish(a, c.ID, date("2026-11-30"), catalog.Breakfast)
	ms, err := f.svc.DinerMenus(f.ctx, a.CommunityID, c.ID)
	if err != nil || len(ms) != 1 || ms[0].Day != date("2026-11-30") {
		t.Fatalf("diner menus = %+v, %v", ms, err)
	}
}

func TestCopyWeek(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	c := f.canteen(a, "长者食堂") // breakfast and lunch, every day
	f.period(a, c.ID, catalog.MealPeriod{Period: catalog.Dinner, ServeStart: catalog.Clock(17, 0),
		ServeEnd: catalog.Clock(19, 0), OrderCutoff: catalog.Clock(16, 0), Enabled: true})
	rice := f.dish(a, "米饭", 100)
	pork := f.dish(a, "红烧肉", 1200)
	fish := f.dish(a, "清蒸鱼", 1800)
	tofu := f.dish(a, "麻婆豆腐", 900)
	next := monday.AddDays(7)

	// The source week (this week).
	f.putMenu(a, c.ID, monday, catalog.Lunch, item(rice.ID, 100))                                          // target has a menu
	f.putMenu(a, c.ID, monday.AddDays(1), catalog.Lunch, item(rice.ID, 100))                               // target is a closure
	f.putMenu(a, c.ID, monday.AddDays(2), catalog.Lunch, pricedItem(pork.ID, 1000, 30), item(rice.ID, 80)) // copied
	f.putMenu(a, c.ID, monday.AddDays(2), catalog.Breakfast, item(tofu.ID, 5))                             // only dish inactive
	f.putMenu(a, c.ID, monday.AddDays(3), catalog.Dinner, item(fish.ID, 10))                               // dinner disabled
	f.putMenu(a, c.ID, monday.AddDays(4), catalog.Lunch, item(fish.ID, 15), item(tofu.ID, 5))              // tofu left out
	f.putMenu(a, c.ID, monday.AddDays(5), catalog.Lunch, item(rice.ID, 100))                               // Saturday no longer open
	wed := f.publish(a, c.ID, monday.AddDays(2), catalog.Lunch)
	f.exec("UPDATE menu_items SET sold = 7 WHERE dish_id = ?", pork.ID)

	// The target week and the changes since.
	f.putMenu(a, c.ID, next, catalog.Lunch, item(fish.ID, 1))
	if _, err := f.svc.AddClosure(ctx, a, c.ID, catalog.Closure{Day: next.AddDays(1), Reason: "停电"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateDish(ctx, a, tofu.ID, catalog.DishPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	f.period(a, c.ID, catalog.MealPeriod{Period: catalog.Dinner, ServeStart: catalog.Clock(17, 0),
		ServeEnd: catalog.Clock(19, 0), OrderCutoff: catalog.Clock(16, 0), Enabled: false})
	if _, err := f.svc.UpdateCanteen(ctx, a, c.ID, catalog.CanteenPatch{OpenWeekdays: &[]int{1, 2, 3, 4, 5, 7}}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(3 * 24 * time.Hour) // Thursday: the source week is partly past; no matter
	auditsBefore := len(f.audits(a, catalog.EntityMenu))

	res, err := f.svc.CopyWeek(ctx, a, c.ID, monday, next)
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.CopyResult{Copied: 2, Skipped: []catalog.CopySkip{
		{Day: next, Period: catalog.Lunch, Reason: catalog.ReasonMenuExists},
		{Day: next.AddDays(1), Period: catalog.Lunch, Reason: catalog.ReasonClosure},
		{Day: next.AddDays(2), Period: catalog.Breakfast, Reason: catalog.ReasonDishInactive, DishID: tofu.ID},
		{Day: next.AddDays(2), Period: catalog.Breakfast, Reason: catalog.ReasonNoActiveDishes},
		{Day: next.AddDays(3), Period: catalog.Dinner, Reason: catalog.ReasonPeriodDisabled},
		{Day: next.AddDays(4), Period: catalog.Lunch, Reason: catalog.ReasonDishInactive, DishID: tofu.ID},
		{Day: next.AddDays(5), Period: catalog.Lunch, Reason: catalog.ReasonWeekdayClosed},
	}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("copy result (-want +got):\n%s", diff)
	}

	got, err := f.svc.GetMenu(ctx, a.CommunityID, c.ID, next.AddDays(2), catalog.Lunch)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != catalog.Draft || got.PublishedAt != nil || len(got.Items) != 2 {
		t.Fatalf("copied menu = %+v", got)
	}
	for i, it := range got.Items {
		src := wed.Items[i]
		if it.DishID != src.DishID || it.PriceFen != src.PriceFen || it.Supply != src.Supply || it.Sold != 0 || it.Remaining != it.Supply {
			t.Errorf("item %d = %+v, source %+v", i, it, src)
		}
	}
	fri, err := f.svc.GetMenu(ctx, a.CommunityID, c.ID, next.AddDays(4), catalog.Lunch)
	if err != nil || len(fri.Items) != 1 || fri.Items[0].DishID != fish.ID || fri.Items[0].Supply != 15 {
		t.Fatalf("Friday copy = %+v, %v", fri, err)
	}
	if m, _ := f.svc.GetMenu(ctx, a.CommunityID, c.ID, next, catalog.Lunch); len(m.Items) != 1 || m.Items[0].DishID != fish.ID {
		t.Fatalf("the existing target menu changed: %+v", m)
	}
	recs := f.audits(a, catalog.EntityMenu)[auditsBefore:]
	if len(recs) != 2 || recs[0].Action != "copy" || recs[1].Action != "copy" || recs[0].Before != nil {
		t.Fatalf("copy records = %+v", recs)
	}

	// Copying again skips everything: the targets now exist.
	before := f.snapshot()
	res, err = f.svc.CopyWeek(ctx, a, c.ID, monday, next)
	if err != nil || res.Copied != 0 {
		t.Fatalf("second copy = %+v, %v", res, err)
	}
	if diff := cmp.Diff(before, f.snapshot()); diff != "" {
		t.Fatalf("a copy of nothing wrote (-before +after):\n%s", diff)
	}

	// Weeks too far ahead are skipped day by day.
	far := monday.AddDays(63) // today is monday+3, so monday+63 is today+60
	res, err = f.svc.CopyWeek(ctx, a, c.ID, monday, far)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, s := range res.Skipped {
		if s.DishID == 0 {
			reasons = append(reasons, s.Day.String()+" "+s.Reason)
		}
	}
	wantReasons := []string{far.AddDays(1).String() + " too_far_ahead", far.AddDays(2).String() + " too_far_ahead",
		far.AddDays(2).String() + " too_far_ahead", far.AddDays(3).String() + " too_far_ahead",
		far.AddDays(4).String() + " too_far_ahead", far.AddDays(5).String() + " too_far_ahead"}
	if res.Copied != 1 || !cmp.Equal(wantReasons, reasons) {
		t.Fatalf("far copy = %+v, reasons %v", res, reasons)
	}
}

// TestDinerMenus: published menus from today to the longest preorder horizon of the enabled
// periods, on days the canteen serves, in day and period order.
func TestDinerMenus(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	c := f.canteen(a, "长者食堂") // breakfast preorder 1, lunch preorder 3
	f.period(a, c.ID, catalog.MealPeriod{Period: catalog.Dinner, ServeStart: catalog.Clock(17, 0),
		ServeEnd: catalog.Clock(19, 0), OrderCutoff: catalog.Clock(16, 0), PreorderDays: 10, Enabled: true})
	rice := f.dish(a, "米饭", 100)
	for i := -1; i <= 6; i++ {
		day := monday.AddDays(i)
		if i < 0 {
			f.now = f.now.Add(-24 * time.Hour)
		}
		for _, p := range []catalog.Period{catalog.Dinner, catalog.Lunch} {
			f.putMenu(a, c.ID, day, p, item(rice.ID, 10))
			if i <= 5 {
				f.publish(a, c.ID, day, p)
			}
		}
		if i < 0 {
			f.now = f.now.Add(24 * time.Hour)
		}
	}
	f.putMenu(a, c.ID, monday, catalog.Breakfast, item(rice.ID, 10)) // a draft: never shown
	f.period(a, c.ID, catalog.MealPeriod{Period: catalog.Dinner, ServeStart: catalog.Clock(17, 0),
		ServeEnd: catalog.Clock(19, 0), OrderCutoff: catalog.Clock(16, 0), PreorderDays: 10, Enabled: false})
	if _, err := f.svc.AddClosure(ctx, a, c.ID, catalog.Closure{Day: monday.AddDays(2)}); err != nil {
		t.Fatal(err)
	}

	keys := func() []string {
		t.Helper()
		ms, err := f.svc.DinerMenus(ctx, a.CommunityID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, m := range ms {
			if m.Status != catalog.Published {
				t.Fatalf("diner sees a %s menu", m.Status)
			}
			out = append(out, m.Day.String()+" "+string(m.Period))
		}
		return out
	}
	// Dinner is disabled, so the horizon is lunch's 3 days; the closure day is left out.
	want := []string{"2026-11-30 lunch", "2026-12-01 lunch", "2026-12-03 lunch"}
	if diff := cmp.Diff(want, keys()); diff != "" {
		t.Fatalf("diner menus (-want +got):\n%s", diff)
	}

	// Dinner back on with a 10-day horizon: every published menu from today, by day then period.
	f.period(a, c.ID, catalog.MealPeriod{Period: catalog.Dinner, ServeStart: catalog.Clock(17, 0),
		ServeEnd: catalog.Clock(19, 0), OrderCutoff: catalog.Clock(16, 0), PreorderDays: 10, Enabled: true})
	f.publish(a, c.ID, monday, catalog.Breakfast)
	want = []string{"2026-11-30 breakfast", "2026-11-30 lunch", "2026-11-30 dinner", "2026-12-01 lunch", "2026-12-01 dinner",
		"2026-12-03 lunch", "2026-12-03 dinner", "2026-12-04 lunch", "2026-12-04 dinner", "2026-12-05 lunch", "2026-12-05 dinner"}
	if diff := cmp.Diff(want, keys()); diff != "" {
		t.Fatalf("diner menus (-want +got):\n%s", diff)
	}

	// Every period with preorder 0: today only.
	for _, p := range []catalog.Period{catalog.Breakfast, catalog.Lunch, catalog.Dinner} {
		f.period(a, c.ID, catalog.MealPeriod{Period: p, ServeStart: catalog.Clock(6, 0),
			ServeEnd: catalog.Clock(20, 0), OrderCutoff: catalog.Clock(6, 0), PreorderDays: 0, Enabled: true})
	}
	want = []string{"2026-11-30 breakfast", "2026-11-30 lunch", "2026-11-30 dinner"}
	if diff := cmp.Diff(want, keys()); diff != "" {
		t.Fatalf("diner menus (-want +got):\n%s", diff)
	}

	// A closed canteen shows nothing.
	if _, err := f.svc.UpdateCanteen(ctx, a, c.ID, catalog.CanteenPatch{Closed: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if ms, err := f.svc.DinerMenus(ctx, a.CommunityID, c.ID); err != nil || ms == nil || len(ms) != 0 {
		t.Fatalf("closed canteen menus = %#v, %v", ms, err)
	}
}
