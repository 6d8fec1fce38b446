package subsidy

// A Quote is what a cart costs one diner at one instant, as Price works it out. On every line and
// in total StandardFen = SubsidyFen + PayFen and 0 <= PayFen <= StandardFen, all in fen. Holds and
// Claims are what placing the order must hold in the ledger and record against limits.
type Quote struct {
	Lines       []QuoteLine `json:"lines"`
	StandardFen int64       `json:"standard_fen"`
	SubsidyFen  int64       `json:"subsidy_fen"`
	PayFen      int64       `json:"pay_fen"`
	// Reasons says why a policy did not apply to this order at all (not eligible, outside its
	// window ...), one per policy in the order they are considered; line reasons are on the line.
	Reasons []Reason `json:"reasons"`
	Holds   []Hold   `json:"holds"`
	Claims  []Claim  `json:"claims"`
}

// A QuoteLine is one cart line, in the order of Input.Lines. Parts sum to SubsidyFen; Units lists
// its units in runs priced alike, whose Qty sum to Qty.
type QuoteLine struct {
	DishID      int64       `json:"dish_id"`
	Qty         int         `json:"qty"`
	UnitFen     int64       `json:"unit_fen"`
	StandardFen int64       `json:"standard_fen"`
	SubsidyFen  int64       `json:"subsidy_fen"`
	PayFen      int64       `json:"pay_fen"`
	Parts       []Part      `json:"parts"`
	Units       []UnitGroup `json:"units"`
	Reasons     []Reason    `json:"reasons"`
}

// A UnitGroup is Qty units of a line priced alike; SubsidyFen, PayFen and Parts are per unit
// (SubsidyFen + PayFen = the line's UnitFen). A refund of some units reverses their Parts.
type UnitGroup struct {
	Qty        int    `json:"qty"`
	SubsidyFen int64  `json:"subsidy_fen"`
	PayFen     int64  `json:"pay_fen"`
	Parts      []Part `json:"parts"`
}

// A Part is fen of subsidy that one pledge pays under one policy version, in the order the
// policies were applied and the funding parts are listed.
type Part struct {
	PolicyID      int64  `json:"policy_id"`
	PolicyVersion int64  `json:"policy_version"`
	PledgeID      int64  `json:"pledge_id"`
	SponsorID     int64  `json:"sponsor_id"`
	Label         string `json:"label"`
	Fen           int64  `json:"fen"`
}

// A Hold is the fen one pledge must hold for one policy version when the order is placed: the sum
// of its Parts over the whole quote. Holds are sorted by pledge, policy and version.
type Hold struct {
	PledgeID      int64 `json:"pledge_id"`
	SponsorID     int64 `json:"sponsor_id"`
	PolicyID      int64 `json:"policy_id"`
	PolicyVersion int64 `json:"policy_version"`
	Fen           int64 `json:"fen"`
}

// A Claim is what placing the order must record against one limit of a policy: Count units and
// AmountFen subsidy fen in the window named Key (see LimitWindow.Key). Sorted by policy and window.
type Claim struct {
	PolicyID      int64       `json:"policy_id"`
	PolicyVersion int64       `json:"policy_version"`
	Window        LimitWindow `json:"window"`
	Key           string      `json:"key"`
	Count         int         `json:"count"`
	AmountFen     int64       `json:"amount_fen"`
}

// A Reason says why a policy gave nothing (or less) to an order or a line: a stable Code and a
// Detail for people, Chinese first.
type Reason struct {
	PolicyID int64      `json:"policy_id"`
	Code     ReasonCode `json:"code"`
	Detail   string     `json:"detail"`
}

// A ReasonCode is the stable, machine-readable half of a Reason.
type ReasonCode string

// The reason codes. The first six concern the whole order (Quote.Reasons), the rest one line.
const (
	ReasonNotEligible         ReasonCode = "not_eligible"            // no eligibility of the diner matches Who
	ReasonNotValidToday       ReasonCode = "not_valid_today"         // the meal day is outside ValidFrom..ValidTo
	ReasonWrongCanteenPeriod  ReasonCode = "wrong_canteen_or_period" // another canteen or meal period
	ReasonNotOnWeekday        ReasonCode = "not_on_weekday"          // the meal day's weekday is not listed
	ReasonOutsideTimeWindow   ReasonCode = "outside_time_window"     // ordered outside When.Window
	ReasonMinSpendNotMet      ReasonCode = "min_spend_not_met"       // the cart's standard total is too low
	ReasonDishNotCovered      ReasonCode = "dish_not_covered"        // the dish is not in What
	ReasonMaxItemsReached     ReasonCode = "max_items_reached"       // What.MaxItems units already subsidised
	ReasonLimitReached        ReasonCode = "limit_reached"           // a Limit would be passed
	ReasonBudgetExhausted     ReasonCode = "budget_exhausted"        // the funding pledges lack the money
	ReasonOutsideHomeDistrict ReasonCode = "outside_home_district"   // a home-district-only part was dropped
)
