package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/auth"
)

// settleMonth is October 2026; the API's clock reads 25 November 2026, so October has
// ended and November has not.
const settleMonth = "2026-10"

// closedOctober pays the 特困 elder's lunch at the seeded canteen, which partner merchant
// 阳光餐饮 now cooks in, with the sponsor linked to a second merchant, 爱心超市; moves the
// money's timestamps (ledger, payment) into October, and closes October over the API as
// finance. It returns the operator's and the sponsor's statements as listed.
func (e *env) closedOctober() (operator, sponsor statementJSON) {
	t := e.t
	cid := e.ids["community"]
	e.partnerMerchants()
	id, _ := e.paidElderOrder("settle-elder-lunch-1")
	// The ledger and WeChat stamp money with the clock of the moment; it moved on 20 October.
	at := "2026-10-20 12:00+08"
	e.inTx(true,
		sqlArgs{"UPDATE ledger_entries SET created_at = ? WHERE community_id = ?", []any{at, cid}},
		sqlArgs{"UPDATE payments SET success_time = ?, created_at = ? WHERE order_id = ?", []any{at, at, id}},
		sqlArgs{"UPDATE orders SET paid_at = ? WHERE id = ?", []any{at, id}})

	var c struct {
		Month      string `json:"month"`
		Statements int    `json:"statements"`
	}
	e.mustJSON(e.do("POST", "/api/v1/admin/settlement/months/"+settleMonth+"/close", e.tokens["finance"], ""), 201, &c)
	if c.Month != settleMonth || c.Statements != 2 {
		t.Fatalf("close: %+v", c)
	}
	for _, s := range e.statements(e.tokens["finance"], "/api/v1/admin/settlement/statements?month="+settleMonth) {
		switch s.Party.Kind {
		case "operator":
			operator = s
		case "sponsor":
			sponsor = s
		}
	}
	if operator.ID == 0 || sponsor.ID == 0 {
		t.Fatal("October's statements are missing")
	}
	return operator, sponsor
}

// partnerMerchants has partner merchant 阳光餐饮 cook in the seeded canteen and links the
// sponsor to a second merchant, 爱心超市, whose id it keeps as e.ids["donor"].
func (e *env) partnerMerchants() {
	e.t.Helper()
	var donor int64
	if err := e.db.NewRaw("INSERT INTO merchants (community_id, name) VALUES (?, '爱心超市') RETURNING id", e.ids["community"]).
		Scan(context.Background(), &donor); err != nil {
		e.t.Fatal(err)
	}
	e.ids["donor"] = donor
	e.inTx(false,
		sqlArgs{"UPDATE canteens SET merchant_id = ? WHERE id = ?", []any{e.ids["merchant"], e.ids["canteen"]}},
		sqlArgs{"UPDATE sponsors SET kind = 'merchant', merchant_id = ? WHERE id = ?", []any{donor, e.ids["sponsor"]}})
}

// sqlArgs is one statement with its arguments.
type sqlArgs struct {
	sql  string
	args []any
}

// inTx runs statements in one transaction; replica keeps triggers (the ledger's
// append-only one) out of the way, to move what was stamped with the clock of the moment.
func (e *env) inTx(replica bool, statements ...sqlArgs) {
	e.t.Helper()
	err := e.db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		if replica {
			if _, err := tx.ExecContext(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
				return err
			}
		}
		for _, st := range statements {
			if _, err := tx.NewRaw(st.sql, st.args...).Exec(ctx); err != nil {
				return fmt.Errorf("%s: %w", st.sql, err)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

type statementJSON struct {
	ID    int64 `json:"id"`
	Party struct {
		Kind string `json:"kind"`
		ID   int64  `json:"id"`
	} `json:"party"`
	MerchantID *int64 `json:"merchant_id"`
	Status     string `json:"status"`
	LineCount  int    `json:"line_count"`
	Totals     struct {
		LedgerFen     int64 `json:"ledger_fen"`
		TotalFen      int64 `json:"total_fen"`
		PaymentFen    int64 `json:"payment_fen"`
		AdjustmentFen int64 `json:"adjustment_fen"`
	} `json:"totals"`
	Lines []struct {
		No  int   `json:"line_no"`
		Fen int64 `json:"fen"`
	} `json:"lines"`
	ByDay    []json.RawMessage `json:"by_day"`
	ByGroup  []json.RawMessage `json:"by_group"`
	Signoffs []struct {
		Status  string `json:"status"`
		Comment string `json:"comment"`
	} `json:"signoffs"`
}

func (e *env) statements(token, path string) []statementJSON {
	e.t.Helper()
	var out struct{ Items []statementJSON }
	e.mustJSON(e.do("GET", path, token, ""), 200, &out)
	return out.Items
}

// problemCodeField reads a problem+json answer of status: its code and the first field named.
func problemCodeField(t *testing.T, status int, raw string) (code, field string) {
	t.Helper()
	var p struct {
		Code   string `json:"code"`
		Fields []struct {
			Field string `json:"field"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("not a problem (%d): %s", status, raw)
	}
	if len(p.Fields) > 0 {
		field = p.Fields[0].Field
	}
	return p.Code, field
}

func TestSettlementMonthErrorsWriteNothing(t *testing.T) {
	e := newEnv(t, 1000)
	fin := e.tokens["finance"]
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"a malformed month", "GET", "/api/v1/admin/settlement/months/2026-13/preview", "", 400, "month_invalid", "month"},
		{"a month written otherwise", "POST", "/api/v1/admin/settlement/months/202610/close", "", 400, "month_invalid", "month"},
		{"a future month's preview", "GET", "/api/v1/admin/settlement/months/2026-12/preview", "", 422, "month_in_future", ""},
		{"a future month's checks", "GET", "/api/v1/admin/settlement/months/2027-01/checks", "", 422, "month_in_future", ""},
		{"closing a future month", "POST", "/api/v1/admin/settlement/months/2026-12/close", "{}", 422, "month_in_future", ""},
		{"closing the current month", "POST", "/api/v1/admin/settlement/months/2026-11/close", "", 422, "month_not_ended", ""},
		{"override without a reason", "POST", "/api/v1/admin/settlement/months/2026-10/close", `{"override":true}`, 400, "validation_failed", "reason"},
		{"an unknown field", "POST", "/api/v1/admin/settlement/months/2026-10/close", `{"force":true}`, 400, "unknown_field", "force"},
		{"a bad statement filter", "GET", "/api/v1/admin/settlement/statements?month=10-2026", "", 400, "month_invalid", "month"},
		{"a bad kind", "GET", "/api/v1/admin/settlement/statements?kind=diner", "", 400, "validation_failed", "kind"},
		{"a correction of nothing", "POST", "/api/v1/admin/settlement/adjustments", `{"statement_id":987654,"fen":100,"reason":"补差"}`, 404, "statement_not_found", ""},
		{"a correction of zero", "POST", "/api/v1/admin/settlement/adjustments", `{"statement_id":1,"fen":0,"reason":"补差"}`, 400, "validation_failed", "fen"},
	}
	before := e.snapshot()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(tc.method, tc.path, fin, tc.body)
			raw := body(resp)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("status %d (%s), want %d problem+json: %s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, raw)
			}
			code, field := problemCodeField(t, resp.StatusCode, raw)
			if code != tc.code || field != tc.field {
				t.Fatalf("code %q field %q, want %q %q: %s", code, field, tc.code, tc.field, raw)
			}
		})
	}
	if d := snapshotDiff(before, e.snapshot()); d != "" {
		t.Fatalf("refused requests wrote: %s", d)
	}

	// October had no activity: it closes, once; then it is no longer open for a preview.
	e.mustJSON(e.do("POST", "/api/v1/admin/settlement/months/2026-10/close", fin, ""), 201, nil)
	before = e.snapshot()
	for _, req := range [][2]string{{"POST", "/close"}, {"GET", "/preview"}} {
		resp := e.do(req[0], "/api/v1/admin/settlement/months/2026-10"+req[1], fin, "")
		raw := body(resp)
		if code, _ := problemCodeField(t, resp.StatusCode, raw); resp.StatusCode != 409 || code != "month_closed" {
			t.Fatalf("%s of a closed month: %d %s", req[1], resp.StatusCode, raw)
		}
	}
	if d := snapshotDiff(before, e.snapshot()); d != "" {
		t.Fatalf("a second close wrote: %s", d)
	}
}

func TestSettlementCloseNeedsOverrideForFindings(t *testing.T) {
	e := newEnv(t, 1000)
	fin := e.tokens["finance"]
	ctx := context.Background()
	// A WeChat bill line of 5 October that none of our payments matches, unresolved.
	for _, q := range []string{
		`INSERT INTO trade_bills (mchid, day, raw, sha1, row_count, amount_fen, settlement_fen, refund_fen, requested_refund_fen, fee_milli_fen)
			VALUES ('1900000109', '2026-10-05', '', repeat('0', 40), 0, 0, 0, 0, 0, 0)`,
		`INSERT INTO reconciliation_entries (mchid, day, kind, ref, community_id, our_fen, bill_fen, outcome, checked_at)
			VALUES ('1900000109', '2026-10-05', 'payment', 'CT-unknown', ?, NULL, 700, 'missing_ours', now())`,
	} {
		if _, err := e.db.NewRaw(q, e.ids["community"]).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var checks struct {
		Items []struct {
			Code string `json:"code"`
			Fen  int64  `json:"fen"`
		}
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/settlement/months/2026-10/checks", e.tokens["admin"], ""), 200, &checks)
	if len(checks.Items) != 1 || checks.Items[0].Code != "bill_unresolved" || checks.Items[0].Fen != 700 {
		t.Fatalf("checks: %+v", checks)
	}

	before := e.snapshot()
	resp := e.do("POST", "/api/v1/admin/settlement/months/2026-10/close", fin, `{}`)
	raw := body(resp)
	var p struct {
		Code     string `json:"code"`
		Findings []struct {
			Code string `json:"code"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil || resp.StatusCode != 409 || p.Code != "month_has_findings" ||
		len(p.Findings) != 1 || p.Findings[0].Code != "bill_unresolved" {
		t.Fatalf("close with findings: %d %s", resp.StatusCode, raw)
	}
	if d := snapshotDiff(before, e.snapshot()); d != "" {
		t.Fatalf("a refused close wrote: %s", d)
	}

	var c struct {
		Override bool   `json:"override"`
		Reason   string `json:"override_reason"`
		Actor    struct {
			ID int64 `json:"id"`
		} `json:"actor"`
		Findings []json.RawMessage `json:"findings"`
	}
	e.mustJSON(e.do("POST", "/api/v1/admin/settlement/months/2026-10/close", fin, `{"override":true,"reason":"账单行非本社区收款，已报微信核查"}`), 201, &c)
	if !c.Override || c.Reason != "账单行非本社区收款，已报微信核查" || c.Actor.ID != e.ids["staff-finance"] || len(c.Findings) != 1 {
		t.Fatalf("override close: %+v", c)
	}
	var closes struct {
		Items []struct {
			Month    string `json:"month"`
			Override bool   `json:"override"`
			Trigger  string `json:"trigger"`
		}
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/settlement/closes", e.tokens["admin"], ""), 200, &closes)
	if len(closes.Items) != 1 || closes.Items[0].Month != "2026-10" || !closes.Items[0].Override || closes.Items[0].Trigger != "manual" {
		t.Fatalf("closes: %+v", closes)
	}
	var audit struct {
		Items []struct {
			Action string          `json:"action"`
			After  json.RawMessage `json:"after"`
		}
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/audit?entity=settlement_month&entity_id=2026-10", e.tokens["admin"], ""), 200, &audit)
	if len(audit.Items) != 1 || audit.Items[0].Action != "close" || !strings.Contains(string(audit.Items[0].After), "已报微信核查") {
		t.Fatalf("audit: %+v", audit)
	}
	var attempts struct {
		Items []struct {
			Outcome string `json:"outcome"`
		}
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/settlement/attempts", fin, ""), 200, &attempts)
	if len(attempts.Items) != 1 || attempts.Items[0].Outcome != "closed" {
		t.Fatalf("attempts: %+v", attempts)
	}
}

func TestMerchantReadsAndSignsOffOnlyItsOwnStatements(t *testing.T) {
	e := newEnv(t, 1000)
	op, sp := e.closedOctober()
	if op.MerchantID == nil || *op.MerchantID != e.ids["merchant"] || sp.MerchantID == nil || *sp.MerchantID != e.ids["donor"] {
		t.Fatalf("statements belong to %v and %v", op.MerchantID, sp.MerchantID)
	}
	if op.Status != "issued" || op.Totals.PaymentFen != 2*tekunPriceFen || sp.Totals.LedgerFen != 2*(1200-tekunPriceFen) {
		t.Fatalf("statements: %+v %+v", op, sp)
	}

	// A second merchant's user, of the sponsor's merchant.
	boss := auth.Principal{Kind: auth.StaffKind, CommunityID: e.ids["community"], Name: "seed", Roles: []auth.Role{auth.Admin}}
	donor := e.ids["donor"]
	if _, err := e.authS.CreateStaff(context.Background(), boss, auth.StaffInput{Username: "donor-user", DisplayName: "爱心超市 财务",
		Password: password, Roles: []auth.Role{auth.Merchant}, MerchantID: &donor}); err != nil {
		t.Fatal(err)
	}
	other := e.login("donor-user", password)
	mine := e.tokens["merchant"]

	for who, want := range map[string]int64{mine: op.ID, other: sp.ID} {
		list := e.statements(who, "/api/v1/merchant/statements")
		if len(list) != 1 || list[0].ID != want {
			t.Fatalf("a merchant lists %+v, want only statement %d", list, want)
		}
	}
	if got := e.statements(e.tokens["finance"], "/api/v1/admin/settlement/statements"); len(got) != 2 {
		t.Fatalf("finance lists %d statements", len(got))
	}
	for _, path := range []string{"", "/confirm", "/dispute"} {
		method := "GET"
		if path != "" {
			method = "POST"
		}
		resp := e.do(method, fmt.Sprintf("/api/v1/merchant/statements/%d%s", sp.ID, path), mine, `{"comment":"不对"}`)
		if raw := body(resp); resp.StatusCode != 404 {
			t.Fatalf("%s another merchant's statement: %d %s", method+path, resp.StatusCode, raw)
		}
	}

	var got statementJSON
	e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/merchant/statements/%d?limit=1", op.ID), mine, ""), 200, &got)
	if got.LineCount < 2 || len(got.Lines) != 1 || got.Lines[0].No != 1 || len(got.ByDay) == 0 || len(got.ByGroup) == 0 {
		t.Fatalf("a page of one line: %+v", got)
	}
	e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/admin/settlement/statements/%d?after=1&limit=5000", op.ID), e.tokens["admin"], ""), 200, &got)
	if len(got.Lines) != got.LineCount-1 || got.Lines[0].No != 2 {
		t.Fatalf("the lines after the first: %+v", got.Lines)
	}

	resp := e.do("POST", fmt.Sprintf("/api/v1/merchant/statements/%d/dispute", op.ID), mine, `{"comment":" "}`)
	if raw := body(resp); resp.StatusCode != 400 {
		t.Fatalf("a dispute without a reason: %d %s", resp.StatusCode, raw)
	}
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/merchant/statements/%d/dispute", op.ID), mine, `{"comment":"20日的微信收款少了一笔"}`), 201, nil)
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/merchant/statements/%d/confirm", op.ID), mine, ""), 201, nil)
	resp = e.do("POST", fmt.Sprintf("/api/v1/merchant/statements/%d/confirm", op.ID), mine, "")
	if raw := body(resp); resp.StatusCode != 409 || !strings.Contains(raw, "signoff_not_allowed") {
		t.Fatalf("confirming twice: %d %s", resp.StatusCode, raw)
	}
	e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/admin/settlement/statements/%d", op.ID), e.tokens["finance"], ""), 200, &got)
	if got.Status != "confirmed" || len(got.Signoffs) != 3 || got.Signoffs[1].Status != "disputed" || got.Signoffs[1].Comment != "20日的微信收款少了一笔" {
		t.Fatalf("sign-off history: %+v", got.Signoffs)
	}

	// Finance books the merchant's point into November.
	var a struct {
		Month string `json:"month"`
		Party struct {
			Kind string `json:"kind"`
			ID   int64  `json:"id"`
		} `json:"party"`
	}
	e.mustJSON(e.do("POST", "/api/v1/admin/settlement/adjustments", e.tokens["finance"],
		fmt.Sprintf(`{"statement_id":%d,"fen":300,"reason":"商户异议核实，补付一笔"}`, op.ID)), 201, &a)
	if a.Month != "2026-11" || a.Party.Kind != "operator" || a.Party.ID != e.ids["merchant"] {
		t.Fatalf("adjustment: %+v", a)
	}
	var preview struct {
		Statements []statementJSON `json:"statements"`
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/settlement/months/2026-11/preview", e.tokens["admin"], ""), 200, &preview)
	found := false
	for _, s := range preview.Statements {
		found = found || s.Party.Kind == "operator" && s.Party.ID == e.ids["merchant"] && s.Totals.AdjustmentFen == 300 && s.Lines == nil
	}
	if !found {
		t.Fatalf("November's preview lacks the correction: %+v", preview.Statements)
	}
}
