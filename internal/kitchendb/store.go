// Package kitchendb keeps kitchen tickets, stations and pickup counters in PostgreSQL with
// bun. It implements kitchen.Store: creating a ticket and every move is one transaction
// that also moves the order, appends to ticket_events and notifies the channel
// kitchen_tickets (delivered on commit). Outbox relays the outbox table to the task queue.
package kitchendb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/postgres"
)

// Channel is the PostgreSQL NOTIFY channel of ticket changes, each payload JSON
// {"canteen_id":1,"ticket_id":2}, and of printer changes, {"canteen_id":1,"printer_id":3}.
const Channel = "kitchen_tickets"

// Store implements kitchen.Store on PostgreSQL.
type Store struct{ db *bun.DB }

var _ kitchen.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *bun.DB) *Store { return &Store{db: db} }

type ticketRow struct {
	ID             int64         `bun:"id"`
	CommunityID    int64         `bun:"community_id"`
	CanteenID      int64         `bun:"canteen_id"`
	OrderID        int64         `bun:"order_id"`
	Day            postgres.Date `bun:"day"`
	Period         string        `bun:"period"`
	PickupNo       string        `bun:"pickup_no"`
	Stations       []int64       `bun:"stations,array"`
	State          string        `bun:"state"`
	Delivery       bool          `bun:"delivery"`
	Notes          string        `bun:"notes"`
	ElderPriority  bool          `bun:"elder_priority"`
	Reprints       int           `bun:"reprints"`
	CreatedAt      time.Time     `bun:"created_at"`
	StateChangedAt time.Time     `bun:"state_changed_at"`
}

const ticketColumns = `id, community_id, canteen_id, order_id, day, period, pickup_no, stations, state, delivery,
	notes, elder_priority, reprints, created_at, state_changed_at`

func (r ticketRow) ticket() kitchen.Ticket {
	return kitchen.Ticket{ID: r.ID, CommunityID: r.CommunityID, CanteenID: r.CanteenID, OrderID: r.OrderID,
		Day: civil.Date(r.Day), Period: r.Period, Pickup: r.PickupNo, State: kitchen.TicketState(r.State),
		Delivery: r.Delivery, Notes: r.Notes, Priority: r.ElderPriority, Reprints: r.Reprints,
		CreatedAt: r.CreatedAt, StateChangedAt: r.StateChangedAt}
}

type lineRow struct {
	TicketID  int64  `bun:"ticket_id"`
	LineNo    int    `bun:"line_no"`
	Name      string `bun:"name"`
	Qty       int    `bun:"qty"`
	Note      string `bun:"note"`
	StationID *int64 `bun:"station_id"`
}

// notify sends the change of ticketID on Channel inside tx; PostgreSQL delivers it on commit.
func notify(ctx context.Context, tx bun.IDB, canteenID, ticketID int64) error {
	b, err := json.Marshal(map[string]int64{"canteen_id": canteenID, "ticket_id": ticketID})
	if err != nil {
		return err
	}
	if _, err := tx.NewRaw("SELECT pg_notify(?, ?)", Channel, string(b)).Exec(ctx); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// event appends a move to ticket_events.
func event(ctx context.Context, tx bun.IDB, communityID, ticketID int64, from *string, to kitchen.TicketState, a audit.Actor) error {
	_, err := tx.NewRaw(`INSERT INTO ticket_events (community_id, ticket_id, from_state, to_state, actor_kind, actor_id, actor_name)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, communityID, ticketID, from, string(to), string(a.Kind), a.ID, a.Name).Exec(ctx)
	if err != nil {
		return fmt.Errorf("ticket event: %w", err)
	}
	return nil
}

type orderHead struct {
	CanteenID int64         `bun:"canteen_id"`
	Day       postgres.Date `bun:"day"`
	Period    string        `bun:"period"`
	Kind      string        `bun:"kind"`
	Status    string        `bun:"status"`
}

// errTicketExists ends a creation that lost to a concurrent one.
var errTicketExists = errors.New("ticket exists")

// CreateTicket implements kitchen.Store. The order row is locked first, so concurrent
// creators for one order queue up and all but the first find its ticket; no pickup
// number is spent on a ticket that is not written.
func (s *Store) CreateTicket(ctx context.Context, communityID, orderID int64) (kitchen.Ticket, bool, error) {
	var out ticketRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var o orderHead
		err := tx.NewRaw(`SELECT canteen_id, day, period, kind, status FROM orders
			WHERE community_id = ? AND id = ? FOR NO KEY UPDATE`, communityID, orderID).Scan(ctx, &o)
		if postgres.IsNoRows(err) {
			return kitchen.ErrOrderNotFound
		}
		if err != nil {
			return fmt.Errorf("lock order: %w", err)
		}
		err = tx.NewRaw("SELECT "+ticketColumns+" FROM tickets WHERE order_id = ?", orderID).Scan(ctx, &out)
		if err == nil {
			return errTicketExists
		}
		if !postgres.IsNoRows(err) {
			return fmt.Errorf("find ticket: %w", err)
		}
		if order.Status(o.Status) != order.Paid {
			return kitchen.ErrOrderNotPaid
		}
		lines, priority, err := s.routedLines(ctx, tx, communityID, orderID, o.CanteenID)
		if err != nil {
			return err
		}
		var seq int
		err = tx.NewRaw(`INSERT INTO pickup_counters (community_id, canteen_id, day, period, last_seq) VALUES (?, ?, ?, ?, 1)
			ON CONFLICT (canteen_id, day, period) DO UPDATE SET last_seq = pickup_counters.last_seq + 1
			RETURNING last_seq`, communityID, o.CanteenID, o.Day, o.Period).Scan(ctx, &seq)
		if err != nil {
			return fmt.Errorf("take pickup number: %w", err)
		}
		pickup, err := kitchen.FormatPickup(kitchen.PrefixFor(o.Period), seq)
		if err != nil {
			return err
		}
		err = tx.NewRaw(`INSERT INTO tickets (community_id, canteen_id, order_id, day, period, pickup_no, stations, state,
				delivery, notes, elder_priority)
			VALUES (?, ?, ?, ?, ?, ?, coalesce(?::bigint[], '{}'), 'new', ?, ?, ?)
			ON CONFLICT (order_id) DO NOTHING RETURNING `+ticketColumns,
			communityID, o.CanteenID, orderID, o.Day, o.Period, pickup, pgdialect.Array(kitchen.Stations(lines)), o.Kind == "delivery",
			kitchen.Notes(lines), priority).Scan(ctx, &out)
		if postgres.IsNoRows(err) {
			return errTicketExists // cannot happen under the order lock; the caller reads the winner's ticket
		}
		if err != nil {
			return fmt.Errorf("insert ticket: %w", err)
		}
		rows := make([]lineRow, len(lines))
		for i, l := range lines {
			rows[i] = lineRow{TicketID: out.ID, LineNo: l.LineNo, Name: l.Name, Qty: l.Qty, Note: l.Note}
			if l.StationID != 0 {
				rows[i].StationID = &l.StationID
			}
		}
		if len(rows) > 0 {
			if _, err := tx.NewInsert().Model(&rows).ModelTableExpr("ticket_lines").Exec(ctx); err != nil {
				return fmt.Errorf("insert ticket lines: %w", err)
			}
		}
		if err := event(ctx, tx, communityID, out.ID, nil, kitchen.StateNew, audit.SystemActor); err != nil {
			return err
		}
		if err := queuePrints(ctx, tx, out, 0); err != nil {
			return err
		}
		return notify(ctx, tx, o.CanteenID, out.ID)
	})
	if errors.Is(err, errTicketExists) {
		if out.ID == 0 {
			err = s.db.NewRaw("SELECT "+ticketColumns+" FROM tickets WHERE order_id = ?", orderID).Scan(ctx, &out)
			if err != nil {
				return kitchen.Ticket{}, false, fmt.Errorf("kitchendb: ticket of order %d: %w", orderID, err)
			}
		}
		return out.ticket(), false, nil
	}
	if err != nil {
		return kitchen.Ticket{}, false, fmt.Errorf("kitchendb: create ticket for order %d: %w", orderID, err)
	}
	return out.ticket(), true, nil
}

// routedLines reads an order's lines routed to the canteen's stations, and whether the
// diner the order is for is served first: an elder, as pricing saw them, with an elderly
// eligibility approved and valid on the meal day.
func (s *Store) routedLines(ctx context.Context, tx bun.IDB, communityID, orderID, canteenID int64) ([]kitchen.Line, bool, error) {
	var src []struct {
		LineNo   int    `bun:"line_no"`
		Name     string `bun:"name"`
		Category string `bun:"category"`
		Qty      int    `bun:"qty"`
		Note     string `bun:"note"`
	}
	if err := tx.NewRaw(`SELECT line_no, name, category, qty, note FROM order_lines
		WHERE community_id = ? AND order_id = ? ORDER BY line_no`, communityID, orderID).Scan(ctx, &src); err != nil {
		return nil, false, fmt.Errorf("order lines: %w", err)
	}
	var stations []struct {
		ID         int64    `bun:"id"`
		Name       string   `bun:"name"`
		Categories []string `bun:"categories,array"`
	}
	if err := tx.NewRaw("SELECT id, name, categories FROM kitchen_stations WHERE community_id = ? AND canteen_id = ? ORDER BY id",
		communityID, canteenID).Scan(ctx, &stations); err != nil {
		return nil, false, fmt.Errorf("stations: %w", err)
	}
	st := make([]kitchen.Station, len(stations))
	for i, r := range stations {
		st[i] = kitchen.Station{ID: r.ID, CanteenID: canteenID, Name: r.Name, Categories: r.Categories}
	}
	lines := make([]kitchen.Line, len(src))
	for i, l := range src {
		lines[i] = kitchen.Line{LineNo: l.LineNo, Name: l.Name, Qty: l.Qty, Note: l.Note, StationID: kitchen.Route(st, l.Category)}
	}
	var priority bool
	if err := tx.NewRaw(`SELECT EXISTS (SELECT 1 FROM orders o JOIN eligibilities e
			ON e.community_id = o.community_id AND e.diner_id = o.diner_id
		WHERE o.community_id = ? AND o.id = ? AND e.grp = 'elderly' AND e.status = 'approved'
		  AND e.valid_from <= o.day AND e.valid_until >= o.day)`,
		communityID, orderID).Scan(ctx, &priority); err != nil {
		return nil, false, fmt.Errorf("elder priority: %w", err)
	}
	return lines, priority, nil
}
