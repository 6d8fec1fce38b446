package monthgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/payment"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
	"github.com/canteen-oss/canteen/internal/settlement"
)

// coreIdx numbers the core's own diners apart from the bulk's.
const coreIdx = 900_000

// coreState is the core's diners and the order refunded after the close.
type coreState struct {
	elders   []*persona // 0-3 order by WeChat, 4 is 特困 (pays nothing), 5 has no WeChat
	riders   []*persona
	generals []*persona
	seq      int
	late     order.Order // a rider's WeChat order with subsidy, refunded after the close
}

// coreDay says which of the core's occasional orders day d of a month has.
type coreDay struct {
	counterElder, tekun, cancel, expire, lostNotice, paidAfterExpiry, partialRefund, fullRefund bool
}

func coreDayOf(d civil.Date) coreDay {
	n := d.Day
	return coreDay{counterElder: n%2 == 0, tekun: n%5 == 0, cancel: n%3 == 0, expire: n%5 == 1, lostNotice: n%7 == 2,
		paidAfterExpiry: n == 10 || n == 20, partialRefund: n%4 == 0, fullRefund: n%6 == 0}
}

// coreOrderCount is how many orders the core places in month m.
func coreOrderCount(m settlement.Month) int {
	n := 0
	for d := m.First(); !d.After(m.Last()); d = d.AddDays(1) {
		c := coreDayOf(d)
		n += 6 // three elders, a diner of no group, a walk-in, a rider
		for _, b := range []bool{c.counterElder, c.tekun, c.cancel, c.expire, c.paidAfterExpiry} {
			if b {
				n++
			}
		}
	}
	return n
}

// core plays the core's month through the services, a day at a time.
func (w *World) core(ctx context.Context) error {
	for d := w.Month.First(); !d.After(w.Month.Last()); d = d.AddDays(1) {
		if err := w.coreDay(ctx, d); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	w.receive.mu.Lock()
	w.Stats.NotificationsSent += w.receive.received + w.receive.lost
	w.Stats.NotificationsDuplicate += w.receive.duplicate
	w.Stats.NotificationsLost += w.receive.lost
	w.Stats.RefundNotifications += w.receive.ref
	w.receive.mu.Unlock()
	return nil
}

func (w *World) dinerCaller(p *persona) order.Caller {
	return order.Caller{CommunityID: w.CommunityID, Kind: "diner", ID: p.diner, Name: "diner"}
}

func (w *World) counterCaller() order.Caller {
	return order.Caller{CommunityID: w.CommunityID, Kind: "staff", ID: w.counter, Name: "前台小王", Counter: true}
}

// placeCore places a cart through order.Service.
func (w *World) placeCore(ctx context.Context, by order.Caller, canteen int, d civil.Date, p catalog.Period, forDiner int64,
	pay order.Payment, cart ...cartLine) (order.Order, error) {
	w.cs.seq++
	req := order.PlaceRequest{Cart: order.Cart{CanteenID: w.Canteens[canteen].ID, Day: d, Period: p, ForDinerID: forDiner}, Payment: pay}
	for _, l := range cart {
		req.Lines = append(req.Lines, order.LineRequest{DishID: w.dishes[l.dish].ID, Qty: l.qty})
	}
	o, err := w.orders.Place(ctx, by, fmt.Sprintf("core-%s-%04d", d, w.cs.seq), req)
	if err != nil {
		return o, fmt.Errorf("place: %w", err)
	}
	w.Stats.CoreOrders++
	switch {
	case o.Status == order.Paid && o.Payment == order.None:
		w.Stats.ZeroPay++
	case o.Status == order.Paid:
		w.Stats.Cash++
	}
	return o, nil
}

// startPay opens the WeChat payment of o as the diner would (prepay at the fake) and
// returns its out_trade_no.
func (w *World) startPay(ctx context.Context, by order.Caller, o order.Order) (string, error) {
	if _, err := w.pay.Pay(ctx, by, o.ID); err != nil {
		return "", fmt.Errorf("pay order %d: %w", o.ID, err)
	}
	in, err := w.pstore.OpenIntent(ctx, o.ID)
	if err != nil {
		return "", err
	}
	return in.OutTradeNo, nil
}

// payCore pays o in WeChat: the fake marks it paid and posts the signed notification;
// every third payment's notification is sent twice more, and a lost one is answered 500.
func (w *World) payCore(ctx context.Context, by order.Caller, o order.Order, lost bool) error {
	no, err := w.startPay(ctx, by, o)
	if err != nil {
		return err
	}
	if lost {
		w.receive.loseNext(no)
	}
	err = w.fake.Pay(no)
	switch {
	case lost && errors.Is(err, wechatpayfake.ErrNotDelivered):
		return nil
	case err != nil:
		return fmt.Errorf("fake pay %s: %w", no, err)
	}
	w.Stats.WeChatPaid++
	if w.cs.seq%3 == 0 {
		statuses, err := w.fake.Notify(ctx, no, wechatpayfake.NotifyOptions{Duplicates: 1})
		if err != nil {
			return fmt.Errorf("notify %s again: %w", no, err)
		}
		for _, st := range statuses {
			if st != 204 {
				return fmt.Errorf("a repeated notification of %s got %d", no, st)
			}
		}
	}
	return nil
}

// refundCore refunds o (some lines, or all when lines is empty) through the payment
// service; the fake settles it and posts the refund notification (twice when again).
func (w *World) refundCore(ctx context.Context, by order.Caller, staff bool, o order.Order, lines []payment.RefundLine, again bool) (payment.Refund, error) {
	w.cs.seq++
	r, err := w.pay.RequestRefund(ctx, by, staff, o.ID, fmt.Sprintf("core-refund-%06d", w.cs.seq),
		payment.RefundInput{Lines: lines, Reason: "临时有事，不吃了"})
	if err != nil {
		return r, fmt.Errorf("refund order %d: %w", o.ID, err)
	}
	if err := w.fake.SettleRefund(r.OutRefundNo, true); err != nil {
		return r, fmt.Errorf("settle refund %s: %w", r.OutRefundNo, err)
	}
	if again {
		if _, err := w.fake.NotifyRefund(ctx, r.OutRefundNo, wechatpayfake.NotifyOptions{Duplicates: 1}); err != nil {
			return r, err
		}
	}
	w.Stats.Refunds++
	if len(lines) == 0 {
		w.Stats.FullRefunds++
	}
	return r, nil
}

// coreDay plays one day: lunch orders at 10:40 (elders by WeChat, one order of two
// lines, a diner of no group, a walk-in and an elder without WeChat paying cash, the
// 特困 elder who pays nothing, an order cancelled, one left to expire, one whose
// payment notification is lost), the sweeps that catch what was lost, a rider's
// afternoon order, and refunds at 15:00.
func (w *World) coreDay(ctx context.Context, d civil.Date) error {
	c := coreDayOf(d)
	lunch := shanghai(d, 10, 40, 0)
	el, g := w.cs.elders, w.cs.generals
	var twoLines, general order.Order
	var expired order.Order
	err := w.during(ctx, lunch, func() error {
		skip := d.Day % 4
		first := true
		for i := range 4 {
			if i == skip {
				continue
			}
			p := el[i]
			cart := []cartLine{{"长者套餐", 1}}
			if first {
				cart = append(cart, cartLine{"清炒时蔬", 1})
				if i == 1 {
					cart[1] = cartLine{"红烧肉", 1}
				}
			}
			o, err := w.placeCore(ctx, w.dinerCaller(p), p.home, d, catalog.Lunch, 0, order.WeChat, cart...)
			if err != nil {
				return err
			}
			if err := w.payCore(ctx, w.dinerCaller(p), o, first && c.lostNotice); err != nil {
				return err
			}
			if first {
				twoLines = o
			}
			first = false
		}
		var err error
		if general, err = w.placeCore(ctx, w.dinerCaller(g[0]), g[0].home, d, catalog.Lunch, 0, order.WeChat, cartLine{"营养套餐", 1}); err != nil {
			return err
		}
		if err := w.payCore(ctx, w.dinerCaller(g[0]), general, false); err != nil {
			return err
		}
		if _, err := w.placeCore(ctx, w.counterCaller(), d.Day%len(w.Canteens), d, catalog.Lunch, 0, order.Cash, cartLine{"营养套餐", 1}); err != nil {
			return err
		}
		if c.counterElder {
			if _, err := w.placeCore(ctx, w.counterCaller(), el[5].home, d, catalog.Lunch, el[5].diner, order.Cash, cartLine{"长者套餐", 1}); err != nil {
				return err
			}
		}
		if c.tekun {
			o, err := w.placeCore(ctx, w.dinerCaller(el[4]), el[4].home, d, catalog.Lunch, 0, order.WeChat, cartLine{"长者套餐", 1})
			if err != nil {
				return err
			}
			if o.Status != order.Paid || o.PayFen != 0 {
				return fmt.Errorf("the 特困 elder's order %d is %s with %d fen to pay", o.ID, o.Status, o.PayFen)
			}
		}
		if c.cancel {
			o, err := w.placeCore(ctx, w.dinerCaller(g[1]), g[1].home, d, catalog.Lunch, 0, order.WeChat, cartLine{"红烧肉", 1}, cartLine{"白粥", 1})
			if err != nil {
				return err
			}
			if _, err := w.startPay(ctx, w.dinerCaller(g[1]), o); err != nil {
				return err
			}
			if _, err := w.orders.Cancel(ctx, w.dinerCaller(g[1]), o.ID, ""); err != nil {
				return err
			}
			w.Stats.Cancelled++
		}
		if c.expire {
			p := el[skip]
			o, err := w.placeCore(ctx, w.dinerCaller(p), p.home, d, catalog.Lunch, 0, order.WeChat, cartLine{"长者套餐", 1})
			if err != nil {
				return err
			}
			if _, err := w.startPay(ctx, w.dinerCaller(p), o); err != nil {
				return err
			}
		}
		if c.paidAfterExpiry {
			if expired, err = w.placeCore(ctx, w.dinerCaller(g[2]), g[2].home, d, catalog.Lunch, 0, order.WeChat, cartLine{"牛肉面", 1}); err != nil {
				return err
			}
			// Paid in WeChat just before the deadline, but the notification never arrives.
			if err := w.payCore(ctx, w.dinerCaller(g[2]), expired, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c.lostNotice {
		// Three minutes on, the sweep asks WeChat about the payment it heard nothing of.
		err := w.during(ctx, lunch.Add(3*time.Minute), func() error {
			res, err := w.pay.Sweep(ctx, 100)
			if err != nil {
				return err
			}
			w.Stats.CreditedByQuery += res.Credited
			w.Stats.WeChatPaid += res.Credited
			return nil
		})
		if err != nil {
			return err
		}
	}
	// After the deadline: the expiry sweep, then the payment sweep (closing what was never
	// paid, and finding the payment that came for an order already expired), then the
	// refund sweep sending that money back.
	err = w.during(ctx, lunch.Add(payTimeout+2*time.Minute), func() error {
		n, err := w.orders.ExpireDue(ctx, 100)
		if err != nil {
			return err
		}
		w.Stats.Expired += n
		if _, err := w.pay.Sweep(ctx, 100); err != nil {
			return err
		}
		if c.paidAfterExpiry {
			if _, err := w.pay.SweepRefunds(ctx, 100); err != nil {
				return err
			}
			var no string
			if err := w.DB.NewRaw("SELECT out_refund_no FROM refunds WHERE order_id = ? AND kind = 'return'", expired.ID).Scan(ctx, &no); err != nil {
				return fmt.Errorf("the return of order %d: %w", expired.ID, err)
			}
			if err := w.fake.SettleRefund(no, true); err != nil {
				return err
			}
			w.Stats.PaidAfterExpiry++
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A rider's order at 14:30 for dinner, at the riders' afternoon price.
	err = w.during(ctx, shanghai(d, 14, 30, 0), func() error {
		r := w.cs.riders[0]
		o, err := w.placeCore(ctx, w.dinerCaller(r), r.home, d, catalog.Dinner, 0, order.WeChat, cartLine{"牛肉面", 1})
		if err != nil {
			return err
		}
		if err := w.payCore(ctx, w.dinerCaller(r), o, false); err != nil {
			return err
		}
		if d == w.Month.Last().AddDays(-2) {
			w.cs.late = o
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !c.partialRefund && !c.fullRefund {
		return nil
	}
	return w.during(ctx, shanghai(d, 15, 0, 0), func() error {
		if c.partialRefund {
			staff := w.counterCaller()
			if _, err := w.refundCore(ctx, staff, true, twoLines, []payment.RefundLine{{LineNo: 2, Qty: 1}}, d.Day%8 == 0); err != nil {
				return err
			}
		}
		if c.fullRefund {
			if _, err := w.refundCore(ctx, w.dinerCaller(g[0]), false, general, nil, false); err != nil {
				return err
			}
		}
		return nil
	})
}

// during runs fn with the clock at t, then moves what the database stamped with its own
// clock meanwhile (ledger entries, payments, refunds asked for and settled) to t. The
// ledger is append-only; its trigger is set aside for that one correction.
func (w *World) during(ctx context.Context, t time.Time, fn func() error) error {
	w.Clock.Set(t)
	var mark struct {
		Ledger  int64     `bun:"ledger"`
		Payment int64     `bun:"payment"`
		Refund  int64     `bun:"refund"`
		Now     time.Time `bun:"now"`
	}
	if err := w.DB.NewRaw(`SELECT (SELECT coalesce(max(id), 0) FROM ledger_entries) AS ledger,
		(SELECT coalesce(max(id), 0) FROM payments) AS payment, (SELECT coalesce(max(id), 0) FROM refunds) AS refund,
		clock_timestamp() AS now`).Scan(ctx, &mark); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	return w.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"SET LOCAL session_replication_role = replica", nil},
			{"UPDATE ledger_entries SET created_at = ? WHERE id > ?", []any{t, mark.Ledger}},
			{"UPDATE payments SET created_at = ? WHERE id > ?", []any{t, mark.Payment}},
			{"UPDATE refunds SET created_at = ? WHERE id > ?", []any{t, mark.Refund}},
			{"UPDATE refunds SET settled_at = ? WHERE settled_at >= ?", []any{t, mark.Now}},
		} {
			if _, err := tx.NewRaw(q.sql, q.args...).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}
