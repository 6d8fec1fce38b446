// Package monthgen generates a whole month of a community's canteens, for the tests and
// benchmarks that prove month end (月结) at scale. It is test support: only tests import it.
//
// A generated month has three canteens with different operators (two partner merchants
// and the community itself), sponsors of every kind (government, a charity fund, the
// community's own fund and partner merchants) paying through fixed parts, shares and a
// waterfall whose merchant pledge runs out during the month, elders of every age tier
// and status, riders, diners of no group and walk-ins at the counter. It is made in two
// layers on the same database:
//
//   - the bulk: most of the orders, priced one by one by the real pricing engine
//     (subsidy.Price) against the pledge balances and limit usage as they stand at each
//     order, and written with COPY and set-based SQL exactly as the services would write
//     a paid, cancelled, expired or refunded order: the order, its lines and subsidy
//     parts, its holds, claims and ledger transactions, its payment intent, payment and
//     refunds, the balances, limit usage and menu supply. The database's own integrity
//     rules check it as it goes in (the deferred balanced-transaction trigger, the
//     CHECKs and keys), and Generate ends with the ledger's Check;
//   - the core: a few hundred orders through the real services, HTTP-free except where
//     WeChat Pay itself speaks HTTP: orders placed with their holds, paid through the
//     fake WeChat Pay and its signed notifications (some of them sent twice or three
//     times, some lost and caught by the sweeper's query, one arriving after the order
//     expired and sent back), cancelled by the diner, expired by the expiry sweep,
//     refunded in part or in full through the refund path, and paid in cash at the
//     counter.
//
// With Options.Bills, the WeChat Pay trade bill of every day is then written from what
// WeChat would have recorded (our payments and the refunds we asked for), stored through
// payment.Bills and reconciled by payment.Reconciliation. World.LateRefund refunds one
// order after the month closed, through the refund path.
//
// Every service runs on the world's Clock (Asia/Shanghai business time); what the
// database stamps with its own clock (ledger entries, payments, refunds) is moved to the
// simulated instant after each step of the core.
package monthgen

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
	"github.com/canteen-oss/canteen/internal/paymentdb"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/settlement"
)

// DefaultMonth is the month generated when Options.Month is zero.
var DefaultMonth = settlement.Month{Year: 2026, Month: time.October}

// Options shape a generated month.
type Options struct {
	// Month is the Asia/Shanghai month of the orders (DefaultMonth when zero).
	Month settlement.Month
	// Orders is how many orders the month has in all, the core's included; a number
	// below the core's gives the core alone.
	Orders int
	// Seed makes the month reproducible: the same seed and options give the same
	// orders, prices, fates and amounts.
	Seed uint64
	// Bills writes, stores and reconciles the WeChat Pay trade bill of every day.
	Bills bool
	// Logf, when set, is told what is being generated and how long it took.
	Logf func(format string, args ...any)
}

// Canteen is one canteen of the world and the operator cooking in it (0: the community).
type Canteen struct {
	ID         int64
	Name       string
	District   string
	OperatorID int64
}

// Sponsor is one sponsor with its monthly pledge.
type Sponsor struct {
	ID         int64
	Name       string
	Kind       funding.SponsorKind
	MerchantID int64 // the partner merchant behind a merchant sponsor; 0 for none
	PledgeID   int64
	PledgeFen  int64
}

// Stats counts what was generated.
type Stats struct {
	CoreOrders, BulkOrders int
	// Core, through the services: payment notifications delivered (repeats included), the
	// repeats (recorded nothing), those lost (answered 500, nothing recorded); payments the
	// sweeper's query found, and of them those for an order already expired (sent back);
	// refund notifications delivered.
	NotificationsSent, NotificationsDuplicate, NotificationsLost int
	CreditedByQuery, PaidAfterExpiry                             int
	RefundNotifications                                          int
	// Both layers, by how the order ended.
	WeChatPaid, Cash, ZeroPay, Cancelled, Expired int
	Refunds, FullRefunds                          int
	// Bills and reconciliation (Options.Bills).
	BillDays, BillRows int
}

// World is a generated month and the services it was made with.
type World struct {
	DB          *bun.DB
	Month       settlement.Month
	CommunityID int64
	MchID       string
	AppID       string
	Clock       *Clock
	// Finance is the finance staff member, who closes months.
	Finance   audit.Actor
	Canteens  []Canteen
	Merchants map[int64]string
	Sponsors  []Sponsor
	Stats     Stats

	opt Options
	rnd *rng

	cat     *catalog.Service
	elig    *eligibility.Service
	fund    *funding.Service
	orders  *order.Service
	ostore  *orderdb.Store
	pstore  *paymentdb.Store
	pay     *payment.Service
	bills   *payment.Bills
	recon   *payment.Reconciliation
	fake    *wechatpayfake.Server
	stop    []func()
	receive *receiver

	code     string // the community's code
	counter  int64  // counter staff
	reviewer int64
	dishes   map[string]catalog.Dish
	menus    map[menuKey]catalog.Menu
	// The bulk's diners; the core has its own (cs).
	elders   []*persona
	riders   []*persona
	generals []*persona
	cs       coreState // the core's diners and state
}

type menuKey struct {
	canteen int64
	day     civil.Date
	period  catalog.Period
}

// Generate makes the month opt describes in db, a migrated database of its own (the
// world's community is new; nothing else may write meanwhile), and returns it. Close
// the world when done: it stops the fake WeChat Pay.
func Generate(ctx context.Context, db *bun.DB, opt Options) (*World, error) {
	if opt.Month.IsZero() {
		opt.Month = DefaultMonth
	}
	if !opt.Month.IsValid() {
		return nil, errors.New("monthgen: invalid month")
	}
	w := &World{DB: db, Month: opt.Month, opt: opt, rnd: newRNG(opt.Seed), Clock: NewClock(opt.Month.First().Start().AddDate(0, 0, -10)),
		MchID: "1900009901", AppID: "wx5f0c0a1e2b3d4c01", Merchants: map[int64]string{},
		dishes: map[string]catalog.Dish{}, menus: map[menuKey]catalog.Menu{}}
	if err := w.wire(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			w.Close()
		}
	}()
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"setup", w.setup},
		{"bulk", w.bulk},
		{"core", w.core},
		{"ledger check", w.checkLedger},
	}
	if opt.Bills {
		steps = append(steps, struct {
			name string
			run  func(context.Context) error
		}{"bills", w.billsOfMonth})
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.run(ctx); err != nil {
			return nil, fmt.Errorf("monthgen: %s: %w", s.name, err)
		}
		w.logf("%s done in %s", s.name, time.Since(start).Round(time.Millisecond))
	}
	ok = true
	return w, nil
}

// checkLedger runs the ledger's own proof: every transaction balances, every balance
// equals its journal sums and what the order holds say.
func (w *World) checkLedger(ctx context.Context) error {
	return fundingdb.NewLedger().Check(ctx, w.DB, w.CommunityID)
}

// Close stops the fake WeChat Pay and the notification receiver.
func (w *World) Close() {
	for i := len(w.stop) - 1; i >= 0; i-- {
		w.stop[i]()
	}
	w.stop = nil
}

func (w *World) logf(format string, args ...any) {
	if w.opt.Logf != nil {
		w.opt.Logf(format, args...)
	}
}

// wire builds the services on the world's clock, the fake WeChat Pay and the client
// that talks to it, and the receiver of its notifications.
func (w *World) wire() error {
	clock := w.Clock.Now
	ledger := fundingdb.NewLedger()
	w.cat = catalog.NewService(catalogdb.New(w.DB), clock)
	w.elig = eligibility.NewService(eligibilitydb.New(w.DB, secure.DemoKeyring()), clock)
	w.fund = funding.NewService(fundingdb.New(w.DB), clock)
	w.ostore = orderdb.New(w.DB, ledger)
	w.orders = order.NewService(w.cat, w.elig, w.fund, w.ostore, order.Options{Now: clock, PayTimeout: payTimeout})
	w.pstore = paymentdb.New(w.DB, w.ostore)
	return w.wireWeChatPay()
}

// payTimeout is how long an unpaid order keeps its subsidy (CANTEEN_ORDER_PAY_TIMEOUT).
const payTimeout = 15 * time.Minute

// shanghai is hour:minute:second of day d, Asia/Shanghai.
func shanghai(d civil.Date, hour, minute, second int) time.Time {
	return d.Start().Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute + time.Duration(second)*time.Second)
}
