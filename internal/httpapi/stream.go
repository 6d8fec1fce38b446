package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Timing of kitchen streams: a comment line every streamHeartbeat keeps proxies from
// closing an idle stream and tells the server when a screen has gone; every streamRecheck
// the stream checks its session again and ends once it is revoked or expired (a revoked
// device, a logged-out or disabled account); after streamMaxAge a stream ends and the
// browser reconnects.
const (
	streamHeartbeat = 15 * time.Second
	streamRecheck   = 5 * time.Second
	streamMaxAge    = 30 * time.Minute
	streamRetryMS   = 3000 // how long EventSource waits before reconnecting
	streamBacklog   = 256  // ticket ids a slow screen may owe before it is told to reload
)

// Hub fans ticket changes out to the kitchen screens streaming them. cmd feeds it from
// kitchendb.Listen: Publish(canteenID, ticketID) for a change, Publish(0, 0) after the
// listener (re)connects, which tells every screen to reload. Publish never blocks.
// Close it before shutting the server down: open streams end and shutdown need not wait.
type Hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	done   chan struct{}

	// A printer's event is read once per change for all its screens: pgen counts the
	// changes of each printer (under mu), pdata keeps the JSON read at a count (under pmu).
	pgen  map[int64]uint64
	pmu   sync.Mutex
	pdata map[int64]printerData
}

type printerData struct {
	gen  uint64
	json []byte
}

// subscriber is one open stream of one canteen.
type subscriber struct {
	canteenID int64
	wake      chan struct{} // capacity 1: something is pending
	mu        sync.Mutex
	tickets   []int64
	printers  []int64 // printers whose status or settings changed
	reload    bool
}

// NewHub returns an open Hub with no streams.
func NewHub() *Hub {
	return &Hub{subs: map[*subscriber]struct{}{}, done: make(chan struct{}),
		pgen: map[int64]uint64{}, pdata: map[int64]printerData{}}
}

// Publish tells the screens of canteenID that ticketID changed; canteenID 0 tells every
// screen to reload.
func (h *Hub) Publish(canteenID, ticketID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if canteenID != 0 && s.canteenID != canteenID {
			continue
		}
		s.mu.Lock()
		switch {
		case canteenID == 0 || ticketID == 0 || len(s.tickets) >= streamBacklog:
			s.reload, s.tickets = true, nil
		case !s.reload:
			s.tickets = append(s.tickets, ticketID)
		}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// PublishPrinter tells the screens of canteenID that a printer's status or settings
// changed. It never blocks.
func (h *Hub) PublishPrinter(canteenID, printerID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pgen[printerID]++
	for s := range h.subs {
		if s.canteenID != canteenID {
			continue
		}
		s.mu.Lock()
		if !slices.Contains(s.printers, printerID) {
			s.printers = append(s.printers, printerID)
		}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Close ends every stream and refuses new ones. It may be called more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// Streams is the number of open streams.
func (h *Hub) Streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *Hub) subscribe(canteenID int64) (*subscriber, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	s := &subscriber{canteenID: canteenID, wake: make(chan struct{}, 1)}
	h.subs[s] = struct{}{}
	return s, true
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// take returns and clears what s owes its screen.
func (s *subscriber) take() (reload bool, tickets []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reload, tickets = s.reload, s.tickets
	s.reload, s.tickets = false, nil
	return reload, tickets
}

// printerEvent returns the JSON of printer id's latest change, reading it with read only
// when no screen has read it since the change: N screens of a canteen cost one read. A nil
// read (the printer could not be read) is not kept.
func (h *Hub) printerEvent(id int64, read func() []byte) []byte {
	h.mu.Lock()
	gen := h.pgen[id]
	h.mu.Unlock()
	h.pmu.Lock()
	defer h.pmu.Unlock()
	if d, ok := h.pdata[id]; ok && d.gen == gen {
		return d.json
	}
	b := read()
	if b != nil {
		h.pdata[id] = printerData{gen: gen, json: b}
	}
	return b
}

// takePrinters returns and clears the printers s owes its screen.
func (s *subscriber) takePrinters() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.printers
	s.printers = nil
	return p
}

var (
	errStreamAccept = fiber.NewError(fiber.StatusNotAcceptable, "此接口是事件流，请用 EventSource / send Accept: text/event-stream")
	errStreamClosed = apperr.New(apperr.Transient, "stream_unavailable", "实时推送暂不可用 / live updates are unavailable")
)

// streamGuard is guard for the kitchen stream, which also takes the session token from the
// query parameter access_token: a browser's EventSource cannot send an Authorization
// header. The token is accepted on this route only, and the access log never writes query
// strings. A wrong or expired token is refused with 401 like a wrong header.
func (s *server) streamGuard(a access) fiber.Handler {
	g := guard(a)
	return func(c *fiber.Ctx) error {
		if _, ok := principal(c); !ok && c.Get(fiber.HeaderAuthorization) == "" {
			if token := c.Query("access_token"); token != "" {
				if err := s.resolveToken(c, token); err != nil {
					return err
				}
			}
		}
		return g(c)
	}
}

// kitchenStream is GET /api/v1/kitchen/canteens/:id/stream: Server-Sent Events for a
// kitchen screen. "event: ticket" with data {"ticket_id":N} says a ticket of the canteen
// was created or moved; "event: printer" with the printer's JSON (as GET …/printers lists
// it) says a printer's status or settings changed; "event: reload" says changes may have
// been missed (the database listener reconnected, or the screen fell behind); a comment
// line comes every 15 s. The screen reloads its open tickets on every event and whenever
// the stream (re)opens, and its printers on a reload. The stream ends when its session
// no longer passes a or may no longer act on the canteen (see streamRecheck).
func (s *server) kitchenStream(a access) fiber.Handler {
	return func(c *fiber.Ctx) error { return s.openKitchenStream(c, a) }
}

func (s *server) openKitchenStream(c *fiber.Ctx, a access) error {
	id, err := canteenParam(c)
	if err != nil {
		return err
	}
	if _, err := s.Catalog.GetCanteen(c.UserContext(), me(c).CommunityID, id); err != nil {
		return err
	}
	if !strings.Contains(c.Get(fiber.HeaderAccept), "text/event-stream") {
		return errStreamAccept
	}
	if s.Hub == nil {
		return errStreamClosed
	}
	sub, ok := s.Hub.subscribe(id)
	if !ok {
		return errStreamClosed
	}
	hub := s.Hub // the writer runs after this handler returns: it must not touch c
	printerJSON := s.printerJSON(me(c).CommunityID)
	live := s.sessionLive(c, a, id)
	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache, no-store")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer hub.unsubscribe(sub)
		beat := time.NewTicker(streamHeartbeat)
		defer beat.Stop()
		age := time.NewTimer(streamMaxAge)
		defer age.Stop()
		recheck := time.NewTicker(streamRecheck)
		defer recheck.Stop()
		fmt.Fprintf(w, "retry: %d\n: connected\n\n", streamRetryMS)
		for {
			if err := w.Flush(); err != nil {
				return // the screen has gone
			}
			select {
			case <-hub.done:
				return
			case <-age.C:
				return
			case <-beat.C:
				fmt.Fprint(w, ": ping\n\n")
			case <-recheck.C:
				if !live() {
					return
				}
			case <-sub.wake:
				reload, tickets := sub.take()
				if reload {
					fmt.Fprint(w, "event: reload\ndata: {}\n\n")
				}
				for _, t := range tickets {
					fmt.Fprintf(w, "event: ticket\ndata: {\"ticket_id\":%d}\n\n", t)
				}
				for _, p := range sub.takePrinters() {
					if data := hub.printerEvent(p, func() []byte { return printerJSON(p) }); data != nil {
						fmt.Fprintf(w, "event: printer\ndata: %s\n\n", data)
					}
				}
			}
		}
	})
	return nil
}

// sessionLive returns a check, safe to run after the handler has returned, that the
// session of c's token still passes a and may act on canteen id. A failure to check
// (the database is unreachable) counts as live: only a refused session ends a stream.
func (s *server) sessionLive(c *fiber.Ctx, a access, canteenID int64) func() bool {
	token, _ := c.Locals("token").(string)
	svc := s.Auth
	return func() bool {
		if svc == nil || token == "" {
			return true
		}
		ctx, cancel := context.WithTimeout(context.Background(), streamRecheck)
		defer cancel()
		p, err := svc.Authenticate(ctx, token)
		if err != nil {
			return apperr.KindOf(err) != apperr.Unauthenticated
		}
		return a.admits(p) && p.CanAccessCanteen(canteenID)
	}
}
