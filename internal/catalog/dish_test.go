package catalog_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
)

func TestDishesAndSetMeals(t *testing.T) {
	f := newFixture(t)
	ctx, a := f.ctx, f.a
	rice := f.dish(a, "米饭", 100)
	pork, err := f.svc.CreateDish(ctx, a, catalog.DishInput{Name: " 红烧肉 ", Category: "热菜", PriceFen: 1200,
		DietTags: []string{"soft", "low_salt"}, Description: "肥而不腻", PhotoURL: "https://img.example.cn/pork.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.Dish{ID: pork.ID, CommunityID: a.CommunityID, Kind: catalog.KindDish, Name: "红烧肉", Category: "热菜",
		DietTags: []string{"soft", "low_salt"}, Description: "肥而不腻", PhotoURL: "https://img.example.cn/pork.jpg",
		PriceFen: 1200, Active: true, Components: []catalog.SetItem{}}
	ignoreTimes := cmpopts.IgnoreFields(catalog.Dish{}, "CreatedAt", "UpdatedAt")
	if diff := cmp.Diff(want, pork, ignoreTimes); diff != "" {
		t.Fatalf("created (-want +got):\n%s", diff)
	}

	set, err := f.svc.CreateDish(ctx, a, catalog.DishInput{Kind: catalog.KindSet, Name: "红烧肉套餐", Category: "套餐",
		PriceFen: 1500, Components: []catalog.SetItem{{DishID: pork.ID, Quantity: 1}, {DishID: rice.ID, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	wantComps := []catalog.SetItem{{DishID: rice.ID, Quantity: 2}, {DishID: pork.ID, Quantity: 1}} // by dish ID
	if diff := cmp.Diff(wantComps, set.Components); diff != "" {
		t.Fatalf("components (-want +got):\n%s", diff)
	}

	// A dish of an active set stays active; once the set is inactive it may go.
	_, err = f.svc.UpdateDish(ctx, a, rice.ID, catalog.DishPatch{Active: ptr(false)})
	wantIs(t, err, catalog.ErrDishInSet)
	if _, err := f.svc.UpdateDish(ctx, a, set.ID, catalog.DishPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateDish(ctx, a, rice.ID, catalog.DishPatch{Active: ptr(false)}); err != nil {
		t.Fatalf("deactivate a dish of an inactive set: %v", err)
	}
	// The set cannot come back while a component is inactive, but its other fields can change.
	_, err = f.svc.UpdateDish(ctx, a, set.ID, catalog.DishPatch{Active: ptr(true)})
	wantErr(t, err, apperr.Invalid, "components[0].dish_id")
	if _, err := f.svc.UpdateDish(ctx, a, set.ID, catalog.DishPatch{PriceFen: ptr(int64(1600))}); err != nil {
		t.Fatalf("reprice an inactive set with an inactive component: %v", err)
	}
	// Replacing the components and reactivating in one patch.
	set, err = f.svc.UpdateDish(ctx, a, set.ID, catalog.DishPatch{Active: ptr(true),
		Components: &[]catalog.SetItem{{DishID: pork.ID, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if !set.Active || set.PriceFen != 1600 || !cmp.Equal(set.Components, []catalog.SetItem{{DishID: pork.ID, Quantity: 2}}) {
		t.Fatalf("set = %+v", set)
	}
	got, err := f.svc.GetDish(ctx, a.CommunityID, set.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set, got); diff != "" {
		t.Fatalf("read back (-want +got):\n%s", diff)
	}

	_, err = f.svc.CreateDish(ctx, a, catalog.DishInput{Name: "红烧肉", Category: "热菜", PriceFen: 1})
	wantIs(t, err, catalog.ErrDishNameTaken)
	wantErr(t, err, apperr.Conflict, "name")

	list := func(filter catalog.DishFilter) []string {
		t.Helper()
		ds, err := f.svc.ListDishes(ctx, a.CommunityID, filter)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range ds {
			names = append(names, d.Name)
		}
		return names
	}
	if diff := cmp.Diff([]string{"米饭", "红烧肉", "红烧肉套餐"}, list(catalog.DishFilter{}), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Fatalf("all dishes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"红烧肉"}, list(catalog.DishFilter{Kind: catalog.KindDish, ActiveOnly: true})); diff != "" {
		t.Fatalf("active plain dishes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"红烧肉套餐"}, list(catalog.DishFilter{Category: "套餐"})); diff != "" {
		t.Fatalf("category 套餐 (-want +got):\n%s", diff)
	}

	recs := f.audits(a, catalog.EntityDish)
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	wantActions := []string{"create", "create", "create", "update", "update", "update", "update"}
	if diff := cmp.Diff(wantActions, actions); diff != "" {
		t.Fatalf("dish audit actions (-want +got):\n%s", diff)
	}
	last := recs[len(recs)-1]
	var before, after catalog.Dish
	if err := json.Unmarshal(last.Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(last.After, &after); err != nil {
		t.Fatal(err)
	}
	if last.EntityID != itoa(set.ID) || before.Active || !after.Active || len(before.Components) != 2 || len(after.Components) != 1 {
		t.Fatalf("last dish record: before %+v after %+v", before, after)
	}
}

func TestDietTags(t *testing.T) {
	tags := catalog.DietTags()
	want := map[string]string{"soft": "软烂", "low_salt": "低盐", "low_sugar": "低糖", "low_fat": "低脂",
		"vegetarian": "素食", "halal": "清真", "spicy": "辣"}
	if len(tags) != len(want) {
		t.Fatalf("tags = %+v", tags)
	}
	for _, tag := range tags {
		if want[tag.Code] != tag.Label {
			t.Errorf("%s = %s, want %s", tag.Code, tag.Label, want[tag.Code])
		}
		if l, ok := catalog.DietTagLabel(tag.Code); !ok || l != tag.Label {
			t.Errorf("DietTagLabel(%s) = %s, %v", tag.Code, l, ok)
		}
	}
	tags[0].Label = "changed"
	if catalog.DietTags()[0].Label != "软烂" {
		t.Fatal("DietTags returned its own slice")
	}
}
