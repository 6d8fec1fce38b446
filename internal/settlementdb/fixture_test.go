package settlementdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/catalogdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/eligibilitydb"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/fundingdb"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/orderdb"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/paymentdb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlementdb"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// The fixture's months: October 2026 (closed first) and November 2026.
var (
	october  = settlement.Month{Year: 2026, Month: time.October}
	november = settlement.Month{Year: 2026, Month: time.November}
	december = settlement.Month{Year: 2026, Month: time.December}
)

func day(m time.Month, d int) civil.Date { return civil.Date{Year: 2026, Month: m, Day: d} }

// at is hour:00 on day d, Asia/Shanghai.
func at(d civil.Date, hour int) time.Time { return d.Start().Add(time.Duration(hour) * time.Hour) }

const (
	setMealFen  = 1200 // 长者套餐
	porkFen     = 1500 // 红烧肉
	elderPayFen = 300  // what an elder pays for the set meal
	govPartFen  = 500  // of the elder subsidy, paid by the city (the rest, 400, by the partner merchant)
	workerOff   = 200  // riders' amount off
)

// fixture is a community with two canteens, the first cooked by partner merchant "阳光餐饮"
// (operator), the second run by the community itself; a government sponsor and a
// merchant sponsor linked to partner merchant "爱心超市"; an elder policy paid 500 fen by
// the city and the rest by the merchant sponsor; a riders' policy paid by the city;
// elders, a rider and a diner of no group. Every service runs on the fixture's clock,
// and moves stamped by the database clock are moved to it (during).
type fixture struct {
	t        testing.TB
	ctx      context.Context
	db       *bun.DB
	now      time.Time
	cat      *catalog.Service
	elig     *eligibility.Service
	fund     *funding.Service
	orders   *order.Service
	pay      *paymentdb.Store
	store    *settlementdb.Store
	svc      *settlement.Service
	cid      int64
	reviewer int64
	counter  int64
	finance  int64
	canteenA int64 // cooked by the operator
	canteenB int64 // run by the community
	operator int64 // merchant cooking in canteen A
	donor    int64 // merchant behind the merchant sponsor
	gov      int64 // sponsor
	shop     int64 // sponsor (merchant)
	govPl    int64 // pledge
	shopPl   int64 // pledge
	elderPol subsidy.Policy
	setMeal  int64 // dish
	pork     int64 // dish
	elder1   int64 // diner, 76 in October 2026 (tier 70)
	elder2   int64 // diner, 86 (tier 80)
	rider    int64 // diner, a new-employment worker
	walkIn   int64 // diner of no group
	elig1    int64 // elder1's eligibility
	menus    map[civil.Date]bool
	seq      int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, _ := pgtest.New(t)
	f := &fixture{t: t, ctx: context.Background(), db: db, now: at(day(time.October, 1), 9), menus: map[civil.Date]bool{}}
	clock := func() time.Time { return f.now }
	ledger := fundingdb.NewLedger()
	f.cat = catalog.NewService(catalogdb.New(db), clock)
	f.elig = eligibility.NewService(eligibilitydb.New(db, secure.DemoKeyring()), clock)
	f.fund = funding.NewService(fundingdb.New(db), clock)
	f.orders = order.NewService(f.cat, f.elig, f.fund, orderdb.New(db, ledger), order.Options{Now: clock, PayTimeout: 15 * time.Minute})
	f.pay = paymentdb.New(db, orderdb.New(db, ledger))
	f.store = settlementdb.New(db)
	f.svc = settlement.NewService(f.store, clock)

	f.scan("INSERT INTO communities (code, name) VALUES ('c1', '幸福里') RETURNING id", &f.cid)
	f.scan(`INSERT INTO staff (community_id, username, display_name, password_hash, roles) VALUES (?, 'rev', '审核员', 'x', '{reviewer}') RETURNING id`, &f.reviewer, f.cid)
	f.scan(`INSERT INTO staff (community_id, username, display_name, password_hash, roles) VALUES (?, 'ctr', '收银员', 'x', '{counter}') RETURNING id`, &f.counter, f.cid)
	f.scan(`INSERT INTO staff (community_id, username, display_name, password_hash, roles) VALUES (?, 'fin', '财务小李', 'x', '{finance}') RETURNING id`, &f.finance, f.cid)
	f.scan("INSERT INTO merchants (community_id, name) VALUES (?, '阳光餐饮') RETURNING id", &f.operator, f.cid)
	f.scan("INSERT INTO merchants (community_id, name) VALUES (?, '爱心超市') RETURNING id", &f.donor, f.cid)

	sc := catalog.Scope{CommunityID: f.cid, Actor: audit.SystemActor}
	a, err := f.cat.CreateCanteen(f.ctx, sc, catalog.CanteenInput{Name: "长者饭堂", District: "越秀区", MerchantID: &f.operator})
	f.check(err)
	b, err := f.cat.CreateCanteen(f.ctx, sc, catalog.CanteenInput{Name: "社区食堂", District: "越秀区"})
	f.check(err)
	f.canteenA, f.canteenB = a.ID, b.ID
	for _, id := range []int64{a.ID, b.ID} {
		_, err := f.cat.SetMealPeriod(f.ctx, sc, id, catalog.MealPeriod{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0),
			ServeEnd: catalog.Clock(13, 30), OrderCutoff: catalog.Clock(13, 0), PreorderDays: 3, Enabled: true})
		f.check(err)
	}
	set, err := f.cat.CreateDish(f.ctx, sc, catalog.DishInput{Name: "长者套餐", Category: "套餐", PriceFen: setMealFen})
	f.check(err)
	pork, err := f.cat.CreateDish(f.ctx, sc, catalog.DishInput{Name: "红烧肉", Category: "荤菜", PriceFen: porkFen})
	f.check(err)
	f.setMeal, f.pork = set.ID, pork.ID

	fs := funding.Scope{CommunityID: f.cid, Actor: audit.SystemActor}
	gov, err := f.fund.CreateSponsor(f.ctx, fs, funding.SponsorInput{Kind: funding.SponsorGovernment, Name: "市级财政"})
	f.check(err)
	shop, err := f.fund.CreateSponsor(f.ctx, fs, funding.SponsorInput{Kind: funding.SponsorMerchant, Name: "爱心超市", MerchantID: &f.donor})
	f.check(err)
	f.gov, f.shop = gov.ID, shop.ID
	for _, p := range []struct {
		sponsor int64
		id      *int64
	}{{gov.ID, &f.govPl}, {shop.ID, &f.shopPl}} {
		pl, err := f.fund.CreatePledge(f.ctx, fs, funding.PledgeInput{SponsorID: p.sponsor, Name: "长者助餐", Kind: funding.Range,
			AmountFen: 10_000_000, From: day(time.October, 1), To: day(time.December, 31)})
		f.check(err)
		*p.id = pl.ID
	}
	elder, err := f.fund.CreatePolicy(f.ctx, fs, subsidy.Policy{Name: "长者公益价", Priority: 10,
		Who:     subsidy.Who{Groups: []subsidy.Group{subsidy.Elderly}},
		What:    subsidy.What{Categories: []string{"套餐"}},
		Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: elderPayFen},
		Limits:  []subsidy.Limit{{Window: subsidy.PerDay, Count: 2}},
		Funding: subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{
			{PledgeID: f.govPl, SponsorID: gov.ID, Label: "市级补贴", Fen: govPartFen},
			{PledgeID: f.shopPl, SponsorID: shop.ID, Label: "爱心商户"}}}})
	f.check(err)
	f.elderPol = elder.Policy
	_, err = f.fund.CreatePolicy(f.ctx, fs, subsidy.Policy{Name: "骑手午餐", Priority: 5,
		Who:     subsidy.Who{Groups: []subsidy.Group{subsidy.Worker}},
		Benefit: subsidy.Benefit{Kind: subsidy.AmountOff, AmountFen: workerOff},
		Funding: subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{{PledgeID: f.govPl, SponsorID: gov.ID, Label: "骑手补贴"}}}})
	f.check(err)

	f.elder1 = f.diner("o-elder-1")
	f.elig1 = f.approveElder(f.elder1, "19500312")
	f.elder2 = f.diner("o-elder-2")
	f.approveElder(f.elder2, "19400105")
	f.rider = f.diner("o-rider")
	e, err := f.elig.ApplyWorker(f.ctx, eligibility.Scope{CommunityID: f.cid, Actor: audit.Actor{Kind: audit.Diner, ID: f.rider, Name: "rider"}},
		f.rider, eligibility.WorkerApplication{Name: "李骑手", Platform: "美团", WorkerID: "MT-0001", ProofRef: "proof/mt-0001.jpg"})
	f.check(err)
	_, err = f.elig.Approve(f.ctx, f.reviewerScope(), e.ID, day(time.October, 1), day(time.December, 31))
	f.check(err)
	f.walkIn = f.diner("o-walk-in")
	return f
}

func (f *fixture) check(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) scan(query string, dst any, args ...any) {
	f.t.Helper()
	f.check(f.db.NewRaw(query, args...).Scan(f.ctx, dst))
}

func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	_, err := f.db.NewRaw(query, args...).Exec(f.ctx)
	f.check(err)
}

func (f *fixture) count(query string, args ...any) int64 {
	f.t.Helper()
	var n int64
	f.scan(query, &n, args...)
	return n
}

func (f *fixture) reviewerScope() eligibility.Scope {
	return eligibility.Scope{CommunityID: f.cid, Reviewer: true, Actor: audit.Actor{Kind: audit.Staff, ID: f.reviewer, Name: "审核员"}}
}

// financeScope is finance closing months and booking corrections.
func (f *fixture) financeScope() settlement.Scope {
	return settlement.Scope{CommunityID: f.cid, Actor: audit.Actor{Kind: audit.Staff, ID: f.finance, Name: "财务小李"}}
}

func (f *fixture) diner(openid string) int64 {
	f.t.Helper()
	var id int64
	f.scan("INSERT INTO diners (community_id, app_id, openid) VALUES (?, 'wxapp', ?) RETURNING id", &id, f.cid, openid)
	return id
}

// approveElder makes diner an elder born on birth (YYYYMMDD), valid from the fixture's
// today to the end of June 2027, and returns the eligibility's id.
func (f *fixture) approveElder(diner int64, birth string) int64 {
	f.t.Helper()
	e, err := f.elig.ApplyElderly(f.ctx, eligibility.Scope{CommunityID: f.cid, Actor: audit.Actor{Kind: audit.Diner, ID: diner, Name: "diner"}},
		diner, eligibility.ElderlyApplication{Name: "张阿婆", IDNumber: subsidy.CompleteIDNumber(fmt.Sprintf("440104%s%03d", birth, diner%1000)), District: "越秀区"})
	f.check(err)
	_, err = f.elig.Approve(f.ctx, f.reviewerScope(), e.ID, civil.Today(f.now), civil.Date{Year: 2027, Month: time.June, Day: 30})
	f.check(err)
	return e.ID
}

// menu publishes lunch on d at both canteens, once.
func (f *fixture) menu(d civil.Date) {
	f.t.Helper()
	if f.menus[d] {
		return
	}
	f.menus[d] = true
	saved := f.now
	f.now = at(d, 8)
	defer func() { f.now = saved }()
	sc := catalog.Scope{CommunityID: f.cid, Actor: audit.SystemActor}
	for _, c := range []int64{f.canteenA, f.canteenB} {
		_, err := f.cat.PutMenu(f.ctx, sc, c, d, catalog.Lunch, []catalog.MenuItemInput{{DishID: f.setMeal, Supply: 100}, {DishID: f.pork, Supply: 100}})
		f.check(err)
		_, err = f.cat.PublishMenu(f.ctx, sc, c, d, catalog.Lunch)
		f.check(err)
	}
}

// during runs fn at instant t: the fixture's clock reads t, and the ledger entries,
// payments and refunds fn writes (stamped by the database clock) are moved to t.
func (f *fixture) during(t time.Time, fn func()) {
	f.t.Helper()
	f.now = t
	var mark time.Time
	f.scan("SELECT clock_timestamp()", &mark)
	fn()
	err := f.db.RunInTx(f.ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, q := range []string{
			"SET LOCAL session_replication_role = replica", // the ledger's append-only trigger stays out of the way
			"UPDATE ledger_entries SET created_at = ?0 WHERE created_at >= ?1",
			"UPDATE payments SET created_at = ?0 WHERE created_at >= ?1",
			"UPDATE refunds SET created_at = ?0 WHERE created_at >= ?1",
			"UPDATE refunds SET settled_at = ?0 WHERE settled_at >= ?1",
		} {
			if _, err := tx.NewRaw(q, t, mark).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	f.check(err)
}

// lunch places lunch for diner at canteen on d (the clock must be that morning): the set
// meal, or pork; paid by WeChat (the payment credited at once) or in cash at the counter.
func (f *fixture) lunch(diner, canteen int64, d civil.Date, dish int64, cash bool) order.Order {
	f.t.Helper()
	f.menu(d)
	f.seq++
	key := fmt.Sprintf("order-key-%06d", f.seq)
	cart := order.Cart{CanteenID: canteen, Day: d, Period: catalog.Lunch, Lines: []order.LineRequest{{DishID: dish, Qty: 1}}}
	if cash {
		o, err := f.orders.Place(f.ctx, order.Caller{CommunityID: f.cid, Kind: "staff", ID: f.counter, Name: "收银员", Counter: true}, key,
			order.PlaceRequest{Cart: order.Cart{CanteenID: canteen, Day: d, Period: catalog.Lunch, Lines: cart.Lines, ForDinerID: diner},
				Payment: order.Cash})
		f.check(err)
		return o
	}
	o, err := f.orders.Place(f.ctx, order.Caller{CommunityID: f.cid, Kind: "diner", ID: diner, Name: "diner"}, key, order.PlaceRequest{Cart: cart})
	f.check(err)
	if o.Status == order.Pending {
		f.payWeChat(o, o.PayFen)
		o.Status = order.Paid
	}
	return o
}

// payWeChat records WeChat's report that fen was paid for o, now.
func (f *fixture) payWeChat(o order.Order, fen int64) {
	f.t.Helper()
	in, err := f.pay.NewIntent(f.ctx, payment.Intent{CommunityID: f.cid, OrderID: o.ID, AmountFen: o.PayFen, PayerOpenID: "o-payer",
		ExpiresAt: f.now.Add(15 * time.Minute)})
	f.check(err)
	f.seq++
	_, err = f.pay.Record(f.ctx, payment.Transaction{OutTradeNo: in.OutTradeNo, TransactionID: fmt.Sprintf("4200%010d", f.seq),
		State: payment.StateSuccess, AmountFen: fen, PayerOpenID: "o-payer", MchID: "1900000109", AppID: "wxapp", SuccessTime: f.now},
		payment.FromNotification, payment.Merchant{MchID: "1900000109", AppID: "wxapp"})
	f.check(err)
}

// refund refunds fen of WeChat order o, at once and successfully.
func (f *fixture) refund(o order.Order, fen int64) {
	f.t.Helper()
	f.seq++
	no := fmt.Sprintf("RF-%d-%d", o.ID, f.seq)
	_, err := f.pay.RequestRefund(f.ctx, payment.Refund{OrderID: o.ID, OutRefundNo: no, AmountFen: fen, Reason: "不想吃了"}, f.cid)
	f.check(err)
	_, err = f.pay.Settle(f.ctx, no, payment.RefundSuccess, "50300"+no)
	f.check(err)
}

// month holds the orders the standard month places.
type month struct {
	elderWeChat, elderCash, rider, walkIn, refunded order.Order
}

// october places the standard October: on the 5th an elder pays by WeChat at the
// operator's canteen, another elder pays cash at the community's canteen, a rider and a
// diner of no group pay by WeChat; on the 20th an elder's order is refunded by half.
func (f *fixture) october() month {
	f.t.Helper()
	var m month
	d5, d20 := day(time.October, 5), day(time.October, 20)
	f.during(at(d5, 10), func() {
		m.elderWeChat = f.lunch(f.elder1, f.canteenA, d5, f.setMeal, false)
		m.elderCash = f.lunch(f.elder2, f.canteenB, d5, f.setMeal, true)
		m.rider = f.lunch(f.rider, f.canteenA, d5, f.pork, false)
		m.walkIn = f.lunch(f.walkIn, f.canteenA, d5, f.pork, false)
	})
	f.during(at(d20, 10), func() { m.refunded = f.lunch(f.elder1, f.canteenA, d20, f.setMeal, false) })
	f.during(at(d20, 15), func() { f.refund(m.refunded, elderPayFen/2) })
	return m
}

// closeMonth closes m by hand as finance, on the 2nd of the next month.
func (f *fixture) closeMonth(m settlement.Month) settlement.Close {
	f.t.Helper()
	f.now = at(m.Next().First(), 9).Add(24 * time.Hour)
	c, err := f.svc.Close(f.ctx, f.financeScope(), m, settlement.CloseRequest{})
	f.check(err)
	return c
}

// statements returns the closed statements of m, with their lines, by party.
func (f *fixture) statements(m settlement.Month) map[settlement.Party]settlement.Statement {
	f.t.Helper()
	list, err := f.store.Statements(f.ctx, f.cid, settlement.StatementQuery{Month: m})
	f.check(err)
	out := map[settlement.Party]settlement.Statement{}
	for _, s := range list {
		full, err := f.store.Statement(f.ctx, f.cid, s.ID)
		f.check(err)
		out[s.Party] = full
	}
	return out
}

func (f *fixture) sponsorParty(id int64) settlement.Party {
	return settlement.Party{Kind: settlement.Sponsor, ID: id}
}

func (f *fixture) operatorParty(id int64) settlement.Party {
	return settlement.Party{Kind: settlement.Operator, ID: id}
}

func itoa(id int64) string { return fmt.Sprint(id) }
