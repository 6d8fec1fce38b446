package httpapi_test

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t, 100)
	if r := e.do("GET", "/healthz", "", ""); r.StatusCode != 200 {
		t.Fatalf("healthz: %d", r.StatusCode)
	}
	r := e.do("GET", "/readyz", "", "")
	if raw := body(r); r.StatusCode != 200 || !strings.Contains(raw, `"ready":true`) {
		t.Fatalf("readyz: %d %s", r.StatusCode, raw)
	}
	e.migrationsErr = errors.New("1 pending: [000003_next]")
	r = e.do("GET", "/readyz", "", "")
	if raw := body(r); r.StatusCode != 503 || !strings.Contains(raw, "000003_next") {
		t.Fatalf("readyz with a pending migration: %d %s", r.StatusCode, raw)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, 100)
	e.do("GET", "/api/v1/communities", "", "")
	e.do("GET", "/api/v1/admin/dishes/abc", e.tokens["admin"], "")
	raw := body(e.do("GET", "/metrics", "", ""))
	for _, want := range []string{
		`canteen_http_request_duration_seconds_bucket{method="GET",route="/api/v1/communities",status="200"`,
		`canteen_http_request_duration_seconds_count{method="GET",route="/api/v1/admin/dishes/:id",status="400"}`,
		`go_sql_max_open_connections{db_name="canteen"}`,
		`canteen_queue_tasks{queue="critical",state="pending"}`,
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestRequestIDs(t *testing.T) {
	e := newEnv(t, 100)
	req := httptest.NewRequest("GET", "/api/v1/admin/dishes/abc", nil)
	req.Header.Set("X-Request-ID", "client-chose-this-1")
	req.Header.Set("Authorization", "Bearer "+e.tokens["admin"])
	resp, err := e.app.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("X-Request-ID") != "client-chose-this-1" || !strings.Contains(string(raw), `"request_id":"client-chose-this-1"`) {
		t.Fatalf("request id not carried: %v %s", resp.Header, raw)
	}
	req = httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set("X-Request-ID", "bad id\nwith newline")
	resp, _ = e.app.Test(req, 5000)
	if id := resp.Header.Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("a malformed request id was echoed: %q", id)
	}
}

func TestQueueMonitorNeedsAdmin(t *testing.T) {
	e := newEnv(t, 100)
	basic := func(user string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	}
	get := func(auth, cookie string) (int, string) {
		req := httptest.NewRequest("GET", "/admin/asynq/", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := e.app.Test(req, 10000)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Set-Cookie")
	}
	if code, _ := get("", ""); code != 401 {
		t.Fatalf("no login: %d", code)
	}
	if code, _ := get("Basic "+base64.StdEncoding.EncodeToString([]byte("user-admin:wrong-password")), ""); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code, _ := get(basic("user-kitchen"), ""); code != 403 {
		t.Fatalf("kitchen: %d", code)
	}
	code, setCookie := get(basic("user-admin"), "")
	if code != 200 || !strings.Contains(setCookie, "HttpOnly") || !strings.Contains(setCookie, "path=/admin") {
		t.Fatalf("admin: %d, cookie %q", code, setCookie)
	}
	if code, _ := get("", strings.SplitN(setCookie, ";", 2)[0]); code != 200 {
		t.Fatalf("admin with the session cookie: %d", code)
	}
}
