package fundingdb_test

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

type env struct {
	t      *testing.T
	ctx    context.Context
	db     *bun.DB
	store  *fundingdb.Store
	ledger *fundingdb.Ledger
	svc    *funding.Service
	sc     funding.Scope
	other  funding.Scope // a second community
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, _ := pgtest.New(t)
	e := &env{t: t, ctx: context.Background(), db: db, store: fundingdb.New(db), ledger: fundingdb.NewLedger()}
	e.svc = funding.NewService(e.store, func() time.Time { return today.Start().Add(9 * time.Hour) })
	e.sc = funding.Scope{CommunityID: e.community("c1"), Actor: audit.Actor{Kind: audit.Staff, ID: 1, Name: "财务小张"}}
	e.other = funding.Scope{CommunityID: e.community("c2"), Actor: audit.Actor{Kind: audit.Staff, ID: 2, Name: "管理员"}}
	return e
}

func (e *env) community(code string) int64 {
	e.t.Helper()
	var id int64
	if err := e.db.NewRaw("INSERT INTO communities (code, name) VALUES (?, ?) RETURNING id", code, "社区 "+code).Scan(e.ctx, &id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) sponsor(sc funding.Scope, name string) funding.Sponsor {
	e.t.Helper()
	s, err := e.svc.CreateSponsor(e.ctx, sc, funding.SponsorInput{Kind: funding.SponsorCharity, Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// rangePledge creates a range pledge of amount for November-December 2026.
func (e *env) rangePledge(sc funding.Scope, name string, amount int64) funding.Pledge {
	e.t.Helper()
	p, err := e.svc.CreatePledge(e.ctx, sc, funding.PledgeInput{SponsorID: e.sponsor(sc, name+"基金").ID, Name: name,
		Kind: funding.Range, AmountFen: amount, From: civil.Date{Year: 2026, Month: 11, Day: 1}, To: civil.Date{Year: 2026, Month: 12, Day: 31}})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// monthlyPledge creates a monthly pledge of amount from November 2026, with no end.
func (e *env) monthlyPledge(sc funding.Scope, name string, amount int64) funding.Pledge {
	e.t.Helper()
	p, err := e.svc.CreatePledge(e.ctx, sc, funding.PledgeInput{SponsorID: e.sponsor(sc, name+"商户").ID, Name: name,
		Kind: funding.Monthly, AmountFen: amount, StartMonth: funding.Month{Year: 2026, Month: time.November}})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// policy creates a fixed-price policy paid by pledges, in order, the last paying the rest.
func (e *env) policy(sc funding.Scope, pledges ...int64) subsidy.Policy {
	e.t.Helper()
	var parts []subsidy.FundingPart
	for i, id := range pledges {
		part := subsidy.FundingPart{PledgeID: id, Label: "资助"}
		if i < len(pledges)-1 {
			part.Fen = 300
		}
		parts = append(parts, part)
	}
	r, err := e.svc.CreatePolicy(e.ctx, sc, subsidy.Policy{Name: "长者午餐", Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 300},
		Funding: subsidy.Funding{Mode: subsidy.FundingFixed, Parts: parts}})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Policy
}

// inTx runs fn in a transaction of its own, as ordering does.
func (e *env) inTx(fn func(tx bun.Tx) error) error {
	return e.db.RunInTx(e.ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(tx) })
}

func (e *env) hold(orderID int64, day civil.Date, holds ...funding.Hold) error {
	return e.inTx(func(tx bun.Tx) error { return e.ledger.Hold(e.ctx, tx, e.sc.CommunityID, orderID, day, holds) })
}

func (e *env) mustHold(orderID int64, holds ...funding.Hold) {
	e.t.Helper()
	if err := e.hold(orderID, today, holds...); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) commit(orderID int64) {
	e.t.Helper()
	if err := e.inTx(func(tx bun.Tx) error { return e.ledger.Commit(e.ctx, tx, e.sc.CommunityID, orderID) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) release(orderID int64) {
	e.t.Helper()
	if err := e.inTx(func(tx bun.Tx) error { return e.ledger.Release(e.ctx, tx, e.sc.CommunityID, orderID) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) reverse(orderID, refunded, paid int64) error {
	return e.inTx(func(tx bun.Tx) error { return e.ledger.Reverse(e.ctx, tx, e.sc.CommunityID, orderID, refunded, paid) })
}

// balance returns the balance of a pledge period, failing when it was never opened.
func (e *env) balance(pledgeID int64, period funding.Period) funding.Balance {
	e.t.Helper()
	key := funding.BalanceKey{PledgeID: pledgeID, Period: period}
	bs, err := e.store.Balances(e.ctx, e.sc.CommunityID, []funding.BalanceKey{key})
	if err != nil {
		e.t.Fatal(err)
	}
	b, ok := bs[key]
	if !ok {
		e.t.Fatalf("period %d/%s not opened", pledgeID, period)
	}
	return b
}

// check fails the test unless the community's ledger proves.
func (e *env) check(sc funding.Scope) {
	e.t.Helper()
	if err := e.ledger.Check(e.ctx, e.db, sc.CommunityID); err != nil {
		e.t.Fatalf("ledger check: %v", err)
	}
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.NewRaw(query, args...).Scan(e.ctx, &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func bal(pledgeID int64, period funding.Period, funded, available, held, spent int64) funding.Balance {
	return funding.Balance{PledgeID: pledgeID, Period: period, FundedFen: funded, AvailableFen: available,
		HeldFen: held, SpentFen: spent, Opened: true}
}
