package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/kitchendb"
	"github.com/canteen-oss/canteen/internal/printer"
	"github.com/canteen-oss/canteen/internal/printer/printerfake"
)

func startFake(t *testing.T) *printerfake.Printer {
	t.Helper()
	p, err := printerfake.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestPrintTaskFromOutboxToPaper follows a paid order's ticket from the outbox through the
// relay to the kitchen:print task and onto two fake network printers, a whole-ticket one and
// a cold-dish station one: each prints once though the task runs twice; while the front
// printer refuses connections the task fails for a retry and the printer is down; the next
// run prints and the printer is ok; a reprint prints again, marked 重打.
func TestPrintTaskFromOutboxToPaper(t *testing.T) {
	rdb := flushedRedis(t)
	w := newWorld(t)
	store := kitchendb.New(w.db)
	tickets := kitchen.NewService(store, nil)
	printers := kitchen.NewPrinters(store, printer.New(printer.Options{DialTimeout: time.Second}), nil)
	sc := kitchen.Scope{CommunityID: w.community, Actor: audit.Actor{Kind: audit.Staff, ID: 1, Name: "管理员"}}
	var cold, cucumber int64
	w.scan("INSERT INTO kitchen_stations (community_id, canteen_id, name, categories) VALUES (?, ?, '凉菜', '{cold}') RETURNING id", &cold, w.community, w.canteen)
	w.scan("INSERT INTO dishes (community_id, name, category, price_fen) VALUES (?, '凉拌黄瓜', 'cold', 600) RETURNING id", &cucumber, w.community)
	front, coldFake := startFake(t), startFake(t)
	frontP, err := printers.Create(w.ctx, sc, w.canteen, kitchen.PrinterInput{Name: "出餐口", Address: front.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := printers.Create(w.ctx, sc, w.canteen, kitchen.PrinterInput{Name: "凉菜档", Address: coldFake.Addr(), StationID: cold}); err != nil {
		t.Fatal(err)
	}
	h := Handlers{PrintTicket: printers.Print}
	mux := h.Mux(slog.New(slog.NewTextHandler(io.Discard, nil)))
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)

	// ticket makes a paid order of 红烧肉 and 凉拌黄瓜 and its ticket, as the worker would.
	ticket := func() kitchen.Ticket {
		t.Helper()
		oid := w.paidOrder()
		w.scan(`INSERT INTO order_lines (community_id, order_id, line_no, dish_id, name, category, qty, unit_fen, standard_fen, subsidy_fen, pay_fen, note)
			VALUES (?, ?, 2, ?, '凉拌黄瓜', 'cold', 1, 600, 600, 0, 600, '不要蒜') RETURNING line_no`, new(int), w.community, oid, cucumber)
		tk, _, err := tickets.CreateTicket(w.ctx, w.community, oid)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	// printTask relays the outbox and returns the kitchen:print task for ticket's generation.
	printTask := func(tk kitchen.Ticket, generation int) *asynq.Task {
		t.Helper()
		if _, err := RelayOutbox(w.ctx, kitchendb.NewOutbox(w.db), client); err != nil {
			t.Fatal(err)
		}
		pending, err := insp.ListPendingTasks(QueueDefault)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range pending {
			var p PrintPayload
			if info.Type != TypePrint || json.Unmarshal(info.Payload, &p) != nil || p.TicketID != tk.ID || p.Generation != generation {
				continue
			}
			if info.MaxRetry != printMaxRetry || p.CommunityID != w.community {
				t.Fatalf("print task %+v payload %+v; want MaxRetry %d and the community", info, p, printMaxRetry)
			}
			return asynq.NewTask(info.Type, info.Payload)
		}
		t.Fatalf("no %s task for ticket %d generation %d among %d pending", TypePrint, tk.ID, generation, len(pending))
		return nil
	}
	run := func(task *asynq.Task) error { return mux.ProcessTask(w.ctx, task) }
	status := func(id int64) kitchen.Printer {
		t.Helper()
		p, err := printers.Get(w.ctx, w.community, id)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	first := ticket()
	task := printTask(first, 0)
	for i := range 2 {
		if err := run(task); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if n, m := len(front.Jobs()), len(coldFake.Jobs()); n != 1 || m != 1 {
		t.Fatalf("front printed %d, cold station %d; want 1 each though the task ran twice", n, m)
	}
	whole, station := front.Texts()[0], coldFake.Texts()[0]
	if !strings.Contains(whole, first.Pickup+"\n") || !strings.Contains(whole, "1 × 红烧肉\n") || !strings.Contains(whole, "1 × 凉拌黄瓜  [凉菜]") {
		t.Fatalf("whole ticket printed:\n%s", whole)
	}
	if strings.Contains(station, "红烧肉") || !strings.Contains(station, "1 × 凉拌黄瓜") || !strings.Contains(station, "档口：凉菜") ||
		!strings.Contains(station, "备注：不要蒜") {
		t.Fatalf("the cold station printed:\n%s", station)
	}
	if s := status(frontP.ID).Status; s != kitchen.PrinterOK {
		t.Fatalf("front printer %s after printing; want ok", s)
	}

	if err := front.SetMode(printerfake.Refuse); err != nil {
		t.Fatal(err)
	}
	second := ticket()
	task = printTask(second, 0)
	err = run(task)
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("the task on a printer that is down: %v; want an error that retries", err)
	}
	if p := status(frontP.ID); p.Status != kitchen.PrinterDown || !strings.Contains(p.LastError, "refused") || p.Unprinted != 1 {
		t.Fatalf("front printer %+v; want down, the refusal as its last error, 1 unprinted", p)
	}
	if m := len(coldFake.Jobs()); m != 2 {
		t.Fatalf("the working station printer printed %d; want the second ticket too", m)
	}
	if err := front.SetMode(printerfake.Print); err != nil {
		t.Fatal(err)
	}
	if err := run(task); err != nil { // the retry
		t.Fatalf("the retry after the printer came back: %v", err)
	}
	if p := status(frontP.ID); p.Status != kitchen.PrinterOK || p.Unprinted != 0 {
		t.Fatalf("front printer %+v after the retry; want ok, nothing unprinted", p)
	}
	if n, m := len(front.Jobs()), len(coldFake.Jobs()); n != 2 || m != 2 {
		t.Fatalf("front printed %d, cold station %d; want 2 each: the retry sends only what failed", n, m)
	}

	if _, err := tickets.Reprint(w.ctx, sc, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := run(printTask(first, 1)); err != nil {
		t.Fatal(err)
	}
	texts := front.Texts()
	if len(texts) != 3 || !strings.Contains(texts[2], "重打 #1") || !strings.Contains(texts[2], first.Pickup+"\n") {
		t.Fatalf("front printed %q; want the reprint of %s marked 重打 #1", texts, first.Pickup)
	}
}

func TestPrintTaskPayloadAndRetries(t *testing.T) {
	calls := 0
	h := Handlers{PrintTicket: func(context.Context, int64, int64, int) error { calls++; return nil }}
	mux := h.Mux(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, bad := range []string{`{`, `{"ticket_id":0,"community_id":1}`, `{"ticket_id":1,"community_id":1,"generation":-1}`} {
		if err := mux.ProcessTask(context.Background(), asynq.NewTask(TypePrint, []byte(bad))); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("payload %s: %v; want SkipRetry", bad, err)
		}
	}
	if calls != 0 {
		t.Fatalf("PrintTicket ran %d times on bad payloads", calls)
	}
	unwired := Handlers{}.Mux(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, task := range []*asynq.Task{asynq.NewTask(TypePrint, []byte(`{"ticket_id":1,"community_id":1}`)), asynq.NewTask(TypeRedrivePrints, nil)} {
		if err := unwired.ProcessTask(context.Background(), task); err != nil {
			t.Fatalf("without printing wired %s must do nothing: %v", task.Type(), err)
		}
	}
	redriven := 0
	h = Handlers{RedrivePrints: func(context.Context) (int, error) { redriven++; return 2, nil }}
	if err := h.Mux(slog.New(slog.NewTextHandler(io.Discard, nil))).ProcessTask(context.Background(), asynq.NewTask(TypeRedrivePrints, nil)); err != nil || redriven != 1 {
		t.Fatalf("redrive task: %v, ran %d times", err, redriven)
	}
	if !slices.ContainsFunc(Schedule, func(p Periodic) bool { return p.Type == TypeRedrivePrints && p.Cron == "* * * * *" }) {
		t.Fatal("the print re-drive is not scheduled every minute")
	}
	var waits []time.Duration
	var total time.Duration
	for n := 1; n <= printMaxRetry; n++ {
		d := retryDelay(n, errors.New("printer down"), asynq.NewTask(TypePrint, nil))
		waits = append(waits, d)
		total += d
	}
	if waits[0] != 5*time.Second || waits[1] != 10*time.Second || waits[5] != time.Minute || waits[len(waits)-1] != time.Minute {
		t.Fatalf("print retry waits %v; want 5 s doubling to a minute", waits)
	}
	if total < 20*time.Minute || total > 40*time.Minute {
		t.Fatalf("a printer down keeps being tried for %v; want about half an hour", total)
	}
	if d := retryDelay(1, errors.New("x"), asynq.NewTask(TypeCreateTicket, nil)); d < 15*time.Second {
		t.Fatalf("other tasks keep asynq's backoff: %v", d)
	}
}
