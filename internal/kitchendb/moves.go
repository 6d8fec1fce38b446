package kitchendb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// inScope is the condition that a ticket lies in a kitchen.Scope: its community and, when
// the scope names canteens, one of them. Its arguments are scopeArgs(sc).
const inScope = "community_id = ? AND (coalesce(cardinality(?::bigint[]), 0) = 0 OR canteen_id = ANY(?::bigint[]))"

func scopeArgs(sc kitchen.Scope) []any {
	canteens := pgdialect.Array(sc.Canteens)
	return []any{sc.CommunityID, canteens, canteens}
}

// lockTicket reads a ticket in the scope FOR UPDATE; one outside it is not found.
func lockTicket(ctx context.Context, tx bun.IDB, sc kitchen.Scope, ticketID int64) (ticketRow, error) {
	var r ticketRow
	err := tx.NewRaw("SELECT "+ticketColumns+" FROM tickets WHERE "+inScope+" AND id = ? FOR UPDATE",
		append(scopeArgs(sc), ticketID)...).Scan(ctx, &r)
	if postgres.IsNoRows(err) {
		return r, kitchen.ErrTicketNotFound
	}
	if err != nil {
		return r, fmt.Errorf("lock ticket: %w", err)
	}
	return r, nil
}

// Move implements kitchen.Store: it locks the ticket and its order, plans the move with
// kitchen.Plan, and writes the ticket, the order (with its outbox row), the event and the
// notification in one transaction.
func (s *Store) Move(ctx context.Context, sc kitchen.Scope, ticketID int64, recall bool) (kitchen.Ticket, error) {
	var out ticketRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r, err := lockTicket(ctx, tx, sc, ticketID)
		if err != nil {
			return err
		}
		var status string
		if err := tx.NewRaw("SELECT status FROM orders WHERE community_id = ? AND id = ? FOR NO KEY UPDATE",
			sc.CommunityID, r.OrderID).Scan(ctx, &status); err != nil {
			return fmt.Errorf("lock order %d: %w", r.OrderID, err)
		}
		m, err := kitchen.Plan(r.ticket(), recall, order.Status(status))
		if err != nil {
			return err
		}
		if err := tx.NewRaw("UPDATE tickets SET state = ?, state_changed_at = now() WHERE id = ? RETURNING "+ticketColumns,
			string(m.To), r.ID).Scan(ctx, &out); err != nil {
			return fmt.Errorf("update ticket: %w", err)
		}
		if m.OrderTo != m.OrderFrom {
			res, err := tx.NewRaw("UPDATE orders SET status = ?, updated_at = now() WHERE id = ? AND status = ?",
				string(m.OrderTo), r.OrderID, string(m.OrderFrom)).Exec(ctx)
			if err != nil {
				return fmt.Errorf("move order %d: %w", r.OrderID, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return kitchen.ErrOrderOutOfStep
			}
			if err := postgres.WriteOutbox(ctx, tx, sc.CommunityID, "order."+string(m.OrderTo),
				postgres.OrderEvent{OrderID: r.OrderID, Status: string(m.OrderTo), CanteenID: r.CanteenID}); err != nil {
				return err
			}
		}
		from := string(m.From)
		if err := event(ctx, tx, sc.CommunityID, r.ID, &from, m.To, sc.Actor); err != nil {
			return err
		}
		return notify(ctx, tx, r.CanteenID, r.ID)
	})
	if err != nil {
		return kitchen.Ticket{}, fmt.Errorf("kitchendb: move ticket %d: %w", ticketID, err)
	}
	return out.ticket(), nil
}

// Reprint implements kitchen.Store: with the count, it queues the reprint (print
// generation n for the nth reprint) on the canteen's printers.
func (s *Store) Reprint(ctx context.Context, sc kitchen.Scope, ticketID int64) (kitchen.Card, error) {
	var out ticketRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewRaw("UPDATE tickets SET reprints = reprints + 1 WHERE "+inScope+" AND id = ? RETURNING "+ticketColumns,
			append(scopeArgs(sc), ticketID)...).Scan(ctx, &out)
		if postgres.IsNoRows(err) {
			return kitchen.ErrTicketNotFound
		}
		if err != nil {
			return err
		}
		if err := queuePrints(ctx, tx, out, out.Reprints); err != nil {
			return err
		}
		return notify(ctx, tx, out.CanteenID, out.ID)
	})
	if err != nil {
		return kitchen.Card{}, fmt.Errorf("kitchendb: reprint ticket %d: %w", ticketID, err)
	}
	cards, err := s.cards(ctx, []ticketRow{out})
	if err != nil {
		return kitchen.Card{}, err
	}
	return cards[0], nil
}

// Open implements kitchen.Store.
func (s *Store) Open(ctx context.Context, communityID, canteenID int64) ([]kitchen.Card, error) {
	var rows []ticketRow
	err := s.db.NewRaw("SELECT "+ticketColumns+` FROM tickets
		WHERE community_id = ? AND canteen_id = ? AND state NOT IN ('picked_up', 'delivered')
		ORDER BY created_at, id`, communityID, canteenID).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("kitchendb: open tickets: %w", err)
	}
	return s.cards(ctx, rows)
}

// cards adds their lines to tickets.
func (s *Store) cards(ctx context.Context, rows []ticketRow) ([]kitchen.Card, error) {
	out := make([]kitchen.Card, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	at := make(map[int64]int, len(rows))
	for i, r := range rows {
		ids[i], at[r.ID] = r.ID, i
		out[i] = kitchen.Card{Ticket: r.ticket(), Lines: []kitchen.Line{}, Stations: r.Stations}
		if out[i].Stations == nil {
			out[i].Stations = []int64{}
		}
	}
	var lines []lineRow
	if err := s.db.NewRaw("SELECT ticket_id, line_no, name, qty, note, station_id FROM ticket_lines WHERE ticket_id IN (?) ORDER BY ticket_id, line_no",
		bun.List(ids)).Scan(ctx, &lines); err != nil {
		return nil, fmt.Errorf("kitchendb: ticket lines: %w", err)
	}
	for _, l := range lines {
		kl := kitchen.Line{LineNo: l.LineNo, Name: l.Name, Qty: l.Qty, Note: l.Note}
		if l.StationID != nil {
			kl.StationID = *l.StationID
		}
		c := &out[at[l.TicketID]]
		c.Lines = append(c.Lines, kl)
	}
	return out, nil
}

// ProductionBoard implements kitchen.Store: the lines of orders paid or further on.
func (s *Store) ProductionBoard(ctx context.Context, communityID, canteenID int64, day civil.Date, period string) ([]kitchen.DishCount, error) {
	var rows []struct {
		DishID   int64  `bun:"dish_id"`
		Name     string `bun:"name"`
		Category string `bun:"category"`
		Qty      int    `bun:"qty"`
	}
	err := s.db.NewRaw(`SELECT l.dish_id, min(l.name) AS name, min(l.category) AS category, sum(l.qty)::int AS qty
		FROM orders o JOIN order_lines l ON l.order_id = o.id
		WHERE o.community_id = ? AND o.canteen_id = ? AND o.day = ? AND o.period = ?
		  AND o.status IN ('paid', 'in_kitchen', 'ready', 'picked_up')
		GROUP BY l.dish_id ORDER BY qty DESC, l.dish_id`, communityID, canteenID, postgres.Date(day), period).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("kitchendb: production board: %w", err)
	}
	out := make([]kitchen.DishCount, len(rows))
	for i, r := range rows {
		out[i] = kitchen.DishCount{DishID: r.DishID, Name: r.Name, Category: r.Category, Qty: r.Qty}
	}
	return out, nil
}

// Unticketed implements kitchen.Store. Only paid orders can lack a ticket: the later
// kitchen statuses are reached through a ticket's moves.
func (s *Store) Unticketed(ctx context.Context, paidBefore time.Time, limit int) ([]kitchen.OrderRef, error) {
	var rows []struct {
		CommunityID int64 `bun:"community_id"`
		ID          int64 `bun:"id"`
	}
	err := s.db.NewRaw(`SELECT o.community_id, o.id FROM orders o
		WHERE o.status = 'paid' AND o.paid_at < ?
		  AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.order_id = o.id)
		ORDER BY o.paid_at, o.id LIMIT ?`, paidBefore, limit).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("kitchendb: unticketed orders: %w", err)
	}
	out := make([]kitchen.OrderRef, len(rows))
	for i, r := range rows {
		out[i] = kitchen.OrderRef{CommunityID: r.CommunityID, OrderID: r.ID}
	}
	return out, nil
}
