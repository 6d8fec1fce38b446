package main

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkPaymentToKitchenScreen measures how long a paid order takes to reach the
// kitchen screen over the real path: WeChat Pay's signed notification to serve, the
// payment and outbox row in one transaction, the worker's relay (woken by NOTIFY) to asynq,
// the worker's ticket, PostgreSQL NOTIFY to serve's listener, and the canteen's SSE stream
// to a connected screen. Orders are paid at a steady 20 a second (every fourth notified
// twice more), so b.N is a number of orders: run it with -benchtime=400x. It reports the
// 50th and 99th percentile and the worst of "notification sent" to "ticket event read by
// the screen"; ns/op would only be the pace, and is not reported.
//
//	go test ./cmd/canteen -run '^$' -bench PaymentToKitchenScreen -benchtime 400x
func BenchmarkPaymentToKitchenScreen(b *testing.B) {
	l := newLunch(b)
	l.placeOrders(b.N)
	scr := l.openScreen()
	sent := make([]time.Time, b.N)
	b.ResetTimer()
	if err := l.payAll(rushRate, func(i int) { sent[i] = time.Now() }); err != nil {
		b.Fatalf("%v\n%s", err, l.logs())
	}
	l.waitFor(time.Minute, "every ticket on the kitchen screen", func() bool {
		n, _, _ := scr.seen()
		return n >= b.N
	})
	b.StopTimer()

	var tickets []struct {
		ID      int64 `bun:"id"`
		OrderID int64 `bun:"order_id"`
	}
	if err := l.db.NewRaw("SELECT id, order_id FROM tickets").Scan(l.ctx, &tickets); err != nil {
		b.Fatal(err)
	}
	ticketOf := map[int64]int64{}
	for _, t := range tickets {
		ticketOf[t.OrderID] = t.ID
	}
	scr.mu.Lock()
	latencies := make([]time.Duration, 0, b.N)
	for i, o := range l.orders {
		at := scr.tickets[ticketOf[o.id]]
		if len(at) == 0 {
			scr.mu.Unlock()
			b.Fatalf("the screen never showed the ticket of order %d", o.id)
		}
		latencies = append(latencies, at[0].Sub(sent[i]))
	}
	scr.mu.Unlock()
	slices.Sort(latencies)
	pct := func(p int) float64 {
		i := max((len(latencies)*p+99)/100-1, 0)
		return float64(latencies[i].Microseconds()) / 1000
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(pct(50), "p50-ms")
	b.ReportMetric(pct(99), "p99-ms")
	b.ReportMetric(pct(100), "max-ms")
}
