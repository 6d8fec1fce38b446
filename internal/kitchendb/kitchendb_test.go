package kitchendb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/kitchendb"
)

func TestTwentyConcurrentCreationsMakeOneTicket(t *testing.T) {
	f := newFixture(t)
	c := f.canteen()
	oid := f.order(c, "lunch", "paid", "dine_in", false)
	const n = 20
	tickets := make([]kitchen.Ticket, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { tickets[i], created[i], errs[i] = f.svc.CreateTicket(f.ctx, c.community, oid) })
	}
	wg.Wait()
	nCreated := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if created[i] {
			nCreated++
		}
		if tickets[i].ID != tickets[0].ID || tickets[i].Pickup != "A001" {
			t.Fatalf("call %d got ticket %d %s, call 0 got %d %s", i, tickets[i].ID, tickets[i].Pickup, tickets[0].ID, tickets[0].Pickup)
		}
	}
	var rows, events, lastSeq int
	f.scan("SELECT count(*) FROM tickets WHERE order_id = ?", &rows, oid)
	f.scan("SELECT count(*) FROM ticket_events", &events)
	f.scan("SELECT last_seq FROM pickup_counters WHERE canteen_id = ?", &lastSeq, c.id)
	if nCreated != 1 || rows != 1 || events != 1 || lastSeq != 1 {
		t.Fatalf("created %d, ticket rows %d, events %d, pickup numbers taken %d; want 1 each", nCreated, rows, events, lastSeq)
	}
}

func TestPickupNumbersAreConsecutivePerCanteenDayPeriod(t *testing.T) {
	f := newFixture(t)
	c, other := f.canteen(), f.canteen()
	const n = 50
	orders := make([]int64, n)
	for i := range orders {
		orders[i] = f.order(c, "lunch", "paid", "dine_in", false)
	}
	dinner := f.order(c, "dinner", "paid", "dine_in", false)
	elsewhere := f.order(other, "lunch", "paid", "dine_in", false)
	pickups := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, oid := range orders {
		wg.Go(func() {
			var tk kitchen.Ticket
			tk, _, errs[i] = f.svc.CreateTicket(f.ctx, c.community, oid)
			pickups[i] = tk.Pickup
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
	}
	slices.Sort(pickups)
	for i, p := range pickups {
		if want := fmt.Sprintf("A%03d", i+1); p != want {
			t.Fatalf("pickup numbers %v; want A001..A%03d without gaps or repeats", pickups, n)
		}
	}
	for _, tc := range []struct {
		community, order int64
		want             string
	}{{c.community, dinner, "D001"}, {other.community, elsewhere, "A001"}} {
		tk, _, err := f.svc.CreateTicket(f.ctx, tc.community, tc.order)
		if err != nil || tk.Pickup != tc.want {
			t.Fatalf("order %d: pickup %q, %v; want %s", tc.order, tk.Pickup, err, tc.want)
		}
	}
}

func TestBumpAndRecallMoveTheOrder(t *testing.T) {
	f := newFixture(t)
	c := f.canteen()
	oid := f.order(c, "lunch", "paid", "dine_in", false)
	tk, _, err := f.svc.CreateTicket(f.ctx, c.community, oid)
	if err != nil {
		t.Fatal(err)
	}
	sc := kitchen.Scope{CommunityID: c.community, Actor: audit.Actor{Kind: audit.Staff, ID: 7, Name: "王师傅"}}
	walk := []struct {
		recall bool
		state  kitchen.TicketState
		order  string
	}{
		{false, kitchen.StatePreparing, "in_kitchen"},
		{false, kitchen.StateReady, "ready"},
		{false, kitchen.StatePickedUp, "picked_up"},
		{true, kitchen.StateReady, "ready"},
		{true, kitchen.StatePreparing, "in_kitchen"},
		{true, kitchen.StateNew, "paid"},
		{false, kitchen.StatePreparing, "in_kitchen"},
		{false, kitchen.StateReady, "ready"},
		{false, kitchen.StatePickedUp, "picked_up"},
	}
	for i, step := range walk {
		move := f.svc.Bump
		if step.recall {
			move = f.svc.Recall
		}
		got, err := move(f.ctx, sc, tk.ID)
		if err != nil || got.State != step.state || f.status(oid) != step.order {
			t.Fatalf("step %d: ticket %q, order %q, %v; want %q, %q", i, got.State, f.status(oid), err, step.state, step.order)
		}
	}
	if _, err := f.svc.Bump(f.ctx, sc, tk.ID); !errors.Is(err, kitchen.ErrTicketFinal) || apperr.KindOf(err) != apperr.FailedPrecondition {
		t.Fatalf("bump past picked_up: %v; want ErrTicketFinal (FailedPrecondition)", err)
	}
	var events, byStaff int
	f.scan("SELECT count(*) FROM ticket_events WHERE ticket_id = ?", &events, tk.ID)
	f.scan("SELECT count(*) FROM ticket_events WHERE ticket_id = ? AND actor_kind = 'staff' AND actor_id = 7", &byStaff, tk.ID)
	if events != 1+len(walk) || byStaff != len(walk) {
		t.Fatalf("%d events (%d by staff); want %d (%d)", events, byStaff, 1+len(walk), len(walk))
	}
	if _, err := f.db.ExecContext(f.ctx, "DELETE FROM ticket_events WHERE ticket_id = ?", tk.ID); err == nil {
		t.Fatal("ticket_events must be append-only")
	}

	// A new ticket has nothing to recall; another community cannot see the ticket.
	oid2 := f.order(c, "lunch", "paid", "dine_in", false)
	tk2, _, _ := f.svc.CreateTicket(f.ctx, c.community, oid2)
	if _, err := f.svc.Recall(f.ctx, sc, tk2.ID); !errors.Is(err, kitchen.ErrNothingToRecall) || apperr.KindOf(err) != apperr.FailedPrecondition {
		t.Fatalf("recall of new: %v", err)
	}
	if _, err := f.svc.Bump(f.ctx, kitchen.Scope{CommunityID: c.community + 1000}, tk2.ID); !errors.Is(err, kitchen.ErrTicketNotFound) {
		t.Fatalf("bump from another community: %v; want ErrTicketNotFound", err)
	}
	// A screen confined to another canteen neither moves nor reprints the ticket; one
	// confined to the ticket's canteen may.
	elsewhere := kitchen.Scope{CommunityID: c.community, Canteens: []int64{c.id + 1000}, Actor: sc.Actor}
	if _, err := f.svc.Bump(f.ctx, elsewhere, tk2.ID); !errors.Is(err, kitchen.ErrTicketNotFound) {
		t.Fatalf("bump from another canteen's screen: %v; want ErrTicketNotFound", err)
	}
	if _, err := f.svc.Reprint(f.ctx, elsewhere, tk2.ID); !errors.Is(err, kitchen.ErrTicketNotFound) {
		t.Fatalf("reprint from another canteen's screen: %v; want ErrTicketNotFound", err)
	}
	here := kitchen.Scope{CommunityID: c.community, Canteens: []int64{c.id + 1000, c.id}, Actor: sc.Actor}
	if card, err := f.svc.Reprint(f.ctx, here, tk2.ID); err != nil || card.Reprints != 1 {
		t.Fatalf("reprint from the ticket's canteen: %+v, %v; want 1 reprint", card.Ticket, err)
	}
	// An order refunded under the kitchen's hands: the ticket may not move on.
	f.exec("UPDATE orders SET status = 'refunded', refunded_fen = pay_fen WHERE id = ?", oid2)
	if _, err := f.svc.Bump(f.ctx, sc, tk2.ID); apperr.KindOf(err) != apperr.FailedPrecondition {
		t.Fatalf("bump of a refunded order's ticket: %v; want FailedPrecondition", err)
	}
	if got := f.status(oid2); got != "refunded" {
		t.Fatalf("order moved to %s", got)
	}
}

func TestDeliveryTicketWalk(t *testing.T) {
	f := newFixture(t)
	c := f.canteen()
	oid := f.order(c, "lunch", "paid", "delivery", false)
	tk, _, err := f.svc.CreateTicket(f.ctx, c.community, oid)
	if err != nil || !tk.Delivery {
		t.Fatalf("ticket %+v, %v", tk, err)
	}
	sc := kitchen.Scope{CommunityID: c.community, Actor: audit.SystemActor}
	for _, want := range []struct {
		state kitchen.TicketState
		order string
	}{{kitchen.StatePreparing, "in_kitchen"}, {kitchen.StateReady, "ready"}, {kitchen.StateOutForDelivery, "ready"}, {kitchen.StateDelivered, "picked_up"}} {
		got, err := f.svc.Bump(f.ctx, sc, tk.ID)
		if err != nil || got.State != want.state || f.status(oid) != want.order {
			t.Fatalf("bump: %q, order %q, %v; want %q, %q", got.State, f.status(oid), err, want.state, want.order)
		}
	}
}

func TestCreateTicketRefusesUnpaidAndUnknownOrders(t *testing.T) {
	f := newFixture(t)
	c := f.canteen()
	pending := f.order(c, "lunch", "pending", "dine_in", false)
	if _, _, err := f.svc.CreateTicket(f.ctx, c.community, pending); !errors.Is(err, kitchen.ErrOrderNotPaid) {
		t.Fatalf("pending order: %v; want ErrOrderNotPaid", err)
	}
	if _, _, err := f.svc.CreateTicket(f.ctx, c.community, pending+1000); !errors.Is(err, kitchen.ErrOrderNotFound) {
		t.Fatalf("unknown order: %v; want ErrOrderNotFound", err)
	}
	paid := f.order(c, "lunch", "paid", "dine_in", false)
	if _, _, err := f.svc.CreateTicket(f.ctx, c.community+1000, paid); !errors.Is(err, kitchen.ErrOrderNotFound) {
		t.Fatalf("order of another community: %v; want ErrOrderNotFound", err)
	}
	var n int
	f.scan("SELECT count(*) FROM pickup_counters", &n)
	if n != 0 {
		t.Fatal("a refused creation took a pickup number")
	}
}

func TestStationsNotesPriorityOpenBoardAndNotify(t *testing.T) {
	f := newFixture(t)
	c := f.canteen()
	var wok, rest int64
	f.scan("INSERT INTO kitchen_stations (community_id, canteen_id, name, categories) VALUES (?, ?, '炒锅', '{hot}') RETURNING id", &wok, c.community, c.id)
	f.scan("INSERT INTO kitchen_stations (community_id, canteen_id, name) VALUES (?, ?, '其他') RETURNING id", &rest, c.community, c.id)

	conn, err := pgx.Connect(f.ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(f.ctx, "LISTEN "+kitchendb.Channel); err != nil {
		t.Fatal(err)
	}

	first := f.order(c, "lunch", "paid", "dine_in", true)
	second := f.order(c, "lunch", "paid", "dine_in", false)
	f.order(c, "lunch", "pending", "dine_in", false) // not on the board
	t1, _, err := f.svc.CreateTicket(f.ctx, c.community, first)
	if err != nil {
		t.Fatal(err)
	}
	t2, _, err := f.svc.CreateTicket(f.ctx, c.community, second)
	if err != nil {
		t.Fatal(err)
	}
	// A subsidy alone does not put a ticket first: only an elder's does (printers_test.go).
	if t1.Priority || t2.Priority || t1.Notes != "红烧肉: 少辣" {
		t.Fatalf("priority %v/%v, notes %q", t1.Priority, t2.Priority, t1.Notes)
	}

	wctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(wctx)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		CanteenID int64 `json:"canteen_id"`
		TicketID  int64 `json:"ticket_id"`
	}
	if err := json.Unmarshal([]byte(n.Payload), &msg); err != nil || msg.CanteenID != c.id || msg.TicketID != t1.ID {
		t.Fatalf("notification %s (%v); want canteen %d ticket %d", n.Payload, err, c.id, t1.ID)
	}

	sc := kitchen.Scope{CommunityID: c.community, Actor: audit.SystemActor}
	for range 3 {
		if _, err := f.svc.Bump(f.ctx, sc, t1.ID); err != nil {
			t.Fatal(err)
		}
	}
	open, err := f.svc.Open(f.ctx, c.community, c.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].ID != t2.ID || len(open[0].Lines) != 2 ||
		open[0].Lines[0].StationID != wok || open[0].Lines[1].StationID != rest || !slices.Equal(open[0].Stations, []int64{wok, rest}) {
		t.Fatalf("open tickets %+v; want only ticket %d, lines at stations %d and %d", open, t2.ID, wok, rest)
	}
	card, err := f.svc.Reprint(f.ctx, sc, t2.ID)
	if err != nil || card.Reprints != 1 || len(card.Lines) != 2 {
		t.Fatalf("reprint: %+v, %v", card, err)
	}

	board, err := f.svc.ProductionBoard(f.ctx, c.community, c.id, civil.Date{Year: 2026, Month: 11, Day: 28}, "lunch")
	if err != nil {
		t.Fatal(err)
	}
	want := []kitchen.DishCount{{DishID: c.pork, Name: "红烧肉", Category: "hot", Qty: 4}, {DishID: c.cucumber, Name: "凉拌黄瓜", Category: "cold", Qty: 2}}
	if !slices.Equal(board, want) {
		t.Fatalf("board %+v; want %+v", board, want)
	}
	if _, err := f.svc.ProductionBoard(f.ctx, c.community, c.id, civil.Date{Year: 2026, Month: 11, Day: 28}, "supper"); !errors.Is(err, kitchen.ErrPeriodInvalid) {
		t.Fatalf("unknown period: %v", err)
	}
}

func TestUnticketedListsOnlyOldPaidOrdersWithoutTicket(t *testing.T) {
	f := newFixture(t)
	c := f.canteen()
	ticketed := f.order(c, "lunch", "paid", "dine_in", false)
	waiting := f.order(c, "lunch", "paid", "dine_in", false)
	fresh := f.order(c, "lunch", "paid", "dine_in", false)
	f.exec("UPDATE orders SET paid_at = now() WHERE id = ?", fresh)
	f.order(c, "lunch", "pending", "dine_in", false)
	if _, _, err := f.svc.CreateTicket(f.ctx, c.community, ticketed); err != nil {
		t.Fatal(err)
	}
	refs, err := f.svc.Unticketed(f.ctx, 30*time.Second, 100)
	if err != nil || !slices.Equal(refs, []kitchen.OrderRef{{CommunityID: c.community, OrderID: waiting}}) {
		t.Fatalf("unticketed %+v, %v; want only order %d", refs, err, waiting)
	}
}
