package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/httpapi"
)

func problemCode(t *testing.T, raw string) string {
	t.Helper()
	var p httpapi.Problem
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("not a problem: %s", raw)
	}
	return p.Code
}

func TestStaffSessions(t *testing.T) {
	e := newEnv(t, 5)
	ctx := context.Background()

	t.Run("login, me, logout", func(t *testing.T) {
		tok := e.login("user-kitchen", password)
		var p auth.Principal
		e.mustJSON(e.do("GET", "/api/v1/me", tok, ""), 200, &p)
		if p.Kind != auth.StaffKind || !p.HasAny(auth.Kitchen) || p.CommunityID != e.ids["community"] {
			t.Fatalf("me = %+v", p)
		}
		if r := e.do("POST", "/api/v1/auth/logout", tok, ""); r.StatusCode != 204 {
			t.Fatalf("logout: %d %s", r.StatusCode, body(r))
		}
		r := e.do("GET", "/api/v1/me", tok, "")
		if raw := body(r); r.StatusCode != 401 || problemCode(t, raw) != "session_invalid" {
			t.Fatalf("after logout: %d %s", r.StatusCode, raw)
		}
	})
	t.Run("token is stored hashed", func(t *testing.T) {
		tok := e.login("user-counter", password)
		var n int
		if err := e.db.NewRaw("SELECT count(*) FROM sessions WHERE token_hash = ?", []byte(tok)).Scan(ctx, &n); err != nil || n != 0 {
			t.Fatalf("the raw token is in the sessions table (n=%d, err=%v)", n, err)
		}
		if err := e.db.NewRaw("SELECT count(*) FROM sessions WHERE token_hash = ?", auth.HashToken(tok)).Scan(ctx, &n); err != nil || n != 1 {
			t.Fatalf("hashed token not found (n=%d, err=%v)", n, err)
		}
	})
	t.Run("expired session", func(t *testing.T) {
		tok := e.login("user-finance", password)
		if _, err := e.db.NewRaw("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = ?", auth.HashToken(tok)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if r := e.do("GET", "/api/v1/me", tok, ""); r.StatusCode != 401 {
			t.Fatalf("expired session: %d", r.StatusCode)
		}
	})
	t.Run("wrong password and unknown user look alike", func(t *testing.T) {
		r1 := e.do("POST", "/api/v1/auth/staff/login", "", `{"username":"user-admin","password":"wrong password!"}`)
		r2 := e.do("POST", "/api/v1/auth/staff/login", "", `{"username":"nobody-here","password":"wrong password!"}`)
		b1, b2 := body(r1), body(r2)
		if r1.StatusCode != 401 || r2.StatusCode != 401 || problemCode(t, b1) != "bad_credentials" || problemCode(t, b2) != "bad_credentials" {
			t.Fatalf("got %d %s / %d %s", r1.StatusCode, b1, r2.StatusCode, b2)
		}
	})
	t.Run("disabling an account ends its sessions", func(t *testing.T) {
		tok := e.login("user-reviewer", password)
		r := e.do("PATCH", fmt.Sprintf("/api/v1/admin/staff/%d", e.ids["staff-reviewer"]), e.tokens["admin"], `{"disabled":true}`)
		if r.StatusCode != 200 {
			t.Fatalf("disable: %d %s", r.StatusCode, body(r))
		}
		if r := e.do("GET", "/api/v1/me", tok, ""); r.StatusCode != 401 {
			t.Fatalf("disabled account still has a session: %d", r.StatusCode)
		}
		r = e.do("POST", "/api/v1/auth/staff/login", "", fmt.Sprintf(`{"username":"user-reviewer","password":%q}`, password))
		if r.StatusCode != 401 {
			t.Fatalf("disabled account logged in: %d", r.StatusCode)
		}
	})
	t.Run("an admin cannot lock themselves out", func(t *testing.T) {
		r := e.do("PATCH", fmt.Sprintf("/api/v1/admin/staff/%d", e.ids["staff-admin"]), e.tokens["admin"], `{"roles":["kitchen"]}`)
		if raw := body(r); r.StatusCode != 422 || problemCode(t, raw) != "cannot_demote_self" {
			t.Fatalf("got %d %s", r.StatusCode, raw)
		}
	})
	t.Run("login attempts are rate limited", func(t *testing.T) {
		var last int
		for range 6 {
			r := e.do("POST", "/api/v1/auth/staff/login", "", `{"username":"user-merchant","password":"guessing123"}`)
			last = r.StatusCode
			if last == 429 {
				if r.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
				break
			}
		}
		if last != 429 {
			t.Fatalf("6 attempts with a limit of 5: last status %d, want 429", last)
		}
		// Even the right password is refused until the window passes.
		r := e.do("POST", "/api/v1/auth/staff/login", "", fmt.Sprintf(`{"username":"user-merchant","password":%q}`, password))
		if r.StatusCode != 429 {
			t.Fatalf("correct password during lock-out: %d", r.StatusCode)
		}
	})
}

func TestDinerLogin(t *testing.T) {
	e := newEnv(t, 100)
	var p auth.Principal
	e.mustJSON(e.do("GET", "/api/v1/me", e.tokens["diner"], ""), 200, &p)
	if p.Kind != auth.DinerKind || p.CommunityID != e.ids["community"] {
		t.Fatalf("me = %+v", p)
	}
	// The same openid logs in again as the same diner.
	again := e.dinerToken("openid-diner-1")
	var p2 auth.Principal
	e.mustJSON(e.do("GET", "/api/v1/me", again, ""), 200, &p2)
	if p2.ID != p.ID {
		t.Fatalf("second login made another diner: %d vs %d", p2.ID, p.ID)
	}
	code := e.fake.IssueCode("openid-2")
	req := fmt.Sprintf(`{"community_id":%d,"code":%q}`, e.ids["community"], code)
	if r := e.do("POST", "/api/v1/auth/diner/login", "", req); r.StatusCode != 201 {
		t.Fatalf("first use: %d", r.StatusCode)
	}
	r := e.do("POST", "/api/v1/auth/diner/login", "", req)
	if raw := body(r); r.StatusCode != 401 || problemCode(t, raw) != "wechat_code_invalid" {
		t.Fatalf("reused code: %d %s", r.StatusCode, raw)
	}
	r = e.do("POST", "/api/v1/auth/diner/login", "", fmt.Sprintf(`{"community_id":%d,"code":%q}`, 999999, e.fake.IssueCode("openid-3")))
	if r.StatusCode != 404 {
		t.Fatalf("unknown community: %d %s", r.StatusCode, body(r))
	}
	var n int
	if err := e.db.NewRaw("SELECT count(*) FROM diners WHERE openid = 'openid-3'").Scan(context.Background(), &n); err != nil || n != 0 {
		t.Fatalf("a diner was created for an unknown community (n=%d, err=%v)", n, err)
	}
}

func TestTenancyAndScopes(t *testing.T) {
	e := newEnv(t, 100)
	a, b := e.ids["canteen"], e.ids["canteenB"]
	adminB := e.tokens["adminB"]
	t.Run("community B cannot see or touch community A", func(t *testing.T) {
		before := e.snapshot()
		for _, c := range []struct{ method, path, body string }{
			{"GET", fmt.Sprintf("/api/v1/admin/canteens/%d", a), ""},
			{"PATCH", fmt.Sprintf("/api/v1/admin/canteens/%d", a), `{"name":"hijacked"}`},
			{"GET", fmt.Sprintf("/api/v1/admin/dishes/%d", e.ids["dish"]), ""},
			{"PATCH", fmt.Sprintf("/api/v1/admin/dishes/%d", e.ids["dish"]), `{"price_fen":1}`},
			{"GET", fmt.Sprintf("/api/v1/admin/merchants/%d", e.ids["merchant"]), ""},
			{"PATCH", fmt.Sprintf("/api/v1/admin/staff/%d", e.ids["staff-kitchen"]), `{"disabled":true}`},
			{"PUT", fmt.Sprintf("/api/v1/admin/canteens/%d/menus/%s/lunch", a, civilToday()), fmt.Sprintf(`{"items":[{"dish_id":%d,"supply":1}]}`, e.ids["dish"])},
			// B's own canteen with A's dish.
			{"PUT", fmt.Sprintf("/api/v1/admin/canteens/%d/menus/%s/lunch", b, civilToday()), fmt.Sprintf(`{"items":[{"dish_id":%d,"supply":1}]}`, e.ids["dish"])},
		} {
			r := e.do(c.method, c.path, adminB, c.body)
			if raw := body(r); r.StatusCode != 404 && r.StatusCode != 400 {
				t.Errorf("%s %s as B: %d %s", c.method, c.path, r.StatusCode, raw)
			}
		}
		var list struct{ Items []struct{ ID int64 } }
		e.mustJSON(e.do("GET", "/api/v1/admin/canteens", adminB, ""), 200, &list)
		for _, c := range list.Items {
			if c.ID == a {
				t.Error("B's canteen list shows A's canteen")
			}
		}
		if diff := snapshotDiff(before, e.snapshot()); diff != "" {
			t.Fatalf("cross-community requests changed data: %s", diff)
		}
	})
	t.Run("staff limited to one canteen", func(t *testing.T) {
		other, err := e.authS.CreateStaff(context.Background(),
			auth.Principal{Kind: auth.StaffKind, CommunityID: e.ids["community"], Name: "t", Roles: []auth.Role{auth.Admin}},
			auth.StaffInput{Username: "kitchen-two", DisplayName: "二号厨房", Password: password, Roles: []auth.Role{auth.Kitchen}, CanteenIDs: []int64{a + 1000}})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.login(other.Username, password)
		if r := e.do("GET", fmt.Sprintf("/api/v1/admin/canteens/%d", a), tok, ""); r.StatusCode != 403 {
			t.Fatalf("out-of-scope canteen: %d", r.StatusCode)
		}
		var list struct{ Items []any }
		e.mustJSON(e.do("GET", "/api/v1/admin/canteens", tok, ""), 200, &list)
		if len(list.Items) != 0 {
			t.Fatalf("scoped staff sees %d canteens", len(list.Items))
		}
	})
	t.Run("a merchant user sees only its merchant", func(t *testing.T) {
		var m struct {
			ID           int64  `json:"id"`
			ContactPhone string `json:"contact_phone"`
		}
		e.mustJSON(e.do("GET", "/api/v1/merchant/profile", e.tokens["merchant"], ""), 200, &m)
		if m.ID != e.ids["merchant"] {
			t.Fatalf("profile of merchant %d, want %d", m.ID, e.ids["merchant"])
		}
		if m.ContactPhone != "139****5678" {
			t.Fatalf("phone shown as %q, want it masked", m.ContactPhone)
		}
	})
}

func TestMerchantPhoneEncryptedAndAudited(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	r := e.do("PATCH", fmt.Sprintf("/api/v1/admin/merchants/%d", e.ids["merchant"]), e.tokens["admin"], `{"contact_phone":"+86 137-0000-1111","contact_name":"李经理"}`)
	raw := body(r)
	if r.StatusCode != 200 || !strings.Contains(raw, `"137****1111"`) || strings.Contains(raw, "13700001111") {
		t.Fatalf("update: %d %s", r.StatusCode, raw)
	}
	var enc []byte
	if err := e.db.NewRaw("SELECT contact_phone_enc FROM merchants WHERE id = ?", e.ids["merchant"]).Scan(ctx, &enc); err != nil {
		t.Fatal(err)
	}
	if len(enc) == 0 || bytes.Contains(enc, []byte("13700001111")) || bytes.Contains(enc, []byte("1111")) {
		t.Fatalf("phone not encrypted at rest: %x", enc)
	}
	var recs struct {
		Items []struct {
			Action string `json:"action"`
			Entity string `json:"entity"`
			Actor  struct{ Name string }
			Before json.RawMessage `json:"before"`
			After  json.RawMessage `json:"after"`
		}
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/audit?entity=merchant", e.tokens["finance"], ""), 200, &recs)
	if len(recs.Items) == 0 || recs.Items[0].Action != "update" || recs.Items[0].Actor.Name != "用户 admin" {
		t.Fatalf("audit = %+v", recs.Items)
	}
	if !strings.Contains(string(recs.Items[0].After), "李经理") || strings.Contains(string(recs.Items[0].After), "13700001111") {
		t.Fatalf("audit after = %s", recs.Items[0].After)
	}
}
