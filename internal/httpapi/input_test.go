package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/eligibilitydb"
	"github.com/canteen-oss/canteen/internal/httpapi"
	"github.com/canteen-oss/canteen/internal/secure"
)

// TestBadInputChangesNothing sends malformed, unknown, mistyped, oversize and
// mis-addressed requests to mutating routes: each gets a 4xx problem that names what
// is wrong, and no table changes.
func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t, 1000)
	admin := e.tokens["admin"]
	canteen, dish := e.ids["canteen"], e.ids["dish"]
	menu := fmt.Sprintf("/api/v1/admin/canteens/%d/menus/%s/lunch", canteen, civilToday())
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code, field                     string
	}{
		{"malformed json", "POST", "/api/v1/admin/dishes", "application/json", `{"name":"鱼",`, 400, "malformed_json", ""},
		{"not json at all", "POST", "/api/v1/admin/dishes", "application/json", `name=fish`, 400, "malformed_json", ""},
		{"trailing data", "POST", "/api/v1/admin/dishes", "application/json", `{"name":"鱼","category":"荤菜","price_fen":900} {}`, 400, "malformed_json", ""},
		{"unknown field", "POST", "/api/v1/admin/dishes", "application/json", `{"name":"鱼","category":"荤菜","price_fen":900,"price_yuan":9}`, 400, "unknown_field", "price_yuan"},
		{"price as float", "POST", "/api/v1/admin/dishes", "application/json", `{"name":"鱼","category":"荤菜","price_fen":9.5}`, 400, "wrong_type", "price_fen"},
		{"price as string", "POST", "/api/v1/admin/dishes", "application/json", `{"name":"鱼","category":"荤菜","price_fen":"900"}`, 400, "wrong_type", "price_fen"},
		{"nested wrong type", "PUT", menu, "application/json", `{"items":[{"dish_id":"x","supply":3}]}`, 400, "wrong_type", "items.dish_id"},
		{"zero price", "POST", "/api/v1/admin/dishes", "application/json", `{"name":"鱼","category":"荤菜","price_fen":0}`, 400, "validation_failed", "price_fen"},
		{"negative supply", "PUT", menu, "application/json", fmt.Sprintf(`{"items":[{"dish_id":%d,"supply":-1}]}`, dish), 400, "validation_failed", "items[0].supply"},
		{"oversize body", "POST", "/api/v1/admin/dishes", "application/json", bigJSON(80 << 10), 413, "body_too_large", ""},
		{"empty body", "POST", "/api/v1/admin/dishes", "application/json", " ", 400, "body_required", ""},
		{"form content type", "POST", "/api/v1/admin/dishes", "application/x-www-form-urlencoded", `name=x`, 400, "unsupported_media_type", ""},
		{"id not a number", "PATCH", "/api/v1/admin/dishes/abc", "application/json", `{"price_fen":100}`, 400, "invalid_path_id", "id"},
		{"id negative", "PATCH", "/api/v1/admin/dishes/-3", "application/json", `{"price_fen":100}`, 400, "invalid_path_id", "id"},
		{"id zero-padded", "PATCH", "/api/v1/admin/dishes/007", "application/json", `{"price_fen":100}`, 400, "invalid_path_id", "id"},
		{"id overflow", "PATCH", "/api/v1/admin/dishes/99999999999999999999", "application/json", `{"price_fen":100}`, 400, "invalid_path_id", "id"},
		{"id unknown", "PATCH", "/api/v1/admin/dishes/987654", "application/json", `{"price_fen":100}`, 404, "dish_not_found", ""},
		{"bad date in path", "PUT", fmt.Sprintf("/api/v1/admin/canteens/%d/menus/2026-02-30/lunch", canteen), "application/json", `{"items":[]}`, 400, "invalid_path_date", "day"},
		{"bad period in path", "PUT", fmt.Sprintf("/api/v1/admin/canteens/%d/menus/%s/brunch", canteen, civilToday()), "application/json", `{"items":[]}`, 400, "invalid_period", "period"},
		{"bad clock time", "PUT", fmt.Sprintf("/api/v1/admin/canteens/%d/meal-periods/dinner", canteen), "application/json", `{"serve_start":"25:00","serve_end":"19:00","order_cutoff":"18:00"}`, 400, "", ""},
		{"window backwards", "PUT", fmt.Sprintf("/api/v1/admin/canteens/%d/meal-periods/dinner", canteen), "application/json", `{"serve_start":"19:00","serve_end":"17:00","order_cutoff":"18:00"}`, 400, "validation_failed", ""},
		{"missing clock time", "PUT", fmt.Sprintf("/api/v1/admin/canteens/%d/meal-periods/dinner", canteen), "application/json", `{"serve_start":"17:00","serve_end":"19:00"}`, 400, "validation_failed", "order_cutoff"},
		{"staff short password", "POST", "/api/v1/admin/staff", "application/json", `{"username":"new-user","display_name":"新","password":"short","roles":["kitchen"]}`, 400, "validation_failed", "password"},
		{"merchant bad phone", "POST", "/api/v1/admin/merchants", "application/json", `{"name":"新商户","contact_phone":"12345"}`, 400, "validation_failed", "contact_phone"},
		{"unknown route", "GET", "/api/v1/no-such-thing", "", "", 404, "route_not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			resp := e.doRaw(tc.method, tc.path, admin, tc.ctype, tc.body)
			expectProblem(t, resp, tc.status, tc.code, tc.field)
			if diff := cmp.Diff(before, e.snapshot()); diff != "" {
				t.Fatalf("the database changed (-before +after):\n%s", diff)
			}
		})
	}
}

// expectProblem checks that resp is a complete problem+json of status, with code (unless
// empty) and naming field (unless empty), and returns its raw body.
func expectProblem(t *testing.T, resp *http.Response, status int, code, field string) string {
	t.Helper()
	raw := body(resp)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	var p httpapi.Problem
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("not a problem body: %s", raw)
	}
	if p.Type == "" || p.Title == "" || p.Detail == "" || p.Status != status {
		t.Fatalf("incomplete problem: %+v", p)
	}
	if code != "" && p.Code != code {
		t.Fatalf("code %q, want %q (%s)", p.Code, code, p.Detail)
	}
	if field != "" {
		found := false
		for _, f := range p.Fields {
			found = found || f.Field == field
		}
		if !found {
			t.Fatalf("problem does not name field %q: %+v", field, p.Fields)
		}
	}
	return raw
}

// TestBadOrdersChangeNothing sends orders (and an application) that must be refused: each
// gets a 4xx problem naming the field where there is one, and no table changes: no order,
// no supply taken, no subsidy held, no limit slot claimed.
func TestBadOrdersChangeNothing(t *testing.T) {
	e := newEnv(t, 1000)
	ctx := context.Background()
	cid, canteen, dish := e.ids["community"], e.ids["canteen"], e.ids["dish"]
	sc := catalog.Scope{CommunityID: cid, Actor: audit.SystemActor}

	// A dish that is not on today's menu.
	fish, err := e.catS.CreateDish(ctx, sc, catalog.DishInput{Name: "清蒸鲈鱼", Category: "荤菜", PriceFen: 1800})
	if err != nil {
		t.Fatal(err)
	}
	// Breakfast, whose cut-off (08:30) has passed at fixedNow (11:30).
	if _, err := e.catS.SetMealPeriod(ctx, sc, canteen, catalog.MealPeriod{Period: catalog.Breakfast,
		ServeStart: catalog.Clock(7, 0), ServeEnd: catalog.Clock(9, 0), OrderCutoff: catalog.Clock(8, 30), PreorderDays: 3, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// A canteen switched off, and one closed today.
	closedCanteen := func(name string, close func(id int64) error) int64 {
		ct, err := e.catS.CreateCanteen(ctx, sc, catalog.CanteenInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.catS.SetMealPeriod(ctx, sc, ct.ID, catalog.MealPeriod{Period: catalog.Lunch,
			ServeStart: catalog.Clock(11, 0), ServeEnd: catalog.Clock(13, 0), OrderCutoff: catalog.Clock(12, 30), PreorderDays: 3, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if err := close(ct.ID); err != nil {
			t.Fatal(err)
		}
		return ct.ID
	}
	yes, why := true, "装修"
	switchedOff := closedCanteen("停业食堂", func(id int64) error {
		_, err := e.catS.UpdateCanteen(ctx, sc, id, catalog.CanteenPatch{Closed: &yes, ClosedReason: &why})
		return err
	})
	closedToday := closedCanteen("放假食堂", func(id int64) error {
		_, err := e.catS.AddClosure(ctx, sc, id, catalog.Closure{Day: civilToday(), Reason: "消杀"})
		return err
	})
	// An elder whose eligibility lapsed five days ago: approved a year ago, on another clock.
	lapsedTok, lapsedID := e.dinerLogin("openid-lapsed-elder")
	yearAgo := fixedNow.AddDate(-1, 0, 0)
	pastElig := eligibility.NewService(eligibilitydb.New(e.db, secure.DemoKeyring()), func() time.Time { return yearAgo })
	e.elderOf(pastElig, lapsedID, "陈伯", idNumber("440104", "19480506", "013"), civil.Today(yearAgo), civilToday().AddDays(-5))
	// An order whose key is then reused with another body.
	cart := func(canteenID int64, period string, dishID int64, qty int, extra string) string {
		return fmt.Sprintf(`{"canteen_id":%d,"day":%q,"period":%q,"lines":[{"dish_id":%d,"qty":%d}]%s}`,
			canteenID, civilToday(), period, dishID, qty, extra)
	}
	lunch := func(dishID int64, qty int, extra string) string {
		return cart(canteen, "lunch", dishID, qty, `,"kind":"dine_in"`+extra)
	}
	e.mustJSON(e.doHeader("POST", "/api/v1/orders", e.tokens["diner"], "application/json", lunch(dish, 1, ""),
		map[string]string{"Idempotency-Key": "reused-key-0001"}), 201, nil)

	t.Run("the lapsed elder's quote says why", func(t *testing.T) {
		var q struct {
			PayFen  int64 `json:"pay_fen"`
			Reasons []struct{ Code string }
		}
		e.mustJSON(e.do("POST", "/api/v1/quotes", lapsedTok, cart(canteen, "lunch", dish, 1, "")), 200, &q)
		if q.PayFen != 1200 || len(q.Reasons) == 0 || q.Reasons[0].Code != "eligibility_expired" {
			t.Fatalf("quote for a lapsed elder = %+v, want 1200 with reason eligibility_expired", q)
		}
	})

	key := map[string]string{"Idempotency-Key": "fresh-key-0001"}
	cases := []struct {
		name, path, token, body string
		header                  map[string]string
		status                  int
		code, field             string
		check                   func(t *testing.T, raw string)
	}{
		{name: "unknown dish", body: lunch(987654, 1, ""), header: key, status: 400, code: "validation_failed", field: "lines[0].dish_id"},
		{name: "unknown dish in a quote", path: "/api/v1/quotes", body: cart(canteen, "lunch", 987654, 1, ""),
			status: 400, code: "validation_failed", field: "lines[0].dish_id"},
		{name: "dish not on today's menu", body: lunch(fish.ID, 1, ""), header: key, status: 400, code: "validation_failed", field: "lines[0].dish_id"},
		{name: "qty 0", body: lunch(dish, 0, ""), header: key, status: 400, code: "validation_failed", field: "lines[0].qty"},
		{name: "qty negative", body: lunch(dish, -2, ""), header: key, status: 400, code: "validation_failed", field: "lines[0].qty"},
		{name: "qty 10000", body: lunch(dish, 10000, ""), header: key, status: 400, code: "validation_failed", field: "lines[0].qty"},
		{name: "malformed json", body: `{"canteen_id":1,"lines":[`, header: key, status: 400, code: "malformed_json"},
		{name: "unknown field", body: lunch(dish, 1, `,"discount_fen":400`), header: key, status: 400, code: "unknown_field", field: "discount_fen"},
		{name: "cash by a diner", body: lunch(dish, 1, `,"payment":"cash"`), header: key, status: 400, code: "validation_failed", field: "payment"},
		{name: "past the cut-off", body: cart(canteen, "breakfast", dish, 1, `,"kind":"dine_in"`), header: key, status: 422, code: "past_cutoff"},
		{name: "canteen switched off", body: cart(switchedOff, "lunch", dish, 1, `,"kind":"dine_in"`), header: key, status: 422, code: "canteen_closed"},
		{name: "canteen closed today", body: cart(closedToday, "lunch", dish, 1, `,"kind":"dine_in"`), header: key, status: 422, code: "canteen_closed"},
		{name: "eligibility expired at the old price", token: lapsedTok, body: lunch(dish, 1, fmt.Sprintf(`,"expect_pay_fen":%d`, elderPriceFen)),
			header: key, status: 409, code: "price_changed", check: func(t *testing.T, raw string) {
				var p struct {
					Quote *struct {
						PayFen  int64 `json:"pay_fen"`
						Reasons []struct{ Code string }
					} `json:"quote"`
				}
				if err := json.Unmarshal([]byte(raw), &p); err != nil || p.Quote == nil {
					t.Fatalf("no quote member: %s", raw)
				}
				if p.Quote.PayFen != 1200 || len(p.Quote.Reasons) == 0 || p.Quote.Reasons[0].Code != "eligibility_expired" {
					t.Fatalf("re-quote = %+v, want 1200 with reason eligibility_expired", *p.Quote)
				}
			}},
		{name: "Idempotency-Key missing", body: lunch(dish, 1, ""), status: 400, code: "validation_failed", field: "Idempotency-Key"},
		{name: "Idempotency-Key too short", body: lunch(dish, 1, ""), header: map[string]string{"Idempotency-Key": "abc"}, status: 400, code: "validation_failed", field: "Idempotency-Key"},
		{name: "Idempotency-Key reused with another body", body: lunch(dish, 2, ""), header: map[string]string{"Idempotency-Key": "reused-key-0001"},
			status: 409, code: "idempotency_key_reused"},
		{name: "ID number with a wrong check digit", path: "/api/v1/eligibility/elderly",
			body:   fmt.Sprintf(`{"name":"李大爷","id_number":%q,"district":"越秀区"}`, wrongCheckDigit(idNumber("440104", "19500101", "017"))),
			status: 400, code: "validation_failed", field: "id_number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, token := tc.path, tc.token
			if path == "" {
				path = "/api/v1/orders"
			}
			if token == "" {
				token = e.tokens["diner"]
			}
			before := e.snapshot()
			resp := e.doHeader("POST", path, token, "application/json", tc.body, tc.header)
			raw := expectProblem(t, resp, tc.status, tc.code, tc.field)
			if tc.check != nil {
				tc.check(t, raw)
			}
			if diff := cmp.Diff(before, e.snapshot()); diff != "" {
				t.Fatalf("the database changed (-before +after):\n%s", diff)
			}
		})
	}
}

// wrongCheckDigit returns the ID number id with another check digit.
func wrongCheckDigit(id string) string {
	if id[17] == '0' {
		return id[:17] + "1"
	}
	return id[:17] + "0"
}
