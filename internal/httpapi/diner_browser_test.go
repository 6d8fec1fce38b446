package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/canteen-oss/canteen/internal/browsertest"
	"github.com/canteen-oss/canteen/internal/httpapi"
)

// TestDinerPageConfig checks /m/config.json in and outside demo mode, and that the page
// and its files are served with their types.
func TestDinerPageConfig(t *testing.T) {
	for _, tc := range []struct {
		deps httpapi.Deps
		want string
	}{
		{httpapi.Deps{}, `{"demo":false,"wechat_login_url":"","pay_url":""}`},
		{httpapi.Deps{Demo: true, DemoWeChatURL: "http://127.0.0.1:9001", DemoPayURL: "http://127.0.0.1:9002/"},
			`{"demo":true,"wechat_login_url":"http://127.0.0.1:9001/fake/login-code","pay_url":"http://127.0.0.1:9002/fake/pay"}`},
	} {
		app := httpapi.New(tc.deps, httpapi.Options{BodyLimit: 64 << 10, RequestTimeout: 5 * time.Second})
		resp, err := app.Test(httptest.NewRequest("GET", "/m/config.json", nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != tc.want {
			t.Errorf("config.json = %d %s, want %s", resp.StatusCode, b, tc.want)
		}
		if tc.deps.Demo {
			resp, err := app.Test(httptest.NewRequest("GET", "/m/", nil))
			if err != nil {
				t.Fatal(err)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:9001 http://127.0.0.1:9002;") {
				t.Errorf("CSP %q does not let the page reach the demo fakes", csp)
			}
		}
	}
	app := httpapi.New(httpapi.Deps{}, httpapi.Options{BodyLimit: 64 << 10, RequestTimeout: 5 * time.Second})
	for path, want := range map[string]string{
		"/m/": "text/html", "/m/app.js": "text/javascript", "/m/app.css": "text/css", "/m/nothing.txt": "application/problem+json",
	} {
		resp, err := app.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, want) {
			t.Errorf("%s: %d %s, want %s", path, resp.StatusCode, ct, want)
		}
	}
	resp, err := app.Test(httptest.NewRequest("GET", "/m", nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/m/" {
		t.Errorf("/m = %d %q, want a redirect to /m/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestDinerPageInBrowser drives /m/ in headless Chromium at phone size as the seeded
// 特困 elder: the menu shows the elder's price and who pays the rest, the cart is quoted,
// the order is placed (declining the "meal ready" reminder), the page shows it paid as
// soon as WeChat Pay says so, then the pickup number very large once the kitchen has a
// ticket, and each kitchen step without a reload; a reload shows the open order again.
func TestDinerPageInBrowser(t *testing.T) {
	e := newEnv(t, 100)
	base := e.serve()
	ctx := browsertest.New(t, 390, 844)
	eval := func(js string) string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return out
	}
	waitText := func(sel, want string) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := eval(fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel))
			if strings.Contains(got, want) {
				return got
			}
			if time.Now().After(deadline) {
				alert := eval(`document.getElementById("alert").innerText`)
				t.Fatalf("%s does not show %q; it shows %q (alert: %q)", sel, want, got, alert)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Not logged in: the diner picks community A of two (its one canteen is picked for
	// them) and browses the menu at the standard price.
	browsertest.Step(t, ctx, chromedp.Navigate(base+"/m/"), chromedp.WaitReady(chromedp.CSS(`#community option[value]:not([value=""])`)))
	browsertest.Step(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const s = document.getElementById("community"); s.value = "%d"; s.dispatchEvent(new Event("change")); })()`, e.ids["community"])),
		chromedp.WaitVisible(chromedp.CSS(`#items li[data-dish]`)))
	item := waitText("#items", "红烧肉")
	if !strings.Contains(item, "标准价 ¥12.00") || !strings.Contains(item, "登录后显示您的优惠价") {
		t.Fatalf("menu before login: %q", item)
	}
	if eval(`document.getElementById("demo-login").hidden ? "hidden" : "shown"`) != "hidden" {
		t.Error("the demo login shows outside demo mode")
	}

	// The elder logs in (the mini-program's token, put where the page keeps it).
	tok, err := json.Marshal(e.tokens["elder"])
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Step(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`sessionStorage.setItem("canteen.diner.token", %s)`, tok)),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#items li[data-dish]`)))
	item = waitText("#items", "您付 ¥3.00")
	for _, want := range []string{"红烧肉", "标准价 ¥12.00", "特困补贴 替您付 ¥9.00"} {
		if !strings.Contains(item, want) {
			t.Errorf("menu item does not show %q: %q", want, item)
		}
	}
	waitText("#who", "已登录")
	waitText("#allow-list", "长者公益价")
	if strings.Contains(item, "未享受优惠") {
		t.Errorf("the menu explains a price that did not apply although a subsidy did: %q", item)
	}
	browsertest.Step(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("allowances").scrollIntoView()`))
	browsertest.Screenshot(t, ctx, "diner-menu")

	// One 红烧肉 in the cart, quoted live.
	browsertest.Step(t, ctx, chromedp.Click(chromedp.CSS(`#items li[data-dish] .stepper button[aria-label$="加一份"]`)))
	quote := waitText("#quote", "您需支付 ¥3.00")
	for _, want := range []string{"标准价合计", "¥12.00", "公益补贴", "¥9.00", "特困补贴"} {
		if !strings.Contains(quote, want) {
			t.Errorf("cart quote does not show %q: %q", want, quote)
		}
	}
	browsertest.Step(t, ctx, chromedp.SendKeys(chromedp.CSS(`#cart-lines input`), "少盐"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("cart").scrollIntoView()`))
	browsertest.Screenshot(t, ctx, "diner-cart")

	// 下单 asks whether to send the "meal ready" reminder; 不用了 declines it.
	browsertest.Step(t, ctx, chromedp.Click(chromedp.CSS(`#place-order`)), chromedp.WaitVisible(chromedp.CSS(`#subscribe`)))
	waitText("#subscribe", "取餐提醒")
	browsertest.Step(t, ctx, chromedp.Click(chromedp.CSS(`#sub-deny`)))
	card := waitText("#order-card", "待支付")
	if !strings.Contains(card, "需支付 ¥3.00") || !strings.Contains(card, "少盐") || strings.Contains(card, "null") {
		t.Errorf("order card: %q", card)
	}
	id := eval(`document.querySelector("#order-card h3").innerText.replace(/\D/g, "")`)
	var orderID int64
	if _, err := fmt.Sscan(id, &orderID); err != nil || orderID == 0 {
		t.Fatalf("order id %q", id)
	}
	if got := e.orderStatus(orderID); got != "pending" {
		t.Fatalf("order %d is %s", orderID, got)
	}
	var note string
	if err := e.db.NewRaw("SELECT note FROM order_lines WHERE order_id = ?", orderID).Scan(t.Context(), &note); err != nil || note != "少盐" {
		t.Errorf("line note = %q, %v", note, err)
	}
	var notify bool
	if err := e.db.NewRaw("SELECT notify_ready FROM orders WHERE id = ?", orderID).Scan(t.Context(), &notify); err != nil || notify {
		t.Errorf("notify_ready = %v, %v after 不用了", notify, err)
	}

	// 支付 asks WeChat Pay for a prepay; the diner pays with the demo WeChat Pay, whose
	// notification marks the order paid; the page follows without a reload.
	browsertest.Step(t, ctx, chromedp.Click(chromedp.CSS(`#pay`)))
	waitText("#pay-info", "小程序")
	browsertest.Screenshot(t, ctx, "diner-pay")
	browsertest.Step(t, ctx, chromedp.Click(chromedp.CSS(`#demo-pay`)))
	waitText("#order-card", "已支付")
	waitText("#my-list", "已支付")
	if alert := eval(`document.getElementById("alert").hidden ? "" : document.getElementById("alert").innerText`); alert != "" {
		t.Errorf("an error shows: %q", alert)
	}
	browsertest.Step(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("order").scrollIntoView()`))
	browsertest.Screenshot(t, ctx, "diner-paid")

	// The kitchen's ticket gives the pickup number; the page shows it, very large, and
	// follows the kitchen's steps while it stays open.
	tk, _, err := e.kitS.CreateTicket(t.Context(), e.ids["community"], orderID)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitText("#pickup-no", tk.Pickup); got != tk.Pickup {
		t.Errorf("pickup number shows %q, want %s", got, tk.Pickup)
	}
	if px, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`parseFloat(getComputedStyle(document.getElementById("pickup-no")).fontSize)`)); err != nil || px < 60 {
		t.Errorf("the pickup number's type is %vpx (%v), want 60 or more", px, err)
	}
	waitText("#my-list", "取餐号 "+tk.Pickup)
	eval(`window.sameDocument = "kept"; "ok"`)
	bump := func() {
		t.Helper()
		e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/kitchen/tickets/%d/bump", tk.ID), e.tokens["kitchen"], ""), 200, nil)
	}
	bump()
	waitText(".steps li.current", "制作中")
	bump()
	waitText(".steps li.current", "请取餐")
	if box := waitText(".pickup-box", "请到窗口取餐"); !strings.Contains(box, tk.Pickup) {
		t.Errorf("the ready box shows %q", box)
	}
	waitText("#notice", "饭做好了")
	browsertest.Step(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("order").scrollIntoView()`))
	browsertest.Screenshot(t, ctx, "diner-ready")
	bump()
	waitText(".steps li.current", "已取餐")
	waitText("#my-list", "已取餐")
	if got := eval(`window.sameDocument || "reloaded"`); got != "kept" {
		t.Errorf("the page reloaded to follow the order (%s)", got)
	}

	// Reopened, the page shows the diner's latest open order by itself: a new one, paid.
	second, _ := e.paidElderOrder("diner-page-02")
	browsertest.Step(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#order-card`)))
	waitText("#order-card h3", fmt.Sprintf("订单号 %d", second))
	waitText("#order-card", "已支付")
}
