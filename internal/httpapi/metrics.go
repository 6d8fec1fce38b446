package httpapi

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the HTTP metrics and serves the registry they live in, with
// whatever else the process registered there (DB pool, queue depths).
type Metrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics in reg.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{reg: reg, duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "canteen_http_request_duration_seconds",
		Help:    "HTTP request latency by route template, method and status.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "status"})}
	reg.MustRegister(m.duration)
	return m
}

func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	m.duration.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

func (s *server) metrics(c *fiber.Ctx) error {
	if s.Metrics == nil {
		return fiber.ErrNotFound
	}
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.Metrics.reg, promhttp.HandlerOpts{}))(c)
}
