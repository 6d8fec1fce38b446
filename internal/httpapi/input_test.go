package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/httpapi"
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
			raw := body(resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Fatalf("content type %q, want application/problem+json", ct)
			}
			var p httpapi.Problem
			if err := json.Unmarshal([]byte(raw), &p); err != nil {
				t.Fatalf("not a problem body: %s", raw)
			}
			if p.Type == "" || p.Title == "" || p.Detail == "" || p.Status != tc.status {
				t.Fatalf("incomplete problem: %+v", p)
			}
			if tc.code != "" && p.Code != tc.code {
				t.Fatalf("code %q, want %q (%s)", p.Code, tc.code, p.Detail)
			}
			if tc.field != "" {
				found := false
				for _, f := range p.Fields {
					found = found || f.Field == tc.field
				}
				if !found {
					t.Fatalf("problem does not name field %q: %+v", tc.field, p.Fields)
				}
			}
			if diff := cmp.Diff(before, e.snapshot()); diff != "" {
				t.Fatalf("the database changed (-before +after):\n%s", diff)
			}
		})
	}
}
