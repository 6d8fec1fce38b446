package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/kitchendb"
	"github.com/canteen-oss/canteen/internal/printer/printerfake"
)

// printerKeys are the fields of a printer as the kitchen screen reads it, and no others.
var printerKeys = []string{"address", "canteen_id", "enabled", "id", "last_error", "last_failed_at", "last_ok_at",
	"name", "station_id", "status", "unprinted"}

type printerJSON struct {
	ID           int64      `json:"id"`
	CanteenID    int64      `json:"canteen_id"`
	StationID    *int64     `json:"station_id"`
	Name         string     `json:"name"`
	Address      string     `json:"address"`
	Enabled      bool       `json:"enabled"`
	Status       string     `json:"status"`
	LastError    string     `json:"last_error"`
	LastOKAt     *time.Time `json:"last_ok_at"`
	LastFailedAt *time.Time `json:"last_failed_at"`
	Unprinted    int        `json:"unprinted"`
}

// printerObjectKeys returns the sorted keys of a JSON object.
func printerObjectKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// printers lists the seeded canteen's printers as the kitchen screen does, checking the
// shape of every item.
func (e *env) printers() []printerJSON {
	e.t.Helper()
	resp := e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/printers", e.ids["canteen"]), e.tokens["kitchen"], "")
	raw := body(resp)
	if resp.StatusCode != 200 {
		e.t.Fatalf("list printers: %d %s", resp.StatusCode, raw)
	}
	var out struct {
		Printers []json.RawMessage `json:"printers"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil || out.Printers == nil || !slices.Equal(printerObjectKeys(e.t, []byte(raw)), []string{"printers"}) {
		e.t.Fatalf("list printers: %s", raw)
	}
	ps := make([]printerJSON, len(out.Printers))
	for i, item := range out.Printers {
		if keys := printerObjectKeys(e.t, item); !slices.Equal(keys, printerKeys) {
			e.t.Fatalf("printer fields %v; want %v", keys, printerKeys)
		}
		if err := json.Unmarshal(item, &ps[i]); err != nil {
			e.t.Fatal(err)
		}
	}
	return ps
}

// printerProblemField returns the first field named by a problem+json answer of status,
// or its code when it names none.
func printerProblemField(t *testing.T, status int, raw string) string {
	t.Helper()
	code, field := problemCodeField(t, status, raw)
	if field == "" {
		return code
	}
	return field
}

// TestPrinterAdmin adds and changes printers over HTTP: the answers keep the screen's
// shape, bad input is refused naming the field, another community's canteen and printer
// are not found, and every change is audited.
func TestPrinterAdmin(t *testing.T) {
	e := newEnv(t, 100)
	admin := e.tokens["admin"]
	base := fmt.Sprintf("/api/v1/admin/canteens/%d/printers", e.ids["canteen"])
	if ps := e.printers(); len(ps) != 0 {
		t.Fatalf("printers before any was added: %+v", ps)
	}
	resp := e.do("POST", base, admin, `{"name":"后厨打印机","address":"192.168.1.50"}`)
	raw := body(resp)
	if resp.StatusCode != 201 || !slices.Equal(printerObjectKeys(t, []byte(raw)), printerKeys) {
		t.Fatalf("create: %d %s", resp.StatusCode, raw)
	}
	var p printerJSON
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatal(err)
	}
	if p.Address != "192.168.1.50:9100" || p.Status != "unknown" || !p.Enabled || p.StationID != nil || p.CanteenID != e.ids["canteen"] ||
		p.LastOKAt != nil || p.LastFailedAt != nil || p.LastError != "" || p.Unprinted != 0 {
		t.Fatalf("new printer %+v", p)
	}

	var station int64
	if err := e.db.NewRaw("INSERT INTO kitchen_stations (community_id, canteen_id, name, categories) VALUES (?, ?, '炒锅', '{荤菜}') RETURNING id",
		e.ids["community"], e.ids["canteen"]).Scan(context.Background(), &station); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, token, body string
		status                  int
		field                   string
	}{
		{"port out of range", base, admin, `{"name":"a","address":"192.168.1.50:70000"}`, 400, "address"},
		{"port zero", base, admin, `{"name":"a","address":"printer.local:0"}`, 400, "address"},
		{"not host:port", base, admin, `{"name":"a","address":"tcp://printer"}`, 400, "address"},
		{"no address", base, admin, `{"name":"a"}`, 400, "address"},
		{"unknown station", base, admin, `{"name":"a","address":"10.0.0.1","station_id":987654}`, 400, "station_id"},
		{"station of a wrong type", base, admin, `{"name":"a","address":"10.0.0.1","station_id":"wok"}`, 400, "station_id"},
		{"unknown field", base, admin, `{"name":"a","address":"10.0.0.1","ip":"x"}`, 400, "ip"},
		{"same name", base, admin, `{"name":"后厨打印机","address":"10.0.0.2"}`, 409, "name"},
		{"another community's canteen", fmt.Sprintf("/api/v1/admin/canteens/%d/printers", e.ids["canteenB"]), admin,
			`{"name":"a","address":"10.0.0.1"}`, 404, "canteen_not_found"},
		{"kitchen staff may not add", base, e.tokens["kitchen"], `{"name":"a","address":"10.0.0.1"}`, 403, "forbidden"},
		{"patch: bad address", fmt.Sprintf("/api/v1/admin/printers/%d", p.ID), admin, `{"address":"10.0.0.1:65536"}`, 400, "address"},
		{"patch: bad station", fmt.Sprintf("/api/v1/admin/printers/%d", p.ID), admin, `{"station_id":-3}`, 400, "station_id"},
		{"patch: another community", fmt.Sprintf("/api/v1/admin/printers/%d", p.ID), e.tokens["adminB"], `{"name":"x"}`, 404, "printer_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", tc.path, tc.token, tc.body)
			if strings.Contains(tc.path, "/admin/printers/") {
				resp = e.do("PATCH", tc.path, tc.token, tc.body)
			}
			raw := body(resp)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("%d %s %s; want %d problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), raw, tc.status)
			}
			if got := printerProblemField(t, resp.StatusCode, raw); got != tc.field {
				t.Fatalf("problem names %q; want %q: %s", got, tc.field, raw)
			}
		})
	}

	var up printerJSON
	e.mustJSON(e.do("PATCH", fmt.Sprintf("/api/v1/admin/printers/%d", p.ID), admin,
		fmt.Sprintf(`{"station_id":%d,"enabled":false,"address":"10.0.0.9:9101"}`, station)), 200, &up)
	if up.StationID == nil || *up.StationID != station || up.Enabled || up.Address != "10.0.0.9:9101" || up.Name != "后厨打印机" {
		t.Fatalf("patched %+v", up)
	}
	e.mustJSON(e.do("PATCH", fmt.Sprintf("/api/v1/admin/printers/%d", p.ID), admin, `{"station_id":null}`), 200, &up)
	if up.StationID != nil || up.Enabled {
		t.Fatalf("after station_id null: %+v; want a whole-ticket printer, still disabled", up)
	}
	if ps := e.printers(); len(ps) != 1 || ps[0] != up {
		t.Fatalf("list %+v; want the patched printer %+v", ps, up)
	}
	var actions []string
	if err := e.db.NewRaw("SELECT action FROM audit_log WHERE entity = 'printer' AND entity_id = ? ORDER BY id",
		fmt.Sprint(p.ID)).Scan(context.Background(), &actions); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(actions, []string{"create", "update", "update"}) {
		t.Fatalf("audit %v; want create and two updates", actions)
	}
}

// TestPrinterDownAndBack prints the elder's ticket on a fake network printer that refuses
// connections: the print fails for a retry, the printer shows down with its error and one
// unprinted ticket, and the screen's stream says so; once the printer is back the next
// print goes through once, marked 优先, and the printer is ok again.
func TestPrinterDownAndBack(t *testing.T) {
	e := newEnv(t, 100)
	fp, err := printerfake.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	var p printerJSON
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/admin/canteens/%d/printers", e.ids["canteen"]), e.tokens["admin"],
		fmt.Sprintf(`{"name":"后厨","address":%q}`, fp.Addr())), 201, &p)

	_, events := e.openStream(e.tokens["kitchen"], "text/event-stream")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kitchendb.ListenWithPrinters(ctx, e.dsn, e.hub.Publish, e.hub.PublishPrinter)
	}()
	defer func() { cancel(); <-done }()
	nextPrinter := func() printerJSON {
		t.Helper()
		for {
			ev := nextEvent(t, events, true)
			switch ev.name {
			case "EOF":
				t.Fatal("the stream ended")
			case "printer":
				var got printerJSON
				if err := json.Unmarshal([]byte(ev.data), &got); err != nil || !slices.Equal(printerObjectKeys(t, []byte(ev.data)), printerKeys) {
					t.Fatalf("printer event %s", ev.data)
				}
				return got
			}
		}
	}
	if ev := nextEvent(t, events, true); ev.name != "reload" { // the listener is connected
		t.Fatalf("event %+v; want reload", ev)
	}

	if err := fp.SetMode(printerfake.Refuse); err != nil {
		t.Fatal(err)
	}
	ticket, pickup := e.ticket("printer-order-01", "")
	if err := e.prS.Print(context.Background(), e.ids["community"], ticket, 0); err == nil {
		t.Fatal("printing on a printer that refuses connections succeeded")
	}
	ps := e.printers()
	if len(ps) != 1 || ps[0].Status != "down" || ps[0].LastError == "" || ps[0].LastFailedAt == nil || ps[0].Unprinted != 1 {
		t.Fatalf("printers after the failure %+v; want down with its error and 1 unprinted", ps)
	}
	if ev := nextPrinter(); ev.ID != p.ID || ev.Status != "down" || ev.LastError != ps[0].LastError || ev.Unprinted != 1 {
		t.Fatalf("printer event %+v; want printer %d down", ev, p.ID)
	}

	if err := fp.SetMode(printerfake.Print); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.prS.Print(context.Background(), e.ids["community"], ticket, 0); err != nil {
			t.Fatalf("print after the printer came back: %v", err)
		}
	}
	if ev := nextPrinter(); ev.Status != "ok" || ev.LastOKAt == nil || ev.Unprinted != 0 {
		t.Fatalf("printer event %+v; want ok with nothing unprinted", ev)
	}
	texts := fp.Texts()
	if len(texts) != 1 || !strings.Contains(texts[0], pickup+"\n") || !strings.Contains(texts[0], "优先") || !strings.Contains(texts[0], "2 × 红烧肉") {
		t.Fatalf("printed %q; want the ticket %s once, marked 优先", texts, pickup)
	}
	for _, word := range []string{"特困", "张阿婆", "老年", "tekun"} {
		if strings.Contains(texts[0], word) {
			t.Fatalf("the printout says %q: %s", word, texts[0])
		}
	}

	// A reprint from the screen prints again, marked as such.
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/kitchen/tickets/%d/reprint", ticket), e.tokens["kitchen"], ""), 200, nil)
	if err := e.prS.Print(context.Background(), e.ids["community"], ticket, 1); err != nil {
		t.Fatal(err)
	}
	if texts := fp.Texts(); len(texts) != 2 || !strings.Contains(texts[1], "重打 #1") || strings.Contains(texts[0], "重打") {
		t.Fatalf("printed %q; want a second printout marked 重打 #1", texts)
	}
}

// TestElderPriorityOnTickets: the seeded elder's ticket is served first; a rider's, priced
// with the rider subsidy, and an ordinary diner's are not. The screen sees the flag and
// nothing of why.
func TestElderPriorityOnTickets(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	riderToken, riderID := e.dinerLogin("openid-rider-1")
	rider, err := e.eligS.ApplyWorker(ctx, eligibility.Scope{CommunityID: e.ids["community"], Actor: audit.Actor{Kind: audit.Diner, ID: riderID, Name: "rider"}},
		riderID, eligibility.WorkerApplication{Name: "王骑手", Platform: "美团", WorkerID: "MT-2201", ProofRef: "upload/mt-2201.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	rev := eligibility.Scope{CommunityID: e.ids["community"], Reviewer: true,
		Actor: audit.Actor{Kind: audit.Staff, ID: e.ids["staff-"+string(auth.Reviewer)], Name: "审核员"}}
	if _, err := e.eligS.Approve(ctx, rev, rider.ID, civilToday(), civilToday().AddDays(180)); err != nil {
		t.Fatal(err)
	}

	paid := func(token, key string) int64 {
		t.Helper()
		status, raw := e.placeOrder(token, key, e.lunchCart(1, ""))
		var o struct {
			ID         int64 `json:"id"`
			SubsidyFen int64 `json:"subsidy_fen"`
		}
		if err := json.Unmarshal([]byte(raw), &o); status != 201 || err != nil {
			t.Fatalf("place: %d %s", status, raw)
		}
		e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", o.ID), token, ""), 200, nil)
		if err := e.payFake.Pay(e.outTradeNo(o.ID)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.kitS.CreateTicket(ctx, e.ids["community"], o.ID); err != nil {
			t.Fatal(err)
		}
		if key == "rider-order-01" && o.SubsidyFen == 0 {
			t.Fatalf("the rider's order had no subsidy: %s", raw)
		}
		return o.ID
	}
	elder, _ := e.paidElderOrder("elder-order-01")
	if _, _, err := e.kitS.CreateTicket(ctx, e.ids["community"], elder); err != nil {
		t.Fatal(err)
	}
	riderOrder := paid(riderToken, "rider-order-01")
	general := paid(e.tokens["diner"], "general-order-01")

	resp := e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/tickets", e.ids["canteen"]), e.tokens["kitchen"], "")
	raw := body(resp)
	var open struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(raw), &open); err != nil || resp.StatusCode != 200 {
		t.Fatalf("open tickets: %d %s", resp.StatusCode, raw)
	}
	want := map[int64]string{elder: "true", riderOrder: "false", general: "false"}
	for _, item := range open.Items {
		var orderID int64
		_ = json.Unmarshal(item["order_id"], &orderID)
		if got := string(item["elder_priority"]); got != want[orderID] {
			t.Errorf("order %d: elder_priority %s; want %s", orderID, got, want[orderID])
		}
		delete(want, orderID)
	}
	if len(want) != 0 {
		t.Fatalf("tickets missing for orders %v: %s", want, raw)
	}
	for _, word := range []string{"elderly", "worker", "tekun", "subsidy", "美团"} {
		if strings.Contains(raw, word) {
			t.Fatalf("the screen's tickets say %q: %s", word, raw)
		}
	}
}
