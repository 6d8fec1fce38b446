package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// quoteJSON and orderJSON are what the tests read of quotes and orders.
type quoteJSON struct {
	DinerID     int64 `json:"diner_id"`
	StandardFen int64 `json:"standard_fen"`
	SubsidyFen  int64 `json:"subsidy_fen"`
	PayFen      int64 `json:"pay_fen"`
	Reasons     []any `json:"reasons"`
	Lines       []struct {
		PayFen int64          `json:"pay_fen"`
		Parts  []subsidy.Part `json:"parts"`
	} `json:"lines"`
}

type orderJSON struct {
	ID      int64  `json:"id"`
	DinerID *int64 `json:"diner_id"`
	Status  string `json:"status"`
	Payment string `json:"payment"`
	PayFen  int64  `json:"pay_fen"`
}

type allowanceJSON struct {
	PolicyID       int64 `json:"policy_id"`
	UsedCount      int   `json:"used_count"`
	RemainingCount int   `json:"remaining_count"`
}

// lunchCart is a cart of qty 红烧肉 at today's lunch of the seeded canteen; extra is more
// JSON members, each starting with a comma.
func (e *env) lunchCart(qty int, extra string) string {
	return fmt.Sprintf(`{"canteen_id":%d,"day":%q,"period":"lunch","lines":[{"dish_id":%d,"qty":%d}]%s}`,
		e.ids["canteen"], civilToday(), e.ids["dish"], qty, extra)
}

func (e *env) placeOrder(token, key, reqBody string) (int, string) {
	e.t.Helper()
	resp := e.doHeader("POST", "/api/v1/orders", token, "application/json", reqBody, map[string]string{"Idempotency-Key": key})
	return resp.StatusCode, body(resp)
}

func (e *env) allowance(token string) allowanceJSON {
	e.t.Helper()
	var out struct{ Items []allowanceJSON }
	e.mustJSON(e.do("GET", "/api/v1/me/allowances?period=lunch", token, ""), 200, &out)
	for _, a := range out.Items {
		if a.PolicyID == e.ids["policy"] {
			return a
		}
	}
	e.t.Fatalf("no allowance of the elder policy in %+v", out.Items)
	return allowanceJSON{}
}

// TestDinerAppliesAndOrdersAtElderPrice walks a diner from application to a cancelled order:
// a reviewer approves, the quote shows the elder price with its sponsor, the order is placed
// once however often it is sent, and the monthly allowance counts down and back up.
func TestDinerAppliesAndOrdersAtElderPrice(t *testing.T) {
	e := newEnv(t, 1000)
	tok, _ := e.dinerLogin("openid-new-elder")
	idNo := idNumber("440104", "19500101", "017")

	var el struct {
		ID             int64  `json:"id"`
		Status         string `json:"status"`
		IDNumberMasked string `json:"id_number_masked"`
	}
	resp := e.do("POST", "/api/v1/eligibility/elderly", tok, fmt.Sprintf(`{"name":"李大爷","id_number":%q,"district":"越秀区"}`, idNo))
	raw := body(resp)
	if resp.StatusCode != 201 || strings.Contains(raw, idNo) {
		t.Fatalf("apply: %d %s", resp.StatusCode, raw)
	}
	if err := json.Unmarshal([]byte(raw), &el); err != nil || el.Status != "applied" || el.IDNumberMasked == "" {
		t.Fatalf("apply: %s", raw)
	}

	var pending struct{ Items []struct{ ID int64 } }
	e.mustJSON(e.do("GET", "/api/v1/admin/eligibilities/pending?group=elderly", e.tokens["reviewer"], ""), 200, &pending)
	if len(pending.Items) != 1 || pending.Items[0].ID != el.ID {
		t.Fatalf("pending = %+v, want eligibility %d", pending.Items, el.ID)
	}
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/admin/eligibilities/%d/approve", el.ID), e.tokens["reviewer"], ""), 200, &el)
	if el.Status != "approved" {
		t.Fatalf("approved eligibility has status %q", el.Status)
	}

	var q quoteJSON
	e.mustJSON(e.do("POST", "/api/v1/quotes", tok, e.lunchCart(1, "")), 200, &q)
	if q.StandardFen != 1200 || q.PayFen != elderPriceFen || q.SubsidyFen != 1200-elderPriceFen {
		t.Fatalf("quote = %+v, want 1200 standard, %d to pay", q, elderPriceFen)
	}
	if p := q.Lines[0].Parts; len(p) != 1 || p[0].SponsorID != e.ids["sponsor"] || p[0].PolicyID != e.ids["policy"] ||
		p[0].Label != "幸福公益基金" || p[0].Fen != 1200-elderPriceFen {
		t.Fatalf("parts = %+v, want the sponsor's %d fen", p, 1200-elderPriceFen)
	}
	if a := e.allowance(tok); a.RemainingCount != elderMonthly || a.UsedCount != 0 {
		t.Fatalf("allowance before ordering = %+v", a)
	}

	place := e.lunchCart(1, fmt.Sprintf(`,"kind":"dine_in","expect_pay_fen":%d`, q.PayFen))
	status, raw := e.placeOrder(tok, "order-key-0001", place)
	var o orderJSON
	if err := json.Unmarshal([]byte(raw), &o); status != 201 || err != nil {
		t.Fatalf("place: %d %s", status, raw)
	}
	if o.Status != string(order.Pending) || o.PayFen != elderPriceFen {
		t.Fatalf("order = %+v", o)
	}
	status, raw = e.placeOrder(tok, "order-key-0001", place)
	var again orderJSON
	if err := json.Unmarshal([]byte(raw), &again); status != 200 || err != nil || again.ID != o.ID {
		t.Fatalf("replay: %d %s, want 200 with order %d", status, raw, o.ID)
	}

	var mine struct{ Items []orderJSON }
	e.mustJSON(e.do("GET", "/api/v1/orders", tok, ""), 200, &mine)
	if len(mine.Items) != 1 || mine.Items[0].ID != o.ID {
		t.Fatalf("my orders = %+v, want just %d", mine.Items, o.ID)
	}
	e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/orders/%d", o.ID), tok, ""), 200, &again)
	if r := e.do("GET", fmt.Sprintf("/api/v1/orders/%d", o.ID), e.tokens["diner"], ""); r.StatusCode != 404 {
		t.Fatalf("another diner reads the order: %d %s", r.StatusCode, body(r))
	}
	if a := e.allowance(tok); a.RemainingCount != elderMonthly-1 || a.UsedCount != 1 {
		t.Fatalf("allowance after ordering = %+v", a)
	}

	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/cancel", o.ID), tok, `{"reason":"临时有事"}`), 200, &o)
	if o.Status != string(order.Cancelled) {
		t.Fatalf("cancelled order has status %q", o.Status)
	}
	if a := e.allowance(tok); a.RemainingCount != elderMonthly || a.UsedCount != 0 {
		t.Fatalf("allowance after cancelling = %+v", a)
	}
	r := e.do("POST", fmt.Sprintf("/api/v1/orders/%d/cancel", o.ID), tok, "")
	expectProblem(t, r, 422, "not_cancellable", "")
}

// sensitive are the words that would tell the counter who a diner is or why they pay what
// they pay: groups, status flags, policy names and labels, and reason codes.
var sensitive = []string{"elderly", "worker", "tekun", "特困", "长者", "骑手", "policy_id", "label", "幸福公益基金", "eligibility_expired",
	"not_eligible", "not_valid_today", "wrong_canteen_or_period", "not_on_weekday", "outside_time_window",
	"min_spend_not_met", "dish_not_covered", "max_items_reached", "limit_reached", "budget_exhausted", "outside_home_district"}

func leaks(raw string) []string {
	var out []string
	for _, w := range sensitive {
		if strings.Contains(raw, w) {
			out = append(out, w)
		}
	}
	return out
}

// TestCounterSeesPricesOnly has a counter clerk find the seeded elder (flagged 特困), quote
// and order for them in cash: the clerk sees the price and nothing that tells the elder's
// group, flags or the policies behind the price.
func TestCounterSeesPricesOnly(t *testing.T) {
	e := newEnv(t, 1000)
	counter, elder := e.tokens["counter"], e.ids["elderDiner"]
	forElder := fmt.Sprintf(`,"for_diner_id":%d`, elder)

	// The same quote as the elder sees it names the 特困 policy, and says why the worker
	// policy does not apply: the checks below can fail.
	resp := e.do("POST", "/api/v1/quotes", e.tokens["elder"], e.lunchCart(1, ""))
	if raw := body(resp); resp.StatusCode != 200 || !strings.Contains(raw, "特困") || !strings.Contains(raw, "policy_id") ||
		!strings.Contains(raw, "not_eligible") {
		t.Fatalf("the elder's own quote: %d %s", resp.StatusCode, raw)
	}

	resp = e.do("GET", "/api/v1/counter/diners?q=张阿婆", counter, "")
	raw := body(resp)
	var found struct {
		Items []struct {
			ID             int64  `json:"id"`
			IDNumberMasked string `json:"id_number_masked"`
		}
	}
	if err := json.Unmarshal([]byte(raw), &found); resp.StatusCode != 200 || err != nil || len(found.Items) != 1 || found.Items[0].ID != elder {
		t.Fatalf("find the elder: %d %s", resp.StatusCode, raw)
	}
	if found.Items[0].IDNumberMasked == "" || strings.Contains(raw, e.elderIDNumber) || len(leaks(raw)) > 0 {
		t.Fatalf("the counter's search shows too much: %s", raw)
	}

	resp = e.do("POST", "/api/v1/quotes", counter, e.lunchCart(1, forElder))
	raw = body(resp)
	if resp.StatusCode != 200 {
		t.Fatalf("counter quote: %d %s", resp.StatusCode, raw)
	}
	if l := leaks(raw); len(l) > 0 {
		t.Fatalf("the counter's quote shows %q: %s", l, raw)
	}
	var q quoteJSON
	if err := json.Unmarshal([]byte(raw), &q); err != nil || q.PayFen != tekunPriceFen || q.DinerID != elder {
		t.Fatalf("counter quote = %s, want %d to pay", raw, tekunPriceFen)
	}

	status, raw := e.placeOrder(counter, "counter-key-0001", e.lunchCart(1, forElder+`,"kind":"dine_in","payment":"cash","expect_pay_fen":1`))
	if status != 409 || problemCode(t, raw) != "price_changed" || !strings.Contains(raw, `"quote"`) {
		t.Fatalf("counter order at a wrong price: %d %s", status, raw)
	}
	if l := leaks(raw); len(l) > 0 {
		t.Fatalf("the counter's re-quote shows %q: %s", l, raw)
	}

	status, raw = e.placeOrder(counter, "counter-key-0002", e.lunchCart(1, forElder+fmt.Sprintf(`,"kind":"dine_in","payment":"cash","expect_pay_fen":%d`, tekunPriceFen)))
	var o orderJSON
	if err := json.Unmarshal([]byte(raw), &o); status != 201 || err != nil {
		t.Fatalf("counter cash order: %d %s", status, raw)
	}
	if o.Status != string(order.Paid) || o.Payment != string(order.Cash) || o.PayFen != tekunPriceFen || o.DinerID == nil || *o.DinerID != elder {
		t.Fatalf("counter cash order = %+v, want paid in cash at %d", o, tekunPriceFen)
	}
	if l := leaks(raw); len(l) > 0 {
		t.Fatalf("the counter's order shows %q: %s", l, raw)
	}
	resp = e.do("GET", fmt.Sprintf("/api/v1/orders/%d", o.ID), counter, "")
	if raw := body(resp); resp.StatusCode != 200 || len(leaks(raw)) > 0 {
		t.Fatalf("counter reads the order: %d %s", resp.StatusCode, raw)
	}

	// A walk-in pays the standard price; an admin without the counter role cannot order.
	var walkIn quoteJSON
	e.mustJSON(e.do("POST", "/api/v1/quotes", counter, e.lunchCart(1, "")), 200, &walkIn)
	if walkIn.PayFen != 1200 || walkIn.DinerID != 0 {
		t.Fatalf("walk-in quote = %+v", walkIn)
	}
	if r := e.do("POST", "/api/v1/quotes", e.tokens["admin"], e.lunchCart(1, forElder)); r.StatusCode != 403 {
		t.Fatalf("admin quoting for an elder: %d %s", r.StatusCode, body(r))
	}
}
