package httpapi_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/authdb"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/catalogdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/community"
	"github.com/canteen-oss/canteen/internal/communitydb"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/eligibilitydb"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/fundingdb"
	"github.com/canteen-oss/canteen/internal/httpapi"
	"github.com/canteen-oss/canteen/internal/jobs"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/kitchendb"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/orderdb"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
	"github.com/canteen-oss/canteen/internal/paymentdb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/printer"
	"github.com/canteen-oss/canteen/internal/ratelimit"
	"github.com/canteen-oss/canteen/internal/redistest"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlement/export"
	"github.com/canteen-oss/canteen/internal/settlementdb"
	"github.com/canteen-oss/canteen/internal/subsidy"
	"github.com/canteen-oss/canteen/internal/wechat"
	"github.com/canteen-oss/canteen/internal/wechat/wechatfake"
)

const (
	testAppID  = "wxtest0000000001"
	testSecret = "test-secret"
	password   = "correct horse battery"
)

// fixedNow is the clock of the API under test: a Wednesday lunchtime in Shanghai.
var fixedNow = time.Date(2026, 11, 25, 11, 30, 0, 0, time.FixedZone("CST", 8*3600))

// env is a running API over real PostgreSQL and Redis, with two communities. Community
// A has a sponsor, a pledge, three price policies (elders, 特困 elders, workers) and an
// approved elder (flag tekun) who logs in as "elder".
type env struct {
	t      *testing.T
	app    *fiber.App
	db     *bun.DB
	fake   *wechatfake.Server
	authS  *auth.Service
	catS   *catalog.Service
	eligS  *eligibility.Service
	fundS  *funding.Service
	tokens map[string]string // by account: "admin", "reviewer", …, "merchant", "diner", "elder", "adminB"
	ids    map[string]int64  // community, communityB, canteen, canteenB, dish, merchant, staff, …
	base   string            // URL of the real listener, once serve started it

	elderIDNumber string // the clear ID-card number of the seeded elder

	migrationsErr error // what the readiness check of the schema answers
	payFake       *wechatpayfake.Server
	dropNotices   atomic.Bool
	clock         *atomic.Int64 // unix nanoseconds
	payS          *payment.Service
	ordS          *order.Service
	kitS          *kitchen.Service
	prS           *kitchen.Printers
	dsn           string       // the test database, for a kitchendb.Listen of its own
	hub           *httpapi.Hub // the kitchen screens' stream hub
}

func newEnv(t *testing.T, loginLimit int) *env {
	t.Helper()
	db, dsn := pgtest.New(t)
	rdb := redistest.New(t)
	fake := wechatfake.New(testAppID, testSecret)
	url, closeFake := fake.Start()
	t.Cleanup(closeFake)
	wx := wechat.New(wechat.Config{BaseURL: url, AppID: testAppID, Secret: testSecret})
	login := func(ctx context.Context, code string) (string, string, error) {
		s, err := wx.Code2Session(ctx, code)
		return s.OpenID, s.UnionID, err
	}
	prefix := fmt.Sprintf("test:login:%d:", time.Now().UnixNano())
	authS := auth.NewService(authdb.New(db), ratelimit.New(rdb, prefix, loginLimit, time.Minute), login,
		auth.Options{StaffTTL: time.Hour, DinerTTL: time.Hour, BcryptCost: 4, AppID: testAppID})
	var nanos atomic.Int64 // the API's clock, which tests may move
	nanos.Store(fixedNow.UnixNano())
	clock := func() time.Time { return time.Unix(0, nanos.Load()).In(fixedNow.Location()) }
	comS := community.NewService(communitydb.New(db, secure.DemoKeyring()), secure.NormalizePhone)
	catS := catalog.NewService(catalogdb.New(db), clock)
	eligS := eligibility.NewService(eligibilitydb.New(db, secure.DemoKeyring()), clock)
	fundS := funding.NewService(fundingdb.New(db), clock)
	ordS := order.NewService(catS, eligS, fundS, orderdb.New(db, fundingdb.NewLedger()), order.Options{Now: clock, PayTimeout: 15 * time.Minute})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewDBStatsCollector(db.DB, "canteen"), jobs.NewQueueCollector(rdb))
	mon, err := jobs.Monitor(redistest.URL(), "/admin/asynq")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, fake: fake, authS: authS, catS: catS, eligS: eligS, fundS: fundS,
		tokens: map[string]string{}, ids: map[string]int64{}, clock: &nanos,
		dsn: dsn, hub: httpapi.NewHub()}
	// The API listens before it is built, so WeChat Pay's notify URL can point at it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "http://" + ln.Addr().String()
	e.kitS = kitchen.NewService(kitchendb.New(db), clock)
	e.prS = kitchen.NewPrinters(kitchendb.New(db), printer.New(printer.Options{DialTimeout: 2 * time.Second}), clock)
	pay, payFake, payURL := newPay(t, e.base+"/api/v1/payments/wechat/notify", clock)
	e.payFake = payFake
	payStore := paymentdb.New(db, orderdb.New(db, fundingdb.NewLedger()))
	payS := payment.NewService(orderdb.New(db, fundingdb.NewLedger()), payStore,
		pay.Gateway(), payment.Options{Merchant: payment.Merchant{MchID: testMchID, AppID: testAppID}, Now: clock}).
		WithRefunds(payment.RefundOptions{Store: payStore, Refunder: pay.Refunder(e.base + "/api/v1/payments/wechat/refund-notify")})
	e.payS = payS
	e.ordS = ordS
	recS := payment.NewReconciliation(paymentdb.NewReconcileStore(db), payment.ReconcileOptions{MchID: testMchID, Now: clock})
	e.app = httpapi.New(httpapi.Deps{
		Log:  slog.New(slog.NewJSONHandler(testLogOutput(), nil)),
		Auth: authS, Community: comS, Catalog: catS, Audit: auditdb.New(db),
		Eligibility: eligS, Funding: fundS, Orders: ordS, Reconciliation: recS,
		Payments:     payS,
		Kitchen:      e.kitS,
		Printers:     e.prS,
		Exports:      export.NewService(settlementdb.New(db), settlementdb.NewExports(db, secure.DemoKeyring()), clock),
		Settlement:   settlement.NewService(settlementdb.New(db), clock),
		Hub:          e.hub,
		DemoPayURL:   payURL,
		RefundNotice: pay.RefundNotice,
		PaymentNotice: func(r *http.Request) (payment.Transaction, error) {
			if e.dropNotices.Load() { // a notification lost on the way
				return payment.Transaction{}, apperr.New(apperr.Transient, "notification_lost", "lost")
			}
			return pay.PaymentNotice(r)
		},
		Metrics:  httpapi.NewMetrics(reg),
		Asynqmon: mon,
		Now:      func() time.Time { return fixedNow },
		Ready: []httpapi.Check{
			{Name: "postgres", Fn: func(ctx context.Context) error { return db.PingContext(ctx) }},
			{Name: "migrations", Fn: func(context.Context) error { return e.migrationsErr }},
		},
	}, httpapi.Options{BodyLimit: 64 << 10, RequestTimeout: 5 * time.Second})
	go func() { _ = e.app.Listener(ln) }()
	t.Cleanup(func() { e.hub.Close(); _ = e.app.ShutdownWithTimeout(time.Second) })
	e.seed(comS, catS)
	e.seedFunding()
	return e
}

func (e *env) seed(comS *community.Service, catS *catalog.Service) {
	t, ctx := e.t, context.Background()
	for _, code := range []string{"a", "b"} {
		c, err := comS.CreateCommunity(ctx, audit.SystemActor, community.Community{Code: "comm-" + code, Name: "社区 " + code})
		if err != nil {
			t.Fatal(err)
		}
		key := "community"
		if code == "b" {
			key = "communityB"
		}
		e.ids[key] = c.ID
	}
	a := e.ids["community"]
	phone := "13912345678"
	name := "阳光餐饮"
	m, err := comS.CreateMerchant(ctx, a, audit.SystemActor, community.MerchantInput{Name: &name, ContactPhone: &phone})
	if err != nil {
		t.Fatal(err)
	}
	e.ids["merchant"] = m.ID
	boss := auth.Principal{Kind: auth.StaffKind, CommunityID: a, Name: "seed", Roles: []auth.Role{auth.Admin}}
	for _, r := range auth.Roles {
		in := auth.StaffInput{Username: "user-" + string(r), DisplayName: "用户 " + string(r), Password: password, Roles: []auth.Role{r}}
		if r == auth.Merchant {
			in.MerchantID = &m.ID
		}
		st, err := e.authS.CreateStaff(ctx, boss, in)
		if err != nil {
			t.Fatal(err)
		}
		e.ids["staff-"+string(r)] = st.ID
		e.tokens[string(r)] = e.login("user-"+string(r), password)
	}
	bossB := auth.Principal{Kind: auth.StaffKind, CommunityID: e.ids["communityB"], Name: "seed", Roles: []auth.Role{auth.Admin}}
	if _, err := e.authS.CreateStaff(ctx, bossB, auth.StaffInput{Username: "admin-b", DisplayName: "B 管理员", Password: password, Roles: []auth.Role{auth.Admin}}); err != nil {
		t.Fatal(err)
	}
	e.tokens["adminB"] = e.login("admin-b", password)

	for key, cid := range map[string]int64{"canteen": a, "canteenB": e.ids["communityB"]} {
		sc := catalog.Scope{CommunityID: cid, Actor: audit.SystemActor}
		ct, err := catS.CreateCanteen(ctx, sc, catalog.CanteenInput{Name: "饭堂 " + key})
		if err != nil {
			t.Fatal(err)
		}
		e.ids[key] = ct.ID
		if _, err := catS.SetMealPeriod(ctx, sc, ct.ID, catalog.MealPeriod{Period: catalog.Lunch,
			ServeStart: catalog.Clock(11, 0), ServeEnd: catalog.Clock(13, 0), OrderCutoff: catalog.Clock(12, 30), PreorderDays: 3, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		d, err := catS.CreateDish(ctx, sc, catalog.DishInput{Name: "红烧肉", Category: "荤菜", PriceFen: 1200})
		if err != nil {
			t.Fatal(err)
		}
		e.ids["dish"+strings.TrimPrefix(key, "canteen")] = d.ID
		if _, err := catS.PutMenu(ctx, sc, ct.ID, civilToday(), catalog.Lunch, []catalog.MenuItemInput{{DishID: d.ID, Supply: 50}}); err != nil {
			t.Fatal(err)
		}
		if _, err := catS.PublishMenu(ctx, sc, ct.ID, civilToday(), catalog.Lunch); err != nil {
			t.Fatal(err)
		}
	}
	e.tokens["diner"], e.ids["dinerID"] = e.dinerLogin("openid-diner-1")
}

// Prices of the seeded policies, for 红烧肉 (1200 fen) at the seeded canteen's lunch.
const (
	elderPriceFen = 800 // 长者公益价: any approved elder, 20 subsidised meals a month
	tekunPriceFen = 300 // 特困长者餐: elders flagged tekun
	elderMonthly  = 20
)

// seedFunding gives community A a sponsor, a pledge, the elder, 特困 and worker policies,
// and an approved elder flagged tekun.
func (e *env) seedFunding() {
	t, ctx := e.t, context.Background()
	fs := funding.Scope{CommunityID: e.ids["community"], Actor: audit.SystemActor}
	sp, err := e.fundS.CreateSponsor(ctx, fs, funding.SponsorInput{Kind: funding.SponsorCharity, Name: "幸福公益基金"})
	if err != nil {
		t.Fatal(err)
	}
	e.ids["sponsor"] = sp.ID
	pl, err := e.fundS.CreatePledge(ctx, fs, funding.PledgeInput{SponsorID: sp.ID, Name: "长者助餐 2026 冬", Kind: funding.Range,
		AmountFen: 100_000, From: civilToday().AddDays(-1), To: civilToday().AddDays(30)})
	if err != nil {
		t.Fatal(err)
	}
	e.ids["pledge"] = pl.ID
	elder, err := e.fundS.CreatePolicy(ctx, fs, subsidy.Policy{Name: "长者公益价", Priority: 10,
		Who:     subsidy.Who{Groups: []subsidy.Group{subsidy.Elderly}},
		Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: elderPriceFen},
		Limits:  []subsidy.Limit{{Window: subsidy.PerMonth, Count: elderMonthly}},
		Funding: subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{{PledgeID: pl.ID, Label: "幸福公益基金"}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.ids["policy"] = elder.Policy.ID
	tekun, err := e.fundS.CreatePolicy(ctx, fs, subsidy.Policy{Name: "特困长者餐", Priority: 20,
		Who:     subsidy.Who{Groups: []subsidy.Group{subsidy.Elderly}, Flags: []subsidy.StatusFlag{subsidy.Tekun}},
		Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: tekunPriceFen},
		Funding: subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{{PledgeID: pl.ID, Label: "特困补贴"}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.ids["policyTekun"] = tekun.Policy.ID
	worker, err := e.fundS.CreatePolicy(ctx, fs, subsidy.Policy{Name: "骑手午餐", Priority: 5,
		Who:     subsidy.Who{Groups: []subsidy.Group{subsidy.Worker}},
		Benefit: subsidy.Benefit{Kind: subsidy.AmountOff, AmountFen: 200},
		Funding: subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{{PledgeID: pl.ID, Label: "骑手补贴"}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.ids["policyWorker"] = worker.Policy.ID

	var elderID int64
	e.tokens["elder"], elderID = e.dinerLogin("openid-elder-1")
	e.ids["elderDiner"] = elderID
	e.elderIDNumber = idNumber("440104", "19450312", "028")
	el := e.elderOf(e.eligS, elderID, "张阿婆", e.elderIDNumber, civilToday(), civilToday().AddDays(300), subsidy.Tekun)
	e.ids["elderElig"] = el.ID
}

// elderOf files an elderly application for dinerID through svc and approves it from from to
// until; svc may run on another clock, to make an eligibility that has lapsed by now.
func (e *env) elderOf(svc *eligibility.Service, dinerID int64, name, idNumber string, from, until civil.Date, flags ...subsidy.StatusFlag) eligibility.Eligibility {
	e.t.Helper()
	ctx := context.Background()
	cid := e.ids["community"]
	el, err := svc.ApplyElderly(ctx, eligibility.Scope{CommunityID: cid, Actor: audit.Actor{Kind: audit.Diner, ID: dinerID, Name: "diner"}},
		dinerID, eligibility.ElderlyApplication{Name: name, IDNumber: idNumber, District: "越秀区", Flags: flags})
	if err != nil {
		e.t.Fatal(err)
	}
	rev := eligibility.Scope{CommunityID: cid, Reviewer: true,
		Actor: audit.Actor{Kind: audit.Staff, ID: e.ids["staff-"+string(auth.Reviewer)], Name: "审核员"}}
	if el, err = svc.Approve(ctx, rev, el.ID, from, until); err != nil {
		e.t.Fatal(err)
	}
	return el
}

// idNumber returns a valid ID-card number: region, birth date YYYYMMDD, sequence, check digit.
func idNumber(region, birth, seq string) string {
	return subsidy.CompleteIDNumber(region + birth + seq)
}

// dinerLogin logs a diner in through the fake WeChat and returns the token and diner id.
func (e *env) dinerLogin(openid string) (string, int64) {
	e.t.Helper()
	code := e.fake.IssueCode(openid)
	var sess auth.Session
	e.mustJSON(e.do("POST", "/api/v1/auth/diner/login", "", fmt.Sprintf(`{"community_id":%d,"code":%q}`, e.ids["community"], code)), 201, &sess)
	return sess.Token, sess.Principal.ID
}

// dinerToken logs a diner in through the fake WeChat, as the mini-program would.
func (e *env) dinerToken(openid string) string {
	e.t.Helper()
	tok, _ := e.dinerLogin(openid)
	return tok
}

func (e *env) login(user, pass string) string {
	e.t.Helper()
	var sess auth.Session
	e.mustJSON(e.do("POST", "/api/v1/auth/staff/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, user, pass)), 201, &sess)
	return sess.Token
}

// do sends a request; body, when not empty, is sent as JSON.
func (e *env) do(method, path, token, body string) *http.Response {
	e.t.Helper()
	return e.doRaw(method, path, token, "application/json", body)
}

func (e *env) doRaw(method, path, token, contentType, body string) *http.Response {
	e.t.Helper()
	return e.doHeader(method, path, token, contentType, body, nil)
}

// doHeader sends a request with extra headers, such as Idempotency-Key.
func (e *env) doHeader(method, path, token, contentType, body string, header map[string]string) *http.Response {
	e.t.Helper()
	if len(body) > 32<<10 {
		return e.doNet(method, path, token, contentType, body)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.app.Test(req, 10_000)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func (e *env) mustJSON(resp *http.Response, status int, out any) {
	e.t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		e.t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("decode %s: %v", b, err)
		}
	}
}

// snapshot counts the rows of every table, to prove that a request wrote nothing.
func (e *env) snapshot() map[string]int {
	e.t.Helper()
	ctx := context.Background()
	var tables []string
	if err := e.db.NewRaw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'bun_%' ORDER BY 1`).Scan(ctx, &tables); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, tb := range tables {
		var n int
		if err := e.db.NewRaw("SELECT count(*) FROM ?", bun.Ident(tb)).Scan(ctx, &n); err != nil {
			e.t.Fatal(err)
		}
		out[tb] = n
	}
	// Updates leave counts alone; a digest of the mutable rows catches them.
	var digest string
	if err := e.db.NewRaw(`SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM (
		SELECT row_to_json(x)::text AS t FROM (SELECT * FROM dishes) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM canteens) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM menu_items) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM merchants) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT id, display_name, roles, disabled_at FROM staff) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM orders) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM order_lines) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM limit_usage) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM pledge_balances) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM eligibilities) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM family_bindings) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM pledges) x UNION ALL
		SELECT row_to_json(x)::text FROM (SELECT * FROM policies) x) s`).Scan(ctx, &digest); err != nil {
		e.t.Fatal(err)
	}
	out["digest:"+digest] = 1
	return out
}

func body(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// bigJSON returns a syntactically valid JSON object of about n bytes.
func bigJSON(n int) string {
	return `{"name":"` + strings.Repeat("汤", n/3) + `","category":"汤","price_fen":100}`
}

func civilToday() civil.Date { return civil.Today(fixedNow) }

// testLogOutput sends API logs to stderr when CANTEEN_TEST_LOG=1.
func testLogOutput() io.Writer {
	if os.Getenv("CANTEEN_TEST_LOG") == "1" {
		return os.Stderr
	}
	return io.Discard
}

// doNet sends the request's headers over a real TCP connection and reads the answer
// without sending the body: a body over the limit is refused from its Content-Length,
// and Fiber's in-memory test transport cannot carry it to the server's error handler.
// (Sending the body too would race the server closing the connection.)
func (e *env) doNet(method, path, token, contentType, body string) *http.Response {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.serve(), "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = conn.Close() })
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: test\r\nContent-Type: %s\r\nContent-Length: %d\r\n", method, path, contentType, len(body))
	if token != "" {
		head += "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		e.t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// serve returns the base URL of the app's real listener.
func (e *env) serve() string { return e.base }

const testMchID = "1900000109"

var (
	merchantKeyOnce sync.Once
	merchantKey     *rsa.PrivateKey
)

// newPay starts a fake WeChat Pay and returns the real SDK client talking to it, with
// notifications sent to notifyURL.
func newPay(t *testing.T, notifyURL string, clock func() time.Time) (*wechatpay.Client, *wechatpayfake.Server, string) {
	t.Helper()
	merchantKeyOnce.Do(func() {
		var err error
		if merchantKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	fake := wechatpayfake.New(wechatpayfake.Options{MchID: testMchID, AppID: testAppID, APIv3Key: testAPIv3Key,
		Mode: wechatpayfake.PublicKey, MerchantPublicKey: &merchantKey.PublicKey, MerchantSerial: "5157F09EFDC096DE15EBE81A47057A72", Now: clock})
	url, stop := fake.Start()
	t.Cleanup(stop)
	client, err := wechatpay.New(wechatpay.Config{MchID: testMchID, AppID: testAppID, MerchantSerial: "5157F09EFDC096DE15EBE81A47057A72",
		MerchantKey: merchantKey, APIv3Key: testAPIv3Key, PublicKeyID: fake.PublicKeyID(), PublicKey: fake.PublicKey(),
		NotifyURL: notifyURL, BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	return client, fake, url
}

const testAPIv3Key = "test-apiv3-key-0123456789abcdef0"

func snapshotDiff(a, b map[string]int) string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, fmt.Sprintf("%s: %d -> %d", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("%s: new (%d)", k, v))
		}
	}
	return strings.Join(out, "; ")
}
