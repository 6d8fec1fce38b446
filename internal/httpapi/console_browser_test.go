package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/canteen-oss/canteen/internal/browsertest"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/httpapi"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/paymentdb"
	"github.com/canteen-oss/canteen/internal/settlement/export"
)

// billDay is the October day whose WeChat bill disagrees with our payment.
var billDay = civil.Date{Year: 2026, Month: time.October, Day: 20}

// octoberWithBillDifference pays the 特困 elder's lunch at the seeded canteen, which partner
// merchant 阳光餐饮 now cooks in, with the sponsor linked to a second merchant, 爱心超市;
// moves the money into 20 October (as closedOctober does), and stores WeChat's trade bill of
// that day listing the payment 1 元 short, reconciled: October's one check finding is the
// unresolved bill difference of that order. October stays open. It returns the order and
// its out_trade_no.
func (e *env) octoberWithBillDifference() (orderID int64, outTradeNo string) {
	t, ctx := e.t, context.Background()
	cid := e.ids["community"]
	var donor int64
	if err := e.db.NewRaw("INSERT INTO merchants (community_id, name) VALUES (?, '爱心超市') RETURNING id", cid).Scan(ctx, &donor); err != nil {
		t.Fatal(err)
	}
	e.ids["donor"] = donor
	e.inTx(false,
		sqlArgs{"UPDATE canteens SET merchant_id = ? WHERE id = ?", []any{e.ids["merchant"], e.ids["canteen"]}},
		sqlArgs{"UPDATE sponsors SET kind = 'merchant', merchant_id = ? WHERE id = ?", []any{donor, e.ids["sponsor"]}})
	orderID, outTradeNo = e.paidElderOrder("console-elder-lunch-1")
	at := "2026-10-20 12:00+08"
	e.inTx(true,
		sqlArgs{"UPDATE ledger_entries SET created_at = ? WHERE community_id = ?", []any{at, cid}},
		sqlArgs{"UPDATE payments SET success_time = ?, created_at = ? WHERE order_id = ?", []any{at, at, orderID}},
		sqlArgs{"UPDATE orders SET paid_at = ? WHERE id = ?", []any{at, orderID}})

	raw := []byte("the bill of 20 October")
	sum := sha1.Sum(raw)
	paidAt := time.Date(2026, 10, 20, 12, 0, 0, 0, fixedNow.Location())
	if _, _, err := paymentdb.NewBillStore(e.db).SaveBill(ctx, payment.Bill{MchID: testMchID, Day: billDay, Raw: raw,
		SHA1: hex.EncodeToString(sum[:]), FetchedAt: fixedNow, Rows: []payment.BillRow{
			{TradeTime: paidAt, OutTradeNo: outTradeNo, TradeState: payment.StateSuccess, AmountFen: 2*tekunPriceFen - 100}}}); err != nil {
		t.Fatal(err)
	}
	var rep reconcileReport
	e.mustJSON(e.do("POST", "/api/v1/admin/reconciliation/"+billDay.String()+"/run", e.tokens["finance"], ""), 200, &rep)
	if got := rep.summary(); len(got) != 1 || got[0] != fmt.Sprintf("amount_mismatch %s %d", outTradeNo, orderID) {
		t.Fatalf("the bill of %s reconciles to %v", billDay, got)
	}
	return orderID, outTradeNo
}

// shots saves a screenshot at 1280×800 as name and at 390×844 as name-phone, each with the
// element sel scrolled to the top, and leaves the tab at 1280×800.
func (p page) shots(name, sel string) {
	p.t.Helper()
	for _, size := range []struct {
		w, h   int64
		suffix string
	}{{1280, 800, ""}, {390, 844, "-phone"}} {
		browsertest.Step(p.t, p.ctx, chromedp.EmulateViewport(size.w, size.h))
		p.eval(fmt.Sprintf(`(document.querySelector(%q) || document.body).scrollIntoView({block: "start"}); ""`, sel))
		time.Sleep(150 * time.Millisecond)
		browsertest.Screenshot(p.t, p.ctx, name+size.suffix)
	}
	browsertest.Step(p.t, p.ctx, chromedp.EmulateViewport(1280, 800))
}

// consoleLogin logs in on the open console with the form.
func (p page) consoleLogin(user string) {
	p.t.Helper()
	browsertest.Step(p.t, p.ctx, chromedp.WaitVisible(chromedp.CSS(`#login-form`)),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("username").value = ""; document.getElementById("password").value = ""`),
		chromedp.SendKeys(chromedp.CSS(`#username`), user), chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)))
	p.waitTrue(`document.getElementById("login").hidden`, 5*time.Second)
}

// consoleLogout presses 退出 and waits for the login form.
func (p page) consoleLogout() {
	p.t.Helper()
	browsertest.Step(p.t, p.ctx, chromedp.Click(chromedp.CSS(`#logout`)), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
}

// click clicks the element sel.
func (p page) click(sel string) {
	p.t.Helper()
	browsertest.Step(p.t, p.ctx, chromedp.Click(chromedp.CSS(sel)))
}

// TestConsoleMonthEndInBrowser drives /finance/ in headless Chromium over real data. Finance
// previews October with one planted finding (WeChat's bill is 1 元 short for an order) and
// sees it with its order; closing without an override is refused with the API's reason;
// closing with an override and a reason writes the statements, whose XLSX link downloads a
// workbook and whose printable version opens. Finance notes the bill difference and re-runs
// the day. The partner merchant's user sees only its own statement, disputes it with a
// comment and then confirms it; finance then sees 已确认 and the comment.
func TestConsoleMonthEndInBrowser(t *testing.T) {
	e := newEnv(t, 1000)
	orderID, outTradeNo := e.octoberWithBillDifference()
	p := page{t, browsertest.New(t, 1280, 800)}

	browsertest.Step(t, p.ctx, chromedp.Navigate(e.base+"/finance/"), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
	p.shots("console-login", "body")

	// Amounts are written from integer fen exactly, never through floating point.
	want := []string{"¥0.00", "¥0.05", "-¥0.05", "¥1.00", "¥10.05", "¥0.29", "¥1,234,567.89", "-¥18.00", "¥90,071,992,547,409.91", "—", "—"}
	got := p.eval(`JSON.stringify([0, 5, -5, 100, 1005, 29, 123456789, -1800, 9007199254740991, 1.5, "100"].map(window.canteenConsole.yuan))`)
	if wantJSON, _ := json.Marshal(want); got != string(wantJSON) {
		t.Errorf("amounts are written %s, want %s", got, wantJSON)
	}

	p.consoleLogin("user-finance")
	p.waitTrue(`!document.getElementById("finance").hidden`, 5*time.Second)
	now := time.Now().In(civil.Shanghai())
	prev := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, civil.Shanghai()).Format("2006-01")
	if m := p.eval(`document.getElementById("month").value`); m != prev {
		t.Errorf("the month picker starts at %s, want the previous month %s", m, prev)
	}
	if p.eval(`String(document.getElementById("merchant").hidden)`) != "true" {
		t.Error("finance sees the merchant's part")
	}

	// October is open: the preview's statements and the one finding with its order.
	p.eval(`const m = document.getElementById("month"); m.value = "2026-10"; m.dispatchEvent(new Event("change")); ""`)
	p.waitText("#month-state", "未结账", 5*time.Second)
	finding := p.waitText("#findings", "微信账单差异未处理", 5*time.Second)
	for _, w := range []string{fmt.Sprintf("订单 #%d", orderID), outTradeNo, "涉及金额", "¥1.00", "¥6.00", "¥5.00"} {
		if !strings.Contains(finding, w) {
			t.Errorf("the finding does not show %q: %q", w, finding)
		}
	}
	preview := p.text("#preview-rows")
	for _, w := range []string{"阳光餐饮", "食堂运营方", "¥6.00", "幸福公益基金", "资助方", "¥18.00"} {
		if !strings.Contains(preview, w) {
			t.Errorf("the preview does not show %q: %q", w, preview)
		}
	}
	if a := p.eval(`getComputedStyle(document.querySelector("#preview-rows td.num")).textAlign`); a != "right" {
		t.Errorf("amounts are aligned %s, want right", a)
	}
	recon := p.waitText("#recon-rows", outTradeNo, 5*time.Second)
	for _, w := range []string{"金额不一致", fmt.Sprintf("#%d", orderID), "¥6.00", "¥5.00"} {
		if !strings.Contains(recon, w) {
			t.Errorf("the reconciliation row does not show %q: %q", w, recon)
		}
	}
	p.shots("console-finance-preview", "#finance")

	// 结账 without the override: the API refuses, and the page says why.
	p.click("#close-month")
	refusal := p.waitText("#close-error", "结账前检查发现问题", 5*time.Second)
	if !strings.Contains(refusal, "1 项") {
		t.Errorf("the refusal %q does not count the findings", refusal)
	}
	if n := e.count("SELECT count(*) FROM month_closes"); n != 0 {
		t.Fatalf("%d months closed after a refused close", n)
	}
	// An override needs a reason: the API's field message is shown.
	p.click("#override-on")
	if b := p.text("#close-month"); b != "强制结账" {
		t.Errorf("with the override the button says %q", b)
	}
	p.click("#close-month")
	if got := p.waitText("#close-error", "请检查填写的内容", 5*time.Second); !strings.Contains(got, "原因") {
		t.Errorf("an override without a reason is refused with %q", got)
	}
	p.shots("console-finance-refused", "#close-box")

	const reason = "账单差额 1 元已报微信核查，先结账"
	browsertest.Step(t, p.ctx, chromedp.SendKeys(chromedp.CSS(`#override-reason`), reason))
	p.click("#close-month")
	p.waitText("#alert", "2026-10 已结账：生成 2 张结算单", 5*time.Second)
	p.waitText("#month-state", "已结账", 5*time.Second)
	info := p.waitText("#close-info", "强制结账", 5*time.Second)
	if !strings.Contains(info, reason) || !strings.Contains(info, "用户 finance") {
		t.Errorf("the close is described as %q", info)
	}
	var closes struct {
		Items []struct {
			Month    string `json:"month"`
			Override bool   `json:"override"`
			Reason   string `json:"override_reason"`
		}
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/settlement/closes", e.tokens["finance"], ""), 200, &closes)
	if len(closes.Items) != 1 || closes.Items[0].Month != settleMonth || !closes.Items[0].Override || closes.Items[0].Reason != reason {
		t.Fatalf("closes after the page closed October: %+v", closes.Items)
	}
	var op, sp statementJSON
	for _, s := range e.statements(e.tokens["finance"], "/api/v1/admin/settlement/statements?month="+settleMonth) {
		switch s.Party.Kind {
		case "operator":
			op = s
		case "sponsor":
			sp = s
		}
	}
	opRow := fmt.Sprintf(`#statement-rows tr[data-statement="%d"]`, op.ID)
	row := p.waitText(opRow, "待确认", 5*time.Second)
	for _, w := range []string{"阳光餐饮", "¥6.00", "XLSX", "CSV", "打印版"} {
		if !strings.Contains(row, w) {
			t.Errorf("the operator's statement row does not show %q: %q", w, row)
		}
	}
	if !strings.Contains(p.text(fmt.Sprintf(`#statement-rows tr[data-statement="%d"]`, sp.ID)), "¥18.00") {
		t.Error("the sponsor's statement row does not show its ¥18.00")
	}
	if got := p.text("#attempt-rows"); !strings.Contains(got, "已结账") || !strings.Contains(got, "手动") || !strings.Contains(got, "1 个") {
		t.Errorf("the attempts log shows %q", got)
	}
	p.shots("console-finance-closed", "#closed-view")

	// The XLSX link downloads the workbook, answered with the xlsx content type.
	dir := t.TempDir()
	dctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	begin := chromedp.Events(dctx, browser.DownloadWillBegin)
	progress := chromedp.Events(dctx, browser.DownloadProgress)
	browsertest.Step(t, p.ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)})
		return err
	}))
	xlsx := opRow + ` a.dl[data-format="xlsx"]`
	p.click(xlsx)
	name, file := waitDownload(t, begin, progress, dir)
	if !strings.HasPrefix(name, "结算单-2026-10-阳光餐饮") || !strings.HasSuffix(name, ".xlsx") {
		t.Errorf("the download is named %q", name)
	}
	p.waitTrue(fmt.Sprintf(`document.querySelector('%s').dataset.downloaded`, xlsx), 5*time.Second)
	if ct := p.eval(fmt.Sprintf(`document.querySelector('%s').dataset.downloaded`, xlsx)); ct != export.XLSX.ContentType() {
		t.Errorf("the XLSX link answered %q, want %q", ct, export.XLSX.ContentType())
	}
	wb, err := excelize.OpenReader(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("the downloaded XLSX does not open: %v", err)
	}
	if sheets := wb.GetSheetList(); len(sheets) == 0 || sheets[0] != export.SheetSummary {
		t.Errorf("the workbook's sheets are %v", sheets)
	}

	// 打印版 opens the printable statement in a new tab, styled by its own style sheet.
	opened := chromedp.WaitNewTarget(p.ctx, func(*target.Info) bool { return true })
	html := opRow + ` a.dl[data-format="html"]`
	p.click(html)
	var tabID target.ID
	select {
	case tabID = <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("打印版 opened no tab")
	}
	p.waitTrue(fmt.Sprintf(`document.querySelector('%s').dataset.downloaded`, html), 5*time.Second)
	if ct := p.eval(fmt.Sprintf(`document.querySelector('%s').dataset.downloaded`, html)); ct != "text/html; charset=utf-8" {
		t.Errorf("the 打印版 link answered %q", ct)
	}
	tab, closeTab := chromedp.NewContext(p.ctx, chromedp.WithTargetID(tabID))
	if err := chromedp.Do(tab); err != nil { // the tab lives until closeTab, not one step
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(p.ctx, target.ActivateTarget, target.ActivateTargetParams{TargetID: tabID}); err != nil {
		t.Fatal(err)
	}
	printed := page{t, tab}
	printed.waitTrue(`location.protocol === "blob:" && document.readyState === "complete"`, 10*time.Second)
	if got := printed.text("body"); !strings.Contains(got, "2026-10 月度结算单") || !strings.Contains(got, "阳光餐饮") {
		t.Errorf("the printable statement shows %.200q", got)
	}
	if bg := printed.eval(`getComputedStyle(document.querySelector(".page")).backgroundColor`); bg != "rgb(255, 255, 255)" {
		t.Errorf("the printable statement's page is %s: its style sheet did not apply", bg)
	}
	browsertest.Step(t, tab, chromedp.EmulateViewport(1280, 800))
	browsertest.Screenshot(t, tab, "console-finance-print")
	closeTab()

	// Finance notes the bill difference; the note is kept by the API and shown.
	reconRow := fmt.Sprintf(`#recon-rows tr[data-ref="%s"]`, outTradeNo)
	const note = "已联系微信，差额为退款手续费"
	browsertest.Step(t, p.ctx, chromedp.SendKeys(chromedp.CSS(reconRow+` textarea`), note))
	p.click(reconRow + ` button[type=submit]`)
	p.waitText("#alert", "备注已保存", 5*time.Second)
	if got := p.waitText(reconRow, note, 5*time.Second); !strings.Contains(got, "用户 finance") {
		t.Errorf("the noted finding shows %q", got)
	}
	var rep reconcileReport
	e.mustJSON(e.do("GET", "/api/v1/admin/reconciliation?month=2026-10", e.tokens["finance"], ""), 200, &rep)
	if len(rep.Items) != 1 || rep.Items[0].Resolution == nil || rep.Items[0].Resolution.Note != note {
		t.Fatalf("the API keeps %+v", rep.Items)
	}
	// The day is reconciled again: the same difference, the note kept.
	p.click(fmt.Sprintf(`#recon-days li[data-day="%s"] button.rerun`, billDay))
	p.waitText("#alert", "已重新对账 "+billDay.String()+"：已匹配 0 笔，差异 1 笔", 5*time.Second)
	p.waitText(reconRow, note, 5*time.Second)
	p.shots("console-finance-recon", "#recon")

	// The merchant's user: its own statement only.
	p.consoleLogout()
	p.consoleLogin("user-merchant")
	p.waitTrue(`!document.getElementById("merchant").hidden`, 5*time.Second)
	card := fmt.Sprintf(`#merchant-list article[data-statement="%d"]`, op.ID)
	own := p.waitText(card, "待确认", 5*time.Second)
	for _, w := range []string{"2026-10", "阳光餐饮", "¥6.00", "XLSX", "出具结算单"} {
		if !strings.Contains(own, w) {
			t.Errorf("the merchant's statement does not show %q: %q", w, own)
		}
	}
	if n := p.number(`document.querySelectorAll("#merchant-list article").length`); n != 1 {
		t.Errorf("the merchant sees %v statements, want its one", n)
	}
	if all := p.text("main"); strings.Contains(all, "幸福公益基金") || strings.Contains(all, "资助方") {
		t.Errorf("the merchant sees the sponsor's statement: %q", all)
	}
	if p.eval(`String(document.getElementById("finance").hidden)`) != "true" {
		t.Error("the merchant sees the finance part")
	}
	p.shots("console-merchant", "#merchant")

	// A dispute needs a comment: the API's reason is shown, nothing is recorded.
	p.click(card + ` button.dispute`)
	p.click(card + ` form.dispute-form button[type=submit]`)
	p.waitText(card+` p.error`, "请说明异议", 5*time.Second)
	const comment = "20日的微信收款少了 1 元"
	browsertest.Step(t, p.ctx, chromedp.SendKeys(chromedp.CSS(card+` textarea.dispute-text`), comment))
	p.click(card + ` form.dispute-form button[type=submit]`)
	p.waitText("#alert", "异议已提交", 5*time.Second)
	disputed := p.waitText(card, "有异议", 5*time.Second)
	if !strings.Contains(disputed, comment) {
		t.Errorf("the disputed statement shows %q", disputed)
	}
	p.shots("console-merchant-disputed", card)

	p.click(card + ` button.confirm`)
	p.waitText("#alert", "已确认 2026-10 阳光餐饮", 5*time.Second)
	if got := p.waitText(card, "无需再操作", 5*time.Second); !strings.Contains(got, "已确认") || !strings.Contains(got, comment) {
		t.Errorf("the confirmed statement shows %q", got)
	}
	p.shots("console-merchant-confirmed", card)
	var signed statementJSON
	e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/admin/settlement/statements/%d", op.ID), e.tokens["finance"], ""), 200, &signed)
	if signed.Status != "confirmed" || len(signed.Signoffs) != 3 || signed.Signoffs[1].Status != "disputed" || signed.Signoffs[1].Comment != comment {
		t.Fatalf("the API keeps the sign-offs %+v", signed.Signoffs)
	}

	// Finance sees 已确认 and the merchant's comment.
	p.consoleLogout()
	p.consoleLogin("user-finance")
	p.waitText("#month-state", "已结账", 5*time.Second)
	if got := p.waitText(opRow, "已确认", 5*time.Second); !strings.Contains(got, comment) {
		t.Errorf("finance sees the operator's statement as %q", got)
	}
	if got := p.text(fmt.Sprintf(`#statement-rows tr[data-statement="%d"]`, sp.ID)); !strings.Contains(got, "待确认") {
		t.Errorf("finance sees the sponsor's statement as %q", got)
	}
	p.shots("console-finance-signed", opRow)

	// An admin reads the month but may not close, note or re-run: those are finance's.
	p.consoleLogout()
	p.consoleLogin("user-admin")
	p.waitText("#month-state", "已结账", 5*time.Second)
	p.waitText(reconRow, note, 5*time.Second)
	if n := p.number(`document.querySelectorAll("#recon textarea, #recon button.rerun").length`); n != 0 {
		t.Errorf("an admin gets %v note boxes or re-run buttons", n)
	}
	p.click("#prev-month") // September: open, without any activity
	p.waitText("#month-state", "未结账", 5*time.Second)
	p.waitText("#preview-rows", "没有资金往来", 5*time.Second)
	if p.eval(`String(document.getElementById("close-box").hidden)`) != "true" {
		t.Error("an admin gets the 结账 box")
	}

	// Kitchen staff have nothing to do here, and are told so.
	p.consoleLogout()
	p.consoleLogin("user-kitchen")
	p.waitText("#norole", "没有可用的功能", 5*time.Second)
	if p.eval(`String(document.getElementById("finance").hidden && document.getElementById("merchant").hidden)`) != "true" {
		t.Error("kitchen staff see month end")
	}
}

// waitDownload waits for the browser to finish the download that begins next and returns
// its suggested file name and its bytes, saved in dir under the download's GUID. The
// events' context bounds the wait.
func waitDownload(t *testing.T, begin iter.Seq2[browser.EventDownloadWillBegin, error],
	progress iter.Seq2[browser.EventDownloadProgress, error], dir string) (string, []byte) {
	t.Helper()
	var name, guid string
	for ev, err := range begin {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		name, guid = ev.SuggestedFilename, ev.GUID
		break
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatalf("the download of %s was cancelled", name)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, guid))
	if err != nil {
		t.Fatal(err)
	}
	return name, b
}

// TestConsolePageServed checks the console's files, their types and Content-Security-Policy,
// the redirect of /finance and that nothing else under the prefix is served.
func TestConsolePageServed(t *testing.T) {
	app := httpapi.New(httpapi.Deps{}, httpapi.Options{BodyLimit: 64 << 10, RequestTimeout: 5 * time.Second})
	for path, want := range map[string]string{
		"/finance/": "text/html", "/finance/app.js": "text/javascript", "/finance/app.css": "text/css",
		"/finance/console.go": "application/problem+json", "/finance/index.html": "application/problem+json",
		"/financex": "application/problem+json",
	} {
		resp, err := app.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, want) {
			t.Errorf("%s: %d %s, want %s", path, resp.StatusCode, ct, want)
		}
		if want == "text/html" {
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s: CSP %q", path, csp)
			}
		}
	}
	resp, err := app.Test(httptest.NewRequest("GET", "/finance", nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/finance/" {
		t.Errorf("/finance = %d %q, want a redirect to /finance/", resp.StatusCode, resp.Header.Get("Location"))
	}
}
