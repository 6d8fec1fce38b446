package kitchendb_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/kitchen"
)

// device is a printer fleet in memory: it keeps what each address printed and fails the
// addresses in down.
type device struct {
	mu      sync.Mutex
	printed map[string][]kitchen.Printout
	down    map[string]bool
}

func (d *device) Print(_ context.Context, address string, p kitchen.Printout) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down[address] {
		return apperr.New(apperr.Transient, "printer_unreachable", "连不上打印机 / cannot connect to the printer")
	}
	if d.printed == nil {
		d.printed = map[string][]kitchen.Printout{}
	}
	d.printed[address] = append(d.printed[address], p)
	return nil
}

func (d *device) on(address string) []kitchen.Printout {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.printed[address]
}

func (d *device) setDown(address string, down bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down == nil {
		d.down = map[string]bool{}
	}
	d.down[address] = down
}

// lunchDay is the day of the fixture's orders, as the printers' clock sees it.
var lunchDay = time.Date(2026, 11, 28, 11, 0, 0, 0, time.FixedZone("CST", 8*3600))

func (f *fixture) printers(d *device) *kitchen.Printers {
	return kitchen.NewPrinters(f.store, d, func() time.Time { return lunchDay })
}

// lunchTicket makes the ticket of a new paid dine-in lunch order in c.
func (f *fixture) lunchTicket(c *canteen) kitchen.Ticket {
	f.t.Helper()
	tk, _, err := f.svc.CreateTicket(f.ctx, c.community, f.order(c, "lunch", "paid", "dine_in", false))
	if err != nil {
		f.t.Fatal(err)
	}
	return tk
}

var admin = kitchen.Scope{Actor: audit.Actor{Kind: audit.Staff, ID: 1, Name: "管理员"}}

func (f *fixture) addPrinter(svc *kitchen.Printers, c *canteen, name, address string, station int64) kitchen.Printer {
	f.t.Helper()
	sc := admin
	sc.CommunityID = c.community
	p, err := svc.Create(f.ctx, sc, c.id, kitchen.PrinterInput{Name: name, Address: address, StationID: station})
	if err != nil {
		f.t.Fatalf("add printer %s: %v", name, err)
	}
	return p
}

// TestPrintJobsFollowPrintersAndStations creates tickets in a canteen with a whole-ticket
// printer, a wok station printer, a cold-dish printer that is disabled and a printer of
// another canteen: each ticket gets a job on exactly the printers with lines of it, and one
// outbox row; a reprint gets a second generation; a canteen without printers gets nothing.
func TestPrintJobsFollowPrintersAndStations(t *testing.T) {
	f := newFixture(t)
	c, bare := f.canteen(), f.canteen()
	var wok, cold, steam int64
	f.scan("INSERT INTO kitchen_stations (community_id, canteen_id, name, categories) VALUES (?, ?, '炒锅', '{hot}') RETURNING id", &wok, c.community, c.id)
	f.scan("INSERT INTO kitchen_stations (community_id, canteen_id, name, categories) VALUES (?, ?, '凉菜', '{cold}') RETURNING id", &cold, c.community, c.id)
	f.scan("INSERT INTO kitchen_stations (community_id, canteen_id, name, categories) VALUES (?, ?, '蒸档', '{steamed}') RETURNING id", &steam, c.community, c.id)
	d := &device{}
	svc := f.printers(d)
	whole := f.addPrinter(svc, c, "前台整单", "10.0.0.1", 0)
	wokP := f.addPrinter(svc, c, "炒锅打印机", "10.0.0.2:9100", wok)
	coldP := f.addPrinter(svc, c, "凉菜打印机", "10.0.0.3:9100", cold)
	steamP := f.addPrinter(svc, c, "蒸档打印机", "10.0.0.4:9100", steam) // no steamed dish on the tickets
	sc := kitchen.Scope{CommunityID: c.community, Actor: admin.Actor}
	off := false
	if _, err := svc.Update(f.ctx, sc, coldP.ID, kitchen.PrinterPatch{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if whole.Address != "10.0.0.1:9100" || whole.Status != kitchen.PrinterUnknown || !whole.Enabled {
		t.Fatalf("new printer %+v; want address with port 9100, unknown, enabled", whole)
	}

	tk := f.lunchTicket(c)
	var jobs []struct {
		PrinterID  int64 `bun:"printer_id"`
		Generation int   `bun:"generation"`
	}
	f.scan("SELECT printer_id, generation FROM print_jobs WHERE ticket_id = ? ORDER BY printer_id", &jobs, tk.ID)
	if len(jobs) != 2 || jobs[0].PrinterID != whole.ID || jobs[1].PrinterID != wokP.ID || jobs[0].Generation != 0 {
		t.Fatalf("jobs %+v; want generation 0 on printers %d (whole) and %d (wok) only, not %d (disabled) or %d (no lines)",
			jobs, whole.ID, wokP.ID, coldP.ID, steamP.ID)
	}
	var payloads []string
	f.scan("SELECT payload::text FROM outbox WHERE topic = ? ORDER BY id", &payloads, kitchen.TopicPrint)
	var ev kitchen.PrintEvent
	if len(payloads) != 1 || json.Unmarshal([]byte(payloads[0]), &ev) != nil || ev != (kitchen.PrintEvent{TicketID: tk.ID, CanteenID: c.id}) {
		t.Fatalf("print outbox rows %v; want one for ticket %d generation 0", payloads, tk.ID)
	}

	if _, err := f.svc.Reprint(f.ctx, sc, tk.ID); err != nil {
		t.Fatal(err)
	}
	f.scan("SELECT printer_id, generation FROM print_jobs WHERE ticket_id = ? AND generation = 1 ORDER BY printer_id", &jobs, tk.ID)
	f.scan("SELECT payload::text FROM outbox WHERE topic = ? ORDER BY id", &payloads, kitchen.TopicPrint)
	if len(jobs) != 2 || len(payloads) != 2 {
		t.Fatalf("after a reprint: jobs %+v, outbox %v; want generation 1 on both printers and a second row", jobs, payloads)
	}

	// A canteen with no printers: no job, no outbox row, and printing its ticket does nothing.
	other, _, err := f.svc.CreateTicket(f.ctx, bare.community, f.order(bare, "lunch", "paid", "dine_in", false))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	f.scan("SELECT count(*) FROM outbox o WHERE o.topic = ? AND o.community_id = ?", &n, kitchen.TopicPrint, bare.community)
	if n != 0 {
		t.Fatalf("%d print rows for a canteen without printers", n)
	}
	if err := svc.Print(f.ctx, bare.community, other.ID, 0); err != nil {
		t.Fatalf("printing in a canteen without printers: %v", err)
	}

	// Printing: the whole ticket on the front printer, only the wok's line on the wok printer.
	if err := svc.Print(f.ctx, c.community, tk.ID, 0); err != nil {
		t.Fatal(err)
	}
	front, atWok := d.on("10.0.0.1:9100"), d.on("10.0.0.2:9100")
	if len(front) != 1 || len(front[0].Lines) != 2 || front[0].Station != "" || front[0].Canteen != "K" || front[0].Reprint != 0 {
		t.Fatalf("whole-ticket printer got %+v", front)
	}
	if len(atWok) != 1 || len(atWok[0].Lines) != 1 || atWok[0].Lines[0].Name != "红烧肉" || atWok[0].Station != "炒锅" {
		t.Fatalf("wok printer got %+v; want only 红烧肉, headed 炒锅", atWok)
	}
	if front[0].StationNames[wok] != "炒锅" || front[0].Lines[1].StationID != cold {
		t.Fatalf("whole-ticket printout names stations %v, lines %+v", front[0].StationNames, front[0].Lines)
	}
	if got := d.on("10.0.0.3:9100"); len(got) != 0 {
		t.Fatalf("the disabled printer printed %+v", got)
	}
}

// TestPrintRecordsOutcomesAndStatus runs a print through a printer that is down, then up:
// the failure is kept on the job and the printer, Unprinted counts the ticket, and once it
// prints the printer is ok, the job printed, and printing again sends nothing.
func TestPrintRecordsOutcomesAndStatus(t *testing.T) {
	f := newFixture(t)
	c := f.canteen()
	d := &device{}
	svc := f.printers(d)
	p := f.addPrinter(svc, c, "后厨", "printer.local:9100", 0)
	tk := f.lunchTicket(c)
	d.setDown(p.Address, true)
	err := svc.Print(f.ctx, c.community, tk.ID, 0)
	if !errors.Is(err, kitchen.ErrPrinterUnavailable) || apperr.KindOf(err) != apperr.Transient {
		t.Fatalf("print on a printer that is down: %v; want the Transient ErrPrinterUnavailable", err)
	}
	got, err := svc.Get(f.ctx, c.community, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != kitchen.PrinterDown || got.LastError == "" || got.LastFailedAt == nil || got.LastOKAt != nil || got.Unprinted != 1 {
		t.Fatalf("printer after a failure %+v; want down, with the error, failed_at, 1 unprinted", got)
	}
	var attempts int
	var lastError string
	f.scan("SELECT attempts FROM print_jobs WHERE ticket_id = ?", &attempts, tk.ID)
	f.scan("SELECT last_error FROM print_jobs WHERE ticket_id = ?", &lastError, tk.ID)
	if attempts != 1 || lastError != got.LastError {
		t.Fatalf("job attempts %d, error %q; want 1 and the printer's %q", attempts, lastError, got.LastError)
	}

	d.setDown(p.Address, false)
	for range 2 { // the task may run again after it succeeded: nothing is sent twice
		if err := svc.Print(f.ctx, c.community, tk.ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(d.on(p.Address)); n != 1 {
		t.Fatalf("printed %d times; want once", n)
	}
	got, _ = svc.Get(f.ctx, c.community, p.ID)
	if got.Status != kitchen.PrinterOK || got.LastOKAt == nil || got.Unprinted != 0 || got.LastError == "" {
		t.Fatalf("printer after it came back %+v; want ok, ok_at set, nothing unprinted, the last error kept", got)
	}
	list, err := svc.List(f.ctx, c.community, c.id)
	if err != nil || len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("list %+v, %v", list, err)
	}
}

// TestConcurrentPrintsSendEachJobOnce runs eight prints of one ticket at once: each
// printer gets it exactly once, and the runs that found it taken say so (ErrPrinterBusy)
// so their task retries rather than counting a print it did not see through.
func TestConcurrentPrintsSendEachJobOnce(t *testing.T) {
	f := newFixture(t)
	c := f.canteen()
	d := &device{}
	svc := f.printers(d)
	f.addPrinter(svc, c, "一号", "10.1.0.1", 0)
	f.addPrinter(svc, c, "二号", "10.1.0.2", 0)
	tk := f.lunchTicket(c)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = svc.Print(f.ctx, c.community, tk.ID, 0) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, kitchen.ErrPrinterBusy) {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	for _, addr := range []string{"10.1.0.1:9100", "10.1.0.2:9100"} {
		if n := len(d.on(addr)); n != 1 {
			t.Fatalf("%s printed %d times; want once", addr, n)
		}
	}
}

// TestPrinterValidationAndTenancy refuses bad names, addresses and stations, a duplicate
// name, another community's canteen and printer, and records every change in the audit log.
func TestPrinterValidationAndTenancy(t *testing.T) {
	f := newFixture(t)
	c, other := f.canteen(), f.canteen()
	var foreignStation int64
	f.scan("INSERT INTO kitchen_stations (community_id, canteen_id, name) VALUES (?, ?, '别家') RETURNING id", &foreignStation, other.community, other.id)
	svc := f.printers(&device{})
	sc := kitchen.Scope{CommunityID: c.community, Actor: admin.Actor}
	for _, tc := range []struct {
		name  string
		in    kitchen.PrinterInput
		field string
	}{
		{"empty name", kitchen.PrinterInput{Name: " ", Address: "10.0.0.1:9100"}, "name"},
		{"port 0", kitchen.PrinterInput{Name: "a", Address: "10.0.0.1:0"}, "address"},
		{"port too big", kitchen.PrinterInput{Name: "a", Address: "10.0.0.1:65536"}, "address"},
		{"a URL", kitchen.PrinterInput{Name: "a", Address: "http://10.0.0.1:9100"}, "address"},
		{"bare IPv6", kitchen.PrinterInput{Name: "a", Address: "fe80::1"}, "address"},
		{"empty", kitchen.PrinterInput{Name: "a", Address: ""}, "address"},
		{"another canteen's station", kitchen.PrinterInput{Name: "a", Address: "10.0.0.1", StationID: foreignStation}, "station_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Create(f.ctx, sc, c.id, tc.in)
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.Invalid || len(ae.Fields) != 1 || ae.Fields[0].Field != tc.field {
				t.Fatalf("Create(%+v) = %v; want Invalid naming %s", tc.in, err, tc.field)
			}
		})
	}
	if _, err := svc.Create(f.ctx, sc, other.id, kitchen.PrinterInput{Name: "a", Address: "10.0.0.1"}); !errors.Is(err, catalog.ErrCanteenNotFound) {
		t.Fatalf("a printer for another community's canteen: %v; want canteen_not_found", err)
	}
	p, err := svc.Create(f.ctx, sc, c.id, kitchen.PrinterInput{Name: "后厨", Address: "[fe80::1]:9101"})
	if err != nil || p.Address != "[fe80::1]:9101" {
		t.Fatalf("IPv6 printer %+v, %v", p, err)
	}
	if _, err := svc.Create(f.ctx, sc, c.id, kitchen.PrinterInput{Name: "后厨", Address: "10.0.0.9"}); !errors.Is(err, kitchen.ErrPrinterNameTaken) {
		t.Fatalf("duplicate name: %v", err)
	}
	foreign := kitchen.Scope{CommunityID: other.community, Actor: admin.Actor}
	name := "改名"
	if _, err := svc.Update(f.ctx, foreign, p.ID, kitchen.PrinterPatch{Name: &name}); !errors.Is(err, kitchen.ErrPrinterNotFound) {
		t.Fatalf("another community's admin changed the printer: %v", err)
	}
	f.exec("UPDATE kitchen_printers SET status = 'ok' WHERE id = ?", p.ID)
	addr := "10.0.0.7"
	up, err := svc.Update(f.ctx, sc, p.ID, kitchen.PrinterPatch{Name: &name, Address: &addr})
	if err != nil || up.Name != "改名" || up.Address != "10.0.0.7:9100" || up.Status != kitchen.PrinterUnknown {
		t.Fatalf("update %+v, %v; want renamed, new address, status unknown again", up, err)
	}
	var actions []string
	f.scan("SELECT action FROM audit_log WHERE entity = 'printer' AND entity_id = ? ORDER BY id", &actions, itoa(p.ID))
	if !slices.Equal(actions, []string{"create", "update"}) {
		t.Fatalf("audit of the printer %v; want create, update", actions)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRedriveLostPrints: a print whose task was lost is printed by the re-drive once it has
// waited three minutes; one a task is still retrying, one printed and one from long ago are
// left alone.
func TestRedriveLostPrints(t *testing.T) {
	f := newFixture(t)
	c := f.canteen()
	d := &device{}
	svc := f.printers(d)
	p := f.addPrinter(svc, c, "后厨", "10.2.0.1", 0)
	ticket := func() int64 { return f.lunchTicket(c).ID }
	lost, retrying, printed, old, fresh := ticket(), ticket(), ticket(), ticket(), ticket()
	f.exec("UPDATE print_jobs SET created_at = now() - interval '5 minutes' WHERE ticket_id IN (?, ?, ?)", lost, retrying, printed)
	f.exec("UPDATE print_jobs SET last_attempt_at = now() - interval '30 seconds' WHERE ticket_id = ?", retrying)
	if err := svc.Print(f.ctx, c.community, printed, 0); err != nil {
		t.Fatal(err)
	}
	f.exec("UPDATE print_jobs SET created_at = now() - interval '2 hours' WHERE ticket_id = ?", old)
	_ = fresh // written just now: its task has not had its chance yet

	n, err := svc.Redrive(f.ctx)
	if err != nil || n != 1 {
		t.Fatalf("redrive tried %d, %v; want only the lost print", n, err)
	}
	got := d.on(p.Address)
	if len(got) != 2 || got[1].ID != lost {
		t.Fatalf("printed tickets %v; want %d (by its task) then %d (re-driven)", got, printed, lost)
	}
	// A printer that is down does not fail the re-drive: the failure is recorded.
	d.setDown(p.Address, true)
	f.exec("UPDATE print_jobs SET last_attempt_at = now() - interval '5 minutes' WHERE ticket_id = ?", retrying)
	if n, err := svc.Redrive(f.ctx); err != nil || n != 1 {
		t.Fatalf("redrive with the printer down: %d, %v; want 1 tried and no error", n, err)
	}
	if pr, _ := svc.Get(f.ctx, c.community, p.ID); pr.Status != kitchen.PrinterDown {
		t.Fatalf("printer %s after a failed re-drive; want down", pr.Status)
	}
}
