package order

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Catalog is what ordering reads of canteens and menus.
type Catalog interface {
	GetCanteen(ctx context.Context, communityID, id int64) (catalog.Canteen, error)
	GetMenu(ctx context.Context, communityID, canteenID int64, day civil.Date, period catalog.Period) (catalog.Menu, error)
	GetDish(ctx context.Context, communityID, id int64) (catalog.Dish, error)
	ListClosures(ctx context.Context, communityID, canteenID int64, from, to civil.Date) ([]catalog.Closure, error)
}

// Eligibility is what ordering reads of who belongs to which group.
type Eligibility interface {
	ActiveFor(ctx context.Context, communityID, dinerID int64, at time.Time) ([]eligibility.Active, error)
	ForDiner(ctx context.Context, communityID, dinerID int64) ([]eligibility.Eligibility, error)
	CanOrderFor(ctx context.Context, communityID, actorDinerID, forDinerID int64) (bool, error)
}

// Policies gives the subsidy policies in force on a day.
type Policies interface {
	ActivePolicies(ctx context.Context, communityID int64, day civil.Date) ([]subsidy.Policy, error)
}

// Store keeps orders. Place runs in one transaction: it takes supply (never below zero:
// ErrSoldOut), holds the subsidy in the ledger (funding.ErrBudgetExhausted), claims the
// limit slots (ErrLimitReached), writes the order and its outbox rows, and, when nothing
// is payable, marks it paid and commits the holds.
type Store interface {
	Available(ctx context.Context, communityID int64, pledgeIDs []int64, day civil.Date) (map[int64]int64, error)
	Usage(ctx context.Context, communityID, dinerID int64, windows []Window) (map[subsidy.UsageKey]subsidy.Usage, error)
	ByIdempotencyKey(ctx context.Context, communityID int64, placedByKind string, placedByID int64, key string) (Order, []byte, error)
	Place(ctx context.Context, p Placement) (Order, error)
	Get(ctx context.Context, communityID, id int64) (Order, error)
	ListForDiner(ctx context.Context, communityID, dinerID int64, limit int) ([]Order, error)
	Cancel(ctx context.Context, communityID, id int64, to Status, reason string, now time.Time) (Order, error)
	DuePending(ctx context.Context, before time.Time, limit int) ([]Order, error)
}

// Window names one limit window of a policy for a diner: the engine's key and the stored key.
type Window struct {
	Key       subsidy.UsageKey
	WindowKey string
}

// Placement is everything Store.Place writes.
type Placement struct {
	Order          Order
	IdempotencyKey string
	RequestHash    []byte
	Holds          []funding.Hold
	Claims         []ClaimRow
}

// ClaimRow is one limit claim with the limit it counts against (0: no limit of that kind).
type ClaimRow struct {
	PolicyID  int64
	WindowKey string
	Count     int
	Fen       int64
	MaxCount  int
	MaxFen    int64
}

// Options tune the service.
type Options struct {
	PayTimeout time.Duration // how long an unpaid order holds its subsidy and supply
	Now        func() time.Time
}

// Service quotes and places orders.
type Service struct {
	catalog  Catalog
	elig     Eligibility
	policies Policies
	store    Store
	opt      Options
}

// NewService returns a Service.
func NewService(c Catalog, e Eligibility, p Policies, s Store, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.PayTimeout <= 0 {
		opt.PayTimeout = 15 * time.Minute
	}
	return &Service{catalog: c, elig: e, policies: p, store: s, opt: opt}
}

// checkCart validates the shape of a cart; the offending fields are named.
func checkCart(f *apperr.Fields, c Cart) {
	f.Check(c.CanteenID > 0, "canteen_id", "required")
	f.Check(c.Day.IsValid(), "day", "required, YYYY-MM-DD")
	f.Check(c.Period.Valid(), "period", "breakfast, lunch or dinner")
	f.Check(len(c.Lines) >= 1 && len(c.Lines) <= MaxLines, "lines", fmt.Sprintf("1 to %d lines", MaxLines))
	seen := map[int64]bool{}
	for i, l := range c.Lines {
		p := fmt.Sprintf("lines[%d]", i)
		f.Check(l.DishID > 0, p+".dish_id", "required")
		f.Check(!seen[l.DishID], p+".dish_id", "the same dish twice: raise qty instead")
		seen[l.DishID] = true
		f.Check(l.Qty >= 1 && l.Qty <= MaxQty, p+".qty", fmt.Sprintf("1 to %d", MaxQty))
		f.Check(utf8.RuneCountInString(l.Note) <= MaxNote, p+".note", fmt.Sprintf("at most %d characters", MaxNote))
	}
	f.Check(c.ForDinerID >= 0, "for_diner_id", "must be a positive id")
	switch c.Kind {
	case "", DineIn, Takeaway, Delivery:
	default:
		f.Add("kind", "dine_in, takeaway or delivery")
	}
}

// dinerFor works out whose price the cart gets. Errors: Forbidden.
func (s *Service) dinerFor(ctx context.Context, by Caller, forID int64) (int64, error) {
	switch {
	case forID == 0 && by.Kind == "diner":
		return by.ID, nil
	case forID == 0:
		return 0, nil // a walk-in at the counter: the general price
	case by.Kind == "staff" && by.Counter:
		return forID, nil
	case by.Kind == "diner" && forID == by.ID:
		return by.ID, nil
	case by.Kind == "diner":
		ok, err := s.elig.CanOrderFor(ctx, by.CommunityID, by.ID, forID)
		if err != nil {
			return 0, err
		}
		if ok {
			return forID, nil
		}
	}
	return 0, ErrNotYours
}

// Quote prices a cart for the caller (or the diner it orders for) now. Errors: Invalid
// (the fields named), NotFound, FailedPrecondition (closed, past cut-off), Forbidden.
func (s *Service) Quote(ctx context.Context, by Caller, c Cart) (Quote, error) {
	var f apperr.Fields
	checkCart(&f, c)
	if err := f.Err(); err != nil {
		return Quote{}, err
	}
	dinerID, err := s.dinerFor(ctx, by, c.ForDinerID)
	if err != nil {
		return Quote{}, err
	}
	return s.price(ctx, by.CommunityID, dinerID, c, s.opt.Now())
}

func (s *Service) price(ctx context.Context, communityID, dinerID int64, c Cart, now time.Time) (Quote, error) {
	ct, menu, err := s.openMenu(ctx, communityID, c, now)
	if err != nil {
		return Quote{}, err
	}
	items := map[int64]catalog.MenuItem{}
	for _, it := range menu.Items {
		items[it.DishID] = it
	}
	var f apperr.Fields
	in := subsidy.Input{At: now, Day: c.Day, Period: c.Period, CanteenID: c.CanteenID, CanteenDistrict: ct.District}
	for i, l := range c.Lines {
		it, ok := items[l.DishID]
		if !ok {
			if _, err := s.catalog.GetDish(ctx, communityID, l.DishID); apperr.KindOf(err) == apperr.NotFound {
				f.Add(fmt.Sprintf("lines[%d].dish_id", i), "no such dish")
			} else {
				f.Add(fmt.Sprintf("lines[%d].dish_id", i), "not on this menu")
			}
			continue
		}
		in.Lines = append(in.Lines, subsidy.Line{DishID: l.DishID, Category: it.Category, UnitFen: it.PriceFen, Qty: l.Qty})
	}
	if err := f.Err(); err != nil {
		return Quote{}, err
	}
	if c.Kind == Delivery && !slices.ContainsFunc(in.Lines, func(l subsidy.Line) bool { return l.Category == DeliveryCategory }) {
		i := slices.IndexFunc(menu.Items, func(it catalog.MenuItem) bool { return it.Category == DeliveryCategory })
		if i < 0 {
			return Quote{}, ErrNoDelivery
		}
		fee := menu.Items[i]
		in.Lines = append(in.Lines, subsidy.Line{DishID: fee.DishID, Category: fee.Category, UnitFen: fee.PriceFen, Qty: 1})
		c.Lines = append(slices.Clone(c.Lines), LineRequest{DishID: fee.DishID, Qty: 1})
	}
	var reasons []Reason
	if dinerID > 0 {
		active, err := s.elig.ActiveFor(ctx, communityID, dinerID, c.Day.Start())
		if err != nil {
			return Quote{}, err
		}
		for _, a := range active {
			in.Diner.Eligibilities = append(in.Diner.Eligibilities, subsidy.Eligibility{
				Group: a.Group, BirthDate: a.BirthDate, Flags: a.Flags, District: a.District})
		}
		if reasons, err = s.expired(ctx, communityID, dinerID, active, c.Day); err != nil {
			return Quote{}, err
		}
		if in.Policies, err = s.policies.ActivePolicies(ctx, communityID, c.Day); err != nil {
			return Quote{}, err
		}
	}
	var pledges []int64
	var windows []Window
	for _, p := range in.Policies {
		for _, part := range p.Funding.Parts {
			if !slices.Contains(pledges, part.PledgeID) {
				pledges = append(pledges, part.PledgeID)
			}
		}
		for _, l := range p.Limits {
			windows = append(windows, Window{Key: subsidy.UsageKey{PolicyID: p.ID, Window: l.Window}, WindowKey: l.Window.Key(c.Day, c.Period)})
		}
	}
	if len(pledges) > 0 {
		if in.Available, err = s.store.Available(ctx, communityID, pledges, c.Day); err != nil {
			return Quote{}, err
		}
	}
	if len(windows) > 0 {
		if in.Usage, err = s.store.Usage(ctx, communityID, dinerID, windows); err != nil {
			return Quote{}, err
		}
	}
	priced, err := subsidy.Price(in)
	if err != nil {
		return Quote{}, fmt.Errorf("order: price: %w", err)
	}
	q := Quote{CanteenID: c.CanteenID, Day: c.Day, Period: c.Period, DinerID: dinerID,
		StandardFen: priced.StandardFen, SubsidyFen: priced.SubsidyFen, PayFen: priced.PayFen,
		Reasons: append(append([]Reason{}, reasons...), priced.Reasons...), priced: priced, policies: in.Policies, menuID: menu.ID}
	for i, pl := range priced.Lines {
		it := items[pl.DishID]
		q.Lines = append(q.Lines, QuoteLine{DishID: pl.DishID, Name: it.Name, Category: it.Category, Qty: pl.Qty,
			UnitFen: pl.UnitFen, StandardFen: pl.StandardFen, SubsidyFen: pl.SubsidyFen, PayFen: pl.PayFen,
			Parts: pl.Parts, Reasons: pl.Reasons, Note: strings.TrimSpace(c.Lines[i].Note)})
	}
	return q, nil
}

// expired explains a lapsed eligibility the diner has no live replacement for.
func (s *Service) expired(ctx context.Context, communityID, dinerID int64, active []eligibility.Active, day civil.Date) ([]Reason, error) {
	all, err := s.elig.ForDiner(ctx, communityID, dinerID)
	if err != nil {
		return nil, err
	}
	var out []Reason
	for _, e := range all {
		live := slices.ContainsFunc(active, func(a eligibility.Active) bool { return a.Group == e.Group })
		if e.Status == eligibility.Expired && !live {
			out = append(out, Reason{Code: ReasonEligibilityExpired, Detail: fmt.Sprintf(
				"您的%s资格已于 %s 到期，请重新申请 / your %s eligibility expired on %s; apply again",
				groupLabel(e.Group), e.ValidUntil, e.Group, e.ValidUntil)})
		}
	}
	return out, nil
}

func groupLabel(g subsidy.Group) string {
	switch g {
	case subsidy.Elderly:
		return "老年人"
	case subsidy.Worker:
		return "新就业群体"
	}
	return string(g)
}

// openMenu checks the canteen serves this meal, it is still open for orders and not too
// far ahead, and returns the published menu.
func (s *Service) openMenu(ctx context.Context, communityID int64, c Cart, now time.Time) (catalog.Canteen, catalog.Menu, error) {
	ct, err := s.catalog.GetCanteen(ctx, communityID, c.CanteenID)
	if err != nil {
		return ct, catalog.Menu{}, err
	}
	closures, err := s.catalog.ListClosures(ctx, communityID, c.CanteenID, c.Day, c.Day)
	if err != nil {
		return ct, catalog.Menu{}, err
	}
	mp, ok := ct.MealPeriod(c.Period)
	if !ok || !mp.Enabled || !ct.ServesOn(c.Day, closures) {
		return ct, catalog.Menu{}, ErrCanteenClosed
	}
	today := civil.Today(now)
	cutoff := c.Day.Start().Add(time.Duration(mp.OrderCutoff) * time.Minute)
	switch {
	case !now.Before(cutoff):
		return ct, catalog.Menu{}, ErrPastCutoff
	case c.Day.After(today.AddDays(mp.PreorderDays)):
		return ct, catalog.Menu{}, ErrTooFarAhead
	}
	menu, err := s.catalog.GetMenu(ctx, communityID, c.CanteenID, c.Day, c.Period)
	if err != nil || menu.Status != catalog.Published {
		if err == nil || apperr.KindOf(err) == apperr.NotFound {
			return ct, catalog.Menu{}, apperr.New(apperr.NotFound, "menu_not_found", "这一餐还没有菜单 / no menu is published for this meal")
		}
		return ct, catalog.Menu{}, err
	}
	return ct, menu, nil
}

// RequestHash is the fingerprint of a place request that an Idempotency-Key is bound to.
func RequestHash(by Caller, r PlaceRequest) []byte {
	b, _ := json.Marshal(struct {
		By  Caller
		Req PlaceRequest
	}{by, r})
	h := sha256.Sum256(b)
	return h[:]
}

// Place orders a cart. The same idempotency key with the same request returns the same
// order; with another request it is ErrIdempotencyReuse. When money or a limit ran out
// since the price was worked out, or the price differs from ExpectPayFen, the error is
// Conflict and carries the new quote under "quote". Errors: as Quote, plus Conflict.
func (s *Service) Place(ctx context.Context, by Caller, key string, r PlaceRequest) (Order, error) {
	var f apperr.Fields
	checkCart(&f, r.Cart)
	key = strings.TrimSpace(key)
	f.Check(len(key) >= 8 && len(key) <= 128, "Idempotency-Key", "a header of 8 to 128 characters is required")
	if r.Kind == "" {
		r.Kind = DineIn
	}
	if r.Kind == Delivery {
		n := utf8.RuneCountInString(strings.TrimSpace(r.DeliveryAddress))
		f.Check(n >= 4 && n <= MaxAddress, "delivery_address", fmt.Sprintf("4 to %d characters", MaxAddress))
	} else {
		f.Check(strings.TrimSpace(r.DeliveryAddress) == "", "delivery_address", "only for delivery orders")
	}
	if r.Payment == "" {
		r.Payment = WeChat
	}
	f.Check(r.Payment == WeChat || (r.Payment == Cash && by.Counter), "payment", "wechat, or cash at the counter")
	if err := f.Err(); err != nil {
		return Order{}, err
	}
	hash := RequestHash(by, r)
	if prev, prevHash, err := s.store.ByIdempotencyKey(ctx, by.CommunityID, by.Kind, by.ID, key); err == nil {
		return s.replay(prev, prevHash, hash)
	} else if apperr.KindOf(err) != apperr.NotFound {
		return Order{}, err
	}
	dinerID, err := s.dinerFor(ctx, by, r.ForDinerID)
	if err != nil {
		return Order{}, err
	}
	now := s.opt.Now()
	q, err := s.price(ctx, by.CommunityID, dinerID, r.Cart, now)
	if err != nil {
		return Order{}, err
	}
	if r.ExpectPayFen != nil && *r.ExpectPayFen != q.PayFen {
		return Order{}, withQuote(ErrPriceChanged, q)
	}
	p := s.placement(by, dinerID, key, hash, r, q, now)
	o, err := s.store.Place(ctx, p)
	switch {
	case err == nil:
		return o, nil
	case errors.Is(err, ErrIdempotencyReuse):
		prev, prevHash, gerr := s.store.ByIdempotencyKey(ctx, by.CommunityID, by.Kind, by.ID, key)
		if gerr != nil {
			return Order{}, gerr
		}
		return s.replay(prev, prevHash, hash)
	case errors.Is(err, funding.ErrBudgetExhausted), errors.Is(err, ErrLimitReached):
		// Someone else got there first: say what the cart costs now.
		if fresh, qerr := s.price(ctx, by.CommunityID, dinerID, r.Cart, s.opt.Now()); qerr == nil {
			return Order{}, withQuote(err, fresh)
		}
	}
	return Order{}, err
}

func (s *Service) replay(prev Order, prevHash, hash []byte) (Order, error) {
	if string(prevHash) != string(hash) {
		return Order{}, ErrIdempotencyReuse
	}
	prev.Replayed = true
	return prev, nil
}

func withQuote(err error, q Quote) error {
	e, _ := apperr.As(err)
	out := *e
	out.Err = err
	out.Extra = map[string]any{"quote": q}
	return &out
}

func (s *Service) placement(by Caller, dinerID int64, key string, hash []byte, r PlaceRequest, q Quote, now time.Time) Placement {
	o := Order{CommunityID: by.CommunityID, CanteenID: r.CanteenID, MenuID: q.menuID, PlacedByKind: by.Kind, PlacedByID: by.ID,
		Day: r.Day, Period: r.Period, Kind: r.Kind, DeliveryAddress: strings.TrimSpace(r.DeliveryAddress),
		Status: Pending, Payment: r.Payment, StandardFen: q.StandardFen, SubsidyFen: q.SubsidyFen, PayFen: q.PayFen,
		PayDeadline: now.Add(s.opt.PayTimeout), CreatedAt: now, NotifyReady: r.NotifyReady && by.Kind == "diner"}
	if dinerID > 0 {
		o.DinerID = &dinerID
	}
	switch {
	case q.PayFen == 0:
		o.Status, o.Payment, o.PaidAt = Paid, None, &now
	case r.Payment == Cash:
		o.Status, o.PaidAt = Paid, &now // cash taken at the counter
	}
	for i, l := range q.Lines {
		o.Lines = append(o.Lines, Line{LineNo: i + 1, DishID: l.DishID, Name: l.Name, Category: l.Category, Qty: l.Qty,
			UnitFen: l.UnitFen, StandardFen: l.StandardFen, SubsidyFen: l.SubsidyFen, PayFen: l.PayFen, Note: l.Note, Parts: l.Parts})
	}
	p := Placement{Order: o, IdempotencyKey: key, RequestHash: hash}
	for _, h := range q.priced.Holds {
		p.Holds = append(p.Holds, funding.Hold{PledgeID: h.PledgeID, PolicyID: h.PolicyID, PolicyVersion: h.PolicyVersion, Fen: h.Fen})
	}
	for _, c := range q.priced.Claims {
		row := ClaimRow{PolicyID: c.PolicyID, WindowKey: c.Key, Count: c.Count, Fen: c.AmountFen}
		for _, pol := range q.policies {
			if pol.ID != c.PolicyID {
				continue
			}
			for _, l := range pol.Limits {
				if l.Window == c.Window {
					row.MaxCount, row.MaxFen = l.Count, l.AmountFen
				}
			}
		}
		p.Claims = append(p.Claims, row)
	}
	return p
}

// Get returns an order the caller may see: their own (or a bound elder's), or any
// order of the community for staff. Errors: NotFound.
func (s *Service) Get(ctx context.Context, by Caller, id int64) (Order, error) {
	o, err := s.store.Get(ctx, by.CommunityID, id)
	if err != nil {
		return Order{}, err
	}
	if by.Kind == "staff" || (by.Kind == "diner" && o.PlacedByKind == "diner" && o.PlacedByID == by.ID) ||
		(o.DinerID != nil && *o.DinerID == by.ID && by.Kind == "diner") {
		return o, nil
	}
	return Order{}, ErrNotFound
}

// Mine lists the orders a diner placed or that were placed for them, newest first.
func (s *Service) Mine(ctx context.Context, by Caller, limit int) ([]Order, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	return s.store.ListForDiner(ctx, by.CommunityID, by.ID, limit)
}

// Cancel cancels an unpaid order before the kitchen starts: the subsidy hold is released,
// supply restored and limit slots freed. Errors: NotFound, FailedPrecondition.
func (s *Service) Cancel(ctx context.Context, by Caller, id int64, reason string) (Order, error) {
	o, err := s.Get(ctx, by, id)
	if err != nil {
		return Order{}, err
	}
	if !o.Status.Cancellable() {
		return Order{}, apperr.New(apperr.FailedPrecondition, "not_cancellable",
			"订单已支付或已开始制作，不能取消 / the order is paid or in the kitchen and cannot be cancelled")
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 200 {
		var f apperr.Fields
		f.Add("reason", "at most 200 characters")
		return Order{}, f.Err()
	}
	if reason == "" {
		reason = "cancelled by " + by.Kind
	}
	return s.store.Cancel(ctx, by.CommunityID, id, Cancelled, reason, s.opt.Now())
}

// ExpireDue expires unpaid orders past their payment deadline, up to limit of them, and
// returns how many it expired. Safe to run in several workers at once.
func (s *Service) ExpireDue(ctx context.Context, limit int) (int, error) {
	now := s.opt.Now()
	due, err := s.store.DuePending(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range due {
		_, err := s.store.Cancel(ctx, o.CommunityID, o.ID, Expired, "payment deadline passed", now)
		switch {
		case err == nil:
			n++
		case apperr.KindOf(err) == apperr.FailedPrecondition: // paid or cancelled meanwhile
		default:
			return n, err
		}
	}
	return n, nil
}
