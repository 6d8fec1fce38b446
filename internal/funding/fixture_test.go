package funding_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/fundingdb"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// today is the fixture's day: Monday 2026-11-30 in Asia/Shanghai.
var today = civil.Date{Year: 2026, Month: time.November, Day: 30}

var (
	nov = funding.Month{Year: 2026, Month: time.November}
	dec = funding.Month{Year: 2026, Month: time.December}
)

// fixture is a fresh database with two communities (a and b) and a service over fundingdb.
type fixture struct {
	t   *testing.T
	ctx context.Context
	db  *bun.DB
	svc *funding.Service
	now time.Time
	a   funding.Scope
	b   funding.Scope
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, _ := pgtest.New(t)
	f := &fixture{t: t, ctx: context.Background(), db: db, now: today.Start().Add(9 * time.Hour)}
	f.svc = funding.NewService(fundingdb.New(db), func() time.Time { return f.now })
	f.a = funding.Scope{CommunityID: f.insert("INSERT INTO communities (code, name) VALUES ('comm-a', '幸福社区') RETURNING id"),
		Actor: audit.Actor{Kind: audit.Staff, ID: 7, Name: "王阿姨"}}
	f.b = funding.Scope{CommunityID: f.insert("INSERT INTO communities (code, name) VALUES ('comm-b', '和平社区') RETURNING id"),
		Actor: audit.Actor{Kind: audit.Staff, ID: 8, Name: "李师傅"}}
	return f
}

// insert runs an INSERT ... RETURNING id the service does not offer (communities, canteens).
func (f *fixture) insert(query string, args ...any) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.NewRaw(query, args...).Scan(f.ctx, &id); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return id
}

func (f *fixture) canteen(sc funding.Scope, name string) int64 {
	return f.insert("INSERT INTO canteens (community_id, name) VALUES (?, ?) RETURNING id", sc.CommunityID, name)
}

func (f *fixture) merchant(sc funding.Scope, name string) int64 {
	return f.insert("INSERT INTO merchants (community_id, name) VALUES (?, ?) RETURNING id", sc.CommunityID, name)
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.NewRaw(query, args...).Scan(f.ctx, &n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) sponsor(sc funding.Scope, kind funding.SponsorKind, name string) funding.Sponsor {
	f.t.Helper()
	s, err := f.svc.CreateSponsor(f.ctx, sc, funding.SponsorInput{Kind: kind, Name: name})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) monthly(sc funding.Scope, sponsorID int64, name string, amount int64) funding.Pledge {
	f.t.Helper()
	p, err := f.svc.CreatePledge(f.ctx, sc, funding.PledgeInput{SponsorID: sponsorID, Name: name, Kind: funding.Monthly,
		AmountFen: amount, StartMonth: nov})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// policy is a Guangzhou-style fixed price: the diner pays 3 元, the city pays 3 元 and
// the district the rest.
func policy(city, district int64) subsidy.Policy {
	return subsidy.Policy{Name: "广州长者助餐", Priority: 10,
		Who:     subsidy.Who{Groups: []subsidy.Group{subsidy.Elderly}},
		Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 300},
		Funding: subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{
			{PledgeID: city, Label: "市级", Fen: 300},
			{PledgeID: district, Label: "区级"},
		}}}
}

func ptr[T any](v T) *T { return &v }
