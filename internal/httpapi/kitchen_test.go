package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestKitchenTicketFlow(t *testing.T) {
	e := newEnv(t, 100)
	id, _ := e.paidElderOrder("kitchen-order-01")
	// The worker turns the paid order into its ticket.
	tk, created, err := e.kitS.CreateTicket(context.Background(), e.ids["community"], id)
	if err != nil || !created || tk.Pickup != "A001" {
		t.Fatalf("ticket %+v created=%v %v", tk, created, err)
	}
	kitchenTok := e.tokens["kitchen"]
	var open struct {
		Items []struct {
			ID      int64  `json:"id"`
			Pickup  string `json:"pickup_no"`
			State   string `json:"state"`
			OrderID int64  `json:"order_id"`
			Lines   []struct{ Name string }
		}
	}
	resp := e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/tickets", e.ids["canteen"]), kitchenTok, "")
	raw := body(resp)
	if resp.StatusCode != 200 {
		t.Fatalf("open tickets: %d %s", resp.StatusCode, raw)
	}
	for _, word := range []string{"elderly", "tekun", "特困", "subsidy", "price", "fen", "张阿婆"} {
		if strings.Contains(raw, word) {
			t.Fatalf("the kitchen screen's data shows %q: %s", word, raw)
		}
	}
	e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/tickets", e.ids["canteen"]), kitchenTok, ""), 200, &open)
	if len(open.Items) != 1 || open.Items[0].OrderID != id || open.Items[0].State != "new" || open.Items[0].Lines[0].Name != "红烧肉" {
		t.Fatalf("open tickets = %+v", open.Items)
	}
	ticket := open.Items[0].ID
	bump := func(path string, want string) {
		t.Helper()
		var v struct{ State string }
		e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/kitchen/tickets/%d/%s", ticket, path), kitchenTok, ""), 200, &v)
		if v.State != want {
			t.Fatalf("%s → %s, want %s", path, v.State, want)
		}
	}
	bump("bump", "preparing")
	if s := e.orderStatus(id); s != "in_kitchen" {
		t.Fatalf("order %s while preparing", s)
	}
	bump("bump", "ready")
	var board struct{ Ready []string }
	e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/communities/%d/canteens/%d/pickup", e.ids["community"], e.ids["canteen"]), "", ""), 200, &board)
	if len(board.Ready) != 1 || board.Ready[0] != "A001" || e.orderStatus(id) != "ready" {
		t.Fatalf("pickup board %+v, order %s", board, e.orderStatus(id))
	}
	bump("recall", "preparing")
	if s := e.orderStatus(id); s != "in_kitchen" {
		t.Fatalf("order %s after a recall", s)
	}
	bump("bump", "ready")
	bump("bump", "picked_up")
	if s := e.orderStatus(id); s != "picked_up" {
		t.Fatalf("order %s after pickup", s)
	}
	if r := e.do("POST", fmt.Sprintf("/api/v1/kitchen/tickets/%d/bump", ticket), kitchenTok, ""); r.StatusCode != 422 {
		t.Fatalf("bumping a picked-up ticket: %d", r.StatusCode)
	}
	var counts struct {
		Items []struct {
			Name string
			Qty  int
		}
	}
	e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/board?period=lunch", e.ids["canteen"]), kitchenTok, ""), 200, &counts)
	if len(counts.Items) != 1 || counts.Items[0].Name != "红烧肉" || counts.Items[0].Qty != 2 {
		t.Fatalf("production board %+v", counts.Items)
	}
}
