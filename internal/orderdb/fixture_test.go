package orderdb_test

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
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// The clock of these tests: Wednesday 25 November 2026, 10:00 in Shanghai. Lunch is
// served 11:00-13:30 and ordered until 13:00.
var (
	now   = time.Date(2026, 11, 25, 10, 0, 0, 0, civil.Shanghai())
	today = civil.Today(now)
)

type fixture struct {
	t        testing.TB
	ctx      context.Context
	db       *bun.DB
	now      time.Time
	cat      *catalog.Service
	elig     *eligibility.Service
	fund     *funding.Service
	orders   *order.Service
	ledger   *fundingdb.Ledger
	cid      int64 // community
	canteen  int64
	reviewer int64 // staff id
	dishes   map[string]int64
	sponsor  int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, _ := pgtest.New(t)
	f := &fixture{t: t, ctx: context.Background(), db: db, now: now, dishes: map[string]int64{}, ledger: fundingdb.NewLedger()}
	clock := func() time.Time { return f.now }
	f.cat = catalog.NewService(catalogdb.New(db), clock)
	f.elig = eligibility.NewService(eligibilitydb.New(db, secure.DemoKeyring()), clock)
	f.fund = funding.NewService(fundingdb.New(db), clock)
	f.orders = order.NewService(f.cat, f.elig, f.fund, orderdb.New(db, f.ledger), order.Options{Now: clock, PayTimeout: 15 * time.Minute})
	f.mustExec("INSERT INTO communities (code, name) VALUES ('c1', '幸福里') RETURNING id", &f.cid)
	f.mustExec(`INSERT INTO staff (community_id, username, display_name, password_hash, roles) VALUES (?, 'rev', '审核员', 'x', '{reviewer}') RETURNING id`, &f.reviewer, f.cid)
	sc := f.catScope()
	ct, err := f.cat.CreateCanteen(f.ctx, sc, catalog.CanteenInput{Name: "长者饭堂", District: "越秀区"})
	f.check(err)
	f.canteen = ct.ID
	_, err = f.cat.SetMealPeriod(f.ctx, sc, ct.ID, catalog.MealPeriod{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0),
		ServeEnd: catalog.Clock(13, 30), OrderCutoff: catalog.Clock(13, 0), PreorderDays: 3, Enabled: true})
	f.check(err)
	for _, d := range []catalog.DishInput{
		{Name: "长者套餐", Category: "套餐", PriceFen: 1200},
		{Name: "红烧肉", Category: "荤菜", PriceFen: 1500},
		{Name: "米饭", Category: "主食", PriceFen: 100},
		{Name: "不在菜单上的菜", Category: "荤菜", PriceFen: 900},
	} {
		dd, err := f.cat.CreateDish(f.ctx, sc, d)
		f.check(err)
		f.dishes[d.Name] = dd.ID
	}
	sp, err := f.fund.CreateSponsor(f.ctx, f.fundScope(), funding.SponsorInput{Kind: funding.SponsorMerchant, Name: "阳光餐饮"})
	f.check(err)
	f.sponsor = sp.ID
	return f
}

func (f *fixture) check(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) mustExec(query string, dst any, args ...any) {
	f.t.Helper()
	f.check(f.db.NewRaw(query, args...).Scan(f.ctx, dst))
}

func (f *fixture) catScope() catalog.Scope {
	return catalog.Scope{CommunityID: f.cid, Actor: audit.SystemActor}
}

func (f *fixture) fundScope() funding.Scope {
	return funding.Scope{CommunityID: f.cid, Actor: audit.SystemActor}
}

// menu publishes today's lunch with the given supply of each dish on it.
func (f *fixture) menu(supply int) {
	f.t.Helper()
	var items []catalog.MenuItemInput
	for _, name := range []string{"长者套餐", "红烧肉", "米饭"} {
		items = append(items, catalog.MenuItemInput{DishID: f.dishes[name], Supply: supply})
	}
	_, err := f.cat.PutMenu(f.ctx, f.catScope(), f.canteen, today, catalog.Lunch, items)
	f.check(err)
	_, err = f.cat.PublishMenu(f.ctx, f.catScope(), f.canteen, today, catalog.Lunch)
	f.check(err)
}

// pledge creates a range pledge of fen for this month.
func (f *fixture) pledge(fen int64) int64 {
	f.t.Helper()
	p, err := f.fund.CreatePledge(f.ctx, f.fundScope(), funding.PledgeInput{SponsorID: f.sponsor, Name: fmt.Sprintf("认捐 %d", fen),
		Kind: funding.Range, AmountFen: fen, From: today.AddDays(-1), To: today.AddDays(30)})
	f.check(err)
	return p.ID
}

// policy creates a policy and returns it with its id and version.
func (f *fixture) policy(p subsidy.Policy) subsidy.Policy {
	f.t.Helper()
	rec, err := f.fund.CreatePolicy(f.ctx, f.fundScope(), p)
	f.check(err)
	return rec.Policy
}

// diner inserts a diner who logged in with WeChat.
func (f *fixture) diner(openid string) int64 {
	f.t.Helper()
	var id int64
	f.mustExec("INSERT INTO diners (community_id, app_id, openid) VALUES (?, 'wxapp', ?) RETURNING id", &id, f.cid, openid)
	return id
}

// elder makes dinerID an approved elder born on birth ("YYYYMMDD").
func (f *fixture) elder(dinerID int64, birth string, flags ...subsidy.StatusFlag) {
	f.t.Helper()
	e, err := f.elig.ApplyElderly(f.ctx, eligibility.Scope{CommunityID: f.cid, Actor: audit.Actor{Kind: audit.Diner, ID: dinerID, Name: "diner"}},
		dinerID, eligibility.ElderlyApplication{Name: "张阿婆", IDNumber: idNumber("440104", birth, fmt.Sprintf("%03d", dinerID%1000)), District: "越秀区", Flags: flags})
	f.check(err)
	_, err = f.elig.Approve(f.ctx, eligibility.Scope{CommunityID: f.cid, Actor: audit.Actor{Kind: audit.Staff, ID: f.reviewer, Name: "审核员"}, Reviewer: true},
		e.ID, today, today.AddDays(300))
	f.check(err)
}

func idNumber(region, birth, seq string) string {
	return subsidy.CompleteIDNumber(region + birth + seq)
}

func dinerCaller(f *fixture, id int64) order.Caller {
	return order.Caller{CommunityID: f.cid, Kind: "diner", ID: id, Name: "diner"}
}

func (f *fixture) cart(lines ...order.LineRequest) order.Cart {
	return order.Cart{CanteenID: f.canteen, Day: today, Period: catalog.Lunch, Lines: lines}
}

func (f *fixture) line(name string, qty int) order.LineRequest {
	return order.LineRequest{DishID: f.dishes[name], Qty: qty}
}

func (f *fixture) place(by order.Caller, key string, c order.Cart) (order.Order, error) {
	return f.orders.Place(f.ctx, by, key, order.PlaceRequest{Cart: c})
}

// count runs a counting query.
func (f *fixture) count(query string, args ...any) int64 {
	f.t.Helper()
	var n int64
	f.mustExec(query, &n, args...)
	return n
}

// elderPrice is a general 公益价 policy: anyone registered as elderly pays fen for the set
// meal, funded by pledge.
func elderPrice(pledge int64, fen int64, limits ...subsidy.Limit) subsidy.Policy {
	return subsidy.Policy{Name: "长者公益价", Priority: 10,
		Who:     subsidy.Who{Groups: []subsidy.Group{subsidy.Elderly}},
		What:    subsidy.What{Categories: []string{"套餐"}},
		Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: fen},
		Limits:  limits,
		Funding: subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{{PledgeID: pledge, Label: "商户"}}}}
}
