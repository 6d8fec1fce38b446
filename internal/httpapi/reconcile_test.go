package httpapi_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/paymentdb"
)

type reconcileReport struct {
	MchID string `json:"mchid"`
	From  string `json:"from"`
	To    string `json:"to"`
	Days  []struct {
		Day       string     `json:"day"`
		CheckedAt *time.Time `json:"checked_at"`
	} `json:"days"`
	Counts map[string]int `json:"counts"`
	Items  []struct {
		Kind    string `json:"kind"`
		Ref     string `json:"ref"`
		Outcome string `json:"outcome"`
		OurFen  *int64 `json:"our_fen"`
		BillFen *int64 `json:"bill_fen"`
		Order   *struct {
			ID          int64  `json:"id"`
			CanteenID   int64  `json:"canteen_id"`
			CanteenName string `json:"canteen_name"`
			Day         string `json:"day"`
			Status      string `json:"status"`
			PayFen      int64  `json:"pay_fen"`
		} `json:"order"`
		Resolution *struct {
			Note    string `json:"note"`
			NotedBy int64  `json:"noted_by"`
		} `json:"resolution"`
	} `json:"items"`
}

// summary is "outcome ref order-id" for each finding, 0 for no order.
func (r reconcileReport) summary() []string {
	out := make([]string, len(r.Items))
	for i, x := range r.Items {
		var oid int64
		if x.Order != nil {
			oid = x.Order.ID
		}
		out[i] = fmt.Sprintf("%s %s %d", x.Outcome, x.Ref, oid)
	}
	return out
}

// orderOfB writes a pending WeChat order of community B with a payment intent and returns
// its id and out_trade_no.
func (e *env) orderOfB(fen int64) (int64, string) {
	e.t.Helper()
	ctx := context.Background()
	var oid int64
	if err := e.db.NewRaw(`INSERT INTO orders (community_id, canteen_id, menu_id, placed_by_kind, placed_by_id, day, period, kind,
		status, payment_method, standard_fen, subsidy_fen, pay_fen, idempotency_key, request_hash, pay_deadline)
		SELECT m.community_id, m.canteen_id, m.id, 'staff', 1, m.day, m.period, 'dine_in', 'pending', 'wechat', ?, 0, ?,
			'rec-b-000001', '\x00', now() + interval '15 minutes'
		FROM menus m WHERE m.canteen_id = ? RETURNING id`, fen, fen, e.ids["canteenB"]).Scan(ctx, &oid); err != nil {
		e.t.Fatal(err)
	}
	no := fmt.Sprintf("CTB%d000000000001", oid)
	if _, err := e.db.NewRaw(`INSERT INTO payment_intents (community_id, order_id, out_trade_no, amount_fen, payer_openid, expires_at)
		VALUES (?, ?, ?, ?, 'o-b', now() + interval '15 minutes')`, e.ids["communityB"], oid, no, fen).Exec(ctx); err != nil {
		e.t.Fatal(err)
	}
	return oid, no
}

func (e *env) payFen(orderID int64) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.NewRaw("SELECT pay_fen FROM orders WHERE id = ?", orderID).Scan(context.Background(), &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestReconciliationIsScopedToTheCommunity(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	day := civilToday()
	dayPath := "/api/v1/admin/reconciliation/" + day.String()

	// Paid and notified; paid with the notification lost; B's, also lost; and one not ours.
	paidID := e.pendingOrder("rec-order-0001")
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", paidID), e.tokens["diner"], ""), 200, &payParams{})
	paidNo := e.outTradeNo(paidID)
	if err := e.payFake.Pay(paidNo); err != nil {
		t.Fatal(err)
	}
	lostID := e.pendingOrder("rec-order-0002")
	lostNo := e.payUnnoticed(lostID)
	bID, bNo := e.orderOfB(1200)

	// No bill yet: nothing to run.
	expectProblem(t, e.do("POST", dayPath+"/run", e.tokens["finance"], ""), 404, "bill_not_found", "")

	row := func(no string, fen int64) payment.BillRow {
		return payment.BillRow{TradeTime: fixedNow, OutTradeNo: no, TradeState: payment.StateSuccess, AmountFen: fen}
	}
	raw := []byte("the day's bill")
	sum := sha1.Sum(raw)
	if _, _, err := paymentdb.NewBillStore(e.db).SaveBill(ctx, payment.Bill{MchID: testMchID, Day: day, Raw: raw,
		SHA1: hex.EncodeToString(sum[:]), FetchedAt: fixedNow, Rows: []payment.BillRow{
			row(paidNo, e.payFen(paidID)), row(lostNo, e.payFen(lostID)), row(bNo, 1200), row("XX0000000000000009", 990)}}); err != nil {
		t.Fatal(err)
	}

	// Finance of A runs the day: A's findings and the unknown trade, never B's.
	var rep reconcileReport
	resp := e.do("POST", dayPath+"/run", e.tokens["finance"], "")
	rawA := body(resp)
	if resp.StatusCode != 200 {
		t.Fatalf("run: %d %s", resp.StatusCode, rawA)
	}
	if err := json.Unmarshal([]byte(rawA), &rep); err != nil {
		t.Fatal(err)
	}
	wantA := []string{"missing_ours " + lostNo + fmt.Sprint(" ", lostID), "missing_ours XX0000000000000009 0",
		"matched " + paidNo + fmt.Sprint(" ", paidID)}
	if diff := cmp.Diff(wantA, rep.summary()); diff != "" {
		t.Errorf("A's findings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"matched": 1, "missing_ours": 2, "missing_wechat": 0, "amount_mismatch": 0}, rep.Counts); diff != "" {
		t.Errorf("A's counts (-want +got):\n%s", diff)
	}
	if strings.Contains(rawA, bNo) || strings.Contains(rawA, fmt.Sprintf(`"id":%d`, bID)) {
		t.Errorf("A's answer shows B's order: %s", rawA)
	}
	if o := rep.Items[0].Order; o == nil || o.CanteenID != e.ids["canteen"] || o.CanteenName == "" || o.Status != "pending" ||
		o.Day != day.String() || o.PayFen != e.payFen(lostID) {
		t.Errorf("order of the lost payment: %+v", o)
	}
	if len(rep.Days) != 1 || rep.Days[0].Day != day.String() || rep.Days[0].CheckedAt == nil || rep.MchID != testMchID {
		t.Errorf("report header: %+v", rep)
	}

	// Admin of A reads the same by day and by month.
	for _, q := range []string{"?day=" + day.String(), "?month=" + day.String()[:7]} {
		var got reconcileReport
		e.mustJSON(e.do("GET", "/api/v1/admin/reconciliation"+q, e.tokens["admin"], ""), 200, &got)
		if diff := cmp.Diff(wantA, got.summary()); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", q, diff)
		}
	}
	var month reconcileReport
	e.mustJSON(e.do("GET", "/api/v1/admin/reconciliation?month=2026-02", e.tokens["admin"], ""), 200, &month)
	if month.From != "2026-02-01" || month.To != "2026-02-28" || len(month.Items) != 0 || month.Items == nil {
		t.Errorf("February: %+v", month)
	}

	// B sees its own lost payment, with its order, and nothing of A's; having taken no
	// payment on the merchant account, not its unknown trade either.
	respB := e.do("GET", "/api/v1/admin/reconciliation?day="+day.String(), e.tokens["adminB"], "")
	rawB := body(respB)
	var repB reconcileReport
	if err := json.Unmarshal([]byte(rawB), &repB); err != nil || respB.StatusCode != 200 {
		t.Fatalf("B: %d %s", respB.StatusCode, rawB)
	}
	wantB := []string{"missing_ours " + bNo + fmt.Sprint(" ", bID)}
	if diff := cmp.Diff(wantB, repB.summary()); diff != "" {
		t.Errorf("B's findings (-want +got):\n%s", diff)
	}
	if strings.Contains(rawB, paidNo) || strings.Contains(rawB, lostNo) {
		t.Errorf("B's answer shows A's orders: %s", rawB)
	}

	// Finance notes how a finding was resolved; B's finance cannot touch A's finding.
	bossB := auth.Principal{Kind: auth.StaffKind, CommunityID: e.ids["communityB"], Name: "seed", Roles: []auth.Role{auth.Admin}}
	if _, err := e.authS.CreateStaff(ctx, bossB, auth.StaffInput{Username: "finance-b", DisplayName: "B 财务", Password: password,
		Roles: []auth.Role{auth.Finance}}); err != nil {
		t.Fatal(err)
	}
	financeB := e.login("finance-b", password)
	note := fmt.Sprintf(`{"kind":"payment","ref":%q,"note":"通知丢失，已人工确认收款"}`, lostNo)
	var res struct {
		Ref     string `json:"ref"`
		Note    string `json:"note"`
		NotedBy int64  `json:"noted_by"`
	}
	e.mustJSON(e.do("POST", dayPath+"/resolutions", e.tokens["finance"], note), 200, &res)
	if res.Ref != lostNo || res.Note != "通知丢失，已人工确认收款" || res.NotedBy != e.ids["staff-finance"] {
		t.Errorf("resolution %+v", res)
	}
	expectProblem(t, e.do("POST", dayPath+"/resolutions", financeB, note), 404, "finding_not_found", "")
	for _, bad := range []struct{ body, field string }{
		{`{"kind":"order","ref":"CT1","note":"已核实"}`, "kind"},
		{`{"kind":"payment","ref":"","note":"已核实"}`, "ref"},
		{`{"kind":"payment","ref":"CT1","note":"好"}`, "note"},
		{`{"kind":"payment","ref":"CT1","note":"已核实","extra":1}`, "extra"},
	} {
		expectProblem(t, e.do("POST", dayPath+"/resolutions", e.tokens["finance"], bad.body), 400, "", bad.field)
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/reconciliation?day="+day.String(), e.tokens["finance"], ""), 200, &rep)
	if r := rep.Items[0].Resolution; r == nil || r.Note != "通知丢失，已人工确认收款" || rep.Items[1].Resolution != nil {
		t.Errorf("notes after noting: %+v, %+v", rep.Items[0].Resolution, rep.Items[1].Resolution)
	}
	var audits struct {
		Items []struct {
			Action   string `json:"action"`
			EntityID string `json:"entity_id"`
		} `json:"items"`
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/audit?entity=reconciliation_resolution", e.tokens["finance"], ""), 200, &audits)
	wantAudit := testMchID + "/" + day.String() + "/payment/" + lostNo
	if len(audits.Items) != 1 || audits.Items[0].Action != "create" || audits.Items[0].EntityID != wantAudit {
		t.Errorf("audit %+v, want one create of %s", audits.Items, wantAudit)
	}

	// Asking wrongly is a 400 naming the parameter.
	for _, q := range []struct{ query, field string }{
		{"", "day"},
		{"?day=2026-02-30", "day"},
		{"?month=2026-13", "month"},
		{"?month=2026-1", "month"},
		{"?day=" + day.String() + "&month=2026-11", "month"},
	} {
		expectProblem(t, e.do("GET", "/api/v1/admin/reconciliation"+q.query, e.tokens["finance"], ""), 400, "", q.field)
	}
	expectProblem(t, e.do("POST", "/api/v1/admin/reconciliation/2026-13-01/run", e.tokens["finance"], ""), 400, "", "day")
}
