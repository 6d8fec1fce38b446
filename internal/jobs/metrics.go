package jobs

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// QueueCollector exports the depth of every asynq queue by state.
type QueueCollector struct {
	insp *asynq.Inspector
	desc *prometheus.Desc
}

// NewQueueCollector returns a collector reading queue sizes from Redis at scrape time.
func NewQueueCollector(rdb redis.UniversalClient) *QueueCollector {
	return &QueueCollector{
		insp: asynq.NewInspectorFromRedisClient(rdb),
		desc: prometheus.NewDesc("canteen_queue_tasks", "Tasks in each asynq queue by state.", []string{"queue", "state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. Queues that were never used report zero.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	for q := range Queues {
		info, err := c.insp.GetQueueInfo(q)
		if err != nil {
			info = &asynq.QueueInfo{}
		}
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), q, state)
		}
	}
}
