package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/community"
	"github.com/canteen-oss/canteen/internal/config"
	"github.com/canteen-oss/canteen/internal/jobs"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/wechat/wechatfake"
)

// The lunch tests run one canteen's lunch for real: `serve` in the test process (the fake
// WeChat Pay posts its signed notifications to it over HTTP), `canteen work` as a child
// process the test can SIGKILL, and a Redis server of the test's own that it can flush, kill
// and start again. Nothing is shared with other tests but the PostgreSQL server.

// workerSwitch, set to "1" in a child's environment, makes TestLunchWorkerProcess run
// `canteen work`.
const workerSwitch = "CANTEEN_LUNCH_WORKER_PROCESS"

// workerAppName is the application_name of the worker's PostgreSQL connections.
const workerAppName = "lunch-worker"

// TestLunchWorkerProcess is `canteen work` as a child process of the lunch tests: it runs
// only when they start it, and stops on SIGTERM like the real binary.
func TestLunchWorkerProcess(t *testing.T) {
	if os.Getenv(workerSwitch) != "1" {
		t.Skip("the worker process of the lunch tests; they start it")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, []string{"work"}, os.Getenv, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// required skips the test when something it needs is missing, or fails it when CI=true.
func required(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required when CI=true: %v", what, err)
	}
	t.Skipf("%s is missing (set CI=true to fail instead): %v", what, err)
}

// privateRedis is a redis-server started by one test on a free loopback port, without
// persistence: killing it loses everything, as a crashed Redis without AOF does.
type privateRedis struct {
	t    testing.TB
	bin  string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(t testing.TB) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if bin, err = exec.LookPath("/usr/bin/redis-server"); err != nil {
			required(t, "redis-server (scripts/services.sh installs it)", err)
		}
	}
	r := &privateRedis{t: t, bin: bin, addr: loopbackAddr(t)}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *privateRedis) url() string { return "redis://" + r.addr + "/0" }

// start runs a new, empty server on r's port and waits until it answers.
func (r *privateRedis) start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command(r.bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--maxmemory-policy", "noeviction", "--loglevel", "warning")
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	dieWithTest(r.cmd)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(r.cmd, r.done)
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not answer", r.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the server with SIGKILL and waits for it.
func (r *privateRedis) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
}

// workerProc is one `canteen work` child process.
type workerProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how it exited, once done is closed
}

// lunchOrder is an order awaiting payment and its WeChat Pay out_trade_no.
type lunchOrder struct {
	id         int64
	outTradeNo string
}

// lunch is a running canteen on a fresh database: serve in this process, the worker as a
// child, WeChat and WeChat Pay faked, and orders waiting to be paid.
type lunch struct {
	t         testing.TB
	ctx       context.Context
	db        *bun.DB // the test's own pool on the fresh database
	redis     *privateRedis
	rdb       *redis.Client // the test's client of that Redis
	insp      *asynq.Inspector
	env       map[string]string
	sys       *system // the serving process
	pay       *wechatpayfake.Server
	wx        *wechatfake.Server
	base      string
	serveLog  *syncBuf
	workerLog string // the children's stderr, appended
	worker    *workerProc
	restarts  int

	community, canteen, dish int64
	day                      civil.Date
	kitchenToken             string
	orders                   []lunchOrder
}

const (
	lunchAppID   = "wxlunch000000001"
	lunchSecret  = "lunch-secret"
	lunchMchID   = "1900000109"
	lunchAPIv3   = "lunch-apiv3-key-0000000000000000"
	lunchSerial  = "LUNCH000000000000000000000000001"
	lunchPass    = "kitchen password"
	lunchDishFen = 1500
)

// newLunch starts serve and a worker on a fresh database with their own Redis, and seeds
// a community, a canteen whose lunch tomorrow is on sale, a kitchen login and diners.
func newLunch(t testing.TB) *lunch {
	t.Helper()
	db, dsn := pgtest.New(t)
	r := startRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	addr := loopbackAddr(t)
	l := &lunch{t: t, ctx: ctx, db: db, redis: r, base: "http://" + addr, serveLog: &syncBuf{},
		workerLog: filepath.Join(t.TempDir(), "worker.log")}
	l.rdb = redis.NewClient(&redis.Options{Addr: r.addr})
	l.insp = asynq.NewInspectorFromRedisClient(l.rdb)
	t.Cleanup(func() { _ = l.rdb.Close() })

	l.wx = wechatfake.New(lunchAppID, lunchSecret)
	wxURL, closeWx := l.wx.Start()
	t.Cleanup(closeWx)
	l.env = map[string]string{
		"DATABASE_URL":               dsn,
		"REDIS_URL":                  r.url(),
		"CANTEEN_HTTP_ADDR":          addr,
		"CANTEEN_PUBLIC_URL":         l.base,
		"CANTEEN_LOG_LEVEL":          "warn",
		"CANTEEN_SHUTDOWN_TIMEOUT":   "5s",
		"CANTEEN_DB_MAX_CONNS":       "10", // more than the tasks run at once: the relay needs one too
		"CANTEEN_WORKER_CONCURRENCY": "6",
		"CANTEEN_WECHAT_BASE_URL":    wxURL,
		"CANTEEN_WECHAT_APPID":       lunchAppID,
		"CANTEEN_WECHAT_SECRET":      lunchSecret,
		"CANTEEN_DATA_KEY":           "k1:" + randomKey(t),
		"CANTEEN_DATA_INDEX_KEY":     randomKey(t),
	}
	for _, name := range []string{"CANTEEN_WORKER_POLL_INTERVAL", "CANTEEN_OUTBOX_POLL_INTERVAL"} {
		if v := os.Getenv(name); v != "" { // to measure other settings with the benchmark
			l.env[name] = v
		}
	}
	cfg, err := config.Load(l.getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBMaxConns = 4 // serve here takes a few notifications at a time; the worker gets 10
	keys, err := cfg.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(l.serveLog, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sys, err := open(ctx, cfg, keys, log)
	if err != nil {
		t.Fatal(err)
	}
	l.sys = sys
	l.usePay()

	var serveErr error
	served := make(chan struct{})
	go func() { serveErr = serveHTTP(ctx, sys, false, io.Discard); close(served) }()
	t.Cleanup(func() {
		cancel()
		<-served
		if serveErr != nil {
			t.Errorf("serve: %v", serveErr)
		}
		sys.close()
	})
	l.waitFor(60*time.Second, "serve ready", func() bool {
		select {
		case <-served:
			t.Fatalf("serve exited: %v\n%s", serveErr, l.serveLog.String())
		default:
		}
		resp, err := http.Get(l.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	l.seed()
	l.startWorker()
	t.Cleanup(l.stopWorker)
	return l
}

func (l *lunch) getenv(k string) string { return l.env[k] }

// loopbackAddr returns a free 127.0.0.1 address.
func loopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randomKey(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// usePay makes serve take payments through a fake WeChat Pay whose notifications come to
// serve's notify endpoint over HTTP, signed and encrypted as WeChat Pay's are.
func (l *lunch) usePay() {
	t := l.t
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	l.pay = wechatpayfake.New(wechatpayfake.Options{MchID: lunchMchID, AppID: lunchAppID, APIv3Key: lunchAPIv3,
		Mode: wechatpayfake.PublicKey, MerchantPublicKey: &key.PublicKey, MerchantSerial: lunchSerial})
	payURL, closePay := l.pay.Start()
	t.Cleanup(closePay)
	notify := l.base + "/api/v1/payments/wechat/notify"
	client, err := wechatpay.New(wechatpay.Config{MchID: lunchMchID, AppID: lunchAppID, MerchantSerial: lunchSerial,
		MerchantKey: key, APIv3Key: lunchAPIv3, PublicKeyID: l.pay.PublicKeyID(), PublicKey: l.pay.PublicKey(),
		NotifyURL: notify, BaseURL: payURL, HTTPTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l.sys.usePayments(client, lunchMchID, lunchAppID, notify)
}

// seed makes the community, the canteen with tomorrow's lunch on sale (plenty of supply),
// a kitchen login for the canteen's screen.
func (l *lunch) seed() {
	t, ctx, s := l.t, l.ctx, l.sys
	c, err := s.community.CreateCommunity(ctx, audit.SystemActor, community.Community{Code: "lunch", Name: "午餐社区"})
	if err != nil {
		t.Fatal(err)
	}
	l.community = c.ID
	sc := catalog.Scope{CommunityID: c.ID, Actor: audit.SystemActor}
	ct, err := s.catalog.CreateCanteen(ctx, sc, catalog.CanteenInput{Name: "长者食堂"})
	if err != nil {
		t.Fatal(err)
	}
	l.canteen = ct.ID
	if _, err := s.catalog.SetMealPeriod(ctx, sc, ct.ID, catalog.MealPeriod{Period: catalog.Lunch,
		ServeStart: catalog.Clock(11, 0), ServeEnd: catalog.Clock(13, 0), OrderCutoff: catalog.Clock(12, 30),
		PreorderDays: 3, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	d, err := s.catalog.CreateDish(ctx, sc, catalog.DishInput{Name: "番茄炒蛋套餐", Category: "套餐", PriceFen: lunchDishFen})
	if err != nil {
		t.Fatal(err)
	}
	l.dish = d.ID
	l.day = civil.Today(time.Now()).AddDays(1) // ordered ahead: the cut-off of today may have passed
	if _, err := s.catalog.PutMenu(ctx, sc, ct.ID, l.day, catalog.Lunch, []catalog.MenuItemInput{{DishID: d.ID, Supply: 5000}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.catalog.PublishMenu(ctx, sc, ct.ID, l.day, catalog.Lunch); err != nil {
		t.Fatal(err)
	}
	boss := auth.Principal{Kind: auth.StaffKind, CommunityID: c.ID, Name: "seed", Roles: []auth.Role{auth.Admin}}
	if _, err := s.auth.CreateStaff(ctx, boss, auth.StaffInput{Username: "lunch-kitchen", DisplayName: "后厨",
		Password: lunchPass, Roles: []auth.Role{auth.Kitchen}}); err != nil {
		t.Fatal(err)
	}
	sess, err := s.auth.StaffLogin(ctx, "lunch-kitchen", lunchPass, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l.kitchenToken = sess.Token
}

// placeOrders has n orders placed by diners (a few orders each, as a family orders for its
// elders) and their WeChat payments started, so each waits for a TRANSACTION.SUCCESS.
func (l *lunch) placeOrders(n int) {
	t, ctx, s := l.t, l.ctx, l.sys
	const perDiner = 10
	diners := make([]order.Caller, (n+perDiner-1)/perDiner)
	for i := range diners {
		sess, err := s.auth.DinerLogin(ctx, l.community, l.wx.IssueCode(fmt.Sprintf("lunch-diner-%03d", i)))
		if err != nil {
			t.Fatal(err)
		}
		diners[i] = order.Caller{CommunityID: l.community, Kind: "diner", ID: sess.Principal.ID}
	}
	cart := order.Cart{CanteenID: l.canteen, Day: l.day, Period: catalog.Lunch,
		Lines: []order.LineRequest{{DishID: l.dish, Qty: 1}}}
	orders := make([]lunchOrder, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				by := diners[i/perDiner]
				o, err := s.orders.Place(ctx, by, fmt.Sprintf("lunch-order-%04d", i), order.PlaceRequest{Cart: cart})
				if err == nil && o.PayFen != lunchDishFen {
					err = fmt.Errorf("order %d pays %d fen, want %d", o.ID, o.PayFen, lunchDishFen)
				}
				if err == nil {
					_, err = s.payments.Pay(ctx, by, o.ID)
				}
				if err != nil {
					errs <- fmt.Errorf("order %d: %w", i, err)
					return
				}
				orders[i].id = o.ID
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var nos []struct {
		OrderID    int64  `bun:"order_id"`
		OutTradeNo string `bun:"out_trade_no"`
	}
	if err := l.db.NewRaw("SELECT order_id, out_trade_no FROM payment_intents WHERE status = 'open'").Scan(ctx, &nos); err != nil {
		t.Fatal(err)
	}
	byOrder := map[int64]string{}
	for _, r := range nos {
		byOrder[r.OrderID] = r.OutTradeNo
	}
	for i := range orders {
		if orders[i].outTradeNo = byOrder[orders[i].id]; orders[i].outTradeNo == "" {
			t.Fatalf("order %d has no open WeChat payment", orders[i].id)
		}
	}
	l.orders = append(l.orders, orders...)
}

// payAll has every waiting order paid in WeChat, perSecond a second, in order: each
// payment's notification reaches serve and is answered before Pay returns. Every fourth
// order is notified again a little later, by two copies at once, as WeChat Pay does when
// it is unsure we heard it. sent(i), when not nil, runs right before payment i. It returns
// once every payment and duplicate has been answered.
func (l *lunch) payAll(perSecond int, sent func(i int)) error {
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	for i, o := range l.orders {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(perSecond))))
		if sent != nil {
			sent(i)
		}
		wg.Go(func() {
			if err := l.pay.Pay(o.outTradeNo); err != nil {
				fail(fmt.Errorf("pay order %d: %w", o.id, err))
				return
			}
			if i%4 != 0 {
				return
			}
			time.Sleep(time.Duration(i%7) * 150 * time.Millisecond)
			var dup sync.WaitGroup
			for range 2 {
				dup.Go(func() {
					statuses, err := l.pay.Notify(l.ctx, o.outTradeNo, wechatpayfake.NotifyOptions{})
					if err != nil || len(statuses) != 1 || statuses[0]/100 != 2 {
						fail(fmt.Errorf("duplicate notification of order %d: %v %v", o.id, statuses, err))
					}
				})
			}
			dup.Wait()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startWorker starts `canteen work` as a child process with the lunch's environment.
func (l *lunch) startWorker() {
	t := l.t
	t.Helper()
	logf, err := os.OpenFile(l.workerLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- worker start %d at %s\n", l.restarts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(os.Args[0], "-test.run=^TestLunchWorkerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), workerSwitch+"=1")
	for k, v := range l.env {
		cmd.Env = append(cmd.Env, k+"="+v) // the last value of a name wins
	}
	// The worker's connections carry its name, so the tests can tell them in pg_stat_activity.
	dsn, err := url.Parse(l.env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	q := dsn.Query()
	q.Set("application_name", workerAppName)
	dsn.RawQuery = q.Encode()
	cmd.Env = append(cmd.Env, "DATABASE_URL="+dsn.String())
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	w := &workerProc{cmd: cmd, done: make(chan struct{})}
	go func() { w.err = cmd.Wait(); close(w.done) }()
	l.worker = w
	l.restarts++
}

// killWorker ends the worker with SIGKILL: nothing of it runs any more, no deferred
// function, no graceful shutdown.
func (l *lunch) killWorker() {
	if err := l.worker.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		l.t.Fatalf("kill worker: %v", err)
	}
	<-l.worker.done
}

// stopWorker stops the worker gracefully (SIGTERM), as an orchestrator does; it must
// exit cleanly (under -race, a race found in it makes it exit 66).
func (l *lunch) stopWorker() {
	if l.worker == nil {
		return
	}
	_ = l.worker.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.worker.done:
		if l.worker.err != nil {
			l.t.Errorf("the worker exited with %v\n%s", l.worker.err, l.logs())
		}
	case <-time.After(20 * time.Second):
		_ = l.worker.cmd.Process.Kill()
		<-l.worker.done
		l.t.Errorf("the worker did not stop on SIGTERM\n%s", l.logs())
	}
}

// logs returns the end of the serve and worker logs, for a failure message.
func (l *lunch) logs() string {
	w, _ := os.ReadFile(l.workerLog)
	tail := func(s string) string {
		if len(s) > 6000 {
			return "…" + s[len(s)-6000:]
		}
		return s
	}
	return "serve log:\n" + tail(l.serveLog.String()) + "\nworker log:\n" + tail(string(w))
}

func (l *lunch) count(query string, args ...any) int {
	l.t.Helper()
	var n int
	if err := l.db.NewRaw(query, args...).Scan(l.ctx, &n); err != nil {
		l.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// holdPickups takes the pickup counters in SHARE mode, so every ticket being created waits
// inside its transaction (its order row already locked, no pickup number yet) until
// release; it returns once at least one of the worker's ticket transactions waits on it,
// with how many do. The waiting tasks are active in asynq: they are in flight.
func (l *lunch) holdPickups() (waiting int, release func()) {
	t := l.t
	t.Helper()
	tx, err := l.db.BeginTx(l.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(l.ctx, "LOCK TABLE pickup_counters IN SHARE MODE"); err != nil {
		t.Fatal(err)
	}
	release = func() { _ = tx.Rollback() }
	deadline := time.Now().Add(30 * time.Second)
	for {
		waiting = l.count(`SELECT count(*) FROM pg_stat_activity WHERE application_name = ?
			AND wait_event_type = 'Lock' AND query LIKE '%pickup_counters%'`, workerAppName)
		if waiting > 0 {
			return waiting, release
		}
		if time.Now().After(deadline) {
			release()
			t.Fatalf("no ticket is being made\n%s", l.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ticketTransactions watches pg_stat_activity without pause until a transaction of the
// worker is making a ticket (its last statement reads or writes the order, the ticket or
// the pickup counter), and returns how many are.
func (l *lunch) ticketTransactions() int {
	t := l.t
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		open := l.count(`SELECT count(*) FROM pg_stat_activity WHERE application_name = ? AND xact_start IS NOT NULL
			AND query NOT LIKE '%outbox%' AND query ~ 'orders|tickets|pickup_counters|ticket_'`, workerAppName)
		if open > 0 {
			return open
		}
	}
	t.Fatalf("no ticket transaction of the worker was seen\n%s", l.logs())
	return 0
}

// queued counts the kitchen:create_ticket tasks in each state of the default queue, and
// under "recovered" those that asynq took back from a dead worker.
func (l *lunch) queued() map[string]int {
	l.t.Helper()
	out := map[string]int{}
	lists := map[string]func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		"pending": l.insp.ListPendingTasks, "active": l.insp.ListActiveTasks, "scheduled": l.insp.ListScheduledTasks,
		"retry": l.insp.ListRetryTasks, "archived": l.insp.ListArchivedTasks, "completed": l.insp.ListCompletedTasks,
	}
	for state, list := range lists {
		for page := 1; ; page++ {
			tasks, err := list(jobs.QueueDefault, asynq.PageSize(500), asynq.Page(page))
			if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
				l.t.Fatalf("list %s tasks: %v", state, err)
			}
			for _, task := range tasks {
				if task.Type == jobs.TypeCreateTicket {
					out[state]++
					if strings.Contains(task.LastErr, asynq.ErrLeaseExpired.Error()) {
						out["recovered"]++ // its worker died while it ran
					}
				}
			}
			if len(tasks) < 500 {
				break
			}
		}
	}
	return out
}

// waitFor polls cond every 250 ms until it holds or limit passes.
func (l *lunch) waitFor(limit time.Duration, what string, cond func() bool) {
	l.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			l.t.Fatalf("%s: not within %s\n%s", what, limit, l.logs())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// settle waits until every paid order has a ticket and no outbox row waits.
func (l *lunch) settle(limit time.Duration) {
	l.t.Helper()
	n := len(l.orders)
	l.waitFor(limit, fmt.Sprintf("%d tickets and an empty outbox", n), func() bool {
		return l.count("SELECT count(*) FROM tickets") >= n && l.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
	})
}

// checkExactlyOnce asserts what a paid lunch must end with: every order paid once by one
// WeChat payment, exactly one ticket per paid order, pickup numbers A001… without a gap or
// a repeat, one order.paid outbox row per order, all relayed.
func (l *lunch) checkExactlyOnce() {
	t := l.t
	t.Helper()
	n := len(l.orders)
	type row struct {
		OrderID  int64  `bun:"order_id"`
		Status   string `bun:"status"`
		Payments int    `bun:"payments"`
		Credited int    `bun:"credited"`
		Tickets  int    `bun:"tickets"`
		PaidRows int    `bun:"paid_rows"`
	}
	var rows []row
	if err := l.db.NewRaw(`SELECT o.id AS order_id, o.status,
			(SELECT count(*) FROM payments p WHERE p.order_id = o.id) AS payments,
			(SELECT count(*) FROM payments p WHERE p.order_id = o.id AND p.outcome = 'credited') AS credited,
			(SELECT count(*) FROM tickets k WHERE k.order_id = o.id) AS tickets,
			(SELECT count(*) FROM outbox x WHERE x.topic = 'order.paid' AND (x.payload->>'order_id')::bigint = o.id) AS paid_rows
		FROM orders o ORDER BY o.id`).Scan(l.ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d orders in the database, want %d", len(rows), n)
	}
	bad := 0
	for _, r := range rows {
		if r.Status != "paid" || r.Payments != 1 || r.Credited != 1 || r.Tickets != 1 || r.PaidRows != 1 {
			if bad++; bad <= 10 {
				t.Errorf("order %d: status %s, %d payments (%d credited), %d tickets, %d order.paid rows; want paid, 1 (1), 1, 1",
					r.OrderID, r.Status, r.Payments, r.Credited, r.Tickets, r.PaidRows)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d orders are not paid once with one ticket\n%s", bad, n, l.logs())
	}
	var pickups []string
	if err := l.db.NewRaw("SELECT pickup_no FROM tickets WHERE canteen_id = ? AND day = ? AND period = 'lunch' ORDER BY pickup_no",
		l.canteen, l.day.String()).Scan(l.ctx, &pickups); err != nil {
		t.Fatal(err)
	}
	for i, p := range pickups {
		// A ticket takes its number in the transaction that writes it: a worker killed
		// before commit gives the number back, so the numbers run A001…A<n> with no gap.
		if want := fmt.Sprintf("A%03d", i+1); p != want {
			t.Fatalf("pickup number %d is %s, want %s: a gap or a repeat in %v", i+1, p, want, pickups)
		}
	}
	if len(pickups) != n || l.count("SELECT last_seq FROM pickup_counters WHERE canteen_id = ?", l.canteen) != n {
		t.Fatalf("%d pickup numbers, counter at %d; want %d", len(pickups),
			l.count("SELECT last_seq FROM pickup_counters WHERE canteen_id = ?", l.canteen), n)
	}
	if unsent := l.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL"); unsent != 0 {
		t.Fatalf("%d outbox rows never relayed", unsent)
	}
	var paidAtWeChat int
	for _, o := range l.pay.Orders() {
		if o.State == wechatpayfake.StateSuccess {
			paidAtWeChat++
		}
	}
	if paidAtWeChat != n || l.count("SELECT count(DISTINCT transaction_id) FROM payments") != n {
		t.Fatalf("WeChat Pay took %d payments and we recorded %d transactions; want %d each", paidAtWeChat,
			l.count("SELECT count(DISTINCT transaction_id) FROM payments"), n)
	}
}

// screen is a kitchen screen following its canteen's SSE stream.
type screen struct {
	mu      sync.Mutex
	tickets map[int64][]time.Time // when each ticket event arrived
	reloads int
	arrived chan struct{} // a ticket event arrived (capacity 1)
	stop    func()
}

type sseEvent struct {
	name, data string
}

// openScreen opens the kitchen stream of the lunch's canteen as the kitchen screen does
// and returns once it is connected.
func (l *lunch) openScreen() *screen {
	t := l.t
	t.Helper()
	ctx, cancel := context.WithCancel(l.ctx)
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/kitchen/canteens/%d/stream", l.base, l.canteen), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+l.kitchenToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("kitchen stream: %d %s", resp.StatusCode, b)
	}
	s := &screen{tickets: map[int64][]time.Time{}, arrived: make(chan struct{}, 1)}
	done := make(chan struct{})
	s.stop = func() { cancel(); <-done }
	connected := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == ": connected":
				close(connected)
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.name != "":
				s.receive(ev, time.Now())
				ev = sseEvent{}
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the kitchen stream did not connect")
	}
	t.Cleanup(s.stop)
	return s
}

func (s *screen) receive(ev sseEvent, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.name {
	case "reload":
		s.reloads++
	case "ticket":
		var d struct {
			TicketID int64 `json:"ticket_id"`
		}
		if json.Unmarshal([]byte(ev.data), &d) == nil {
			s.tickets[d.TicketID] = append(s.tickets[d.TicketID], at)
		}
		select {
		case s.arrived <- struct{}{}:
		default:
		}
	}
}

// seen returns how many distinct tickets the screen was told about, how many of them more
// than once, and how many reloads it was told to do.
func (s *screen) seen() (tickets, repeated, reloads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.tickets {
		if len(at) > 1 {
			repeated++
		}
	}
	return len(s.tickets), repeated, s.reloads
}
