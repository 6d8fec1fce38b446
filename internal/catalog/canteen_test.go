package catalog_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
)

func TestCanteenLifecycleAndAudit(t *testing.T) {
	f := newFixture(t)
	merchant := f.merchant(f.a.CommunityID, "爱心餐饮")
	c, err := f.svc.CreateCanteen(f.ctx, f.a, catalog.CanteenInput{Name: "  长者食堂 ", Address: "幸福路 1 号",
		District: "天河区", MerchantID: &merchant, OpenWeekdays: []int{5, 1, 2, 3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.Canteen{ID: c.ID, CommunityID: f.a.CommunityID, Name: "长者食堂", Address: "幸福路 1 号",
		District: "天河区", MerchantID: &merchant, OpenWeekdays: []int{1, 2, 3, 4, 5}, Periods: []catalog.MealPeriod{}}
	ignoreTimes := cmpopts.IgnoreFields(catalog.Canteen{}, "CreatedAt", "UpdatedAt")
	if diff := cmp.Diff(want, c, ignoreTimes); diff != "" {
		t.Fatalf("created (-want +got):\n%s", diff)
	}

	lunch := catalog.MealPeriod{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0), ServeEnd: catalog.Clock(13, 30),
		OrderCutoff: catalog.Clock(10, 0), PreorderDays: 2, Enabled: true}
	breakfast := catalog.MealPeriod{Period: catalog.Breakfast, ServeStart: catalog.Clock(6, 30), ServeEnd: catalog.Clock(8, 30),
		OrderCutoff: catalog.Clock(8, 30), PreorderDays: 0, Enabled: true}
	f.period(f.a, c.ID, lunch)
	f.period(f.a, c.ID, breakfast)
	lunch.PreorderDays = 3
	f.period(f.a, c.ID, lunch) // an update of the same period

	name, closed, reason, zero := "颐康食堂", true, "装修", int64(0)
	c, err = f.svc.UpdateCanteen(f.ctx, f.a, c.ID, catalog.CanteenPatch{Name: &name, Closed: &closed, ClosedReason: &reason, MerchantID: &zero})
	if err != nil {
		t.Fatal(err)
	}
	want.Name, want.Closed, want.ClosedReason, want.MerchantID = name, true, reason, nil
	want.Periods = []catalog.MealPeriod{breakfast, lunch}
	if diff := cmp.Diff(want, c, ignoreTimes); diff != "" {
		t.Fatalf("updated (-want +got):\n%s", diff)
	}
	got, err := f.svc.GetCanteen(f.ctx, f.a.CommunityID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
		t.Fatalf("read back (-want +got):\n%s", diff)
	}
	list, err := f.svc.ListCanteens(f.ctx, f.a.CommunityID)
	if err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("list = %+v, %v", list, err)
	}

	// Reopening clears the reason.
	open := false
	if c, err = f.svc.UpdateCanteen(f.ctx, f.a, c.ID, catalog.CanteenPatch{Closed: &open}); err != nil || c.Closed || c.ClosedReason != "" {
		t.Fatalf("reopen = %+v, %v", c, err)
	}

	recs := f.audits(f.a, catalog.EntityCanteen)
	if len(recs) != 3 {
		t.Fatalf("canteen audit records = %d, want 3", len(recs))
	}
	if recs[0].Action != "create" || string(recs[0].Before) != "" || recs[0].Actor.Name != "王阿姨" || recs[0].Actor.ID != 7 {
		t.Fatalf("create record = %+v", recs[0])
	}
	var before, after catalog.Canteen
	if err := json.Unmarshal(recs[1].Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(recs[1].After, &after); err != nil {
		t.Fatal(err)
	}
	if recs[1].Action != "update" || before.Name != "长者食堂" || after.Name != "颐康食堂" || !after.Closed || before.MerchantID == nil || after.MerchantID != nil {
		t.Fatalf("update record: before %+v after %+v", before, after)
	}

	mps := f.audits(f.a, catalog.EntityMealPeriod)
	if len(mps) != 3 || mps[0].Action != "create" || mps[2].Action != "update" || mps[2].EntityID != itoa(c.ID)+"/lunch" {
		t.Fatalf("meal period records = %+v", mps)
	}
	var mpBefore, mpAfter catalog.MealPeriod
	_ = json.Unmarshal(mps[2].Before, &mpBefore)
	_ = json.Unmarshal(mps[2].After, &mpAfter)
	if mpBefore.PreorderDays != 2 || mpAfter.PreorderDays != 3 || mpAfter.ServeEnd != catalog.Clock(13, 30) {
		t.Fatalf("meal period before %+v after %+v (raw %s)", mpBefore, mpAfter, mps[2].After)
	}
	if string(mps[2].After) == "" || !json.Valid(mps[2].After) {
		t.Fatalf("after = %s", mps[2].After)
	}
}

func TestCanteenNameTaken(t *testing.T) {
	f := newFixture(t)
	f.canteen(f.a, "长者食堂")
	f.canteen(f.b, "长者食堂") // another community may use the name
	before := f.snapshot()
	_, err := f.svc.CreateCanteen(f.ctx, f.a, catalog.CanteenInput{Name: "长者食堂"})
	wantIs(t, err, catalog.ErrCanteenNameTaken)
	wantErr(t, err, apperr.Conflict, "name")
	if diff := cmp.Diff(before, f.snapshot()); diff != "" {
		t.Fatalf("a failed create wrote (-before +after):\n%s", diff)
	}
	other := f.canteen(f.a, "第二食堂")
	name := "长者食堂"
	before = f.snapshot()
	_, err = f.svc.UpdateCanteen(f.ctx, f.a, other.ID, catalog.CanteenPatch{Name: &name})
	wantIs(t, err, catalog.ErrCanteenNameTaken)
	if diff := cmp.Diff(before, f.snapshot()); diff != "" {
		t.Fatalf("a failed rename wrote (-before +after):\n%s", diff)
	}
}

func TestClosures(t *testing.T) {
	f := newFixture(t)
	c := f.canteen(f.a, "长者食堂")
	day := monday.AddDays(3)
	if _, err := f.svc.AddClosure(f.ctx, f.a, c.ID, catalog.Closure{Day: day, Reason: " 消防检查 "}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddClosure(f.ctx, f.a, c.ID, catalog.Closure{Day: monday, Reason: ""}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.AddClosure(f.ctx, f.a, c.ID, catalog.Closure{Day: day})
	wantIs(t, err, catalog.ErrClosureExists)
	wantErr(t, err, apperr.Conflict, "day")

	got, err := f.svc.ListClosures(f.ctx, f.a.CommunityID, c.ID, monday, monday.AddDays(6))
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Closure{{Day: monday}, {Day: day, Reason: "消防检查"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("closures (-want +got):\n%s", diff)
	}
	if got, _ := f.svc.ListClosures(f.ctx, f.a.CommunityID, c.ID, monday.AddDays(1), monday.AddDays(2)); len(got) != 0 {
		t.Fatalf("closures in an empty range = %+v", got)
	}

	if err := f.svc.RemoveClosure(f.ctx, f.a, c.ID, day); err != nil {
		t.Fatal(err)
	}
	wantIs(t, f.svc.RemoveClosure(f.ctx, f.a, c.ID, day), catalog.ErrClosureNotFound)

	recs := f.audits(f.a, catalog.EntityClosure)
	if len(recs) != 3 || recs[2].Action != "delete" || recs[2].After != nil || recs[2].EntityID != itoa(c.ID)+"/2026-12-03" {
		t.Fatalf("closure records = %+v", recs)
	}
	var removed catalog.Closure
	if err := json.Unmarshal(recs[2].Before, &removed); err != nil || removed.Reason != "消防检查" || removed.Day != day {
		t.Fatalf("deleted closure = %s (%v)", recs[2].Before, err)
	}
}
