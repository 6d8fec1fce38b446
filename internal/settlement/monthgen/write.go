package monthgen

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/order"
)

// writer writes the bulk's days on one connection of its own, each day in one
// transaction: COPY for the rows of each order, then set-based SQL for what the day
// changes in shared rows (ledger entries from the day's moves, pledge balances, limit
// usage, menu supply). Nothing bypasses a trigger, CHECK or key: the deferred
// ledger_txn_balanced trigger checks every ledger transaction at each commit, and
// order_subsidies' trigger fills the priced group and tier as it does for the services.
type writer struct {
	w    *World
	conn *sql.Conn
	// Time spent copying rows, running the set-based statements and committing (the
	// deferred checks run then).
	copying, updating, committing time.Duration
}

func (w *World) newWriter(ctx context.Context) (*writer, error) {
	c, err := w.DB.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	wr := &writer{w: w, conn: c}
	err = wr.raw(func(pc *pgx.Conn) error {
		_, err := pc.Exec(ctx, `CREATE TEMP TABLE gen_moves (seq bigint, txn_id bigint, pledge_id bigint, period text,
				from_acct text, to_acct text, fen bigint, kind text, order_id bigint, at timestamptz) ON COMMIT DELETE ROWS;
			CREATE TEMP TABLE gen_usage (policy_id bigint, diner_id bigint, window_key text, max_count integer, max_fen bigint,
				used_count integer, used_fen bigint) ON COMMIT DELETE ROWS`)
		return err
	})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return wr, nil
}

func (wr *writer) close() { _ = wr.conn.Close() }

func (wr *writer) raw(fn func(*pgx.Conn) error) error {
	return wr.conn.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

// reserve takes n consecutive values of sequence seq and returns the first.
func reserve(ctx context.Context, pc *pgx.Conn, seq string, n int) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	var last int64
	err := pc.QueryRow(ctx, fmt.Sprintf("SELECT setval(%[1]s, nextval(%[1]s) + %[2]d - 1)", seq, n)).Scan(&last)
	return last - int64(n) + 1, err
}

func serial(table string) string { return fmt.Sprintf("pg_get_serial_sequence('%s', 'id')", table) }

// nullTime is nil for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

var cst = civil.Shanghai()

// day writes the orders s played for one day.
func (wr *writer) day(ctx context.Context, s *sim) error {
	w := wr.w
	cid := w.CommunityID
	return wr.raw(func(pc *pgx.Conn) error {
		orderBase, err := reserve(ctx, pc, serial("orders"), len(s.orders))
		if err != nil {
			return err
		}
		intentBase, err := reserve(ctx, pc, serial("payment_intents"), s.intents)
		if err != nil {
			return err
		}
		paymentBase, err := reserve(ctx, pc, serial("payments"), s.payments)
		if err != nil {
			return err
		}
		refundBase, err := reserve(ctx, pc, serial("refunds"), s.refunds)
		if err != nil {
			return err
		}
		txnBase, err := reserve(ctx, pc, "'ledger_txn_id_seq'", s.txns)
		if err != nil {
			return err
		}
		id := func(o *simOrder) int64 { return orderBase + int64(o.rel) }

		var orders, lines, parts, funds, holds, claims, intents, payments, refunds, moves, usage [][]any
		used := map[usageKey]*[2]int64{}
		var usedKeys []usageKey
		maxOf := map[usageKey]claim{}
		for _, o := range s.orders {
			oid := id(o)
			q := o.q
			orders = append(orders, []any{oid, cid, o.req.CanteenID, o.menuID, nullID(o.dinerID), o.caller.Kind, o.caller.ID,
				date(q.day), string(q.period), string(order.DineIn), "", string(o.status), string(o.method), o.std, o.sub, o.pay,
				o.refunded, fmt.Sprintf("bulk-order-%010d", oid), order.RequestHash(o.caller, o.req), o.deadline,
				nullTime(o.paidAt), nullTime(o.cancelledAt), o.cancelReason, false, o.created, o.updated})
			for _, l := range o.lines {
				lines = append(lines, []any{cid, oid, int32(l.LineNo), l.DishID, l.Name, l.Category, int32(l.Qty), l.UnitFen,
					l.StandardFen, l.SubsidyFen, l.PayFen, ""})
				for _, p := range l.Parts {
					parts = append(parts, []any{cid, oid, int32(l.LineNo), p.PolicyID, p.PolicyVersion, p.PledgeID, p.SponsorID, p.Label, p.Fen})
				}
			}
			if o.fundState != "" {
				var paidTotal any
				if o.paidTotal > 0 {
					paidTotal = o.paidTotal
				}
				funds = append(funds, []any{cid, oid, date(q.day), o.fundState, paidTotal, o.fundRefunded, o.created, o.fundUpdated})
				for _, h := range o.holds {
					holds = append(holds, []any{cid, oid, h.pledge, h.period, h.policy, h.version, h.held, h.committed, h.released, h.reversed})
				}
			}
			for _, c := range o.claims {
				claims = append(claims, []any{oid, c.PolicyID, o.dinerID, c.WindowKey, int32(c.Count), c.Fen, c.released})
				k := usageKey{c.PolicyID, o.dinerID, c.WindowKey}
				u := used[k]
				if u == nil {
					u = &[2]int64{}
					used[k] = u
					usedKeys = append(usedKeys, k)
				}
				if !c.released {
					u[0] += int64(c.Count)
					u[1] += c.Fen
				}
				maxOf[k] = c
			}
			if in := o.intent; in != nil {
				iid := intentBase + int64(in.rel)
				outNo := fmt.Sprintf("CT%d%s", oid, in.outNo)
				updated, queries := in.created, int32(0)
				switch {
				case in.status == "paid":
					updated = o.payment.recorded
				case in.status == "closed":
					updated, queries = in.queried, 1
				}
				intents = append(intents, []any{iid, cid, oid, outNo, o.pay, q.p.openid,
					fmt.Sprintf("wx%s%020d", in.created.In(cst).Format("20060102150405"), iid), o.deadline, in.status,
					nullTime(in.queried), queries, in.created, updated})
				if p := o.payment; p != nil {
					pid := paymentBase + int64(p.rel)
					payments = append(payments, []any{pid, cid, oid, iid,
						fmt.Sprintf("4201%s%016d", p.success.In(cst).Format("20060102"), oid), outNo, o.pay, q.p.openid,
						w.MchID, w.AppID, p.success, "notification", "credited", "", p.recorded})
					for _, r := range o.refunds {
						rid := refundBase + int64(r.rel)
						ls, err := json.Marshal(r.lines)
						if err != nil {
							return err
						}
						refunds = append(refunds, []any{rid, cid, oid, pid, outRefundNo(oid, r.key), r.amount, r.reason, "order", "order",
							string(ls), "success", fmt.Sprintf("5031%s%016d", r.created.In(cst).Format("20060102"), rid), r.created, r.settled})
					}
				}
			}
		}
		for i, m := range s.moves {
			moves = append(moves, []any{int64(i), txnBase + int64(m.txn), m.pledge, m.period, string(m.from), string(m.to), m.fen,
				string(m.kind), id(m.order), m.at})
		}
		for _, k := range usedKeys {
			c := maxOf[k]
			var maxCount, maxFen any
			if c.MaxCount != 0 {
				maxCount = int32(c.MaxCount)
			}
			if c.MaxFen != 0 {
				maxFen = c.MaxFen
			}
			usage = append(usage, []any{k.policy, k.diner, k.window, maxCount, maxFen, int32(used[k][0]), used[k][1]})
		}

		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		t0 := time.Now()
		for _, c := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"orders", []string{"id", "community_id", "canteen_id", "menu_id", "diner_id", "placed_by_kind", "placed_by_id", "day",
				"period", "kind", "delivery_address", "status", "payment_method", "standard_fen", "subsidy_fen", "pay_fen",
				"refunded_fen", "idempotency_key", "request_hash", "pay_deadline", "paid_at", "cancelled_at", "cancel_reason",
				"notify_ready", "created_at", "updated_at"}, orders},
			{"order_lines", []string{"community_id", "order_id", "line_no", "dish_id", "name", "category", "qty", "unit_fen",
				"standard_fen", "subsidy_fen", "pay_fen", "note"}, lines},
			{"order_subsidies", []string{"community_id", "order_id", "line_no", "policy_id", "policy_version", "pledge_id",
				"sponsor_id", "label", "fen"}, parts},
			{"order_funding", []string{"community_id", "order_id", "day", "state", "paid_total_fen", "refunded_fen",
				"created_at", "updated_at"}, funds},
			{"order_holds", []string{"community_id", "order_id", "pledge_id", "period", "policy_id", "policy_version",
				"held_fen", "committed_fen", "released_fen", "reversed_fen"}, holds},
			{"order_claims", []string{"order_id", "policy_id", "diner_id", "window_key", "count", "fen", "released"}, claims},
			{"payment_intents", []string{"id", "community_id", "order_id", "out_trade_no", "amount_fen", "payer_openid",
				"prepay_id", "expires_at", "status", "last_queried_at", "queries", "created_at", "updated_at"}, intents},
			{"payments", []string{"id", "community_id", "order_id", "intent_id", "transaction_id", "out_trade_no", "amount_fen",
				"payer_openid", "mchid", "appid", "success_time", "source", "outcome", "flag_reason", "created_at"}, payments},
			{"refunds", []string{"id", "community_id", "order_id", "payment_id", "out_refund_no", "amount_fen", "reason",
				"requested_by", "kind", "lines", "status", "refund_id", "created_at", "settled_at"}, refunds},
			{"gen_moves", []string{"seq", "txn_id", "pledge_id", "period", "from_acct", "to_acct", "fen", "kind", "order_id", "at"}, moves},
			{"gen_usage", []string{"policy_id", "diner_id", "window_key", "max_count", "max_fen", "used_count", "used_fen"}, usage},
		} {
			if len(c.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", c.table, err)
			}
		}
		t1 := time.Now()
		for _, q := range []struct {
			what string
			sql  string
		}{
			// Each move is a debit and a credit of one ledger transaction, as writeJournal writes it.
			{"ledger entries", fmt.Sprintf(`INSERT INTO ledger_entries (txn_id, community_id, pledge_id, period, account, amount_fen,
					kind, order_id, actor_kind, actor_name, memo, created_at)
				SELECT m.txn_id, %d, m.pledge_id, m.period, e.account, e.fen, m.kind, m.order_id, 'system', 'ordering', '', m.at
				FROM gen_moves m CROSS JOIN LATERAL (VALUES (m.from_acct, -m.fen, 1), (m.to_acct, m.fen, 2)) AS e(account, fen, n)
				ORDER BY m.seq, e.n`, cid)},
			// The balances move by the day's moves; their CHECKs hold at the end of the day.
			{"pledge balances", fmt.Sprintf(`UPDATE pledge_balances b SET
					available_fen = b.available_fen + d.available, held_fen = b.held_fen + d.held,
					spent_fen = b.spent_fen + d.spent, updated_at = d.at
				FROM (SELECT pledge_id, period,
						sum(CASE WHEN to_acct = 'available' THEN fen ELSE 0 END) - sum(CASE WHEN from_acct = 'available' THEN fen ELSE 0 END) AS available,
						sum(CASE WHEN to_acct = 'held' THEN fen ELSE 0 END) - sum(CASE WHEN from_acct = 'held' THEN fen ELSE 0 END) AS held,
						sum(CASE WHEN to_acct = 'spent' THEN fen ELSE 0 END) - sum(CASE WHEN from_acct = 'spent' THEN fen ELSE 0 END) AS spent,
						max(at) AS at
					FROM gen_moves GROUP BY pledge_id, period) d
				WHERE b.community_id = %d AND b.pledge_id = d.pledge_id AND b.period = d.period`, cid)},
			// Limit usage as orderdb's claim upserts it; its CHECKs refuse a limit passed.
			{"limit usage", fmt.Sprintf(`INSERT INTO limit_usage (community_id, policy_id, diner_id, window_key, max_count, max_fen, used_count, used_fen)
				SELECT %d, policy_id, diner_id, window_key, max_count, max_fen, used_count, used_fen FROM gen_usage
				ON CONFLICT (policy_id, diner_id, window_key) DO UPDATE SET
					used_count = limit_usage.used_count + EXCLUDED.used_count,
					used_fen = limit_usage.used_fen + EXCLUDED.used_fen,
					max_count = EXCLUDED.max_count, max_fen = EXCLUDED.max_fen`, cid)},
			// Supply sold to the day's orders that are still live (cancelled and expired gave it back).
			{"menu supply", fmt.Sprintf(`UPDATE menu_items mi SET sold = mi.sold + x.qty
				FROM (SELECT o.menu_id, l.dish_id, sum(l.qty) AS qty FROM orders o JOIN order_lines l ON l.order_id = o.id
					WHERE o.id BETWEEN %d AND %d AND o.status NOT IN ('cancelled', 'expired') GROUP BY o.menu_id, l.dish_id) x
				WHERE mi.community_id = %d AND mi.menu_id = x.menu_id AND mi.dish_id = x.dish_id`,
				orderBase, orderBase+int64(len(s.orders))-1, cid)},
		} {
			if _, err := tx.Exec(ctx, q.sql); err != nil {
				return fmt.Errorf("%s: %w", q.what, err)
			}
		}
		t2 := time.Now()
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		wr.copying, wr.updating, wr.committing = wr.copying+t1.Sub(t0), wr.updating+t2.Sub(t1), wr.committing+time.Since(t2)
		return nil
	})
}
