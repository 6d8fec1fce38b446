package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/canteen-oss/canteen/internal/browsertest"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/postgres/pgtest"
	"github.com/canteen-oss/canteen/internal/redistest"
	"github.com/canteen-oss/canteen/internal/wechat/wechatfake"
)

// e2eRedisDB is the Redis database of the end-to-end test: its worker takes tasks from
// its own queues only, never those of another test's process.
const e2eRedisDB = "9"

// readyTemplate is the "meal ready" subscribe-message template the test configures.
const readyTemplate = "tpl-meal-ready-e2e"

// tab is one browser tab of the end-to-end test.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string // the page, for screenshot names and failures
}

// newTab opens another tab in the browser of parent with a width×height viewport.
func newTab(t *testing.T, parent context.Context, name string, width, height int64) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	// The first call opens the tab and binds it to its context: one without a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	browsertest.Step(t, ctx, chromedp.EmulateViewport(width, height))
	return &tab{t: t, ctx: ctx, name: name}
}

func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	browsertest.Step(b.t, b.ctx, actions...)
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, js, err)
	}
	return out
}

// text is the visible text of the first element sel matches, "" when none does.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel))
}

// waitText waits until the element sel matches shows want and returns its text.
func (b *tab) waitText(sel, want string, within time.Duration) string {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := b.text(sel)
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s does not show %q within %s; it shows %q (alert: %q)", b.name, sel, want, within, got, b.text("#alert"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitGone waits until the element sel matches no longer shows unwanted.
func (b *tab) waitGone(sel, unwanted string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for strings.Contains(b.text(sel), unwanted) {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s still shows %q after %s", b.name, sel, unwanted, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *tab) shot(step string) {
	b.t.Helper()
	browsertest.Screenshot(b.t, b.ctx, "e2e-"+step)
}

// TestOrderToPickupInBrowser runs `canteen dev` (API, worker, fake WeChat and fake WeChat
// Pay in one process, on a fresh database) and drives it in headless Chromium: the demo
// kitchen staff opens the kitchen screen; the demo elder logs in on the diner page through
// the fake WeChat, accepts the "meal ready" reminder, orders tomorrow's set meal and pays
// with the fake WeChat Pay. The ticket appears on the open kitchen screen without a reload;
// two taps make it ready; the pickup board and the diner page show the number as ready, and
// the fake WeChat has exactly one subscribe message for the elder with the configured
// template; the demo printer printed the ticket; a third tap hands the meal over. Every page is photographed at every step
// (tmp/screenshots/e2e-*.png).
func TestOrderToPickupInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end browser test")
	}
	redistest.New(t)
	fake := wechatfake.New(demoAppID, demoSecret)
	orig := newDevWeChat
	newDevWeChat = func() *wechatfake.Server { return fake }
	t.Cleanup(func() { newDevWeChat = orig })

	ru, err := url.Parse(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	ru.Path = "/" + e2eRedisDB
	dbURL := pgtest.Empty(t)
	addr, fakeAddr, payAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	env := map[string]string{
		"DATABASE_URL":                  dbURL,
		"REDIS_URL":                     ru.String(),
		"CANTEEN_HTTP_ADDR":             addr,
		"CANTEEN_PUBLIC_URL":            "http://" + addr,
		"CANTEEN_DEV_WECHAT_ADDR":       fakeAddr,
		"CANTEEN_DEV_WECHATPAY_ADDR":    payAddr,
		"CANTEEN_WECHAT_READY_TEMPLATE": readyTemplate,
		"CANTEEN_SHUTDOWN_TIMEOUT":      "5s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuf
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"dev"}, func(k string) string { return env[k] }, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dev returned %v\n%s", err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("dev did not shut down")
		}
	})
	base := "http://" + addr
	waitReady(t, base+"/readyz", done, &stderr)
	defer func() {
		if t.Failed() {
			t.Logf("dev log:\n%s", stderr.String())
		}
	}()
	var communities struct{ Items []struct{ ID int64 } }
	getJSON(t, base+"/api/v1/communities", &communities)
	var canteens struct {
		Items []struct {
			ID   int64
			Name string
		}
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/communities/%d/canteens", base, communities.Items[0].ID), &canteens)
	communityID, canteenID := communities.Items[0].ID, canteens.Items[0].ID

	// The kitchen screen, 1280×800, logged in through its form as the demo kitchen staff.
	kitchen := &tab{t: t, ctx: browsertest.New(t, 1280, 800), name: "kitchen"}
	kitchen.do(chromedp.Navigate(base+"/kitchen/"), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
	kitchen.do(chromedp.SendKeys(chromedp.CSS(`#username`), "demo-kitchen"), chromedp.SendKeys(chromedp.CSS(`#password`), "demo-password"))
	kitchen.shot("01-kitchen-login")
	kitchen.do(chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	kitchen.waitText("#canteen-name", canteens.Items[0].Name, 5*time.Second)
	kitchen.waitText("#conn", "实时连接", 10*time.Second)
	if n := kitchen.eval(`String(document.querySelectorAll(".card").length)`); n != "0" {
		t.Fatalf("the kitchen screen of a fresh demo shows %s tickets", n)
	}
	if !kitchen.waitClock() {
		t.Error("the kitchen screen's clock does not run")
	}
	// The demo canteen's printer (a fake network printer) shows, not yet known to work.
	kitchen.waitText("#printers", demoPrinterName, 5*time.Second)
	if kitchen.eval(`document.getElementById("printer-alert").hidden ? "none" : "shown"`) != "none" {
		t.Error("the kitchen screen shows a printer banner with no printer down")
	}
	// The screen stays this one document from here on: a reload would lose the mark.
	kitchen.eval(`window.sameDocument = "kept"; "ok"`)
	kitchen.shot("02-kitchen-waiting")

	// The diner page at phone size: the demo elder logs in through the fake WeChat.
	diner := newTab(t, kitchen.ctx, "diner", 390, 844)
	diner.do(chromedp.Navigate(base+"/m/"), chromedp.WaitVisible(chromedp.CSS(`#demo-login`)))
	diner.waitText("#canteen-note", "幸福里", 10*time.Second)
	diner.shot("03-diner-before-login")
	diner.do(chromedp.Click(chromedp.CSS(`#demo-login button[type=submit]`)))
	diner.waitText("#who", "已登录", 10*time.Second)

	// Tomorrow's lunch: the 3元 set meal. The page settles first: the elder's allowances
	// load after the login and move the menu tabs down.
	diner.waitTrue(`document.querySelector("#allow-list li")`, 10*time.Second)
	tomorrow := civil.Today(time.Now()).AddDays(1).String()
	tabSel := fmt.Sprintf(`#menu-tabs button[data-menu="%s/lunch"]`, tomorrow)
	diner.do(chromedp.WaitVisible(chromedp.CSS(tabSel)), chromedp.Click(chromedp.CSS(tabSel)))
	diner.waitTrue(fmt.Sprintf(`document.querySelector('%s').getAttribute("aria-pressed") === "true"`, tabSel), 5*time.Second)
	diner.waitText("#items", "长者营养套餐", 10*time.Second)
	dish := diner.eval(`(() => { const li = [...document.querySelectorAll("#items li[data-dish]")].find(li => li.querySelector(".dish").textContent === "长者营养套餐"); return li ? li.dataset.dish : ""; })()`)
	if dish == "" {
		t.Fatal("no 长者营养套餐 on tomorrow's lunch menu")
	}
	item := fmt.Sprintf(`#items li[data-dish="%s"]`, dish)
	diner.waitText(item, "您付 ¥3.00", 10*time.Second)
	diner.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).scrollIntoView()`, item)))
	diner.shot("04-diner-menu")
	diner.do(chromedp.Click(chromedp.CSS(item + ` .stepper button[aria-label$="加一份"]`)))
	diner.waitText("#quote", "您需支付 ¥3.00", 10*time.Second)
	diner.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("place-order").scrollIntoView({block: "end"})`))
	diner.shot("05-diner-cart")

	// 下单 asks for the "meal ready" reminder first, as WeChat's subscribe prompt does.
	diner.do(chromedp.Click(chromedp.CSS(`#place-order`)), chromedp.WaitVisible(chromedp.CSS(`#subscribe`)))
	diner.waitText("#subscribe", "取餐提醒", 5*time.Second)
	diner.shot("06-diner-subscribe")
	diner.do(chromedp.Click(chromedp.CSS(`#sub-allow`)))
	diner.waitText("#order-card", "待支付", 10*time.Second)
	orderID := diner.eval(`document.querySelector("#order-card h3").innerText.replace(/\D/g, "")`)
	var placed struct {
		NotifyReady bool    `json:"notify_ready"`
		PickupNo    *string `json:"pickup_no"`
	}
	token := diner.eval(`sessionStorage.getItem("canteen.diner.token")`)
	doJSON(t, "GET", fmt.Sprintf("%s/api/v1/orders/%s", base, orderID), token, "", "", 200, &placed)
	if !placed.NotifyReady || placed.PickupNo != nil {
		t.Fatalf("the placed order: %+v, want the reminder accepted and no pickup number yet", placed)
	}

	// 支付 → the demo WeChat Pay; its notification marks the order paid, the worker makes
	// the ticket, and the number reaches both screens without a reload.
	diner.do(chromedp.Click(chromedp.CSS(`#pay`)), chromedp.WaitVisible(chromedp.CSS(`#demo-pay`)))
	diner.shot("07-diner-pay")
	diner.do(chromedp.Click(chromedp.CSS(`#demo-pay`)))
	diner.waitText("#order-card", "取餐号", 20*time.Second)
	pickup := diner.text("#pickup-no")
	if len(pickup) != 4 || pickup[0] != 'A' {
		t.Fatalf("pickup number on the diner page: %q", pickup)
	}
	diner.waitText(".steps li.current", "已支付", 5*time.Second)
	diner.waitText("#my-list", "取餐号 "+pickup, 5*time.Second)
	diner.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("order").scrollIntoView()`))
	diner.shot("08-diner-paid")

	card := kitchen.waitText("#c-new", pickup, 10*time.Second)
	for _, want := range []string{"长者营养套餐", "× 1", "刚刚"} {
		if !strings.Contains(card, want) {
			t.Errorf("the new card does not show %q: %q", want, card)
		}
	}
	for _, word := range []string{"王秀英", "¥", "特困", "高龄"} {
		if strings.Contains(kitchen.text("body"), word) {
			t.Errorf("the kitchen screen shows %q", word)
		}
	}
	ticketID := kitchen.eval(fmt.Sprintf(`(() => { const c = [...document.querySelectorAll("#c-new .card")].find(c => c.querySelector(".pickup").textContent === %q); return c ? c.dataset.ticket : ""; })()`, pickup))
	if ticketID == "" {
		t.Fatalf("no card for %s", pickup)
	}
	sel := func(col string) string { return fmt.Sprintf(`%s .card[data-ticket="%s"]`, col, ticketID) }
	if !strings.Contains(kitchen.eval(fmt.Sprintf(`document.querySelector(%q).className`, sel("#c-new"))), "flash") {
		t.Error("the ticket that arrived does not flash")
	}
	// The ticket's 优先 (elder first) flag, when the kitchen has it, shows on the card.
	var open struct {
		Items []struct {
			ID            int64 `json:"id"`
			ElderPriority bool  `json:"elder_priority"`
		}
	}
	doJSON(t, "GET", fmt.Sprintf("%s/api/v1/kitchen/canteens/%d/tickets", base, canteenID), kitchen.eval(`localStorage.getItem("canteen.kitchen.token")`), "", "", 200, &open)
	if len(open.Items) != 1 || fmt.Sprint(open.Items[0].ID) != ticketID {
		t.Fatalf("open tickets: %+v, want the one of card %s", open.Items, ticketID)
	}
	if open.Items[0].ElderPriority && !strings.Contains(card, "优先") {
		t.Errorf("the ticket is elder_priority but its card does not say 优先: %q", card)
	}
	// The worker prints the ticket on the demo printer; its dot turns green on the open screen.
	kitchen.waitTrue(`[...document.querySelectorAll("#printers .printer")].some(p => p.dataset.status === "ok")`, 15*time.Second)
	kitchen.shot("09-kitchen-new-ticket")

	// Two taps: preparing, then ready.
	kitchen.do(chromedp.Click(chromedp.CSS(sel("#c-new"))))
	kitchen.waitText("#c-preparing", pickup, 5*time.Second)
	diner.waitText(".steps li.current", "制作中", 10*time.Second)
	diner.shot("10-diner-cooking")
	kitchen.shot("11-kitchen-preparing")
	kitchen.do(chromedp.Click(chromedp.CSS(sel("#c-preparing"))))
	kitchen.waitText("#c-ready", pickup, 5*time.Second)
	kitchen.shot("12-kitchen-ready")

	// The dining room's pickup board, 1920×1080, and the diner page show it ready.
	board := newTab(t, kitchen.ctx, "pickup", 1920, 1080)
	board.do(chromedp.Navigate(fmt.Sprintf("%s/pickup/?community=%d&canteen=%d", base, communityID, canteenID)))
	board.waitText("#numbers", pickup, 10*time.Second)
	board.shot("13-pickup-board-ready")
	diner.waitText(".steps li.current", "请取餐", 10*time.Second)
	if got := diner.text(".pickup-box"); !strings.Contains(got, pickup) || !strings.Contains(got, "请到窗口取餐") {
		t.Errorf("the diner's pickup box: %q", got)
	}
	px := diner.eval(`getComputedStyle(document.getElementById("pickup-no")).fontSize`)
	if size, err := strconv.ParseFloat(strings.TrimSuffix(px, "px"), 64); err != nil || size < 60 {
		t.Errorf("the pickup number is %s high on the diner page, want very large (60px or more)", px)
	}
	diner.waitText("#my-list", "请取餐", 5*time.Second)
	diner.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("order").scrollIntoView()`))
	diner.shot("14-diner-ready")

	// The worker sends the "meal ready" message once, to the elder, with the template.
	msgs := waitMessages(t, fake, 1, 15*time.Second)
	m := msgs[0]
	if m.ToUser != "demo-elder" || m.TemplateID != readyTemplate || m.Data["character_string1"] != pickup ||
		!strings.Contains(m.Data["thing2"], "长者营养套餐") || m.Page != "pages/order/detail?id="+orderID {
		t.Errorf("meal ready message: %+v", m)
	}

	// A third tap hands the meal over: it leaves the screens, the diner sees 已取餐, and the
	// kitchen can still bring it back from the header.
	kitchen.do(chromedp.Click(chromedp.CSS(sel("#c-ready"))))
	kitchen.waitGone("#board", pickup, 5*time.Second)
	kitchen.waitText("#undo", "撤回 "+pickup, 5*time.Second)
	kitchen.shot("15-kitchen-picked-up")
	board.waitGone("#numbers", pickup, 10*time.Second)
	board.shot("16-pickup-board-after")
	diner.waitText(".steps li.current", "已取餐", 10*time.Second)
	diner.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("order").scrollIntoView()`))
	diner.shot("17-diner-picked-up")
	diner.waitText("#my-list", "已取餐", 5*time.Second)
	diner.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("my-orders").scrollIntoView()`))
	diner.shot("18-diner-my-orders")
	if got := kitchen.eval(`window.sameDocument || "reloaded"`); got != "kept" {
		t.Errorf("the kitchen screen was reloaded during the flow (%s)", got)
	}
	time.Sleep(time.Second) // a second message would have been sent by now
	if n := len(fake.Messages()); n != 1 {
		t.Errorf("the fake WeChat received %d subscribe messages, want exactly 1: %+v", n, fake.Messages())
	}
}

// waitTrue waits until the expression js is true.
func (b *tab) waitTrue(js string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for b.eval(fmt.Sprintf(`String(!!(%s))`, js)) != "true" {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not true within %s: %s", b.name, within, js)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitClock reports whether the screen's clock changes within three seconds.
func (b *tab) waitClock() bool {
	b.t.Helper()
	first := b.text("#clock")
	for range 30 {
		time.Sleep(100 * time.Millisecond)
		if now := b.text("#clock"); now != "" && now != first {
			return true
		}
	}
	return false
}

// waitMessages waits until the fake WeChat has at least n subscribe messages.
func waitMessages(t *testing.T, fake *wechatfake.Server, n int, within time.Duration) []wechatfake.Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		msgs := fake.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(msgs)
			t.Fatalf("the fake WeChat has %d subscribe messages after %s, want %d: %s", len(msgs), within, n, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
