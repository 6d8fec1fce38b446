package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/canteen-oss/canteen/internal/kitchen"
)

// Outbox is the outbox table as the relay sees it (kitchendb.Outbox). Relay calls send for
// up to limit unsent rows, oldest first and skipping rows another relay holds, and marks
// the rows send accepted as sent, in one transaction.
type Outbox interface {
	Relay(ctx context.Context, limit int, send func(ctx context.Context, key string, communityID int64, topic string, payload []byte) error) (int, error)
}

// relayBatch is how many outbox rows one relay transaction takes.
const relayBatch = 100

// RelayOutbox carries every unsent outbox row to asynq, in batches, and returns how many
// rows it marked sent. Each row becomes at most one task: its TaskID is "outbox-<key>"
// (the row's id and creation time, so that rows of another database sharing the Redis
// never collide), kept for 24 h after completion, and ErrTaskIDConflict counts as sent. An order.paid row
// becomes a TypeCreateTicket task, an order.ready row a TypeMealReady task and a
// ticket.print row a TypePrint task (each with its own MaxRetry); rows of
// topics no task consumes yet (order.placed,
// order.cancelled, order.ready ...) are marked sent without a task.
func RelayOutbox(ctx context.Context, ob Outbox, client *asynq.Client) (int, error) {
	send := func(ctx context.Context, key string, communityID int64, topic string, payload []byte) error {
		task, err := outboxTask(communityID, topic, payload)
		if err != nil || task == nil {
			return err
		}
		_, err = client.EnqueueContext(ctx, task, asynq.TaskID("outbox-"+key),
			asynq.Retention(24*time.Hour), asynq.Queue(QueueDefault))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("enqueue outbox row %s: %w", key, err)
		}
		return nil
	}
	total := 0
	for {
		n, err := ob.Relay(ctx, relayBatch, send)
		total += n
		if err != nil {
			return total, fmt.Errorf("jobs: relay outbox: %w", err)
		}
		if n < relayBatch {
			return total, nil
		}
	}
}

// outboxTask returns the task an outbox row stands for, or nil when no task consumes its
// topic.
func outboxTask(communityID int64, topic string, payload []byte) (*asynq.Task, error) {
	if topic == kitchen.TopicPrint {
		return printTask(communityID, payload)
	}
	taskType := map[string]string{"order.paid": TypeCreateTicket, "order.ready": TypeMealReady}[topic]
	if taskType == "" {
		return nil, nil
	}
	var p TicketPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("outbox %s payload: %w", topic, err)
	}
	p.CommunityID = communityID
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(taskType, b, asynq.MaxRetry(10)), nil
}

// RelayOptions configure RunRelay.
type RelayOptions struct {
	Interval time.Duration // between passes when nothing wakes the relay; 1 s when zero
	// Wake, when not nil, starts a pass at once: cmd feeds it from PostgreSQL's
	// notification of each committed outbox row, so a paid order need not wait for the
	// next Interval. A pass that runs takes every row written before it, so one pending
	// value (a channel of capacity 1, sent to without blocking) is enough.
	Wake <-chan struct{}
	Log  *slog.Logger
}

// RunRelay relays the outbox (RelayOutbox) when woken and every Interval until ctx is
// done. Every worker process runs it: FOR UPDATE SKIP LOCKED lets relays share the table
// without waiting on each other or sending a row twice, so no leader is needed and none
// can stall it.
func RunRelay(ctx context.Context, rdb redis.UniversalClient, ob Outbox, opt RelayOptions) error {
	if opt.Interval == 0 {
		opt.Interval = time.Second
	}
	client := asynq.NewClientFromRedisClient(rdb)
	tick := time.NewTicker(opt.Interval)
	defer tick.Stop()
	for {
		n, err := RelayOutbox(ctx, ob, client)
		if err != nil && ctx.Err() == nil {
			opt.Log.ErrorContext(ctx, "outbox relay failed", "sent", n, "err", err.Error())
		} else if n > 0 {
			opt.Log.DebugContext(ctx, "outbox relayed", "sent", n)
		}
		wake := opt.Wake
		if err != nil {
			wake = nil // while Redis or PostgreSQL fails, retry every Interval, not on every row
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-wake: // a nil channel never fires
		}
	}
}
