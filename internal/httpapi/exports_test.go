package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlement/export"
	"github.com/canteen-oss/canteen/internal/settlementdb"
)

// closedThisMonth pays an elder's lunch at the seeded canteen, which partner merchant
// 阳光餐饮 cooks in, and closes the month the database's clock is in (the ledger stamps its
// moves with the database's now()) as on the 2nd of the next month, overriding the checks'
// findings, if any. The sponsor is linked to a second merchant, 爱心超市. It returns the month and the ids of
// the operator's and the sponsor's statements.
func (e *env) closedThisMonth() (month settlement.Month, operatorStmt, sponsorStmt int64) {
	t, ctx := e.t, context.Background()
	cid := e.ids["community"]
	e.partnerMerchants()
	e.paidElderOrder("export-elder-lunch-1")

	store := settlementdb.New(e.db)
	var dbNow time.Time
	if err := e.db.NewRaw("SELECT now()").Scan(ctx, &dbNow); err != nil {
		t.Fatal(err)
	}
	dbNow = dbNow.In(fixedNow.Location())
	month = settlement.Month{Year: dbNow.Year(), Month: dbNow.Month()}
	closing := time.Date(dbNow.Year(), dbNow.Month()+1, 2, 9, 0, 0, 0, fixedNow.Location())
	svc := settlement.NewService(store, func() time.Time { return closing })
	sc := settlement.Scope{CommunityID: cid, Actor: audit.Actor{Kind: audit.Staff, ID: e.ids["staff-finance"], Name: "财务"}}
	_, err := svc.Close(ctx, sc, month, settlement.CloseRequest{})
	if errors.Is(err, settlement.ErrFindings) {
		_, err = svc.Close(ctx, sc, month, settlement.CloseRequest{Override: true, Reason: "测试数据 / test data"})
	}
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.Statements(ctx, cid, settlement.StatementQuery{Month: month})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		switch s.Party {
		case settlement.Party{Kind: settlement.Operator, ID: e.ids["merchant"]}:
			operatorStmt = s.ID
		case settlement.Party{Kind: settlement.Sponsor, ID: e.ids["sponsor"]}:
			sponsorStmt = s.ID
		}
	}
	if operatorStmt == 0 || sponsorStmt == 0 {
		t.Fatalf("statements of %v: %+v", month, list)
	}
	return month, operatorStmt, sponsorStmt
}

// fileName reads the UTF-8 file name of a Content-Disposition header (filename*).
func fileName(t *testing.T, cd string) string {
	t.Helper()
	_, enc, ok := strings.Cut(cd, "filename*=UTF-8''")
	if !ok {
		t.Fatalf("Content-Disposition %q has no filename*", cd)
	}
	name, err := url.PathUnescape(enc)
	if err != nil {
		t.Fatalf("filename* %q: %v", enc, err)
	}
	return name
}

func TestStatementExports(t *testing.T) {
	e := newEnv(t, 1000)
	month, op, sp := e.closedThisMonth()
	admin := fmt.Sprintf("/api/v1/admin/settlement/statements/%d/export", op)

	t.Run("csv for admin", func(t *testing.T) {
		resp := e.do("GET", admin+"?format=csv", e.tokens["admin"], "")
		raw := body(resp)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		cd := resp.Header.Get("Content-Disposition")
		wantASCII := fmt.Sprintf(`attachment; filename="statement-%d-%s-operator.csv"; `, op, month)
		if !strings.HasPrefix(cd, wantASCII) {
			t.Errorf("Content-Disposition %q, want it to start %q", cd, wantASCII)
		}
		if got, want := fileName(t, cd), fmt.Sprintf("结算单-%s-阳光餐饮-%d.csv", month, op); got != want {
			t.Errorf("file name %q, want %q", got, want)
		}
		if !strings.HasPrefix(raw, "\uFEFF序号 No.,") {
			t.Errorf("CSV does not start with the BOM and header: %.60q", raw)
		}
		// The tekun elder's two set meals: 18.00 of subsidy from the sponsor, 6.00 by WeChat.
		for _, want := range []string{"张**", ",18.00,1800,", ",6.00,600,"} {
			if !strings.Contains(raw, want) {
				t.Errorf("CSV lacks %q:\n%s", want, raw)
			}
		}
		if strings.Contains(raw, "张阿婆") {
			t.Error("CSV shows the elder's name unmasked")
		}
	})

	t.Run("xlsx for finance", func(t *testing.T) {
		resp := e.do("GET", admin+"?format=xlsx", e.tokens["finance"], "")
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != export.XLSX.ContentType() {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.HasSuffix(fileName(t, cd), ".xlsx") {
			t.Errorf("Content-Disposition %q", cd)
		}
		f, err := excelize.OpenReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("the workbook does not open: %v", err)
		}
		want := []string{export.SheetSummary, export.SheetByDay, export.SheetByGroup, export.SheetDetail, export.SheetAdjustments}
		if got := f.GetSheetList(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("sheets %v, want %v", got, want)
		}
		rows, err := f.GetRows(export.SheetDetail, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if last := rows[len(rows)-1]; len(last) < 11 || last[10] != "24.00" {
			t.Errorf("order detail totals row %v, want the statement's 24.00", last)
		}
	})

	t.Run("html to print", func(t *testing.T) {
		resp := e.do("GET", admin+"?format=html", e.tokens["admin"], "")
		raw := body(resp)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline;") {
			t.Errorf("Content-Disposition %q: the statement should open in the browser", cd)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
		if !strings.Contains(raw, month.String()+" 月度结算单") || !strings.Contains(raw, "阳光餐饮") {
			t.Error("the page is not the operator's statement of the month")
		}
	})

	t.Run("bad format", func(t *testing.T) {
		for _, q := range []string{"?format=pdf", "", "?format=XLSX"} {
			resp := e.do("GET", admin+q, e.tokens["admin"], "")
			raw := body(resp)
			if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("%q: status %d %s: %s", q, resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			var p struct {
				Fields []struct{ Field string }
			}
			if err := json.Unmarshal([]byte(raw), &p); err != nil || len(p.Fields) != 1 || p.Fields[0].Field != "format" {
				t.Errorf("%q: problem %s does not name format", q, raw)
			}
		}
	})

	t.Run("scope", func(t *testing.T) {
		merchant := func(id int64) string { return fmt.Sprintf("/api/v1/merchant/statements/%d/export?format=csv", id) }
		for _, tc := range []struct {
			name, path, who string
			status          int
		}{
			{"the operator's own statement", merchant(op), "merchant", 200},
			{"the sponsor's, another merchant's", merchant(sp), "merchant", 404},
			{"no such statement", merchant(987654), "merchant", 404},
			{"no such statement for admin", "/api/v1/admin/settlement/statements/987654/export?format=csv", "admin", 404},
			{"another community's admin", admin + "?format=csv", "adminB", 404},
			{"the sponsor's for finance", fmt.Sprintf("/api/v1/admin/settlement/statements/%d/export?format=html", sp), "finance", 200},
		} {
			resp := e.do("GET", tc.path, e.tokens[tc.who], "")
			raw := body(resp)
			if resp.StatusCode != tc.status {
				t.Errorf("%s: status %d, want %d: %.200s", tc.name, resp.StatusCode, tc.status, raw)
			}
			if tc.status == 404 && strings.Contains(raw, "阳光餐饮") {
				t.Errorf("%s: the 404 tells about the statement", tc.name)
			}
		}
	})
}
