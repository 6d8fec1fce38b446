package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/redistest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestDevEndToEnd runs `canteen dev` as a user would, on a fresh database: it
// migrates, seeds the demo community, serves its menu, lets a demo admin and a demo
// diner log in, and shuts down cleanly.
func TestDevEndToEnd(t *testing.T) {
	redistest.New(t)
	dbURL := pgtest.Empty(t)
	addr, fakeAddr, payAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	env := map[string]string{
		"DATABASE_URL":               dbURL,
		"REDIS_URL":                  redistest.URL(),
		"CANTEEN_HTTP_ADDR":          addr,
		"CANTEEN_PUBLIC_URL":         "http://" + addr,
		"CANTEEN_DEV_WECHAT_ADDR":    fakeAddr,
		"CANTEEN_DEV_WECHATPAY_ADDR": payAddr,
		"CANTEEN_SHUTDOWN_TIMEOUT":   "5s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuf
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"dev"}, func(k string) string { return env[k] }, &stdout, &stderr) }()
	base := "http://" + addr
	waitReady(t, base+"/readyz", done, &stderr)

	if err := run(ctx, []string{"healthcheck"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil {
		t.Fatalf("healthcheck against a ready API: %v", err)
	}
	for _, page := range []string{"/m/", "/kitchen/", "/pickup/", "/finance/", "/docs"} {
		resp, err := http.Get(base + page)
		if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("page %s: %v %v", page, err, resp)
		}
		resp.Body.Close()
	}
	if out := stdout.String(); !strings.Contains(out, base+"/docs") || !strings.Contains(out, base+"/finance/") || !strings.Contains(out, "demo-admin") {
		t.Fatalf("banner does not say where to look:\n%s", out)
	}
	var communities struct{ Items []struct{ ID int64 } }
	getJSON(t, base+"/api/v1/communities", &communities)
	if len(communities.Items) != 1 {
		t.Fatalf("communities: %+v", communities)
	}
	cid := communities.Items[0].ID
	var canteens struct{ Items []struct{ ID int64 } }
	getJSON(t, fmt.Sprintf("%s/api/v1/communities/%d/canteens", base, cid), &canteens)
	var menus struct {
		Items []struct {
			Day   string
			Items []struct {
				Name     string
				PriceFen int64 `json:"price_fen"`
			}
		}
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/communities/%d/canteens/%d/menus", base, cid, canteens.Items[0].ID), &menus)
	if len(menus.Items) < 7 || len(menus.Items[0].Items) == 0 || menus.Items[0].Items[0].PriceFen <= 0 {
		t.Fatalf("demo menus: %+v", menus)
	}

	resp, err := http.Post(base+"/api/v1/auth/staff/login", "application/json", strings.NewReader(`{"username":"demo-admin","password":"demo-password"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("demo admin login: %v %v", err, resp)
	}
	resp.Body.Close()

	// A demo diner logs in through the fake WeChat, as the diner page does.
	var code struct{ Code string }
	postJSON(t, "http://"+fakeAddr+"/fake/login-code", `{"openid":"demo-diner"}`, &code)
	var sess struct{ Token string }
	postJSON(t, base+"/api/v1/auth/diner/login", fmt.Sprintf(`{"community_id":%d,"code":%q}`, cid, code.Code), &sess)
	if sess.Token == "" {
		t.Fatal("no diner token")
	}

	// The demo elder (82) sees the 3元 set meal for tomorrow's lunch, and orders it.
	postJSON(t, "http://"+fakeAddr+"/fake/login-code", `{"openid":"demo-elder"}`, &code)
	var elder struct{ Token string }
	postJSON(t, base+"/api/v1/auth/diner/login", fmt.Sprintf(`{"community_id":%d,"code":%q}`, cid, code.Code), &elder)
	var setMeal int64
	tomorrow := civil.Today(time.Now()).AddDays(1).String()
	var all struct {
		Items []struct {
			Day    string
			Period string
			Items  []struct {
				DishID int64 `json:"dish_id"`
				Name   string
			}
		}
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/communities/%d/canteens/%d/menus", base, cid, canteens.Items[0].ID), &all)
	for _, m := range all.Items {
		for _, it := range m.Items {
			if m.Day == tomorrow && m.Period == "lunch" && it.Name == "长者营养套餐" {
				setMeal = it.DishID
			}
		}
	}
	cart := fmt.Sprintf(`{"canteen_id":%d,"day":%q,"period":"lunch","lines":[{"dish_id":%d,"qty":1}]}`, canteens.Items[0].ID, tomorrow, setMeal)
	var quote struct {
		StandardFen int64 `json:"standard_fen"`
		PayFen      int64 `json:"pay_fen"`
	}
	doJSON(t, "POST", base+"/api/v1/quotes", elder.Token, "", cart, 200, &quote)
	if quote.StandardFen != 1200 || quote.PayFen != 300 {
		t.Fatalf("the demo elder's quote: %+v, want 1200 standard and 300 to pay", quote)
	}
	var placed struct {
		ID     int64
		Status string
		PayFen int64 `json:"pay_fen"`
	}
	doJSON(t, "POST", base+"/api/v1/orders", elder.Token, "demo-order-0001", cart, 201, &placed)
	if placed.Status != "pending" || placed.PayFen != 300 {
		t.Fatalf("demo order: %+v", placed)
	}
	// The elder pays 3元 through the demo WeChat Pay; its notification marks the order paid.
	var params struct {
		Package string `json:"package"`
	}
	doJSON(t, "POST", fmt.Sprintf("%s/api/v1/orders/%d/pay", base, placed.ID), elder.Token, "", "", 200, &params)
	prepay := strings.TrimPrefix(params.Package, "prepay_id=")
	if prepay == "" || prepay == params.Package {
		t.Fatalf("pay parameters: %+v", params)
	}
	resp, err = http.Post("http://"+payAddr+"/fake/pay", "application/json",
		strings.NewReader(fmt.Sprintf(`{"out_trade_no":%q}`, intentOf(t, dbURL, placed.ID))))
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("demo pay: %v %v\n%s", err, resp, stderr.String())
	}
	resp.Body.Close()
	var paid struct{ Status string }
	doJSON(t, "GET", fmt.Sprintf("%s/api/v1/orders/%d", base, placed.ID), elder.Token, "", "", 200, &paid)
	if paid.Status != "paid" {
		t.Fatalf("after the demo payment the order is %s", paid.Status)
	}
	// The paid order reaches the kitchen: outbox → relay → task → exactly one ticket.
	deadline := time.Now().Add(20 * time.Second)
	var pickup string
	for pickup == "" && time.Now().Before(deadline) {
		pickup = ticketOf(t, dbURL, placed.ID)
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.HasPrefix(pickup, "A") {
		t.Fatalf("no kitchen ticket for the paid order (pickup %q)\n%s", pickup, stderr.String())
	}
	// The demo canteen's printer is a fake that prints to the log: the ticket comes out there.
	printed := func() bool {
		for line := range strings.Lines(stderr.String()) {
			if strings.Contains(line, "demo printer printed a ticket") && strings.Contains(line, pickup) {
				return true
			}
		}
		return false
	}
	for !printed() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if !printed() {
		t.Fatalf("the demo printer did not print ticket %s\n%s", pickup, stderr.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dev returned %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("dev did not shut down")
	}

	if err := run(context.Background(), []string{"healthcheck"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err == nil {
		t.Fatal("healthcheck passed with the API stopped")
	}

	// Starting again on the same database is idempotent: no second community.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() {
		done2 <- run(ctx2, []string{"dev"}, func(k string) string { return env[k] }, io.Discard, &stderr)
	}()
	waitReady(t, base+"/readyz", done2, &stderr)
	getJSON(t, base+"/api/v1/communities", &communities)
	if len(communities.Items) != 1 {
		t.Fatalf("second start made %d communities", len(communities.Items))
	}
	cancel2()
	if err := <-done2; err != nil {
		t.Fatal(err)
	}
}

func waitReady(t *testing.T, url string, done chan error, logs *syncBuf) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("exited early: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not ready in time\n%s", logs.String())
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func postJSON(t *testing.T, url, body string, out any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func TestBadConfigNamesTheVariable(t *testing.T) {
	env := map[string]string{"CANTEEN_REQUEST_TIMEOUT": "soon"}
	for _, cmd := range []string{"serve", "work", "dev", "config"} {
		err := run(context.Background(), []string{cmd}, func(k string) string { return env[k] }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "CANTEEN_REQUEST_TIMEOUT") {
			t.Errorf("%s: error %v does not name CANTEEN_REQUEST_TIMEOUT", cmd, err)
		}
	}
}

func TestServeRequiresDataKeys(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "CANTEEN_DATA_KEY") {
		t.Fatalf("serve without keys: %v", err)
	}
}

func TestConfigPrintsMasked(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://u:s3cr3t@db/canteen", "CANTEEN_WECHAT_APPID": "wx1", "CANTEEN_WECHAT_SECRET": "topsecret"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"config"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, "s3cr3t") || strings.Contains(s, "topsecret") || !strings.Contains(s, "CANTEEN_WECHAT_APPID=wx1") {
		t.Fatalf("config output:\n%s", s)
	}
}

func TestMigrateStatusUpDown(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.Empty(t)}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "status"}, {"migrate", "down"}, {"migrate", "up"}} {
		out.Reset()
		if err := run(context.Background(), args, getenv, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if err := run(context.Background(), []string{"migrate", "status"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "applied") {
		t.Fatalf("status after up:\n%s", out.String())
	}
	if err := run(context.Background(), []string{"migrate", "sideways"}, getenv, &out, io.Discard); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
}

func doJSON(t *testing.T, method, url, token, idemKey, body string, status int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

// intentOf reads the out_trade_no WeChat Pay knows the order by.
func intentOf(t *testing.T, dbURL string, orderID int64) string {
	t.Helper()
	db, err := postgres.Open(context.Background(), dbURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var no string
	if err := db.NewRaw("SELECT out_trade_no FROM payment_intents WHERE order_id = ? AND status = 'open'", orderID).Scan(context.Background(), &no); err != nil {
		t.Fatal(err)
	}
	return no
}

// ticketOf reads the pickup number of the order's ticket, "" while there is none.
func ticketOf(t *testing.T, dbURL string, orderID int64) string {
	t.Helper()
	db, err := postgres.Open(context.Background(), dbURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var nos []string
	if err := db.NewRaw("SELECT pickup_no FROM tickets WHERE order_id = ?", orderID).Scan(context.Background(), &nos); err != nil {
		t.Fatal(err)
	}
	if len(nos) > 1 {
		t.Fatalf("order %d has %d tickets", orderID, len(nos))
	}
	if len(nos) == 0 {
		return ""
	}
	return nos[0]
}
