package order

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ReadyMessage is the "meal ready" subscribe message of an order: to the WeChat openid of
// the diner who placed it, with the pickup number and what to collect.
type ReadyMessage struct {
	OrderID int64
	OpenID  string
	Pickup  string
	Dishes  string // "红烧肉×2 等", at most 20 characters (WeChat's thing field)
	ReadyAt time.Time
}

// ReadyNotices is what the store keeps for the "meal ready" message.
type ReadyNotices interface {
	// ReadyNotice returns the message of an order that is ready, whose diner asked to be
	// told and has not been yet; ok is false when there is nothing to send.
	ReadyNotice(ctx context.Context, communityID, orderID int64) (m ReadyMessage, ok bool, err error)
	// MarkReadyNotified records that the message went out.
	MarkReadyNotified(ctx context.Context, communityID, orderID int64, at time.Time) error
}

// NotifyReady sends an order's "meal ready" message through send, at most once: a diner
// who did not subscribe, an order not ready, or one told before gets nothing. Errors from
// send come back as they are (a refused subscription is FailedPrecondition: not retried).
func (s *Service) NotifyReady(ctx context.Context, notices ReadyNotices, communityID, orderID int64, send func(context.Context, ReadyMessage) error) error {
	m, ok, err := notices.ReadyNotice(ctx, communityID, orderID)
	if err != nil || !ok {
		return err
	}
	if m.ReadyAt.IsZero() {
		m.ReadyAt = s.opt.Now()
	}
	if err := send(ctx, m); err != nil {
		return fmt.Errorf("order: meal ready message of order %d: %w", orderID, err)
	}
	return notices.MarkReadyNotified(ctx, communityID, orderID, s.opt.Now())
}

// DishSummary shortens "红烧肉×2、米饭×1" to fit n characters, ending in "等" when cut.
func DishSummary(lines []Line, n int) string {
	var parts []string
	for _, l := range lines {
		parts = append(parts, fmt.Sprintf("%s×%d", l.Name, l.Qty))
	}
	s := strings.Join(parts, "、")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "等"
}
