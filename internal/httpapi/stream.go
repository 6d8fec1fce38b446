package httpapi

import (
	"bufio"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Timing of kitchen streams: a comment line every streamHeartbeat keeps proxies from
// closing an idle stream and tells the server when a screen has gone; after streamMaxAge a
// stream ends and the browser reconnects, so an expired or revoked session is noticed.
const (
	streamHeartbeat = 15 * time.Second
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
}

// subscriber is one open stream of one canteen.
type subscriber struct {
	canteenID int64
	wake      chan struct{} // capacity 1: something is pending
	mu        sync.Mutex
	tickets   []int64
	reload    bool
}

// NewHub returns an open Hub with no streams.
func NewHub() *Hub {
	return &Hub{subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
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
				p, err := s.Auth.Authenticate(c.UserContext(), token)
				switch {
				case err == nil:
					c.Locals("principal", p)
				case apperr.KindOf(err) != apperr.Unauthenticated:
					return err
				default:
					c.Locals("authErr", err)
				}
			}
		}
		return g(c)
	}
}

// kitchenStream is GET /api/v1/kitchen/canteens/:id/stream: Server-Sent Events for a
// kitchen screen. "event: ticket" with data {"ticket_id":N} says a ticket of the canteen
// was created or moved; "event: reload" says changes may have been missed (the database
// listener reconnected, or the screen fell behind); a comment line comes every 15 s. The
// screen reloads its open tickets on every event and whenever the stream (re)opens.
func (s *server) kitchenStream(c *fiber.Ctx) error {
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
	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache, no-store")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer hub.unsubscribe(sub)
		beat := time.NewTicker(streamHeartbeat)
		defer beat.Stop()
		age := time.NewTimer(streamMaxAge)
		defer age.Stop()
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
			case <-sub.wake:
				reload, tickets := sub.take()
				if reload {
					fmt.Fprint(w, "event: reload\ndata: {}\n\n")
				}
				for _, t := range tickets {
					fmt.Fprintf(w, "event: ticket\ndata: {\"ticket_id\":%d}\n\n", t)
				}
			}
		}
	})
	return nil
}
