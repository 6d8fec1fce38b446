package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/authdb"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/catalogdb"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/community"
	"github.com/canteen-oss/canteen/internal/communitydb"
	"github.com/canteen-oss/canteen/internal/config"
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
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/printer"
	"github.com/canteen-oss/canteen/internal/ratelimit"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlement/export"
	"github.com/canteen-oss/canteen/internal/settlementdb"
	"github.com/canteen-oss/canteen/internal/wechat"
)

func loadConfig(getenv func(string) string) (config.Config, error) {
	return config.Load(getenv)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// system is every long-lived dependency and service of a process.
type system struct {
	cfg       config.Config
	log       *slog.Logger
	db        *bun.DB
	rdb       redis.UniversalClient
	reg       *prometheus.Registry
	auth      *auth.Service
	community *community.Service
	catalog   *catalog.Service
	audit     *auditdb.Store
	elig      *eligibility.Service
	funding   *funding.Service
	orders    *order.Service
	payments  *payment.Service // nil without WeChat Pay
	payNotice func(*http.Request) (payment.Transaction, error)
	// refundNotice verifies a WeChat Pay refund notification.
	refundNotice func(*http.Request) (payment.RefundState, error)
	bills        *payment.Bills
	reconcile    *payment.Reconciliation // nil without WeChat Pay
	kitchen      *kitchen.Service
	printers     *kitchen.Printers
	settlement   *settlement.Service
	exports      *export.Service
	wechat       *wechat.Client
	// demo fakes' URLs, for the diner page's demo login and payment (dev only)
	demoWeChatURL, demoPayURL string
}

// open connects to PostgreSQL and Redis and builds the services.
func open(ctx context.Context, cfg config.Config, keys *secure.Keyring, log *slog.Logger) (*system, error) {
	db, err := postgres.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	rdb, err := jobs.OpenRedis(ctx, cfg.RedisURL)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	wx := wechat.New(wechat.Config{BaseURL: cfg.WeChatBaseURL, AppID: cfg.WeChatAppID, Secret: cfg.WeChatSecret})
	login := func(ctx context.Context, code string) (string, string, error) {
		s, err := wx.Code2Session(ctx, code)
		return s.OpenID, s.UnionID, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.DB, "canteen"), jobs.NewQueueCollector(rdb))
	s := &system{
		cfg: cfg, log: log, db: db, rdb: rdb, reg: reg,
		auth: auth.NewService(authdb.New(db), ratelimit.New(rdb, "canteen:login:", cfg.LoginRatePerMin, time.Minute), login,
			auth.Options{StaffTTL: cfg.StaffSessionTTL, DinerTTL: cfg.DinerSessionTTL, DeviceTTL: cfg.DeviceSessionTTL, AppID: cfg.WeChatAppID}),
		community: community.NewService(communitydb.New(db, keys), secure.NormalizePhone),
		catalog:   catalog.NewService(catalogdb.New(db), time.Now),
		audit:     auditdb.New(db),
		elig:      eligibility.NewService(eligibilitydb.New(db, keys), time.Now),
		funding:   funding.NewService(fundingdb.New(db), time.Now),
		kitchen:   kitchen.NewService(kitchendb.New(db), time.Now),
		printers:  kitchen.NewPrinters(kitchendb.New(db), printer.New(printer.Options{}), time.Now),
		wechat:    wx,
	}
	s.orders = order.NewService(s.catalog, s.elig, s.funding, orderdb.New(db, fundingdb.NewLedger()),
		order.Options{PayTimeout: cfg.OrderPayTimeout, Now: time.Now})
	s.settlement = settlement.NewService(settlementdb.New(db), time.Now)
	s.exports = export.NewService(settlementdb.New(db), settlementdb.NewExports(db, keys), time.Now)
	return s, nil
}

func (s *system) close() {
	_ = s.rdb.Close()
	_ = s.db.Close()
}

// readiness lists what /readyz checks.
func (s *system) readiness() []httpapi.Check {
	return []httpapi.Check{
		{Name: "postgres", Fn: func(ctx context.Context) error { return s.db.PingContext(ctx) }},
		{Name: "redis", Fn: func(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }},
		{Name: "migrations", Fn: func(ctx context.Context) error {
			m, err := postgres.NewMigrator(s.db)
			if err != nil {
				return err
			}
			pending, err := m.Pending(ctx)
			if err != nil {
				return err
			}
			if len(pending) > 0 {
				return fmt.Errorf("%d pending: %v", len(pending), pending)
			}
			return nil
		}},
	}
}

// httpApp builds the HTTP app over the system's services.
func (s *system) httpApp(demo bool) (*httpapi.Deps, error) {
	mon, err := jobs.Monitor(s.cfg.RedisURL, "/admin/asynq")
	if err != nil {
		return nil, err
	}
	return &httpapi.Deps{Log: s.log, Auth: s.auth, Community: s.community, Catalog: s.catalog, Audit: s.audit,
		Eligibility: s.elig, Funding: s.funding, Orders: s.orders, Payments: s.payments, Reconciliation: s.reconcile, PaymentNotice: s.payNotice, RefundNotice: s.refundNotice,
		DemoWeChatURL: s.demoWeChatURL, DemoPayURL: s.demoPayURL, Kitchen: s.kitchen, Printers: s.printers, Settlement: s.settlement, Exports: s.exports, Hub: httpapi.NewHub(),
		Ready: s.readiness(), Metrics: httpapi.NewMetrics(s.reg), Asynqmon: mon, Demo: demo}, nil
}

func (s *system) handlers() jobs.Handlers {
	h := jobs.Handlers{PurgeSessions: s.auth.PurgeSessions, ExpireOrders: s.orders.ExpireDue,
		CreateTicket: func(ctx context.Context, communityID, orderID int64) error {
			_, _, err := s.kitchen.CreateTicket(ctx, communityID, orderID)
			return err
		},
		UnticketedOrders: s.kitchen.Unticketed, PrintTicket: s.printers.Print, RedrivePrints: s.printers.Redrive,
		CloseMonths: s.settlement.CloseDue}
	if tpl := s.cfg.ReadyTemplateID; tpl != "" {
		store := orderdb.New(s.db, fundingdb.NewLedger())
		h.NotifyReady = func(ctx context.Context, communityID, orderID int64) error {
			return s.orders.NotifyReady(ctx, store, communityID, orderID, func(ctx context.Context, m order.ReadyMessage) error {
				return s.wechat.SendSubscribe(ctx, wechat.Message{ToUser: m.OpenID, TemplateID: tpl, Lang: "zh_CN",
					Page: fmt.Sprintf("pages/order/detail?id=%d", m.OrderID), Data: map[string]string{
						"character_string1": m.Pickup, "thing2": m.Dishes, "time3": m.ReadyAt.In(civil.Shanghai()).Format("2006-01-02 15:04")}})
			})
		}
	}
	if s.payments != nil {
		h.SweepPayments = func(ctx context.Context, limit int) (int, int, error) {
			r, err := s.payments.Sweep(ctx, limit)
			if err != nil {
				return r.Queried, r.Credited, err
			}
			_, err = s.payments.SweepRefunds(ctx, limit)
			return r.Queried, r.Credited, err
		}
		h.FetchTradeBill = func(ctx context.Context) error {
			_, err := s.bills.FetchYesterday(ctx, time.Now())
			return err
		}
		h.ReconcileBills = func(ctx context.Context) (int, error) {
			runs, err := s.reconcile.RunDue(ctx)
			return len(runs), err
		}
	}
	return h
}

// requireKeys returns the configured keyring; serve and work refuse to start without one.
func requireKeys(cfg config.Config) (*secure.Keyring, error) {
	kr, err := cfg.Keyring()
	if err != nil {
		return nil, errors.New(err.Error() + "; `canteen dev` runs with a demo keyring instead")
	}
	return kr, nil
}
