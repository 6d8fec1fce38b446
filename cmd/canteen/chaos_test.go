package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The lunch rush of the chaos tests: 300 orders paid through signed WeChat Pay
// notifications, 20 a second, every fourth notified twice more. Each test breaks one thing
// in the middle of it and then holds the system to what a paid lunch must end with
// (checkExactlyOnce). docs/failures.md says why each case ends well.
const (
	rushOrders = 300
	rushRate   = 20 // a second
)

// randomBetween returns a random duration in [lo, hi).
func randomBetween(lo, hi time.Duration) time.Duration {
	return lo + rand.N(hi-lo)
}

// TestChaosWorkerKilledMidTicket SIGKILLs the worker process four times during the rush,
// each time while ticket tasks are in flight, and starts it again at once. Twice the kill
// comes while the pickup counters are held (LOCK ... IN SHARE MODE), so the worker's ticket
// transactions wait inside the database with their order rows locked; twice it comes at the
// first moment one of the worker's ticket transactions is open, wherever it is. Nothing of
// the killed process finishes: its transactions roll back and its asynq tasks stay active
// until their lease lapses and the recoverer hands them to the new worker.
func TestChaosWorkerKilledMidTicket(t *testing.T) {
	if testing.Short() {
		t.Skip("a lunch rush and the recovery of killed tasks take a few minutes")
	}
	t.Parallel()
	l := newLunch(t)
	l.placeOrders(rushOrders)
	scr := l.openScreen()
	paid := make(chan error, 1)
	start := time.Now()
	go func() { paid <- l.payAll(rushRate, nil) }()

	// One kill at a random moment of each of four windows that span most of the rush.
	const kills = 4
	window := time.Duration(rushOrders) * time.Second / rushRate * 4 / 5 / kills
	for k := range kills {
		from := start.Add(time.Duration(k) * window)
		time.Sleep(time.Until(from.Add(randomBetween(300*time.Millisecond, window*2/3))))
		if k%2 == 0 {
			waiting, release := l.holdPickups()
			time.Sleep(randomBetween(0, 200*time.Millisecond))
			l.killWorker()
			release()
			t.Logf("kill %d: %d ticket transactions were waiting for a pickup number", k+1, waiting)
		} else {
			open := l.ticketTransactions()
			l.killWorker()
			t.Logf("kill %d: %d ticket transactions were open", k+1, open)
		}
		l.startWorker()
	}
	if err := <-paid; err != nil {
		t.Fatalf("%v\n%s", err, l.logs())
	}
	l.settle(4 * time.Minute)
	// The tasks the killed workers held come back when their lease has lapsed for 30 s
	// (asynq's recoverer runs every minute), run again and find their ticket made.
	l.waitFor(4*time.Minute, "the killed workers' tasks recovered and done", func() bool {
		q := l.queued()
		return q["active"]+q["pending"]+q["retry"]+q["scheduled"] == 0
	})
	l.checkExactlyOnce()
	// Redis kept every task: each order.paid row became exactly one task (its TaskID
	// refuses a second), and every one of them completed.
	q := l.queued()
	t.Logf("ticket tasks: %v", q)
	if q["completed"] != rushOrders || q["archived"] != 0 {
		t.Fatalf("ticket tasks: %v; want %d completed, none archived", q, rushOrders)
	}
	if q["recovered"] == 0 {
		t.Fatalf("no task was taken back from a killed worker: the kills hit nothing in flight (%v)", q)
	}
	tickets, repeated, reloads := scr.seen()
	t.Logf("the kitchen screen was told of %d tickets (%d reloads)", tickets, reloads)
	if repeated != 0 || (reloads == 0 && tickets != rushOrders) {
		t.Fatalf("the kitchen screen was told of %d tickets, %d of them more than once, with %d reloads; want each of %d once",
			tickets, repeated, reloads, rushOrders)
	}
}

// TestChaosRedisFlushedMidLunch runs FLUSHALL in the middle of the rush while ticket tasks
// are queued (the pickup counters held, so they pile up): the queued tasks, the completed
// tasks' IDs, the scheduler lease and the workers' registrations are gone. The re-drive
// makes the tickets the lost tasks were for.
func TestChaosRedisFlushedMidLunch(t *testing.T) {
	if testing.Short() {
		t.Skip("a lunch rush and the re-drive of lost tickets take a couple of minutes")
	}
	t.Parallel()
	l := newLunch(t)
	paid, lost, release := l.rushWithQueuedTickets()
	if err := l.rdb.FlushAll(l.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	release()
	t.Logf("FLUSHALL dropped %d queued ticket tasks", lost)
	if err := <-paid; err != nil {
		t.Fatalf("%v\n%s", err, l.logs())
	}
	l.settle(3 * time.Minute)
	l.checkExactlyOnce()
	if q := l.queued(); q["completed"] >= rushOrders || q["archived"] != 0 {
		t.Fatalf("ticket tasks after the flush: %v; want fewer than %d completed (the flush lost some), none archived", q, rushOrders)
	}
}

// TestChaosRedisRestartedEmpty kills the Redis server in the middle of the rush while
// ticket tasks are queued, lets payments go on without it for a while, and starts a new,
// empty server on the same port. While Redis is away the notifications are still accepted
// and their outbox rows wait; once it is back the relay sends them and the re-drive makes
// the tickets whose tasks died with the old server.
func TestChaosRedisRestartedEmpty(t *testing.T) {
	if testing.Short() {
		t.Skip("a lunch rush and the re-drive of lost tickets take a couple of minutes")
	}
	t.Parallel()
	l := newLunch(t)
	paid, lost, release := l.rushWithQueuedTickets()
	l.redis.kill()
	release()
	waited := 0
	l.waitFor(30*time.Second, "outbox rows waiting while Redis is away", func() bool {
		waited = l.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
		return waited >= 5
	})
	time.Sleep(randomBetween(500*time.Millisecond, 1500*time.Millisecond))
	l.redis.start()
	t.Logf("the old Redis died with %d queued ticket tasks; %d outbox rows waited for the new one", lost, waited)
	if err := <-paid; err != nil {
		t.Fatalf("%v\n%s", err, l.logs())
	}
	l.settle(3 * time.Minute)
	l.checkExactlyOnce()
	if q := l.queued(); q["completed"] >= rushOrders || q["archived"] != 0 {
		t.Fatalf("ticket tasks on the new Redis: %v; want fewer than %d completed (some died with the old one), none archived", q, rushOrders)
	}
}

// rushWithQueuedTickets starts the lunch rush (the orders placed, then paid at rushRate in
// the background; the result comes on paid) and, a few seconds in, holds the pickup
// counters until at least 10 ticket tasks wait in Redis; lost is how many. release lets the
// held ticket transactions go on.
func (l *lunch) rushWithQueuedTickets() (paid <-chan error, lost int, release func()) {
	l.t.Helper()
	l.placeOrders(rushOrders)
	done := make(chan error, 1)
	go func() { done <- l.payAll(rushRate, nil) }()

	time.Sleep(randomBetween(3*time.Second, 6*time.Second))
	_, release = l.holdPickups()
	l.waitFor(30*time.Second, "ticket tasks queued in Redis", func() bool {
		lost = l.queued()["pending"]
		return lost >= 10
	})
	return done, lost, release
}
