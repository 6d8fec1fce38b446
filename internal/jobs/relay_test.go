package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/kitchendb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/redistest"
)

// chaosDB is the Redis database index these tests own and flush; never 0.
const chaosDB = 14

// flushedRedis returns a client on the test Redis's database chaosDB, emptied.
func flushedRedis(t *testing.T) *redis.Client {
	t.Helper()
	redistest.New(t) // skips or fails when Redis is unreachable
	opt, err := redis.ParseURL(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	opt.DB = chaosDB
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return rdb
}

type world struct {
	t                        *testing.T
	ctx                      context.Context
	db                       *bun.DB
	community, canteen, dish int64
	menu                     int64
	n                        int
}

func newWorld(t *testing.T) *world {
	db, _ := pgtest.New(t)
	w := &world{t: t, ctx: context.Background(), db: db}
	w.scan("INSERT INTO communities (code, name) VALUES ('relay', 'C') RETURNING id", &w.community)
	w.scan("INSERT INTO canteens (community_id, name) VALUES (?, 'K') RETURNING id", &w.canteen, w.community)
	w.scan("INSERT INTO dishes (community_id, name, category, price_fen) VALUES (?, '红烧肉', 'hot', 1200) RETURNING id", &w.dish, w.community)
	w.scan(`INSERT INTO menus (community_id, canteen_id, day, period, status, published_at)
		VALUES (?, ?, '2026-11-28', 'lunch', 'published', now()) RETURNING id`, &w.menu, w.community, w.canteen)
	return w
}

func (w *world) scan(query string, dst any, args ...any) {
	w.t.Helper()
	if err := w.db.NewRaw(query, args...).Scan(w.ctx, dst); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
}

// paidOrder writes an order paid a minute ago with its order.paid outbox row, as
// ordering does in one transaction, and returns the order's ID.
func (w *world) paidOrder() int64 {
	w.t.Helper()
	w.n++
	var oid int64
	w.scan(`INSERT INTO orders (community_id, canteen_id, menu_id, placed_by_kind, placed_by_id, day, period, kind,
		status, payment_method, standard_fen, subsidy_fen, pay_fen, idempotency_key, request_hash, pay_deadline, paid_at)
		VALUES (?, ?, ?, 'staff', 1, '2026-11-28', 'lunch', 'dine_in', 'paid', 'cash', 1200, 0, 1200, ?, '\x00',
		now() + interval '15 minutes', now() - interval '1 minute') RETURNING id`,
		&oid, w.community, w.canteen, w.menu, fmt.Sprintf("key-%08d", w.n))
	var line int
	w.scan(`INSERT INTO order_lines (community_id, order_id, line_no, dish_id, name, category, qty, unit_fen, standard_fen, subsidy_fen, pay_fen)
		VALUES (?, ?, 1, ?, '红烧肉', 'hot', 1, 1200, 1200, 0, 1200) RETURNING line_no`, &line, w.community, oid, w.dish)
	b, _ := json.Marshal(map[string]any{"order_id": oid, "status": "paid", "canteen_id": w.canteen})
	w.outbox("order.paid", string(b))
	return oid
}

func (w *world) outbox(topic, payload string) int64 {
	w.t.Helper()
	var id int64
	w.scan("INSERT INTO outbox (community_id, topic, payload) VALUES (?, ?, ?) RETURNING id", &id, w.community, topic, payload)
	return id
}

func (w *world) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	w.scan(query, &n, args...)
	return n
}

func TestRelayEnqueuesEachOutboxRowOnce(t *testing.T) {
	rdb := flushedRedis(t)
	w := newWorld(t)
	ob := kitchendb.NewOutbox(w.db)
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	var paidRows []int64
	for range 3 {
		w.paidOrder()
	}
	if err := w.db.NewRaw("SELECT id FROM outbox ORDER BY id").Scan(w.ctx, &paidRows); err != nil {
		t.Fatal(err)
	}
	placed := w.outbox("order.placed", `{"order_id": 1, "status": "pending", "canteen_id": 1}`)

	for pass := range 2 {
		n, err := RelayOutbox(w.ctx, ob, client)
		want := []int{4, 0}[pass]
		if err != nil || n != want {
			t.Fatalf("pass %d: relayed %d, %v; want %d", pass, n, err, want)
		}
	}
	// A relay that died after enqueueing and before marking sent runs again: the TaskID
	// conflict counts as sent and no second task appears.
	if _, err := w.db.ExecContext(w.ctx, "UPDATE outbox SET sent_at = NULL WHERE id = ?", paidRows[0]); err != nil {
		t.Fatal(err)
	}
	if n, err := RelayOutbox(w.ctx, ob, client); err != nil || n != 1 {
		t.Fatalf("relay after a lost mark: %d, %v; want 1", n, err)
	}
	if unsent := w.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL"); unsent != 0 {
		t.Fatalf("%d rows unsent", unsent)
	}
	tasks, err := insp.ListPendingTasks(QueueDefault)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != len(paidRows) {
		t.Fatalf("%d tasks; want %d, one per order.paid row", len(tasks), len(paidRows))
	}
	for _, id := range paidRows {
		info, err := insp.GetTaskInfo(QueueDefault, w.taskID(id))
		if err != nil || info.Type != TypeCreateTicket {
			t.Fatalf("task of outbox row %d: %+v, %v", id, info, err)
		}
		var p TicketPayload
		if err := json.Unmarshal(info.Payload, &p); err != nil || p.CommunityID != w.community || p.OrderID == 0 {
			t.Fatalf("payload %s", info.Payload)
		}
	}
	if _, err := insp.GetTaskInfo(QueueDefault, w.taskID(placed)); err == nil {
		t.Fatal("order.placed has no consumer and must not become a task")
	}
}

// TestChaosFlushedRedisStillTicketsEveryPaidOrder relays 30 paid orders to the queue,
// flushes Redis while a worker runs, and re-drives from the database: every paid order
// ends with exactly one ticket.
func TestChaosFlushedRedisStillTicketsEveryPaidOrder(t *testing.T) {
	rdb := flushedRedis(t)
	w := newWorld(t)
	svc := kitchen.NewService(kitchendb.New(w.db), nil)
	var calls atomic.Int64
	h := Handlers{
		PurgeSessions: func(context.Context) (int64, error) { return 0, nil },
		ExpireOrders:  func(context.Context, int) (int, error) { return 0, nil },
		CreateTicket: func(ctx context.Context, communityID, orderID int64) error {
			calls.Add(1)
			_, _, err := svc.CreateTicket(ctx, communityID, orderID)
			return err
		},
		UnticketedOrders: svc.Unticketed,
	}
	const n = 30
	for range n {
		w.paidOrder()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, rdb, h, WorkerOptions{Concurrency: 8, ShutdownTimeout: 2 * time.Second, LeaderTTL: time.Second, Log: log})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	client := asynq.NewClientFromRedisClient(rdb)
	if sent, err := RelayOutbox(w.ctx, kitchendb.NewOutbox(w.db), client); err != nil || sent != n {
		t.Fatalf("relayed %d, %v; want %d", sent, err, n)
	}
	if err := rdb.FlushDB(w.ctx).Err(); err != nil { // every queued task is lost
		t.Fatal(err)
	}
	afterFlush := w.count("SELECT count(*) FROM tickets")
	if w.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL") != 0 {
		t.Fatal("the relay left rows unsent")
	}

	// The re-drive runs as the scheduler would start it, and once more by hand at the
	// same time, racing the worker.
	if _, err := client.Enqueue(asynq.NewTask(TypeRedriveTickets, nil), asynq.Queue(QueueDefault)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.RedriveTickets(w.ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for w.count("SELECT count(*) FROM tickets") < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	paid := w.count("SELECT count(*) FROM orders WHERE status = 'paid'")
	oneTicket := w.count("SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM tickets t WHERE t.order_id = o.id) = 1")
	several := w.count("SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM tickets t WHERE t.order_id = o.id) > 1")
	pickups := w.count("SELECT count(DISTINCT pickup_no) FROM tickets")
	maxSeq := w.count("SELECT last_seq FROM pickup_counters")
	t.Logf("tickets made before the flush: %d; CreateTicket calls: %d", afterFlush, calls.Load())
	if paid != n || oneTicket != n || several != 0 || pickups != n || maxSeq != n {
		t.Fatalf("paid %d, with one ticket %d, with several %d, distinct pickups %d, last pickup %d; want %d, %d, 0, %d, %d",
			paid, oneTicket, several, pickups, maxSeq, n, n, n, n)
	}
	if unticketed, err := svc.Unticketed(w.ctx, 0, 100); err != nil || len(unticketed) != 0 {
		t.Fatalf("still unticketed: %+v, %v", unticketed, err)
	}
}

// taskID is the TaskID the relay gives outbox row id.
func (w *world) taskID(id int64) string {
	w.t.Helper()
	var created time.Time
	if err := w.db.NewRaw("SELECT created_at FROM outbox WHERE id = ?", id).Scan(w.ctx, &created); err != nil {
		w.t.Fatal(err)
	}
	return fmt.Sprintf("outbox-%d-%d", id, created.UnixMicro())
}

// TestRunRelayPassesWhenWoken runs the relay with an hour between polls: after its first
// pass, a row written later reaches the queue only because Wake says so.
func TestRunRelayPassesWhenWoken(t *testing.T) {
	rdb := flushedRedis(t)
	w := newWorld(t)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	first := w.paidOrder()
	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() {
		done <- RunRelay(ctx, rdb, kitchendb.NewOutbox(w.db), RelayOptions{Interval: time.Hour, Wake: wake,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitSent := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for w.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL") > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the outbox row was not relayed", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitSent("first pass")
	second := w.paidOrder()
	wake <- struct{}{}
	waitSent("after a wake-up")
	tasks, err := insp.ListPendingTasks(QueueDefault)
	if err != nil {
		t.Fatal(err)
	}
	var orders []int64
	for _, task := range tasks {
		var p TicketPayload
		if err := json.Unmarshal(task.Payload, &p); err != nil {
			t.Fatal(err)
		}
		orders = append(orders, p.OrderID)
	}
	if len(orders) != 2 || orders[0]+orders[1] != first+second {
		t.Fatalf("ticket tasks for orders %v; want %d and %d", orders, first, second)
	}
}
