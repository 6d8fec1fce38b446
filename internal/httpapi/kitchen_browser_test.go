package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/browsertest"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/httpapi"
	"github.com/canteen-oss/canteen/internal/kitchendb"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/printer/printerfake"
)

// listen runs kitchendb.ListenWithPrinters on the env's database into its hub, as cmd
// does, until the test ends.
func (e *env) listen() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kitchendb.ListenWithPrinters(ctx, e.dsn, e.hub.Publish, e.hub.PublishPrinter)
	}()
	e.t.Cleanup(func() { cancel(); <-done })
}

// ticket makes a paid order of the seeded elder and its kitchen ticket, as the worker
// would; a note goes on the order's line.
func (e *env) ticket(key, note string) (id int64, pickup string) {
	e.t.Helper()
	var orderID int64
	if note == "" {
		orderID, _ = e.paidElderOrder(key)
	} else {
		status, raw := e.placeOrder(e.tokens["elder"], key, fmt.Sprintf(`{"canteen_id":%d,"day":%q,"period":"lunch","lines":[{"dish_id":%d,"qty":1,"note":%q}]}`,
			e.ids["canteen"], civilToday(), e.ids["dish"], note))
		var o struct{ ID int64 }
		if err := json.Unmarshal([]byte(raw), &o); status != 201 || err != nil {
			e.t.Fatalf("place: %d %s", status, raw)
		}
		e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", o.ID), e.tokens["elder"], ""), 200, nil)
		if err := e.payFake.Pay(e.outTradeNo(o.ID)); err != nil {
			e.t.Fatal(err)
		}
		orderID = o.ID
	}
	tk, _, err := e.kitS.CreateTicket(context.Background(), e.ids["community"], orderID)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk.ID, tk.Pickup
}

type sseEvent struct{ name, data string }

// openStream opens the kitchen stream of the seeded canteen over the real listener with
// token in the query, and returns the response and, for a 200, its events.
func (e *env) openStream(token, accept string) (*http.Response, <-chan sseEvent) {
	e.t.Helper()
	u := fmt.Sprintf("%s/api/v1/kitchen/canteens/%d/stream?access_token=%s", e.base, e.ids["canteen"], url.QueryEscape(token))
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		return resp, nil
	}
	events := make(chan sseEvent, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case strings.HasPrefix(line, ":"):
				events <- sseEvent{name: "comment", data: line}
			}
		}
	}()
	return resp, events
}

func nextEvent(t *testing.T, events <-chan sseEvent, skipComments bool) sseEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return sseEvent{name: "EOF"}
			}
			if skipComments && ev.name == "comment" {
				continue
			}
			return ev
		case <-deadline:
			t.Fatal("no event from the kitchen stream")
		}
	}
}

// TestKitchenStream reads the kitchen stream over a real connection: who may open it,
// the reload event when the database listener connects, a ticket event when a ticket is
// created and when it moves, and the end of the stream when the hub closes.
func TestKitchenStream(t *testing.T) {
	e := newEnv(t, 100)
	for _, tc := range []struct {
		token, accept string
		status        int
	}{
		{"wrong-token", "text/event-stream", 401},
		{"", "text/event-stream", 401},
		{e.tokens["diner"], "text/event-stream", 403},
		{e.tokens["counter"], "text/event-stream", 403},
		{e.tokens["adminB"], "text/event-stream", 404}, // another community's canteen
		{e.tokens["kitchen"], "application/json", 406},
	} {
		resp, _ := e.openStream(tc.token, tc.accept)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status {
			t.Errorf("stream with token %.8q, Accept %s: %d %s, want %d", tc.token, tc.accept, resp.StatusCode, b, tc.status)
		}
	}

	resp, events := e.openStream(e.tokens["kitchen"], "text/event-stream")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if ev := nextEvent(t, events, false); ev.name != "comment" {
		t.Fatalf("first event %+v, want the connected comment", ev)
	}
	e.listen() // the listener connects after the screen: it says reload
	if ev := nextEvent(t, events, true); ev.name != "reload" {
		t.Fatalf("event %+v, want reload after the listener connected", ev)
	}
	id, _ := e.ticket("stream-order-01", "")
	want := fmt.Sprintf(`{"ticket_id":%d}`, id)
	if ev := nextEvent(t, events, true); ev.name != "ticket" || ev.data != want {
		t.Fatalf("event %+v, want ticket %s", ev, want)
	}
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/kitchen/tickets/%d/bump", id), e.tokens["kitchen"], ""), 200, nil)
	if ev := nextEvent(t, events, true); ev.name != "ticket" || ev.data != want {
		t.Fatalf("event %+v after a bump, want ticket %s", ev, want)
	}
	if n := e.hub.Streams(); n != 1 {
		t.Fatalf("%d open streams, want 1", n)
	}
	e.hub.Close()
	if ev := nextEvent(t, events, true); ev.name != "EOF" {
		t.Fatalf("event %+v after the hub closed, want the end of the stream", ev)
	}
	resp, _ = e.openStream(e.tokens["kitchen"], "text/event-stream")
	if resp.StatusCode != 503 {
		t.Fatalf("a stream after the hub closed: %d, want 503", resp.StatusCode)
	}
}

// TestHubCoalesces: a screen that falls behind is told to reload instead of being sent
// every id, and Publish never blocks.
func TestHubCoalesces(t *testing.T) {
	h := httpapi.NewHub()
	defer h.Close()
	done := make(chan struct{})
	go func() {
		for i := range 10_000 {
			h.Publish(1, int64(i+1))
		}
		h.Publish(0, 0)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked with no one streaming")
	}
}

// TestScreenPagesServed checks the kitchen screen and pickup board files, their types and
// Content-Security-Policy, and the redirects of the bare paths.
func TestScreenPagesServed(t *testing.T) {
	app := httpapi.New(httpapi.Deps{}, httpapi.Options{BodyLimit: 64 << 10, RequestTimeout: 5 * time.Second})
	for path, want := range map[string]string{
		"/kitchen/": "text/html", "/kitchen/app.js": "text/javascript", "/kitchen/app.css": "text/css",
		"/pickup/": "text/html", "/pickup/app.js": "text/javascript", "/pickup/app.css": "text/css",
		"/kitchen/kitchen.go": "application/problem+json", "/pickupx": "application/problem+json",
	} {
		resp, err := app.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, want) {
			t.Errorf("%s: %d %s, want %s", path, resp.StatusCode, ct, want)
		}
		if want == "text/html" && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("%s: CSP %q", path, resp.Header.Get("Content-Security-Policy"))
		}
	}
	for _, p := range []string{"/kitchen", "/pickup"} {
		resp, err := app.Test(httptest.NewRequest("GET", p, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 301 || resp.Header.Get("Location") != p+"/" {
			t.Errorf("%s = %d %q, want a redirect to %s/", p, resp.StatusCode, resp.Header.Get("Location"), p)
		}
	}
}

// TestKitchenScreenInBrowser drives /kitchen/ in headless Chromium as the kitchen user: a
// new ticket appears without a reload, two taps make it ready, a recall takes a ticket
// back, and the pickup board shows the ready number.
func TestKitchenScreenInBrowser(t *testing.T) {
	e := newEnv(t, 100)
	e.listen()
	base := e.serve()
	ctx := browsertest.New(t, 1366, 820)
	eval := func(js string) string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return out
	}
	waitText := func(sel, want string, within time.Duration) string {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			got := eval(fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel))
			if strings.Contains(got, want) {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not show %q; it shows %q (alert: %q)", sel, want, got, eval(`document.getElementById("alert").innerText`))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	browsertest.Step(t, ctx, chromedp.Navigate(base+"/kitchen/?amber=5&red=10"), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
	tok, err := json.Marshal(e.tokens["kitchen"])
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Step(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem("canteen.kitchen.token", %s)`, tok)),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	waitText("#canteen-name", "饭堂", 5*time.Second) // the community's one canteen is picked
	waitText("#conn", "实时连接", 10*time.Second)

	// Tickets arrive while the screen is open: no reload.
	first, firstNo := e.ticket("screen-order-01", "")
	card := waitText("#c-new", firstNo, 5*time.Second)
	for _, want := range []string{"红烧肉", "× 2", "刚刚"} {
		if !strings.Contains(card, want) {
			t.Errorf("the new card does not show %q: %q", want, card)
		}
	}
	if !strings.Contains(eval(fmt.Sprintf(`document.querySelector('.card[data-ticket="%d"]').className`, first)), "flash") {
		t.Error("a ticket that arrived does not flash")
	}
	// The browser plays sound only after a tap: until then the screen offers a button.
	if eval(`document.getElementById("sound").hidden ? "hidden" : document.getElementById("sound").innerText`) != "开启提示音" {
		t.Error("no 开启提示音 button before the first tap")
	}
	browsertest.Step(t, ctx, chromedp.Click(chromedp.CSS(`#sound`)))
	waitTrue := func(js string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); eval(fmt.Sprintf(`String(!!(%s))`, js)) != "true"; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not true: %s", js)
			}
		}
	}
	waitTrue(`document.getElementById("sound").hidden`)
	second, secondNo := e.ticket("screen-order-02", "")
	third, thirdNo := e.ticket("screen-order-03", "少辣，要软一点")
	if c := waitText("#c-new", thirdNo, 5*time.Second); !strings.Contains(c, "少辣，要软一点") {
		t.Errorf("the card does not show the line's note: %q", c)
	}
	waitTrue(`Number(document.documentElement.dataset.beeps) >= 1`) // the new tickets sounded
	if bg := eval(`getComputedStyle(document.querySelector(".note")).backgroundColor`); bg != "rgb(255, 212, 0)" {
		t.Errorf("a note's background is %s, want the yellow highlight", bg)
	}

	tap := func(id int64, sel string) {
		t.Helper()
		browsertest.Step(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`%s .card[data-ticket="%d"]`, sel, id))))
	}
	tap(first, "#c-new")
	waitText("#c-preparing", firstNo, 5*time.Second)
	tap(first, "#c-preparing")
	waitText("#c-ready", firstNo, 5*time.Second)
	tap(second, "#c-new")
	waitText("#c-preparing", secondNo, 5*time.Second)
	tap(third, "#c-new")
	waitText("#c-preparing", thirdNo, 5*time.Second)
	browsertest.Step(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#c-preparing .card[data-ticket="%d"] button.recall`, third))))
	waitText("#c-new", thirdNo, 5*time.Second)
	// A ticket bumped off the board (picked up) comes back with the header's 撤回.
	tap(first, "#c-ready")
	waitText("#undo", "撤回 "+firstNo, 5*time.Second)
	waitTrue(fmt.Sprintf(`!document.getElementById("board").innerText.includes(%q)`, firstNo)) // the picked-up ticket leaves the board
	browsertest.Step(t, ctx, chromedp.Click(chromedp.CSS(`#undo`)))
	waitText("#c-ready", firstNo, 5*time.Second)
	waitTrue(`document.getElementById("undo").hidden`)

	page := eval(`document.body.innerText`)
	for _, word := range []string{"特困", "张阿婆", "长者", "¥", "elderly", "tekun"} {
		if strings.Contains(page, word) {
			t.Errorf("the kitchen screen shows %q", word)
		}
	}
	for _, col := range []string{"新单", "制作中", "可取餐"} {
		if !strings.Contains(page, col) {
			t.Errorf("the kitchen screen has no column %s", col)
		}
	}
	targets := `[...document.querySelectorAll("button.recall, .card, button.tool")].filter(b => b.offsetParent)`
	if n := eval(`String(` + targets + `.length)`); n == "0" {
		t.Error("no touch targets (cards, recall and tool buttons) on the screen")
	} else {
		small := eval(`String(Math.min(...` + targets + `.map(b => b.getBoundingClientRect().height)))`)
		if h, err := strconv.ParseFloat(small, 64); err != nil || h < 60 {
			t.Errorf("the smallest of %s touch targets is %spx high, want at least 60", n, small)
		}
	}
	time.Sleep(4500 * time.Millisecond) // let the arrival flash end before the screenshot
	browsertest.Screenshot(t, ctx, "kitchen-screen")

	// Ageing: with amber after 0.01 and red after 0.02 minutes, waiting cards turn red and
	// ready ones do not.
	browsertest.Step(t, ctx, chromedp.Navigate(base+"/kitchen/?amber=0.01&red=0.02"), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	waitText("#c-new", thirdNo, 5*time.Second)
	time.Sleep(1500 * time.Millisecond)
	ages := `[...document.querySelectorAll(".card")].map(c => c.dataset.state + ":" + ([...c.classList].find(k => k.startsWith("age-")) || "none")).join(" ")`
	if got := eval(ages); !strings.Contains(got, "new:age-red") || strings.Contains(got, "ready:age-") {
		t.Errorf("ageing classes: %s", got)
	}

	browsertest.Step(t, ctx, chromedp.EmulateViewport(1280, 720),
		chromedp.Navigate(fmt.Sprintf("%s/pickup/?community=%d&canteen=%d", base, e.ids["community"], e.ids["canteen"])))
	board := waitText("#numbers", firstNo, 5*time.Second)
	if strings.Contains(board, secondNo) || strings.Contains(board, thirdNo) {
		t.Errorf("the pickup board shows tickets not ready: %q", board)
	}
	// The kitchen marks the second ready; the board picks it up within its 3 s poll.
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/kitchen/tickets/%d/bump", second), e.tokens["kitchen"], ""), 200, nil)
	waitText("#numbers", secondNo, 6*time.Second)
	browsertest.Screenshot(t, ctx, "pickup-board")
}

// page is a browser tab of a page test.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) eval(js string) string {
	p.t.Helper()
	out, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("%s: %v", js, err)
	}
	return out
}

// number evaluates js to a number.
func (p page) number(js string) float64 {
	p.t.Helper()
	out, err := chromedp.Run(p.ctx, chromedp.Evaluate[float64](js))
	if err != nil {
		p.t.Fatalf("%s: %v", js, err)
	}
	return out
}

// text is the visible text of the first element sel matches, "" when none does.
func (p page) text(sel string) string {
	p.t.Helper()
	return p.eval(fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel))
}

// waitText waits until the element sel matches shows want and returns its text.
func (p page) waitText(sel, want string, within time.Duration) string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := p.text(sel)
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s does not show %q; it shows %q (alert: %q)", sel, want, got, p.text("#alert"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitTrue waits until the expression js is true.
func (p page) waitTrue(js string, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for p.eval(fmt.Sprintf(`String(!!(%s))`, js)) != "true" {
		if time.Now().After(deadline) {
			p.t.Fatalf("not true within %s: %s (alert: %q)", within, js, p.text("#alert"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openKitchen opens the kitchen screen logged in with token, as a screen that kept its
// login, and waits until its stream is live.
func (e *env) openKitchen(p page, token string, width, height int64) {
	e.t.Helper()
	browsertest.Step(e.t, p.ctx, chromedp.EmulateViewport(width, height),
		chromedp.Navigate(e.base+"/kitchen/"), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
	tok, err := json.Marshal(token)
	if err != nil {
		e.t.Fatal(err)
	}
	browsertest.Step(e.t, p.ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem("canteen.kitchen.token", %s)`, tok)),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	p.waitText("#conn", "实时连接", 10*time.Second)
}

// paidTicket places cart for the seeded elder, pays it through the fake WeChat Pay and
// makes its kitchen ticket, as the worker would.
func (e *env) paidTicket(key, cart string) (id int64, pickup string) {
	e.t.Helper()
	status, raw := e.placeOrder(e.tokens["elder"], key, cart)
	var o struct{ ID int64 }
	if err := json.Unmarshal([]byte(raw), &o); status != 201 || err != nil {
		e.t.Fatalf("place: %d %s", status, raw)
	}
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/pay", o.ID), e.tokens["elder"], ""), 200, nil)
	if err := e.payFake.Pay(e.outTradeNo(o.ID)); err != nil {
		e.t.Fatal(err)
	}
	tk, _, err := e.kitS.CreateTicket(context.Background(), e.ids["community"], o.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk.ID, tk.Pickup
}

// stationMenu gives the seeded canteen two stations, 热菜 (荤菜) and 主食 (主食), and puts
// 米饭 and a delivery fee on today's lunch beside 红烧肉. It returns the stations' ids.
func (e *env) stationMenu() (hot, staple int64) {
	e.t.Helper()
	ctx := context.Background()
	sc := catalog.Scope{CommunityID: e.ids["community"], Actor: audit.SystemActor}
	items := []catalog.MenuItemInput{{DishID: e.ids["dish"], Supply: 50}}
	for _, d := range []catalog.DishInput{
		{Name: "米饭", Category: "主食", PriceFen: 100},
		{Name: "送餐费", Category: order.DeliveryCategory, PriceFen: 300},
	} {
		dish, err := e.catS.CreateDish(ctx, sc, d)
		if err != nil {
			e.t.Fatal(err)
		}
		e.ids[d.Name] = dish.ID
		items = append(items, catalog.MenuItemInput{DishID: dish.ID, Supply: 50})
	}
	if _, err := e.catS.PutMenu(ctx, sc, e.ids["canteen"], civilToday(), catalog.Lunch, items); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.catS.PublishMenu(ctx, sc, e.ids["canteen"], civilToday(), catalog.Lunch); err != nil {
		e.t.Fatal(err)
	}
	for _, st := range [][2]string{{"热菜", "荤菜"}, {"主食", "主食"}} {
		name, cat := st[0], st[1]
		var id int64
		if err := e.db.NewRaw("INSERT INTO kitchen_stations (community_id, canteen_id, name, categories) VALUES (?, ?, ?, ARRAY[?]) RETURNING id",
			e.ids["community"], e.ids["canteen"], name, cat).Scan(ctx, &id); err != nil {
			e.t.Fatal(err)
		}
		e.ids["station-"+name] = id
	}
	return e.ids["station-热菜"], e.ids["station-主食"]
}

// TestKitchenStationFilterInBrowser: a canteen with stations gets a station filter on the
// kitchen screen. Picking 主食 shows only tickets with a 主食 line, and of them only those
// lines; the choice survives a reload on this device; 全部 shows everything again. The
// delivery and 优先 flags show on the cards.
func TestKitchenStationFilterInBrowser(t *testing.T) {
	e := newEnv(t, 100)
	e.listen()
	hot, staple := e.stationMenu()
	mixed, mixedNo := e.paidTicket("station-order-01", fmt.Sprintf(`{"canteen_id":%d,"day":%q,"period":"lunch","lines":[{"dish_id":%d,"qty":1},{"dish_id":%d,"qty":2}]}`,
		e.ids["canteen"], civilToday(), e.ids["dish"], e.ids["米饭"]))
	sent, sentNo := e.paidTicket("station-order-02", fmt.Sprintf(`{"canteen_id":%d,"day":%q,"period":"lunch","kind":"delivery","delivery_address":"幸福里 3 号 502","lines":[{"dish_id":%d,"qty":1}]}`,
		e.ids["canteen"], civilToday(), e.ids["dish"]))
	var open struct {
		Items []struct {
			ID            int64 `json:"id"`
			Delivery      bool  `json:"delivery"`
			ElderPriority bool  `json:"elder_priority"`
		}
	}
	e.mustJSON(e.do("GET", fmt.Sprintf("/api/v1/kitchen/canteens/%d/tickets", e.ids["canteen"]), e.tokens["kitchen"], ""), 200, &open)
	if len(open.Items) != 2 || open.Items[0].Delivery || !open.Items[1].Delivery {
		t.Fatalf("open tickets %+v; want a dine-in and a delivery ticket", open.Items)
	}

	p := page{t, browsertest.New(t, 1280, 800)}
	e.openKitchen(p, e.tokens["kitchen"], 1280, 800)
	p.waitText("#c-new", sentNo, 5*time.Second)
	p.waitText("#station-buttons", "主食", 5*time.Second)
	if got := p.text("#stations"); !strings.Contains(got, "全部") || !strings.Contains(got, "热菜") || !strings.Contains(got, "主食") {
		t.Fatalf("station filter shows %q", got)
	}
	cardSel := func(id int64) string { return fmt.Sprintf(`.card[data-ticket="%d"]`, id) }
	mixedCard, sentCard := p.text(cardSel(mixed)), p.text(cardSel(sent))
	if !strings.Contains(sentCard, "送餐") || strings.Contains(mixedCard, "送餐") {
		t.Errorf("送餐 flag: dine-in card %q, delivery card %q", mixedCard, sentCard)
	}
	for i, c := range []string{mixedCard, sentCard} {
		if open.Items[i].ElderPriority != strings.Contains(c, "优先") {
			t.Errorf("ticket %d is elder_priority %v, its card %q", open.Items[i].ID, open.Items[i].ElderPriority, c)
		}
	}
	if got := p.number(`parseFloat(getComputedStyle(document.querySelector(".flag.delivery")).fontSize)`); got < 24 {
		t.Errorf("the 送餐 flag's type is %vpx, want at least 24", got)
	}
	browsertest.Screenshot(t, p.ctx, "kitchen-stations-all")

	pick := func(id int64) {
		t.Helper()
		browsertest.Step(t, p.ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#station-buttons button[data-station="%d"]`, id))))
		p.waitTrue(fmt.Sprintf(`document.querySelector('#station-buttons button[data-station="%d"]').getAttribute("aria-pressed") === "true"`, id), 2*time.Second)
	}
	pick(staple)
	if got := p.text("#c-new"); !strings.Contains(got, mixedNo) || strings.Contains(got, sentNo) || !strings.Contains(got, "米饭") ||
		strings.Contains(got, "红烧肉") || !strings.Contains(got, "另有 1 个菜在其他档口") {
		t.Errorf("主食 shows %q; want only %s with its 米饭", got, mixedNo)
	}
	if n := p.text("#n-new"); n != "1" {
		t.Errorf("the 新单 count under 主食 is %s", n)
	}
	browsertest.Screenshot(t, p.ctx, "kitchen-stations-staple")

	// Remembered on this device: a reload keeps 主食.
	browsertest.Step(t, p.ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	p.waitText("#c-new", mixedNo, 5*time.Second)
	p.waitTrue(fmt.Sprintf(`document.querySelector('#station-buttons button[data-station="%d"]').getAttribute("aria-pressed") === "true"`, staple), 5*time.Second)
	if got := p.text("#c-new"); strings.Contains(got, sentNo) {
		t.Errorf("after a reload the 主食 filter is gone: %q", got)
	}

	pick(hot)
	got := p.text("#c-new")
	if !strings.Contains(got, mixedNo) || !strings.Contains(got, sentNo) || strings.Contains(got, "米饭") {
		t.Errorf("热菜 shows %q; want both tickets with their 红烧肉 only", got)
	}
	pick(0)
	if got := p.text("#c-new"); !strings.Contains(got, "米饭") || !strings.Contains(got, "送餐费") || strings.Contains(got, "其他档口") {
		t.Errorf("全部 shows %q; want every line", got)
	}
}

// TestKitchenPrinterIndicatorInBrowser follows a real (fake network) printer on the open
// kitchen screen: no printer, nothing shown; an enabled printer a dot, green once a ticket
// printed; when it refuses a print a red banner names it and counts the unprinted ticket;
// when it prints again the banner goes. A disabled printer is never shown. No reload.
// When live updates stop, the connection indicator says so and tickets still arrive.
func TestKitchenPrinterIndicatorInBrowser(t *testing.T) {
	e := newEnv(t, 100)
	e.listen()
	p := page{t, browsertest.New(t, 1280, 800)}
	e.openKitchen(p, e.tokens["kitchen"], 1280, 800)
	p.waitTrue(`document.documentElement.dataset.printersLoaded === "0"`, 5*time.Second) // the printers answer has come: none
	if p.eval(`String(document.getElementById("printers").hidden && document.getElementById("printer-alert").hidden)`) != "true" {
		t.Fatal("the screen shows printers for a canteen without any")
	}

	fp, err := printerfake.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	var hot, old printerJSON
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/admin/canteens/%d/printers", e.ids["canteen"]), e.tokens["admin"],
		fmt.Sprintf(`{"name":"热菜打印机","address":%q}`, fp.Addr())), 201, &hot)
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/admin/canteens/%d/printers", e.ids["canteen"]), e.tokens["admin"],
		`{"name":"旧打印机","address":"127.0.0.1:9","enabled":false}`), 201, &old)
	browsertest.Step(t, p.ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	p.waitText("#conn", "实时连接", 10*time.Second)
	dot := fmt.Sprintf(`#printers .printer[data-printer="%d"]`, hot.ID)
	p.waitTrue(fmt.Sprintf(`document.querySelector('%s')`, dot), 5*time.Second)
	if got := p.text("#printers"); !strings.Contains(got, "热菜打印机") || strings.Contains(got, "旧打印机") {
		t.Errorf("printers shown: %q; want the enabled one only", got)
	}
	p.eval(`window.sameDocument = "kept"; "ok"`)

	first, _ := e.ticket("printer-screen-01", "")
	if err := e.prS.Print(context.Background(), e.ids["community"], first, 0); err != nil {
		t.Fatal(err)
	}
	p.waitTrue(fmt.Sprintf(`document.querySelector('%s').dataset.status === "ok"`, dot), 5*time.Second)
	if bg := p.eval(fmt.Sprintf(`getComputedStyle(document.querySelector('%s .dot')).backgroundColor`, dot)); bg != "rgb(61, 220, 116)" {
		t.Errorf("an ok printer's dot is %s, want green", bg)
	}
	if p.eval(`String(document.getElementById("printer-alert").hidden)`) != "true" {
		t.Error("a banner shows while every printer is ok")
	}
	browsertest.Screenshot(t, p.ctx, "kitchen-printer-ok")

	if err := fp.SetMode(printerfake.Refuse); err != nil {
		t.Fatal(err)
	}
	second, secondNo := e.ticket("printer-screen-02", "")
	if err := e.prS.Print(context.Background(), e.ids["community"], second, 0); err == nil {
		t.Fatal("a print on a printer that refuses connections went through")
	}
	banner := p.waitText("#printer-alert", "打印机离线: 热菜打印机", 5*time.Second)
	if !strings.Contains(banner, "1 张单没打出来") {
		t.Errorf("the banner %q does not count the unprinted ticket", banner)
	}
	if p.eval(fmt.Sprintf(`document.querySelector('%s').dataset.status`, dot)) != "down" {
		t.Error("the printer's dot does not say down")
	}
	if h := p.number(`document.getElementById("printer-alert").getBoundingClientRect().height`); h < 60 {
		t.Errorf("the banner is %vpx high, want at least 60", h)
	}
	p.waitText("#c-new", secondNo, 5*time.Second)
	browsertest.Screenshot(t, p.ctx, "kitchen-printer-down")

	if err := fp.SetMode(printerfake.Print); err != nil {
		t.Fatal(err)
	}
	if err := e.prS.Print(context.Background(), e.ids["community"], second, 0); err != nil {
		t.Fatal(err)
	}
	p.waitTrue(`document.getElementById("printer-alert").hidden`, 5*time.Second)
	p.waitTrue(fmt.Sprintf(`document.querySelector('%s').dataset.status === "ok"`, dot), 5*time.Second)
	if got := p.eval(`window.sameDocument || "reloaded"`); got != "kept" {
		t.Errorf("the screen reloaded to follow its printers (%s)", got)
	}

	// Live updates stop (the server is stopping its streams): the indicator says so and
	// the screen keeps up by asking every few seconds.
	e.hub.Close()
	p.waitText("#conn", "重新连接", 5*time.Second)
	_, thirdNo := e.ticket("printer-screen-03", "")
	p.waitText("#c-new", thirdNo, 10*time.Second)
}

// TestKitchenDeviceLoginInBrowser: kitchen staff log in with 记住这台设备; once the
// canteen is chosen the screen holds a device token instead of theirs, whose session
// ends. The device works its canteen's tickets. When an admin revokes it, the open screen
// goes back to the login and says the device was revoked.
func TestKitchenDeviceLoginInBrowser(t *testing.T) {
	e := newEnv(t, 100)
	e.listen()
	p := page{t, browsertest.New(t, 1280, 800)}
	browsertest.Step(t, p.ctx, chromedp.Navigate(e.base+"/kitchen/"), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
	if !strings.Contains(p.text("#login"), "记住这台设备") {
		t.Fatal("the login has no 记住这台设备")
	}
	browsertest.Step(t, p.ctx, chromedp.SendKeys(chromedp.CSS(`#username`), "user-kitchen"), chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`#remember`)), chromedp.WaitVisible(chromedp.CSS(`#device-name`)))
	if name := p.eval(`document.getElementById("device-name").value`); name != "厨房屏幕 "+time.Now().In(civil.Shanghai()).Format("2006-01-02") {
		t.Errorf("the default device name is %q", name)
	}
	browsertest.Step(t, p.ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("device-name").value = "后厨一号屏"`))
	browsertest.Screenshot(t, p.ctx, "kitchen-device-login")
	staffSessions := func() int {
		return e.count("SELECT count(*) FROM sessions WHERE kind = 'staff' AND staff_id = ? AND revoked_at IS NULL", e.ids["staff-kitchen"])
	}
	before := staffSessions()
	browsertest.Step(t, p.ctx, chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	p.waitText("#alert", "已记住这台设备", 5*time.Second)
	p.waitText("#conn", "实时连接", 10*time.Second)
	token := p.eval(`localStorage.getItem("canteen.kitchen.token") || ""`)
	var who struct {
		Kind      string `json:"kind"`
		Name      string `json:"name"`
		CanteenID int64  `json:"canteen_id"`
	}
	e.mustJSON(e.do("GET", "/api/v1/me", token, ""), 200, &who)
	if who.Kind != "device" || who.Name != "后厨一号屏" || who.CanteenID != e.ids["canteen"] {
		t.Fatalf("the screen keeps %+v; want the device 后厨一号屏 of the canteen", who)
	}
	if n := staffSessions(); n != before {
		t.Errorf("%d open staff sessions after registering the device, want %d: the login's session was not ended", n, before)
	}
	if p.text("#logout") != "注销设备" {
		t.Errorf("the logout button says %q", p.text("#logout"))
	}

	id, pickup := e.ticket("device-screen-01", "")
	p.waitText("#c-new", pickup, 5*time.Second)
	browsertest.Step(t, p.ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#c-new .card[data-ticket="%d"]`, id))))
	p.waitText("#c-preparing", pickup, 5*time.Second)
	browsertest.Screenshot(t, p.ctx, "kitchen-device-board")

	var devices struct {
		Devices []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
	}
	e.mustJSON(e.do("GET", "/api/v1/admin/devices", e.tokens["admin"], ""), 200, &devices)
	var deviceID int64
	for _, d := range devices.Devices {
		if d.Name == "后厨一号屏" {
			deviceID = d.ID
		}
	}
	if deviceID == 0 {
		t.Fatalf("devices %+v", devices.Devices)
	}
	e.mustJSON(e.do("POST", fmt.Sprintf("/api/v1/admin/devices/%d/revoke", deviceID), e.tokens["admin"], ""), 200, nil)
	p.waitTrue(`!document.getElementById("login").hidden`, 20*time.Second)
	p.waitText("#alert", "设备已被注销", 2*time.Second)
	if tok := p.eval(`localStorage.getItem("canteen.kitchen.token") || ""`); tok != "" {
		t.Error("the revoked device's token is still kept")
	}
	browsertest.Screenshot(t, p.ctx, "kitchen-device-revoked")
}
