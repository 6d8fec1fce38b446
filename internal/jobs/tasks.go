// Package jobs runs canteen's background work on asynq: the task types (this file
// lists every one), the worker server with its queues, the periodic scheduler that
// runs in exactly one process at a time, and queue metrics. It is the only package
// that imports asynq.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/settlement"
)

// Queues and their weights: higher is served more often.
const (
	QueueCritical = "critical" // money: payment follow-ups, refunds
	QueueDefault  = "default"  // kitchen tickets, messages
	QueueLow      = "low"      // housekeeping, reports
)

// Queues maps each queue to its priority weight.
var Queues = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}

// Task types. Every task type the system runs is listed here.
const (
	// TypePurgeSessions deletes sessions, kitchen devices included, that expired or were
	// revoked over a day ago.
	TypePurgeSessions = "auth:purge_sessions"
	// TypeExpireOrders expires unpaid orders past their payment deadline, giving back their
	// subsidy holds, supply and limit slots.
	TypeExpireOrders = "order:expire_unpaid"
	// TypeSweepPayments asks WeChat Pay about payments that had no notification for a
	// minute, and closes unpaid ones past their deadline.
	TypeSweepPayments = "payment:sweep"
	// TypeFetchTradeBill downloads yesterday's WeChat Pay trade bill, checks its SHA1 and
	// stores it raw and parsed; it runs hourly from 10:15 and does nothing once stored.
	// Then it reconciles every stored day that is due (bills.go).
	TypeFetchTradeBill = "payment:fetch_trade_bill"
	// TypeCreateTicket makes the kitchen ticket of a paid order (payload {"order_id",
	// "community_id"}); the outbox relay enqueues it for each order.paid row. Idempotent.
	TypeCreateTicket = "kitchen:create_ticket"
	// TypeMealReady sends the diner who subscribed the "meal ready" WeChat message, once
	// (payload {"order_id","community_id"}); a refused subscription (43101) is not retried.
	TypeMealReady = "notify:meal_ready"
	// TypeRedriveTickets makes the missing tickets of orders paid over 30 s ago, so a
	// flushed Redis or a lost task cannot leave a paid order without a ticket.
	TypeRedriveTickets = "kitchen:redrive_tickets"
	// TypeCloseMonth closes, on the 1st at 02:00 Asia/Shanghai, the previous month of every
	// community (and any earlier month still open), writing its statements; a month whose
	// checks find problems stays open and the attempt is recorded for finance. Idempotent:
	// a month closes once, whoever runs it.
	TypeCloseMonth = "settlement:close_month"
	// TypePrint prints a ticket (payload {"ticket_id","generation","community_id"};
	// generation 0 is its first print, n its nth reprint) on the canteen's network
	// printers that have not printed it yet; the outbox relay enqueues it for each
	// ticket.print row. A printer that is down makes it retry, every minute at most.
	TypePrint = "kitchen:print"
	// TypeRedrivePrints prints what the print tasks lost (a flushed Redis): jobs of the
	// last half hour that no run has tried for three minutes.
	TypeRedrivePrints = "kitchen:redrive_prints"
)

// Periodic is one scheduled task: cron spec in Asia/Shanghai.
type Periodic struct {
	Cron  string
	Type  string
	Queue string
}

// Schedule lists every periodic task.
var Schedule = []Periodic{
	{Cron: "17 * * * *", Type: TypePurgeSessions, Queue: QueueLow},
	{Cron: "* * * * *", Type: TypeExpireOrders, Queue: QueueCritical},
	{Cron: "* * * * *", Type: TypeSweepPayments, Queue: QueueCritical},
	{Cron: "15 10-23 * * *", Type: TypeFetchTradeBill, Queue: QueueLow},
	{Cron: "* * * * *", Type: TypeRedriveTickets, Queue: QueueDefault},
	{Cron: "0 2 1 * *", Type: TypeCloseMonth, Queue: QueueDefault},
	{Cron: "* * * * *", Type: TypeRedrivePrints, Queue: QueueDefault},
}

// Handlers are the functions behind the task types.
type Handlers struct {
	PurgeSessions func(ctx context.Context) (int64, error)
	ExpireOrders  func(ctx context.Context, limit int) (int, error)
	// SweepPayments queries at most limit payments; nil when WeChat Pay is not configured.
	SweepPayments func(ctx context.Context, limit int) (queried, credited int, err error)
	// FetchTradeBill stores yesterday's trade bill; nil when WeChat Pay is not configured.
	FetchTradeBill func(ctx context.Context) error
	// ReconcileBills reconciles the stored bill days that are due and says how many; it
	// runs after each FetchTradeBill (bills.go). Nil: bills are stored, not reconciled.
	ReconcileBills func(ctx context.Context) (int, error)
	// CreateTicket makes the ticket of a paid order, or finds the one it has.
	CreateTicket func(ctx context.Context, communityID, orderID int64) error
	// NotifyReady sends an order's "meal ready" message (at most once); nil: none is sent.
	NotifyReady func(ctx context.Context, communityID, orderID int64) error
	// UnticketedOrders lists up to limit orders paid more than age ago without a ticket.
	UnticketedOrders func(ctx context.Context, age time.Duration, limit int) ([]kitchen.OrderRef, error)
	// CloseMonths closes every community's due months (settlement.Service.CloseDue).
	CloseMonths func(ctx context.Context) ([]settlement.DueResult, error)
	// PrintTicket prints a ticket's print generation on the printers still owing it.
	PrintTicket func(ctx context.Context, communityID, ticketID int64, generation int) error
	// RedrivePrints prints what print tasks lost and returns how many generations it tried.
	RedrivePrints func(ctx context.Context) (int, error)
}

// Mux returns the asynq handler table. Every handler's error is classified by retryable.
func (h Handlers) Mux(log *slog.Logger) *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			start := time.Now()
			id, _ := asynq.GetTaskID(ctx)
			err := retryable(next.ProcessTask(ctx, t))
			attrs := []any{"type", t.Type(), "task_id", id, "duration_ms", time.Since(start).Milliseconds()}
			if err != nil {
				log.ErrorContext(ctx, "task failed", append(attrs, "err", err.Error())...)
			} else {
				log.InfoContext(ctx, "task done", attrs...)
			}
			return err
		})
	})
	mux.HandleFunc(TypePurgeSessions, func(ctx context.Context, _ *asynq.Task) error {
		n, err := h.PurgeSessions(ctx)
		if err != nil {
			return fmt.Errorf("purge sessions: %w", err)
		}
		log.InfoContext(ctx, "sessions purged", "count", n)
		return nil
	})
	mux.HandleFunc(TypeExpireOrders, func(ctx context.Context, _ *asynq.Task) error {
		total := 0
		for { // in batches, until none is left or the task's time runs out
			n, err := h.ExpireOrders(ctx, 200)
			total += n
			if err != nil {
				return fmt.Errorf("expire orders: %w", err)
			}
			if n < 200 {
				break
			}
		}
		if total > 0 {
			log.InfoContext(ctx, "unpaid orders expired", "count", total)
		}
		return nil
	})
	mux.HandleFunc(TypeSweepPayments, func(ctx context.Context, _ *asynq.Task) error {
		if h.SweepPayments == nil {
			return nil
		}
		// 100 a minute bounds the signing work (about 1 ms of CPU each) and WeChat's rate.
		queried, credited, err := h.SweepPayments(ctx, 100)
		if err != nil {
			return fmt.Errorf("sweep payments: %w", err)
		}
		if queried > 0 {
			log.InfoContext(ctx, "payments swept", "queried", queried, "credited", credited)
		}
		return nil
	})
	h.handleBills(mux, log)
	h.handleTickets(mux, log)
	h.handleSettlement(mux, log)
	h.handlePrint(mux, log)
	return mux
}
