package monthgen

import (
	"time"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/funding"
)

// slot is one meal period of one day of the bulk: how many orders of each kind of diner.
type slot struct {
	day                               civil.Date
	period                            catalog.Period
	elders, riders, generals, walkIns int
}

// bulkOrders is how many orders the bulk makes: all but the core's.
func (w *World) bulkOrders() int { return max(w.opt.Orders-coreOrderCount(w.Month), 0) }

// periodWeight is the share of a day's orders each meal period takes, in percent; the
// mix says which diners order (elders, riders, others, walk-ins), in percent.
var (
	periodWeight = map[catalog.Period]int64{catalog.Breakfast: 20, catalog.Lunch: 45, catalog.Dinner: 35}
	periodMix    = map[catalog.Period][4]int{
		catalog.Breakfast: {50, 0, 40, 10},
		catalog.Lunch:     {60, 8, 22, 10},
		catalog.Dinner:    {45, 30, 15, 10},
	}
)

// slotPlan spreads the bulk's orders over the month's meal periods (weekends a little
// quieter), to the order.
func (w *World) slotPlan() []slot {
	var slots []slot
	var weights []int64
	for d := w.Month.First(); !d.After(w.Month.Last()); d = d.AddDays(1) {
		for _, p := range periods {
			wt := periodWeight[p] * 100
			if d.ISOWeekday() >= 6 {
				wt = wt * 85 / 100
			}
			slots = append(slots, slot{day: d, period: p})
			weights = append(weights, wt)
		}
	}
	counts := funding.Apportion(int64(w.bulkOrders()), weights)
	for i := range slots {
		c := int(counts[i])
		mix := periodMix[slots[i].period]
		s := &slots[i]
		s.elders, s.riders, s.walkIns = c*mix[0]/100, c*mix[1]/100, c*mix[3]/100
		s.generals = c - s.elders - s.riders - s.walkIns
	}
	return slots
}

// cartLine is one dish of a cart, by name.
type cartLine struct {
	dish string
	qty  int
}

type fateKind int

const (
	fatePay    fateKind = iota // paid by WeChat
	fateCancel                 // cancelled by the diner before paying
	fateExpire                 // never paid: expired by the sweep
	fateAtOnce                 // paid when placed: cash at the counter, or nothing to pay
)

type refundKind int

const (
	noRefund refundKind = iota
	refundAll
	refundLine // the last line with something paid
)

// fate is how an order ends, drawn when it is planned.
type fate struct {
	kind        fateKind
	after       time.Duration // pay: until WeChat's success; cancel: until the cancel; expire: past the deadline
	intentAfter time.Duration // when the diner opened the pay sheet; 0: never
	refund      refundKind
	refundAfter time.Duration // after the payment
}

// request is one order of the bulk as the diner (or the counter) asks for it.
type request struct {
	at      time.Time
	day     civil.Date
	period  catalog.Period
	canteen int
	p       *persona // nil: a walk-in at the counter
	counter bool     // placed by the counter staff and paid in cash
	cart    []cartLine
	fate    fate
}

// requests draws the orders of slot s: who, where, when, what and how it ends.
func (w *World) requests(s slot, si int) []request {
	var out []request
	r := w.rnd
	at := func(from, minutes int) time.Time {
		return shanghai(s.day, 0, 0, 0).Add(time.Duration(from)*time.Minute + time.Duration(r.intn(minutes*60))*time.Second)
	}
	when := func(rider bool) time.Time {
		switch {
		case s.period == catalog.Breakfast:
			return at(6*60+30, 115)
		case s.period == catalog.Lunch:
			return at(10*60, 170)
		case rider:
			return at(14*60, 119) // the riders' afternoon price
		}
		return at(16*60, 140)
	}
	canteen := func(p *persona) int {
		if r.chance(0.85) {
			return p.home
		}
		return r.intn(len(w.Canteens))
	}
	take := func(pool []*persona, n, stride int) []*persona {
		if n == 0 || len(pool) == 0 {
			return nil
		}
		start := (si * stride) % len(pool)
		out := make([]*persona, n)
		for i := range out {
			out[i] = pool[(start+i)%len(pool)]
		}
		return out
	}
	for _, p := range take(w.elders, s.elders, 7919) {
		q := request{at: when(false), day: s.day, period: s.period, canteen: canteen(p), p: p}
		q.counter = p.openid == "" || r.chance(0.1)
		q.cart = w.elderCart(s.period)
		out = append(out, q)
	}
	for _, p := range take(w.riders, s.riders, 104729) {
		q := request{at: when(s.period == catalog.Dinner), day: s.day, period: s.period, canteen: canteen(p), p: p}
		q.cart = []cartLine{{"营养套餐", 1}}
		switch x := r.intn(10); {
		case s.period != catalog.Dinner:
		case x < 5:
			q.cart = []cartLine{{"牛肉面", 1}}
		case x < 9:
			q.cart = []cartLine{{"营养套餐", 1}}
		default:
			q.cart = []cartLine{{"牛肉面", 1}, {"白粥", 1}}
		}
		out = append(out, q)
	}
	for _, p := range take(w.generals, s.generals, 15485863) {
		q := request{at: when(false), day: s.day, period: s.period, canteen: canteen(p), p: p}
		q.cart = w.generalCart(s.period)
		out = append(out, q)
	}
	for range s.walkIns {
		q := request{at: when(false), day: s.day, period: s.period, canteen: r.intn(len(w.Canteens)), counter: true}
		q.cart = []cartLine{{"营养套餐", 1}}
		if s.period == catalog.Breakfast {
			q.cart = []cartLine{{"早餐套餐", 1}}
		} else if r.chance(0.4) {
			q.cart = []cartLine{{"长者套餐", 1}}
		}
		out = append(out, q)
	}
	for i := range out {
		out[i].fate = w.drawFate(out[i])
	}
	return out
}

func (w *World) elderCart(p catalog.Period) []cartLine {
	x := w.rnd.intn(100)
	if p == catalog.Breakfast {
		if x < 70 {
			return []cartLine{{"早餐套餐", 1}}
		}
		return []cartLine{{"早餐套餐", 1}, {"白粥", 1}}
	}
	switch {
	case x < 60:
		return []cartLine{{"长者套餐", 1}}
	case x < 80:
		return []cartLine{{"长者套餐", 1}, {"清炒时蔬", 1}}
	case x < 95:
		return []cartLine{{"长者套餐", 1}, {"红烧肉", 1}}
	}
	return []cartLine{{"红烧肉", 1}, {"白粥", 1}}
}

func (w *World) generalCart(p catalog.Period) []cartLine {
	x := w.rnd.intn(100)
	if p == catalog.Breakfast {
		if x < 60 {
			return []cartLine{{"早餐套餐", 1}}
		}
		return []cartLine{{"白粥", 2}}
	}
	switch {
	case x < 40:
		return []cartLine{{"营养套餐", 1}}
	case x < 70:
		return []cartLine{{"红烧肉", 1}, {"白粥", 1}}
	}
	return []cartLine{{"牛肉面", 1}}
}

// drawFate decides how a WeChat order ends: most are paid within two minutes, a few
// cancelled or left to expire; of the paid, a few are refunded later the same day, in
// full or one line. Counter orders are paid in cash when placed.
func (w *World) drawFate(q request) fate {
	r := w.rnd
	if q.counter {
		return fate{kind: fateAtOnce}
	}
	x := r.intn(1000)
	switch {
	case x < 50:
		f := fate{kind: fateCancel, after: time.Duration(r.between(20, 400)) * time.Second}
		if r.chance(0.6) {
			f.intentAfter = time.Duration(r.between(2, 15)) * time.Second
		}
		return f
	case x < 90:
		f := fate{kind: fateExpire, after: time.Duration(r.between(5, 59)) * time.Second}
		if r.chance(0.7) {
			f.intentAfter = time.Duration(r.between(2, 15)) * time.Second
		}
		return f
	}
	f := fate{kind: fatePay, after: time.Duration(r.between(8, 120)) * time.Second,
		intentAfter: time.Duration(r.between(2, 6)) * time.Second}
	switch y := r.intn(1000); {
	case y < 25:
		f.refund = refundAll
	case y < 50 && len(q.cart) > 1:
		f.refund = refundLine
	}
	if f.refund != noRefund {
		f.refundAfter = time.Duration(r.between(60, 240)) * time.Minute
	}
	return f
}
