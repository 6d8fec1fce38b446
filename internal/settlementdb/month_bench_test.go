package settlementdb_test

import (
	"bufio"
	"cmp"
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlement/monthgen"
	"github.com/canteen-oss/canteen/internal/settlementdb"
)

// benchOrdersEnv sets how many orders the month of BenchmarkMonthEnd1M has.
const benchOrdersEnv = "CANTEEN_BENCH_ORDERS"

// BenchmarkMonthEnd1M generates one month of CANTEEN_BENCH_ORDERS orders (1,000,000 by
// default; outside the timer, once per run) and measures, on the same rows:
//
//   - CloseMonth: settlement.Service.Close of the month, statements and lines written;
//   - Facts: reading what the close reads (settlementdb.Store.Facts), nothing written;
//   - Build: settlement.Check and settlement.Build on those facts in memory;
//   - PlainAggregate: one GROUP BY over the month's spent ledger entries giving each
//     sponsor's totals, the floor any close must stand on.
//
// Each reports, besides time, the heap in use and the memory obtained from the system at
// their high-water marks (sampled every 10 ms) and the peak resident set of the process
// during the run (VmHWM, reset before it). Run it with -benchtime 1x: a close of a
// million orders takes minutes, and each further round reopens the month first.
func BenchmarkMonthEnd1M(b *testing.B) {
	n := ordersFromEnv(b, benchOrdersEnv, 1_000_000)
	ctx := context.Background()
	db, _ := pgtest.New(b)
	start := time.Now()
	w, err := monthgen.Generate(ctx, db, monthgen.Options{Orders: n, Seed: 20261001, Logf: b.Logf})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.Logf("generated %d orders in %s: %+v", n, time.Since(start).Round(time.Second), w.Stats)
	m, cid := w.Month, w.CommunityID
	queries := &queryTimes{}
	store := settlementdb.New(db.WithQueryHook(queries))
	w.Clock.Set(settlement.End(m).Add(26 * time.Hour))
	var entries int64
	if err := db.NewRaw("SELECT count(*) FROM ledger_entries WHERE community_id = ? AND account = 'spent' AND created_at >= ? AND created_at < ?",
		cid, settlement.Start(m), settlement.End(m)).Scan(ctx, &entries); err != nil {
		b.Fatal(err)
	}

	b.Run("CloseMonth", func(b *testing.B) {
		svc := settlement.NewService(store, w.Clock.Now)
		sc := settlement.Scope{CommunityID: cid, Actor: w.Finance}
		var lines int
		for i := range b.N {
			if i > 0 {
				b.StopTimer()
				reopen(b, ctx, db, cid)
				b.StartTimer()
			}
			stop := sampleMemory(b)
			c, err := svc.Close(ctx, sc, m, settlement.CloseRequest{})
			stop()
			if err != nil {
				b.Fatal(err)
			}
			if len(c.Findings) > 0 {
				b.Fatalf("the generated month has findings: %+v", c.Findings[0])
			}
			b.StopTimer()
			if err := db.NewRaw("SELECT coalesce(sum(line_count), 0) FROM statements WHERE close_id = ?", c.ID).Scan(ctx, &lines); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(lines), "lines")
		b.ReportMetric(float64(entries), "spent-entries")
		queries.report(b)
	})

	var facts settlement.Facts
	b.Run("Facts", func(b *testing.B) {
		for range b.N {
			stop := sampleMemory(b)
			f, err := store.Facts(ctx, cid, m)
			stop()
			if err != nil {
				b.Fatal(err)
			}
			facts = f
		}
		b.ReportMetric(float64(len(facts.Moves)), "moves")
		queries.report(b)
	})

	b.Run("Build", func(b *testing.B) {
		if len(facts.Moves) == 0 {
			b.Skip("no facts read")
		}
		for range b.N {
			stop := sampleMemory(b)
			if fs := settlement.Check(facts.Checks); len(fs) > 0 {
				b.Fatalf("findings: %+v", fs[0])
			}
			stmts := settlement.Build(facts)
			stop()
			if len(stmts) == 0 {
				b.Fatal("no statements")
			}
		}
	})
	facts = settlement.Facts{}

	b.Run("PlainAggregate", func(b *testing.B) {
		for range b.N {
			stop := sampleMemory(b)
			var rows []struct {
				SponsorID int64 `bun:"sponsor_id"`
				Lines     int64 `bun:"lines"`
				Subsidy   int64 `bun:"subsidy"`
				Reversal  int64 `bun:"reversal"`
				Ledger    int64 `bun:"ledger"`
			}
			err := db.NewRaw(`SELECT p.sponsor_id, count(*) AS lines,
					coalesce(sum(le.amount_fen) FILTER (WHERE le.kind = 'commit'), 0) AS subsidy,
					coalesce(sum(le.amount_fen) FILTER (WHERE le.kind = 'reverse'), 0) AS reversal,
					sum(le.amount_fen) AS ledger
				FROM ledger_entries le JOIN pledges p ON p.community_id = le.community_id AND p.id = le.pledge_id
				WHERE le.community_id = ? AND le.account = 'spent' AND le.created_at >= ? AND le.created_at < ?
				GROUP BY p.sponsor_id ORDER BY p.sponsor_id`, cid, settlement.Start(m), settlement.End(m)).Scan(ctx, &rows)
			stop()
			if err != nil {
				b.Fatal(err)
			}
			if len(rows) != len(w.Sponsors) {
				b.Fatalf("%d sponsors summed, want %d", len(rows), len(w.Sponsors))
			}
		}
		b.ReportMetric(float64(entries), "spent-entries")
	})
}

// queryTimes adds up, per statement, the time the store's queries take from sending to
// the last row read.
type queryTimes struct {
	mu    sync.Mutex
	times map[string]*queryTime
}

type queryTime struct {
	n   int
	dur time.Duration
}

func (q *queryTimes) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (q *queryTimes) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	key := strings.Join(strings.Fields(e.QueryTemplate), " ")
	if i := strings.Index(key, " FROM "); strings.HasPrefix(key, "INSERT") && i > 0 {
		key = key[:i]
	}
	key = key[:min(len(key), 90)]
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.times == nil {
		q.times = map[string]*queryTime{}
	}
	t := q.times[key]
	if t == nil {
		t = &queryTime{}
		q.times[key] = t
	}
	t.n++
	t.dur += time.Since(e.StartTime)
}

// report logs the statements that took a second or more, slowest first, and starts over.
func (q *queryTimes) report(b *testing.B) {
	q.mu.Lock()
	defer q.mu.Unlock()
	keys := make([]string, 0, len(q.times))
	for k := range q.times {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, c string) int { return cmp.Compare(q.times[c].dur, q.times[a].dur) })
	for _, k := range keys {
		if t := q.times[k]; t.dur >= time.Second {
			b.Logf("%8.1fs %6d× %s", t.dur.Seconds(), t.n, k)
		}
	}
	q.times = nil
}

// reopen removes what closing the month wrote, so that it can be closed again: the
// triggers that keep a close immutable are set aside for this transaction only.
func reopen(b *testing.B, ctx context.Context, db *bun.DB, communityID int64) {
	b.Helper()
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, q := range []string{
			"SET LOCAL session_replication_role = replica",
			"TRUNCATE statement_signoffs, statement_lines, settlement_adjustments, statements, close_attempts, month_closes",
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// sampleMemory samples the Go heap every 10 ms until the returned function is called,
// which reports the high-water marks of the heap in use and of the memory obtained from
// the system, and the process's peak resident set since the call (VmHWM, reset through
// /proc/self/clear_refs where Linux allows it), in MB.
func sampleMemory(b *testing.B) func() {
	runtime.GC()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	var heap, sys atomic.Uint64
	var ms runtime.MemStats
	read := func() {
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > heap.Load() {
			heap.Store(ms.HeapInuse)
		}
		if ms.Sys > sys.Load() {
			sys.Store(ms.Sys)
		}
	}
	read()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		read()
		b.ReportMetric(float64(heap.Load())/1e6, "peak-heap-MB")
		b.ReportMetric(float64(sys.Load())/1e6, "peak-sys-MB")
		if hwm := vmHWM(); hwm > 0 {
			b.ReportMetric(float64(hwm)/1e3, "peak-rss-MB")
		}
	}
}

// vmHWM returns the process's peak resident set in kB (0 when unknown).
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
