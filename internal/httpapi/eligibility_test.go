package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestUnmaskIsAudited has a reviewer read an elder's full ID number: the answer is not
// cached, and the audit log records the reading without the number.
func TestUnmaskIsAudited(t *testing.T) {
	e := newEnv(t, 1000)
	id := e.ids["elderElig"]

	resp := e.do("GET", fmt.Sprintf("/api/v1/admin/eligibilities/%d", id), e.tokens["admin"], "")
	if raw := body(resp); resp.StatusCode != 200 || strings.Contains(raw, e.elderIDNumber) {
		t.Fatalf("get eligibility: %d %s", resp.StatusCode, raw)
	}

	resp = e.do("POST", fmt.Sprintf("/api/v1/admin/eligibilities/%d/unmask", id), e.tokens["reviewer"], "")
	var got struct {
		IDNumber string `json:"id_number"`
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("unmask Cache-Control = %q, want no-store", cc)
	}
	e.mustJSON(resp, 200, &got)
	if got.IDNumber != e.elderIDNumber {
		t.Fatalf("unmask = %q, want the elder's number", got.IDNumber)
	}

	resp = e.do("GET", "/api/v1/admin/audit?entity=eligibility", e.tokens["admin"], "")
	raw := body(resp)
	var log struct {
		Items []struct {
			Action   string `json:"action"`
			EntityID string `json:"entity_id"`
			Actor    struct {
				Kind string `json:"kind"`
				ID   int64  `json:"id"`
			} `json:"actor"`
		}
	}
	if err := json.Unmarshal([]byte(raw), &log); resp.StatusCode != 200 || err != nil {
		t.Fatalf("audit: %d %s", resp.StatusCode, raw)
	}
	if len(log.Items) == 0 || log.Items[0].Action != "unmask" || log.Items[0].EntityID != fmt.Sprint(id) ||
		log.Items[0].Actor.Kind != "staff" || log.Items[0].Actor.ID != e.ids["staff-reviewer"] {
		t.Fatalf("the newest eligibility audit record is not the reviewer's unmask: %s", raw)
	}
	if strings.Contains(raw, e.elderIDNumber) {
		t.Fatalf("the audit log holds the clear ID number: %s", raw)
	}
}

// TestFamilyOrdersForCounterRegisteredElder registers an elder without WeChat at the
// counter, binds a family member to them, and has the family member order at the elder's
// price. No answer a diner gets carries a clear ID or phone number.
func TestFamilyOrdersForCounterRegisteredElder(t *testing.T) {
	e := newEnv(t, 1000)
	idNo, phone := idNumber("440104", "19420815", "024"), "13800138000"
	register := fmt.Sprintf(`{"name":"王奶奶","phone":%q,"id_number":%q,"district":"越秀区","flags":["living_alone"],"approve":true}`, phone, idNo)

	// A clerk without the reviewer role cannot approve at once.
	resp := e.do("POST", "/api/v1/counter/elders", e.tokens["counter"], register)
	expectProblem(t, resp, 403, "reviewer_required", "")

	resp = e.do("POST", "/api/v1/counter/elders", e.tokens["reviewer"], register)
	raw := body(resp)
	var reg struct {
		Diner struct {
			ID          int64  `json:"id"`
			PhoneMasked string `json:"phone_masked"`
		} `json:"diner"`
		EligibilityID int64  `json:"eligibility_id"`
		Status        string `json:"status"`
	}
	if err := json.Unmarshal([]byte(raw), &reg); resp.StatusCode != 201 || err != nil || reg.Status != "approved" || reg.Diner.PhoneMasked == "" {
		t.Fatalf("register at the counter: %d %s", resp.StatusCode, raw)
	}
	if strings.Contains(raw, idNo) || strings.Contains(raw, phone) || strings.Contains(raw, "living_alone") {
		t.Fatalf("the registration answer shows too much: %s", raw)
	}
	resp = e.do("GET", "/api/v1/counter/diners?q="+phone, e.tokens["counter"], "")
	if raw := body(resp); resp.StatusCode != 200 || !strings.Contains(raw, fmt.Sprintf(`"id":%d`, reg.Diner.ID)) || strings.Contains(raw, phone) {
		t.Fatalf("find by phone: %d %s", resp.StatusCode, raw)
	}

	// Everything the family member is answered must be free of the numbers.
	family := e.tokens["diner"]
	dinerSees := func(method, path, reqBody string, status int, out any) string {
		t.Helper()
		resp := e.do(method, path, family, reqBody)
		raw := body(resp)
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		if strings.Contains(raw, idNo) || strings.Contains(raw, phone) || strings.Contains(raw, e.elderIDNumber) {
			t.Fatalf("%s %s shows a clear ID or phone number: %s", method, path, raw)
		}
		if out != nil {
			if err := json.Unmarshal([]byte(raw), out); err != nil {
				t.Fatal(err)
			}
		}
		return raw
	}

	var b struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	dinerSees("POST", "/api/v1/family/bindings", fmt.Sprintf(`{"elder_diner_id":%d,"relation":"女儿"}`, reg.Diner.ID), 201, &b)
	if b.Status != "pending" {
		t.Fatalf("binding = %+v", b)
	}
	forElder := fmt.Sprintf(`,"for_diner_id":%d`, reg.Diner.ID)
	resp = e.do("POST", "/api/v1/quotes", family, e.lunchCart(1, forElder))
	expectProblem(t, resp, 403, "not_your_order", "")
	resp = e.do("POST", fmt.Sprintf("/api/v1/family/bindings/%d/confirm", b.ID), family, "")
	expectProblem(t, resp, 403, "", "")

	var pendingB struct{ Items []struct{ ID int64 } }
	e.mustJSON(e.do("GET", "/api/v1/admin/bindings/pending", e.tokens["reviewer"], ""), 200, &pendingB)
	if len(pendingB.Items) != 1 || pendingB.Items[0].ID != b.ID {
		t.Fatalf("pending bindings = %+v", pendingB.Items)
	}
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/family/bindings/%d/confirm", b.ID), e.tokens["reviewer"], ""), 200, &b)
	if b.Status != "confirmed" {
		t.Fatalf("confirmed binding = %+v", b)
	}

	var elders struct {
		Items []struct {
			DinerID int64  `json:"diner_id"`
			Name    string `json:"name"`
		}
	}
	dinerSees("GET", "/api/v1/family/elders", "", 200, &elders)
	if len(elders.Items) != 1 || elders.Items[0].DinerID != reg.Diner.ID || elders.Items[0].Name != "王奶奶" {
		t.Fatalf("elders = %+v", elders.Items)
	}
	dinerSees("GET", "/api/v1/family/bindings", "", 200, nil)

	var q quoteJSON
	dinerSees("POST", "/api/v1/quotes", e.lunchCart(1, forElder), 200, &q)
	if q.PayFen != elderPriceFen || q.DinerID != reg.Diner.ID {
		t.Fatalf("quote for the elder = %+v, want %d", q, elderPriceFen)
	}
	status, raw := e.placeOrder(family, "family-key-0001", e.lunchCart(1, forElder+`,"kind":"takeaway"`))
	var o orderJSON
	if err := json.Unmarshal([]byte(raw), &o); status != 201 || err != nil || o.DinerID == nil || *o.DinerID != reg.Diner.ID {
		t.Fatalf("order for the elder: %d %s", status, raw)
	}
	dinerSees("GET", fmt.Sprintf("/api/v1/orders/%d", o.ID), "", 200, nil)
	dinerSees("GET", "/api/v1/orders", "", 200, nil)
	var allowances struct{ Items []allowanceJSON }
	dinerSees("GET", fmt.Sprintf("/api/v1/me/allowances?period=lunch&for_diner_id=%d", reg.Diner.ID), "", 200, &allowances)
	if len(allowances.Items) != 1 || allowances.Items[0].RemainingCount != elderMonthly-1 {
		t.Fatalf("the elder's allowances = %+v", allowances.Items)
	}

	// The seeded elder's own view of their eligibility is masked too.
	resp = e.do("GET", "/api/v1/eligibility", e.tokens["elder"], "")
	if raw := body(resp); resp.StatusCode != 200 || strings.Contains(raw, e.elderIDNumber) || !strings.Contains(raw, "id_number_masked") {
		t.Fatalf("my eligibilities: %d %s", resp.StatusCode, raw)
	}

	// Ending the binding stops the family member ordering for the elder.
	dinerSees("POST", fmt.Sprintf("/api/v1/family/bindings/%d/revoke", b.ID), "", 200, &b)
	if b.Status != "revoked" {
		t.Fatalf("revoked binding = %+v", b)
	}
	resp = e.do("POST", "/api/v1/quotes", family, e.lunchCart(1, forElder))
	expectProblem(t, resp, 403, "not_your_order", "")
}
