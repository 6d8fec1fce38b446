package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/authdb"
	"github.com/canteen-oss/canteen/internal/catalog"
)

// deviceToken registers a kitchen device to canteenID as the staff member of staffToken
// and returns the device's token.
func (e *env) deviceToken(staffToken string, canteenID int64, name string) string {
	e.t.Helper()
	var d auth.DeviceSession
	e.mustJSON(e.do("POST", "/api/v1/kitchen/devices", staffToken, fmt.Sprintf(`{"name":%q,"canteen_id":%d}`, name, canteenID)), 201, &d)
	if d.Token == "" {
		e.t.Fatal("a registered device has no token")
	}
	return d.Token
}

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// extraCanteen makes another canteen in community A and returns its id.
func (e *env) extraCanteen(name string) int64 {
	e.t.Helper()
	ct, err := e.catS.CreateCanteen(context.Background(), catalog.Scope{CommunityID: e.ids["community"], Actor: audit.SystemActor},
		catalog.CanteenInput{Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return ct.ID
}

func (e *env) ticketState(id int64) string {
	e.t.Helper()
	var s string
	if err := e.db.NewRaw("SELECT state FROM tickets WHERE id = ?", id).Scan(context.Background(), &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestKitchenDevices registers a kitchen screen as a device and uses its token: it works
// the tickets and stream of its own canteen only, reaches no admin route, registers no
// device, and stops at once when an admin revokes it — its open stream included.
func TestKitchenDevices(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	a, other := e.ids["canteen"], e.extraCanteen("二号饭堂")
	kitchenTok, adminTok := e.tokens["kitchen"], e.tokens["admin"]

	resp := e.do("POST", "/api/v1/kitchen/devices", kitchenTok, fmt.Sprintf(`{"name":" 热菜档平板 ","canteen_id":%d}`, a))
	raw := []byte(body(resp))
	if resp.StatusCode != 201 {
		t.Fatalf("register: %d %s", resp.StatusCode, raw)
	}
	if diff := cmp.Diff([]string{"canteen_id", "expires_at", "id", "name", "token"}, keysOf(t, raw)); diff != "" {
		t.Fatalf("registration answer keys (-want +got):\n%s", diff)
	}
	var reg auth.DeviceSession
	if err := json.Unmarshal(raw, &reg); err != nil {
		t.Fatal(err)
	}
	if reg.Name != "热菜档平板" || reg.CanteenID != a {
		t.Fatalf("registered %+v", reg)
	}
	if ttl := time.Until(reg.ExpiresAt); ttl < auth.DefaultDeviceTTL-time.Hour || ttl > auth.DefaultDeviceTTL {
		t.Fatalf("device expires in %v, want the default %v", ttl, auth.DefaultDeviceTTL)
	}
	dev := reg.Token
	if n := e.count("SELECT count(*) FROM sessions WHERE token_hash = ? AND kind = 'device' AND device_id = ?", auth.HashToken(dev), reg.ID); n != 1 {
		t.Fatalf("%d device sessions stored under the token's hash, want 1", n)
	}
	if n := e.count("SELECT count(*) FROM sessions WHERE token_hash = ?", []byte(dev)); n != 0 {
		t.Fatal("the raw device token is stored")
	}

	t.Run("me says it is a device of its canteen", func(t *testing.T) {
		var p auth.Principal
		e.mustJSON(e.do("GET", "/api/v1/me", dev, ""), 200, &p)
		want := auth.Principal{Kind: auth.DeviceKind, ID: reg.ID, CommunityID: e.ids["community"], Name: "热菜档平板",
			Roles: []auth.Role{auth.Kitchen}, CanteenIDs: []int64{a}, CanteenID: a}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Fatalf("me (-want +got):\n%s", diff)
		}
	})

	ticket, _ := e.ticket("device-order-01", "")
	t.Run("works its own canteen's tickets", func(t *testing.T) {
		var open struct{ Items []struct{ ID int64 } }
		e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/tickets", a), dev, ""), 200, &open)
		if len(open.Items) != 1 || open.Items[0].ID != ticket {
			t.Fatalf("open tickets %+v, want ticket %d", open.Items, ticket)
		}
		e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/board", a), dev, ""), 200, nil)
		e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/stations", a), dev, ""), 200, nil)
		e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/printers", a), dev, ""), 200, nil)
		for _, step := range []struct{ path, want string }{{"bump", "preparing"}, {"recall", "new"}, {"bump", "preparing"}, {"reprint", "preparing"}} {
			var v struct{ State string }
			e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/kitchen/tickets/%d/%s", ticket, step.path), dev, ""), 200, &v)
			if v.State != step.want {
				t.Fatalf("%s: %s, want %s", step.path, v.State, step.want)
			}
		}
		var who struct{ Kind, Name string }
		if err := e.db.NewRaw("SELECT actor_kind AS kind, actor_name AS name FROM ticket_events WHERE ticket_id = ? ORDER BY id DESC LIMIT 1", ticket).
			Scan(ctx, &who); err != nil || who.Kind != "device" || who.Name != "热菜档平板" {
			t.Fatalf("last move recorded as %+v (%v), want the device", who, err)
		}
	})

	t.Run("another canteen is refused", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			status int
		}{
			{fmt.Sprintf("/api/v1/kitchen/canteens/%d/tickets", other), 403},
			{fmt.Sprintf("/api/v1/kitchen/canteens/%d/board", other), 403},
			{fmt.Sprintf("/api/v1/kitchen/canteens/%d/stations", other), 403},
			{fmt.Sprintf("/api/v1/kitchen/canteens/%d/printers", other), 403},
			{fmt.Sprintf("/api/v1/kitchen/canteens/%d/tickets", e.ids["canteenB"]), 403},
		} {
			r := e.do("GET", c.path, dev, "")
			if b := body(r); r.StatusCode != c.status || problemCode(t, b) != "forbidden" {
				t.Errorf("GET %s as the device: %d %s, want %d", c.path, r.StatusCode, b, c.status)
			}
		}
		// A device of the other canteen, and kitchen staff limited to it, cannot move
		// this canteen's ticket.
		otherDev := e.deviceToken(kitchenTok, other, "二号档电视")
		if _, err := e.authS.CreateStaff(ctx, auth.Principal{Kind: auth.StaffKind, CommunityID: e.ids["community"], Name: "t", Roles: []auth.Role{auth.Admin}},
			auth.StaffInput{Username: "kitchen-other", DisplayName: "二号厨房", Password: password, Roles: []auth.Role{auth.Kitchen}, CanteenIDs: []int64{other}}); err != nil {
			t.Fatal(err)
		}
		scoped := e.login("kitchen-other", password)
		for _, tok := range []string{otherDev, scoped} {
			for _, path := range []string{"bump", "recall", "reprint"} {
				r := e.do("POST", fmt.Sprintf("/api/v1/kitchen/tickets/%d/%s", ticket, path), tok, "")
				if b := body(r); r.StatusCode != 404 || problemCode(t, b) != "ticket_not_found" {
					t.Errorf("%s of another canteen's ticket: %d %s, want 404", path, r.StatusCode, b)
				}
			}
		}
		if s := e.ticketState(ticket); s != "preparing" {
			t.Fatalf("another canteen's caller moved the ticket to %s", s)
		}
		var reprints int
		if err := e.db.NewRaw("SELECT reprints FROM tickets WHERE id = ?", ticket).Scan(ctx, &reprints); err != nil || reprints != 1 {
			t.Fatalf("reprints %d (%v), want 1", reprints, err)
		}
		resp, _ := e.openStream(otherDev, "text/event-stream")
		if resp.StatusCode != 403 {
			t.Fatalf("a device's stream of another canteen: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("no admin routes, no registering, no other accounts", func(t *testing.T) {
		before := e.snapshot()
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/api/v1/kitchen/devices", fmt.Sprintf(`{"name":"再来一台","canteen_id":%d}`, a)},
			{"GET", "/api/v1/admin/devices", ""},
			{"POST", fmt.Sprintf("/api/v1/admin/devices/%d/revoke", reg.ID), ""},
			{"GET", "/api/v1/admin/canteens", ""},
			{"GET", fmt.Sprintf("/api/v1/admin/canteens/%d", a), ""},
			{"GET", "/api/v1/admin/staff", ""},
			{"POST", "/api/v1/admin/staff", `{"username":"sneaky","display_name":"x","password":"0123456789","roles":["admin"]}`},
			{"GET", "/api/v1/admin/audit", ""},
			{"GET", "/api/v1/orders/1", ""},
			{"POST", "/api/v1/orders", "{}"},
		} {
			r := e.do(c.method, c.path, dev, c.body)
			if b := body(r); r.StatusCode != 403 || problemCode(t, b) != "forbidden" {
				t.Errorf("%s %s as a device: %d %s, want 403", c.method, c.path, r.StatusCode, b)
			}
		}
		if diff := snapshotDiff(before, e.snapshot()); diff != "" {
			t.Fatalf("refused device requests changed data: %s", diff)
		}
	})

	t.Run("admin lists devices without tokens", func(t *testing.T) {
		resp := e.do("GET", "/api/v1/admin/devices", adminTok, "")
		raw := []byte(body(resp))
		if resp.StatusCode != 200 {
			t.Fatalf("list: %d %s", resp.StatusCode, raw)
		}
		var list struct{ Devices []json.RawMessage }
		if err := json.Unmarshal(raw, &list); err != nil || len(list.Devices) != 2 {
			t.Fatalf("list %s (%v), want two devices", raw, err)
		}
		if strings.Contains(string(raw), "token") || strings.Contains(string(raw), dev) {
			t.Fatalf("the device list shows a token: %s", raw)
		}
		want := []string{"canteen_id", "created_at", "expires_at", "id", "last_seen_at", "name", "registered_by", "revoked_at"}
		if diff := cmp.Diff(want, keysOf(t, list.Devices[1])); diff != "" {
			t.Fatalf("device keys (-want +got):\n%s", diff)
		}
		var d struct {
			ID           int64 `json:"id"`
			RegisteredBy struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"registered_by"`
			LastSeenAt *time.Time `json:"last_seen_at"`
			RevokedAt  *time.Time `json:"revoked_at"`
		}
		if err := json.Unmarshal(list.Devices[1], &d); err != nil {
			t.Fatal(err)
		}
		if d.ID != reg.ID || d.RegisteredBy.ID != e.ids["staff-kitchen"] || d.RegisteredBy.Name != "用户 kitchen" || d.LastSeenAt == nil || d.RevokedAt != nil {
			t.Fatalf("listed device %s", list.Devices[1])
		}
		// Community B's admin sees none of them.
		var listB struct{ Devices []any }
		e.mustJSON(e.do("GET", "/api/v1/admin/devices", e.tokens["adminB"], ""), 200, &listB)
		if len(listB.Devices) != 0 {
			t.Fatalf("community B sees %d of A's devices", len(listB.Devices))
		}
		if r := e.do("POST", fmt.Sprintf("/api/v1/admin/devices/%d/revoke", reg.ID), e.tokens["adminB"], ""); r.StatusCode != 404 {
			t.Fatalf("community B revoked A's device: %d", r.StatusCode)
		}
	})

	t.Run("revoking ends the token and the open stream at once", func(t *testing.T) {
		resp, events := e.openStream(dev, "text/event-stream")
		if resp.StatusCode != 200 {
			t.Fatalf("device stream: %d", resp.StatusCode)
		}
		if ev := nextEvent(t, events, false); ev.name != "comment" {
			t.Fatalf("first event %+v, want the connected comment", ev)
		}
		var revoked struct {
			ID        int64      `json:"id"`
			RevokedAt *time.Time `json:"revoked_at"`
		}
		e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/admin/devices/%d/revoke", reg.ID), adminTok, ""), 200, &revoked)
		if revoked.ID != reg.ID || revoked.RevokedAt == nil {
			t.Fatalf("revoked %+v", revoked)
		}
		r := e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/tickets", a), dev, "")
		if b := body(r); r.StatusCode != 401 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") || problemCode(t, b) != "session_invalid" {
			t.Fatalf("revoked device: %d %s %s, want 401 problem+json", r.StatusCode, r.Header.Get("Content-Type"), b)
		}
		if ev := nextEvent(t, events, true); ev.name != "EOF" {
			t.Fatalf("event %+v after the device was revoked, want the end of the stream", ev)
		}
		if resp, _ := e.openStream(dev, "text/event-stream"); resp.StatusCode != 401 {
			t.Fatalf("revoked device reopened its stream: %d", resp.StatusCode)
		}
		// Revoking again answers the same device and writes nothing.
		before := e.snapshot()
		var again struct {
			RevokedAt *time.Time `json:"revoked_at"`
		}
		e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/admin/devices/%d/revoke", reg.ID), adminTok, ""), 200, &again)
		if again.RevokedAt == nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
			t.Fatalf("second revoke: revoked_at %v, want %v", again.RevokedAt, revoked.RevokedAt)
		}
		if diff := snapshotDiff(before, e.snapshot()); diff != "" {
			t.Fatalf("a second revoke changed data: %s", diff)
		}
		var rec struct {
			ActorKind string `bun:"actor_kind"`
			ActorID   int64  `bun:"actor_id"`
			Before    string `bun:"before"`
			After     string `bun:"after"`
		}
		if n := e.count("SELECT count(*) FROM audit_log WHERE entity = 'device' AND entity_id = ? AND action = 'revoke'", fmt.Sprint(reg.ID)); n != 1 {
			t.Fatalf("%d revoke audit records, want 1", n)
		}
		if err := e.db.NewRaw("SELECT actor_kind, actor_id, before::text, after::text FROM audit_log WHERE entity = 'device' AND entity_id = ? AND action = 'revoke'",
			fmt.Sprint(reg.ID)).Scan(ctx, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.ActorKind != "staff" || rec.ActorID != e.ids["staff-admin"] || !strings.Contains(rec.Before, `"revoked_at": null`) || strings.Contains(rec.After, `"revoked_at": null`) {
			t.Fatalf("revoke audit %+v", rec)
		}
		if n := e.count("SELECT count(*) FROM audit_log WHERE entity = 'device' AND entity_id = ? AND action = 'create' AND actor_id = ?", fmt.Sprint(reg.ID), e.ids["staff-kitchen"]); n != 1 {
			t.Fatalf("%d create audit records, want 1", n)
		}
	})

	t.Run("logging out on the device revokes it", func(t *testing.T) {
		tok := e.deviceToken(adminTok, a, "收银台旁电视")
		var p auth.Principal
		e.mustJSON(e.do("GET", "/api/v1/me", tok, ""), 200, &p)
		if r := e.do("POST", "/api/v1/auth/logout", tok, ""); r.StatusCode != 204 {
			t.Fatalf("logout: %d %s", r.StatusCode, body(r))
		}
		if r := e.do("GET", "/api/v1/me", tok, ""); r.StatusCode != 401 {
			t.Fatalf("after logout: %d", r.StatusCode)
		}
		var rec struct {
			Revoked   bool   `bun:"revoked"`
			ByNobody  bool   `bun:"by_nobody"`
			ActorKind string `bun:"actor_kind"`
		}
		if err := e.db.NewRaw(`SELECT d.revoked_at IS NOT NULL AS revoked, d.revoked_by IS NULL AS by_nobody, a.actor_kind
			FROM devices d JOIN audit_log a ON a.entity = 'device' AND a.entity_id = d.id::text AND a.action = 'revoke'
			WHERE d.id = ?`, p.ID).Scan(ctx, &rec); err != nil {
			t.Fatal(err)
		}
		if !rec.Revoked || !rec.ByNobody || rec.ActorKind != "device" {
			t.Fatalf("device after logout: %+v", rec)
		}
	})
}

// TestDeviceRegistrationRefusals: bad input and a caller scoped to another canteen are
// refused with problem+json, and nothing is written.
func TestDeviceRegistrationRefusals(t *testing.T) {
	e := newEnv(t, 100)
	a, other := e.ids["canteen"], e.extraCanteen("二号饭堂")
	if _, err := e.authS.CreateStaff(context.Background(), auth.Principal{Kind: auth.StaffKind, CommunityID: e.ids["community"], Name: "t", Roles: []auth.Role{auth.Admin}},
		auth.StaffInput{Username: "kitchen-other", DisplayName: "二号厨房", Password: password, Roles: []auth.Role{auth.Kitchen}, CanteenIDs: []int64{other}}); err != nil {
		t.Fatal(err)
	}
	scoped := e.login("kitchen-other", password)
	before := e.snapshot()
	for _, tc := range []struct {
		name, token, body string
		status            int
		code, field       string
	}{
		{"empty name", e.tokens["kitchen"], fmt.Sprintf(`{"name":"","canteen_id":%d}`, a), 400, "validation_failed", "name"},
		{"blank name", e.tokens["kitchen"], fmt.Sprintf(`{"name":"   ","canteen_id":%d}`, a), 400, "validation_failed", "name"},
		{"long name", e.tokens["kitchen"], fmt.Sprintf(`{"name":%q,"canteen_id":%d}`, strings.Repeat("平", 41), a), 400, "validation_failed", "name"},
		{"control character", e.tokens["kitchen"], fmt.Sprintf(`{"name":"平板\u0007","canteen_id":%d}`, a), 400, "validation_failed", "name"},
		{"no canteen", e.tokens["kitchen"], `{"name":"平板"}`, 400, "validation_failed", "canteen_id"},
		{"unknown canteen", e.tokens["admin"], `{"name":"平板","canteen_id":987654}`, 400, "canteen_not_found", "canteen_id"},
		{"other community's canteen", e.tokens["kitchen"], fmt.Sprintf(`{"name":"平板","canteen_id":%d}`, e.ids["canteenB"]), 400, "canteen_not_found", "canteen_id"},
		{"unknown field", e.tokens["kitchen"], fmt.Sprintf(`{"name":"平板","canteen_id":%d,"token":"mine"}`, a), 400, "unknown_field", "token"},
		{"scoped to another canteen", scoped, fmt.Sprintf(`{"name":"平板","canteen_id":%d}`, a), 403, "device_forbidden", ""},
		{"counter staff", e.tokens["counter"], fmt.Sprintf(`{"name":"平板","canteen_id":%d}`, a), 403, "forbidden", ""},
		{"diner", e.tokens["diner"], fmt.Sprintf(`{"name":"平板","canteen_id":%d}`, a), 403, "forbidden", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/kitchen/devices", tc.token, tc.body)
			raw := body(r)
			if r.StatusCode != tc.status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("%d %s %s, want %d problem+json", r.StatusCode, r.Header.Get("Content-Type"), raw, tc.status)
			}
			var p struct {
				Code   string
				Fields []struct{ Field string }
			}
			if err := json.Unmarshal([]byte(raw), &p); err != nil || p.Code != tc.code {
				t.Fatalf("problem %s, want code %s", raw, tc.code)
			}
			if tc.field != "" && (len(p.Fields) != 1 || p.Fields[0].Field != tc.field) {
				t.Fatalf("problem fields %+v, want %s", p.Fields, tc.field)
			}
		})
	}
	if diff := snapshotDiff(before, e.snapshot()); diff != "" {
		t.Fatalf("refused registrations wrote: %s", diff)
	}
}

// TestDeviceSessionTTL runs the auth service on a clock the test moves: a device session
// lasts exactly its TTL, notes when it was last seen at most once a minute, and is purged
// a day after it ends, its device with it.
func TestDeviceSessionTTL(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	svc := auth.NewService(authdb.New(e.db), nil, nil, auth.Options{DeviceTTL: 48 * time.Hour, BcryptCost: 4, Now: func() time.Time { return now }})
	cook := auth.Principal{Kind: auth.StaffKind, ID: e.ids["staff-kitchen"], CommunityID: e.ids["community"], Name: "用户 kitchen", Roles: []auth.Role{auth.Kitchen}}
	d, err := svc.RegisterDevice(ctx, cook, auth.DeviceInput{Name: "蒸档平板", CanteenID: e.ids["canteen"]})
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(48 * time.Hour); !d.ExpiresAt.Equal(want) {
		t.Fatalf("expires %v, want %v", d.ExpiresAt, want)
	}
	lastSeen := func() time.Time {
		t.Helper()
		var at time.Time
		if err := e.db.NewRaw("SELECT last_seen_at FROM devices WHERE id = ?", d.ID).Scan(ctx, &at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	start := now
	for _, step := range []struct {
		after    time.Duration
		seen     time.Duration // the last_seen_at expected after authenticating, from start
		loggedIn bool
	}{
		{10 * time.Second, 10 * time.Second, true},
		{40 * time.Second, 10 * time.Second, true}, // 30 s later: not written again
		{69 * time.Second, 10 * time.Second, true},
		{70 * time.Second, 70 * time.Second, true}, // a minute later: written
		{48*time.Hour - time.Second, 48*time.Hour - time.Second, true},
		{48 * time.Hour, 48*time.Hour - time.Second, false}, // expired
	} {
		now = start.Add(step.after)
		p, err := svc.Authenticate(ctx, d.Token)
		switch {
		case step.loggedIn && (err != nil || p.Kind != auth.DeviceKind || p.CanteenID != e.ids["canteen"]):
			t.Fatalf("at +%v: %+v %v, want the device", step.after, p, err)
		case !step.loggedIn && !errors.Is(err, auth.ErrNoSession):
			t.Fatalf("at +%v: %+v %v, want ErrNoSession", step.after, p, err)
		}
		if got := lastSeen(); !got.Equal(start.Add(step.seen)) {
			t.Fatalf("at +%v: last seen %v, want %v", step.after, got, start.Add(step.seen))
		}
	}

	// A day after it expired the purge removes it; a live device stays.
	now = start.Add(48 * time.Hour)
	live, err := svc.RegisterDevice(ctx, cook, auth.DeviceInput{Name: "凉菜档平板", CanteenID: e.ids["canteen"]})
	if err != nil {
		t.Fatal(err)
	}
	now = start.Add(48*time.Hour + 23*time.Hour)
	if n, err := svc.PurgeSessions(ctx); err != nil || e.count("SELECT count(*) FROM devices WHERE id = ?", d.ID) != 1 {
		t.Fatalf("purged %d (%v) less than a day after expiry; the device must stay", n, err)
	}
	now = start.Add(48*time.Hour + 25*time.Hour)
	if _, err := svc.PurgeSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count(*) FROM devices WHERE id = ?", d.ID) + e.count("SELECT count(*) FROM sessions WHERE device_id = ?", d.ID); n != 0 {
		t.Fatalf("%d rows of the expired device left after the purge", n)
	}
	if _, err := svc.Authenticate(ctx, live.Token); err != nil {
		t.Fatalf("the live device was purged: %v", err)
	}
}
