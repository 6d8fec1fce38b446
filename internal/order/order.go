package order

import (
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Kind is how the meal reaches the diner.
type Kind string

// The order kinds.
const (
	DineIn   Kind = "dine_in"
	Takeaway Kind = "takeaway"
	Delivery Kind = "delivery" // to the diner's home, with an address
)

// Payment is how an order is paid.
type Payment string

// The payment methods. None: nothing was payable.
const (
	WeChat Payment = "wechat"
	Cash   Payment = "cash"
	None   Payment = "none"
)

// Limits of one order.
const (
	MaxLines   = 20
	MaxQty     = 20  // units of one line
	MaxNote    = 100 // runes
	MaxAddress = 200 // runes
)

// LineRequest is one line of a cart: a dish on the menu, how many, and a note for the
// kitchen ("少盐", "软一点").
type LineRequest struct {
	DishID int64  `json:"dish_id"`
	Qty    int    `json:"qty"`
	Note   string `json:"note"`
}

// Cart is what a diner wants from one menu: a canteen, an Asia/Shanghai day and a meal period.
// ForDinerID, when set, asks for another diner's price: an elder a family member is bound to,
// or a diner a counter clerk serves. Kind defaults to dine-in; a delivery cart gets the
// menu's delivery fee line (category DeliveryCategory), which policies may subsidise.
type Cart struct {
	CanteenID       int64          `json:"canteen_id"`
	Day             civil.Date     `json:"day"`
	Period          catalog.Period `json:"period"`
	Kind            Kind           `json:"kind"`
	DeliveryAddress string         `json:"delivery_address,omitempty"`
	Lines           []LineRequest  `json:"lines"`
	ForDinerID      int64          `json:"for_diner_id,omitempty"`
}

// DeliveryCategory is the dish category of a menu's delivery fee (送餐费).
const DeliveryCategory = "送餐"

// PlaceRequest is a cart to order. ExpectPayFen, when set, is the price the diner accepted
// in a quote: if placing would charge anything else the order is refused with the new quote.
type PlaceRequest struct {
	Cart
	Payment      Payment `json:"payment"`
	ExpectPayFen *int64  `json:"expect_pay_fen,omitempty"`
	// NotifyReady: the diner accepted the "meal ready" subscribe message at checkout.
	NotifyReady bool `json:"notify_ready,omitempty"`
}

// Caller is who quotes or places: a diner for themself (or a bound elder), or staff at the counter.
type Caller struct {
	CommunityID int64
	Kind        string // "diner" or "staff"
	ID          int64
	Name        string
	Counter     bool // staff allowed to order for others and to take cash
}

// Quote is a priced cart, line by line, with the subsidy parts and why any did not apply.
type Quote struct {
	CanteenID   int64          `json:"canteen_id"`
	Day         civil.Date     `json:"day"`
	Period      catalog.Period `json:"period"`
	DinerID     int64          `json:"diner_id,omitempty"`
	Lines       []QuoteLine    `json:"lines"`
	StandardFen int64          `json:"standard_fen"`
	SubsidyFen  int64          `json:"subsidy_fen"`
	PayFen      int64          `json:"pay_fen"`
	Reasons     []Reason       `json:"reasons"`

	priced   subsidy.Quote
	policies []subsidy.Policy
	menuID   int64
}

// QuoteLine is one priced line.
type QuoteLine struct {
	DishID      int64            `json:"dish_id"`
	Name        string           `json:"name"`
	Category    string           `json:"category"`
	Qty         int              `json:"qty"`
	UnitFen     int64            `json:"unit_fen"`
	StandardFen int64            `json:"standard_fen"`
	SubsidyFen  int64            `json:"subsidy_fen"`
	PayFen      int64            `json:"pay_fen"`
	Parts       []subsidy.Part   `json:"parts"`
	Reasons     []subsidy.Reason `json:"reasons"`
	Note        string           `json:"note,omitempty"`
}

// Reason says why a subsidy did not apply to the whole order.
type Reason = subsidy.Reason

// ReasonEligibilityExpired: the diner's eligibility for a group has lapsed.
const ReasonEligibilityExpired subsidy.ReasonCode = "eligibility_expired"

// Order is a placed order.
type Order struct {
	ID              int64          `json:"id"`
	CommunityID     int64          `json:"community_id"`
	CanteenID       int64          `json:"canteen_id"`
	MenuID          int64          `json:"menu_id"`
	DinerID         *int64         `json:"diner_id"`
	PlacedByKind    string         `json:"placed_by_kind"`
	PlacedByID      int64          `json:"placed_by_id"`
	Day             civil.Date     `json:"day"`
	Period          catalog.Period `json:"period"`
	Kind            Kind           `json:"kind"`
	DeliveryAddress string         `json:"delivery_address,omitempty"`
	Status          Status         `json:"status"`
	Payment         Payment        `json:"payment"`
	StandardFen     int64          `json:"standard_fen"`
	SubsidyFen      int64          `json:"subsidy_fen"`
	PayFen          int64          `json:"pay_fen"`
	RefundedFen     int64          `json:"refunded_fen"`
	PayDeadline     time.Time      `json:"pay_deadline"`
	PaidAt          *time.Time     `json:"paid_at"`
	CancelledAt     *time.Time     `json:"cancelled_at"`
	CancelReason    string         `json:"cancel_reason,omitempty"`
	NotifyReady     bool           `json:"notify_ready"`
	CreatedAt       time.Time      `json:"created_at"`
	Lines           []Line         `json:"lines"`
	// PickupNo is the pickup number of the order's kitchen ticket ("A023"); nil until the
	// kitchen has a ticket. Filled by reads (Get, Mine), not by changes.
	PickupNo *string `json:"pickup_no"`

	// Replayed is set by Place when it returns the order an earlier call with the same
	// idempotency key and request placed, instead of placing a new one.
	Replayed bool `json:"-"`
}

// Line is one line of a placed order with its subsidy parts.
type Line struct {
	LineNo      int            `json:"line_no"`
	DishID      int64          `json:"dish_id"`
	Name        string         `json:"name"`
	Category    string         `json:"category"`
	Qty         int            `json:"qty"`
	UnitFen     int64          `json:"unit_fen"`
	StandardFen int64          `json:"standard_fen"`
	SubsidyFen  int64          `json:"subsidy_fen"`
	PayFen      int64          `json:"pay_fen"`
	Note        string         `json:"note,omitempty"`
	Parts       []subsidy.Part `json:"parts"`
}

// Errors.
var (
	ErrNotFound         = apperr.New(apperr.NotFound, "order_not_found", "no such order")
	ErrSoldOut          = apperr.New(apperr.Conflict, "sold_out", "已售罄 / sold out")
	ErrLimitReached     = apperr.New(apperr.Conflict, "limit_reached", "补贴次数已用完 / the subsidy limit is reached")
	ErrPriceChanged     = apperr.New(apperr.Conflict, "price_changed", "价格已变化，请确认新价格 / the price has changed; confirm the new price")
	ErrIdempotencyReuse = apperr.New(apperr.Conflict, "idempotency_key_reused", "这个幂等键已用于另一个订单 / this Idempotency-Key was used for a different order")
	ErrPastCutoff       = apperr.New(apperr.FailedPrecondition, "past_cutoff", "已过点餐截止时间 / ordering for this meal has closed")
	ErrCanteenClosed    = apperr.New(apperr.FailedPrecondition, "canteen_closed", "食堂当天不营业 / the canteen does not serve this meal that day")
	ErrTooFarAhead      = apperr.New(apperr.FailedPrecondition, "too_far_ahead", "还不能预订这一天 / this day cannot be ordered yet")
	ErrNotYours         = apperr.New(apperr.Forbidden, "not_your_order", "不能为这位就餐人下单 / you may not order for this diner")
	ErrNoDelivery       = apperr.New(apperr.FailedPrecondition, "delivery_not_offered", "这一餐不提供送餐 / this meal is not delivered")
)
