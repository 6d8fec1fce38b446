// Package httpapi is the HTTP face of canteen: the /api/v1 JSON API, health and
// metrics endpoints, the OpenAPI document and its docs page. It is the only package
// that imports Fiber. Every route is listed in one function, routes (routes.go).
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/community"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlement/export"
)

// Check is one readiness check: a dependency that must answer.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Deps are the services the API serves.
type Deps struct {
	Log       *slog.Logger
	Auth      *auth.Service
	Community *community.Service
	Catalog   *catalog.Service
	// Eligibility, Funding and Orders serve groups and family bindings, sponsors,
	// pledges and policies, and quoting and ordering.
	Eligibility *eligibility.Service
	Funding     *funding.Service
	Orders      *order.Service
	Audit       *auditdb.Store
	Ready       []Check
	Metrics     *Metrics
	Asynqmon    http.Handler // mounted at /admin/asynq behind admin login; nil leaves it out
	Payments    *payment.Service
	// Reconciliation matches WeChat Pay's trade bills with our payments; nil without WeChat Pay.
	Reconciliation *payment.Reconciliation
	Kitchen        *kitchen.Service
	// Printers lists and changes the kitchen's network printers; the print task prints.
	Printers *kitchen.Printers
	// Settlement closes months and serves statements, their sign-off and corrections.
	Settlement *settlement.Service
	// Exports renders closed statements as XLSX, CSV and printable HTML.
	Exports *export.Service
	// Hub carries ticket changes to kitchen screens (GET …/kitchen/canteens/:id/stream);
	// cmd feeds it from kitchendb.Listen and closes it before shutdown. Nil: no live
	// updates (the stream answers 503 and screens fall back to polling).
	Hub *Hub
	// PaymentNotice verifies (headers, timestamp, signature) and decrypts a WeChat Pay
	// payment notification; errors of kind Invalid are refused with 400.
	PaymentNotice func(r *http.Request) (payment.Transaction, error)
	// RefundNotice does the same for a refund notification.
	RefundNotice func(r *http.Request) (payment.RefundState, error)
	Demo         bool // the demo community is running: pages say so
	// DemoWeChatURL and DemoPayURL are the base URLs of the fake WeChat and fake WeChat
	// Pay, set in demo mode only: the diner page (/m/) logs in and pays through them.
	DemoWeChatURL string
	DemoPayURL    string
	Now           func() time.Time
}

// Options tune the HTTP server.
type Options struct {
	BodyLimit      int
	RequestTimeout time.Duration
}

type server struct {
	Deps
	opt Options
}

// New returns the Fiber app with every route and middleware.
func New(d Deps, opt Options) *fiber.App {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &server{Deps: d, opt: opt}
	app := fiber.New(fiber.Config{
		AppName:               "canteen",
		BodyLimit:             opt.BodyLimit,
		ReadTimeout:           30 * time.Second,
		IdleTimeout:           90 * time.Second,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		StrictRouting:         false,
		CaseSensitive:         true,
	})
	app.Use(s.requestID)
	app.Use(s.accessLog)
	app.Use(recover.New())
	app.Use(s.deadline)
	app.Use(s.authenticate)
	s.routes(app)
	return app
}

var goodRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID takes a well-formed X-Request-ID from the caller or makes one.
func (s *server) requestID(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !goodRequestID.MatchString(id) {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	} else {
		id = string([]byte(id)) // the header bytes are reused after the handler
	}
	c.Locals("requestid", id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

// accessLog writes one structured line per request and feeds the latency histogram.
func (s *server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.errorHandler(c, err); herr != nil {
			c.Status(http.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	route := c.Route().Path
	if status == http.StatusNotFound && route == "/" {
		route = "unmatched"
	}
	elapsed := time.Since(start)
	if s.Metrics != nil {
		s.Metrics.observe(c.Method(), route, status, elapsed)
	}
	size := -1 // a stream: Body() would wait for its end
	if !c.Response().IsBodyStream() {
		size = len(c.Response().Body())
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.Log.Log(c.UserContext(), level, "http",
		"method", c.Method(), "path", c.Path(), "route", route, "status", status,
		"duration_ms", strconv.FormatFloat(float64(elapsed.Microseconds())/1000, 'f', 2, 64),
		"bytes", size, "ip", c.IP(), "request_id", requestID(c))
	return nil
}

// deadline gives every request a context with a deadline.
func (s *server) deadline(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opt.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

func (s *server) now() time.Time { return s.Now() }
