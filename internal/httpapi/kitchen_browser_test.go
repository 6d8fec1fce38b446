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

	"github.com/canteen-oss/canteen/internal/browsertest"
	"github.com/canteen-oss/canteen/internal/httpapi"
	"github.com/canteen-oss/canteen/internal/kitchendb"
)

// listen runs kitchendb.Listen on the env's database into its hub, as cmd does, until
// the test ends.
func (e *env) listen() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kitchendb.Listen(ctx, e.dsn, e.hub.Publish)
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
	second, secondNo := e.ticket("screen-order-02", "")
	third, thirdNo := e.ticket("screen-order-03", "少辣，要软一点")
	if c := waitText("#c-new", thirdNo, 5*time.Second); !strings.Contains(c, "少辣，要软一点") {
		t.Errorf("the card does not show the line's note: %q", c)
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
	if small := eval(`String(Math.min(...[...document.querySelectorAll("button.recall, .card, button.tool")].filter(b => b.offsetParent).map(b => b.getBoundingClientRect().height)))`); small != "" {
		if h, err := strconv.ParseFloat(small, 64); err != nil || h < 60 {
			t.Errorf("the smallest touch target is %spx high, want at least 60", small)
		}
	}
	time.Sleep(4500 * time.Millisecond) // let the arrival flash end before the screenshot
	browsertest.Screenshot(t, ctx, "kitchen-screen")

	// Ageing: with amber after 0.01 and red after 0.02 minutes, waiting cards turn red and
	// ready ones do not.
	browsertest.Step(t, ctx, chromedp.Navigate(base+"/kitchen/?amber=0.01&red=0.02"), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	waitText("#c-new", thirdNo, 5*time.Second)
	time.Sleep(1500 * time.Millisecond)
	if got := eval(`[...document.querySelectorAll(".card")].map(c => c.dataset.state + ":" + c.className).join(" ")`); !strings.Contains(got, "new:card age-red") || strings.Contains(got, "ready:card age-") {
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
