package monthgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/settlement/monthgen"
)

// signatures is, for every order of a community, everything its life wrote without the
// ids, numbers and instants that differ from order to order: the order, its lines and
// subsidy parts (with the group and tier the trigger filled), its funding state, holds
// and limit claims, its ledger entries and how many transactions they form, its payment
// intents, payments and refunds, and how their times relate.
const signatures = `WITH
	l AS (SELECT l.order_id, jsonb_agg(jsonb_build_object('no', l.line_no, 'dish', l.dish_id, 'name', l.name, 'category', l.category,
			'qty', l.qty, 'unit', l.unit_fen, 'standard', l.standard_fen, 'subsidy', l.subsidy_fen, 'pay', l.pay_fen, 'note', l.note)
			ORDER BY l.line_no) AS j
		FROM order_lines l WHERE l.community_id = ?0 GROUP BY l.order_id),
	s AS (SELECT s.order_id, jsonb_agg(jsonb_build_object('line', s.line_no, 'policy', s.policy_id, 'version', s.policy_version,
			'pledge', s.pledge_id, 'sponsor', s.sponsor_id, 'label', s.label, 'fen', s.fen, 'group', s.priced_group,
			'elder_tier', s.priced_tier IS NOT NULL) ORDER BY s.line_no, s.policy_id, s.pledge_id) AS j
		FROM order_subsidies s WHERE s.community_id = ?0 GROUP BY s.order_id),
	f AS (SELECT f.order_id, jsonb_build_object('state', f.state, 'paid_total', f.paid_total_fen, 'refunded', f.refunded_fen) AS j
		FROM order_funding f WHERE f.community_id = ?0),
	h AS (SELECT h.order_id, jsonb_agg(jsonb_build_object('pledge', h.pledge_id, 'period', h.period, 'policy', h.policy_id,
			'version', h.policy_version, 'held', h.held_fen, 'committed', h.committed_fen, 'released', h.released_fen,
			'reversed', h.reversed_fen) ORDER BY h.pledge_id, h.policy_id) AS j
		FROM order_holds h WHERE h.community_id = ?0 GROUP BY h.order_id),
	c AS (SELECT c.order_id, jsonb_agg(jsonb_build_object('policy', c.policy_id, 'diner', c.diner_id = o.diner_id,
			'window', CASE WHEN c.window_key LIKE '%/%' THEN 'meal' WHEN length(c.window_key) = 10 THEN 'day' ELSE 'month' END,
			'count', c.count, 'fen', c.fen, 'released', c.released) ORDER BY c.policy_id, c.window_key) AS j
		FROM order_claims c JOIN orders o ON o.id = c.order_id WHERE o.community_id = ?0 GROUP BY c.order_id),
	e AS (SELECT e.order_id, jsonb_agg(jsonb_build_object('kind', e.kind, 'account', e.account, 'pledge', e.pledge_id,
			'period', e.period, 'fen', e.amount_fen, 'actor', e.actor_kind || '/' || e.actor_name, 'memo', e.memo)
			ORDER BY e.kind, e.pledge_id, e.account, e.amount_fen) AS j, count(DISTINCT e.txn_id) AS txns
		FROM ledger_entries e WHERE e.community_id = ?0 AND e.order_id IS NOT NULL GROUP BY e.order_id),
	ep AS (SELECT e.order_id, bool_and(e.created_at = p.created_at) AS same
		FROM ledger_entries e JOIN payments p ON p.order_id = e.order_id
		WHERE e.community_id = ?0 AND e.kind = 'commit' GROUP BY e.order_id),
	er AS (SELECT e.order_id, bool_and(EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = e.order_id AND r.settled_at = e.created_at)) AS same
		FROM ledger_entries e WHERE e.community_id = ?0 AND e.kind = 'reverse' GROUP BY e.order_id),
	i AS (SELECT i.order_id, jsonb_agg(jsonb_build_object('status', i.status, 'amount', i.amount_fen, 'queried', i.queries > 0,
			'expires_at_deadline', i.expires_at = o.pay_deadline, 'openid', i.payer_openid = d.openid) ORDER BY i.id) AS j
		FROM payment_intents i JOIN orders o ON o.id = i.order_id LEFT JOIN diners d ON d.id = o.diner_id
		WHERE i.community_id = ?0 GROUP BY i.order_id),
	p AS (SELECT p.order_id, jsonb_agg(jsonb_build_object('amount', p.amount_fen, 'source', p.source, 'outcome', p.outcome,
			'mchid', p.mchid, 'appid', p.appid, 'flag', p.flag_reason, 'paid_at_success', p.success_time = o.paid_at)
			ORDER BY p.id) AS j
		FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.community_id = ?0 GROUP BY p.order_id),
	r AS (SELECT r.order_id, jsonb_agg(jsonb_build_object('amount', r.amount_fen, 'kind', r.kind, 'status', r.status,
			'by', r.requested_by, 'lines', r.lines, 'settled', r.settled_at IS NOT NULL, 'refund_id', r.refund_id <> '')
			ORDER BY r.id) AS j
		FROM refunds r WHERE r.community_id = ?0 GROUP BY r.order_id)
	SELECT o.id,
	o.id > (SELECT coalesce(max(id), 0) FROM orders WHERE community_id = ?0 AND idempotency_key LIKE 'bulk-order-%') AS core,
	md5(jsonb_build_object(
		'order', jsonb_build_object('canteen', o.canteen_id, 'period', o.period, 'kind', o.kind, 'address', o.delivery_address,
			'status', o.status, 'payment', o.payment_method, 'standard', o.standard_fen, 'subsidy', o.subsidy_fen,
			'pay', o.pay_fen, 'refunded', o.refunded_fen, 'by', o.placed_by_kind, 'diner', o.diner_id IS NOT NULL,
			'paid', o.paid_at IS NOT NULL, 'cancelled', o.cancelled_at IS NOT NULL, 'reason', o.cancel_reason,
			'notify', o.notify_ready, 'deadline', o.pay_deadline - o.created_at),
		'lines', l.j, 'parts', s.j, 'funding', f.j, 'holds', h.j, 'claims', c.j, 'ledger', e.j,
		'transactions', coalesce(e.txns, 0), 'commit_at_payment', ep.same, 'reverse_at_refund', er.same,
		'intents', i.j, 'payments', p.j, 'refunds', r.j)::text) AS sig
	FROM orders o
	LEFT JOIN l ON l.order_id = o.id LEFT JOIN s ON s.order_id = o.id LEFT JOIN f ON f.order_id = o.id
	LEFT JOIN h ON h.order_id = o.id LEFT JOIN c ON c.order_id = o.id LEFT JOIN e ON e.order_id = o.id
	LEFT JOIN ep ON ep.order_id = o.id LEFT JOIN er ON er.order_id = o.id LEFT JOIN i ON i.order_id = o.id
	LEFT JOIN p ON p.order_id = o.id LEFT JOIN r ON r.order_id = o.id
	WHERE o.community_id = ?0`

// TestBulkWritesWhatTheServicesWrite generates a month whose bulk is large enough to
// hold every common kind of order the core places through the services, and requires
// each of them to have a bulk twin whose rows are the same in every table: the
// service-made order is the specification of the bulk-made one.
func TestBulkWritesWhatTheServicesWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a month of 15,000 orders")
	}
	ctx := context.Background()
	db, _ := pgtest.New(t)
	w, err := monthgen.Generate(ctx, db, monthgen.Options{Orders: 15_000, Seed: 7, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var rows []struct {
		ID   int64  `bun:"id"`
		Core bool   `bun:"core"`
		Sig  string `bun:"sig"`
	}
	start := time.Now()
	if err := db.NewRaw(signatures, w.CommunityID).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("signatures of %d orders in %s", len(rows), time.Since(start).Round(time.Millisecond))
	bulk := map[string]bool{}
	var core []int64
	coreSig := map[int64]string{}
	for _, r := range rows {
		if r.Core {
			core = append(core, r.ID)
			coreSig[r.ID] = r.Sig
		} else {
			bulk[r.Sig] = true
		}
	}
	if len(core) != w.Stats.CoreOrders || len(rows) != 15_000 {
		t.Fatalf("%d orders, %d of them the core's; want 15000 and %d", len(rows), len(core), w.Stats.CoreOrders)
	}
	// The kinds of order both layers make: paid by WeChat (by notification) or in cash,
	// nothing to pay, cancelled or expired (the intent closed by the sweep), refunded in
	// full. The core's payments found by the sweeper's query, its payment that came after
	// the order expired and its refunds of one line are its own.
	var kinds []struct {
		ID   int64  `bun:"id"`
		Kind string `bun:"kind"`
	}
	if err := db.NewRaw(`SELECT o.id, CASE
			WHEN o.status = 'cancelled' THEN 'cancelled' WHEN o.status = 'expired' THEN 'expired'
			WHEN o.payment_method = 'cash' THEN 'cash' WHEN o.payment_method = 'none' THEN 'nothing to pay'
			WHEN o.status = 'refunded' THEN 'refunded in full' ELSE 'paid by WeChat' END AS kind
		FROM orders o WHERE o.id IN (?)
		  AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id AND (p.source <> 'notification' OR p.outcome <> 'credited'))
		  AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id AND r.lines <> 'null')`, bun.List(core)).Scan(ctx, &kinds); err != nil {
		t.Fatal(err)
	}
	twins := map[string]int{}
	missing := map[string][]int64{}
	for _, k := range kinds {
		if bulk[coreSig[k.ID]] {
			twins[k.Kind]++
		} else {
			missing[k.Kind] = append(missing[k.Kind], k.ID)
		}
	}
	t.Logf("core orders with a bulk twin, by kind: %v", twins)
	for kind, ids := range missing {
		// The nearest bulk order: same canteen, meal, status, payment and amounts.
		var near int64
		_ = db.NewRaw(`SELECT b.id FROM orders o JOIN orders b ON b.canteen_id = o.canteen_id AND b.period = o.period
			AND b.status = o.status AND b.payment_method = o.payment_method AND b.standard_fen = o.standard_fen
			AND b.subsidy_fen = o.subsidy_fen AND b.idempotency_key LIKE 'bulk-order-%' WHERE o.id = ? ORDER BY b.id LIMIT 1`, ids[0]).Scan(ctx, &near)
		var sig, nearSig string
		if err := db.NewRaw(`SELECT jsonb_pretty(x) FROM (`+signatureJSON+`) t`, ids[0]).Scan(ctx, &sig); err != nil {
			t.Fatal(err)
		}
		if near != 0 {
			_ = db.NewRaw(`SELECT jsonb_pretty(x) FROM (`+signatureJSON+`) t`, near).Scan(ctx, &nearSig)
		}
		t.Errorf("%d core orders %s have no bulk twin; the first, order %d:\n%s\nthe nearest bulk order, %d:\n%s", len(ids), kind, ids[0], sig, near, nearSig)
	}
	for _, kind := range []string{"paid by WeChat", "cash", "nothing to pay", "cancelled", "expired", "refunded in full"} {
		if twins[kind] == 0 {
			t.Errorf("no core order %s has a bulk twin", kind)
		}
	}
}

// signatureJSON is an order's signature as JSON, for the failure message.
const signatureJSON = `SELECT jsonb_build_object(
		'order', (SELECT to_jsonb(o) - 'id' - 'idempotency_key' - 'request_hash' - 'created_at' - 'updated_at' FROM orders o WHERE o.id = ?0),
		'parts', (SELECT jsonb_agg(to_jsonb(s) - 'order_id') FROM order_subsidies s WHERE s.order_id = ?0),
		'holds', (SELECT jsonb_agg(to_jsonb(h) - 'order_id') FROM order_holds h WHERE h.order_id = ?0),
		'ledger', (SELECT jsonb_agg(jsonb_build_object('txn', e.txn_id, 'kind', e.kind, 'account', e.account, 'pledge', e.pledge_id,
			'fen', e.amount_fen, 'at', e.created_at) ORDER BY e.id) FROM ledger_entries e WHERE e.order_id = ?0),
		'intents', (SELECT jsonb_agg(to_jsonb(i)) FROM payment_intents i WHERE i.order_id = ?0),
		'payments', (SELECT jsonb_agg(to_jsonb(p)) FROM payments p WHERE p.order_id = ?0),
		'refunds', (SELECT jsonb_agg(to_jsonb(r)) FROM refunds r WHERE r.order_id = ?0)) AS x`

// TestSameSeedSameMonth generates a month twice from one seed: the bulk's orders, their
// money and their ledger are the same, row for row.
func TestSameSeedSameMonth(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two months")
	}
	ctx := context.Background()
	var prints [2]string
	for i := range prints {
		db, _ := pgtest.New(t)
		w, err := monthgen.Generate(ctx, db, monthgen.Options{Orders: 2_000, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		if err := db.NewRaw(`SELECT md5(string_agg(concat_ws(',', o.day, o.period, o.canteen_id, o.status, o.payment_method,
				o.standard_fen, o.subsidy_fen, o.pay_fen, o.refunded_fen, o.created_at, o.paid_at, o.cancelled_at,
				(SELECT string_agg(e.kind || e.account || e.pledge_id || ':' || e.amount_fen || '@' || e.created_at, ' ' ORDER BY e.id)
					FROM ledger_entries e WHERE e.order_id = o.id)), ';' ORDER BY o.id))
			FROM orders o WHERE o.idempotency_key LIKE 'bulk-order-%'`).Scan(ctx, &prints[i]); err != nil {
			t.Fatal(err)
		}
	}
	if prints[0] == "" {
		t.Fatal("the generated month has no bulk orders to compare")
	}
	if prints[0] != prints[1] {
		t.Error("the same seed generated two different months")
	}
}
