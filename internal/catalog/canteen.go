package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// Canteen is a community canteen (食堂). OpenWeekdays are ISO weekdays (1 = Monday ... 7 =
// Sunday), sorted; Closed shuts it on every day until reopened. Periods are its configured
// meal periods in serving order.
type Canteen struct {
	ID           int64        `json:"id"`
	CommunityID  int64        `json:"community_id"`
	Name         string       `json:"name"`
	Address      string       `json:"address"`
	District     string       `json:"district"`
	MerchantID   *int64       `json:"merchant_id"`
	OpenWeekdays []int        `json:"open_weekdays"`
	Closed       bool         `json:"closed"`
	ClosedReason string       `json:"closed_reason"`
	Periods      []MealPeriod `json:"periods"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
}

// MealPeriod is how a canteen serves one period: serving hours, the order cut-off (wall-clock
// times in Asia/Shanghai on the meal's date) and how many days ahead diners may order.
type MealPeriod struct {
	Period       Period    `json:"period"`
	ServeStart   ClockTime `json:"serve_start"`
	ServeEnd     ClockTime `json:"serve_end"`
	OrderCutoff  ClockTime `json:"order_cutoff"`
	PreorderDays int       `json:"preorder_days"`
	Enabled      bool      `json:"enabled"`
}

// Closure is a day on which a canteen does not serve (a holiday, an inspection).
type Closure struct {
	Day    civil.Date `json:"day"`
	Reason string     `json:"reason"`
}

// MaxPreorderDays is the furthest ahead a meal period may take orders.
const MaxPreorderDays = 14

// MealPeriod returns the canteen's configuration of period p, if any.
func (c Canteen) MealPeriod(p Period) (MealPeriod, bool) {
	for _, mp := range c.Periods {
		if mp.Period == p {
			return mp, true
		}
	}
	return MealPeriod{}, false
}

// ServesOn reports whether the canteen is open on day: not closed, day's weekday among
// OpenWeekdays and day not one of closures.
func (c Canteen) ServesOn(day civil.Date, closures []Closure) bool {
	return c.closedReason(day, closures) == ""
}

// closedReason says why the canteen does not serve on day, or "" when it does.
func (c Canteen) closedReason(day civil.Date, closures []Closure) string {
	switch {
	case c.Closed:
		return ReasonCanteenClosed
	case !slices.Contains(c.OpenWeekdays, day.ISOWeekday()):
		return ReasonWeekdayClosed
	}
	for _, cl := range closures {
		if cl.Day == day {
			return ReasonClosure
		}
	}
	return ""
}

// periodReason says why period p cannot have a menu, or "" when it is configured and enabled.
func (c Canteen) periodReason(p Period) string {
	if mp, ok := c.MealPeriod(p); !ok || !mp.Enabled {
		return ReasonPeriodDisabled
	}
	return ""
}

// CanteenInput is a new canteen. A nil OpenWeekdays means every day of the week.
type CanteenInput struct {
	Name         string `json:"name"`
	Address      string `json:"address"`
	District     string `json:"district"`
	MerchantID   *int64 `json:"merchant_id"`
	OpenWeekdays []int  `json:"open_weekdays"`
}

// CanteenPatch changes the fields that are not nil. MerchantID 0 removes the merchant.
// The closed reason is kept only while the canteen is closed: reopening clears it.
type CanteenPatch struct {
	Name         *string `json:"name"`
	Address      *string `json:"address"`
	District     *string `json:"district"`
	MerchantID   *int64  `json:"merchant_id"`
	OpenWeekdays *[]int  `json:"open_weekdays"`
	Closed       *bool   `json:"closed"`
	ClosedReason *string `json:"closed_reason"`
}

// Limits of canteen fields, in runes.
const (
	maxCanteenName  = 100
	maxAddress      = 200
	maxDistrict     = 50
	maxClosedReason = 200
)

func (in CanteenInput) canteen(communityID int64) (Canteen, error) {
	var f apperr.Fields
	c := Canteen{
		CommunityID:  communityID,
		Name:         strings.TrimSpace(in.Name),
		Address:      strings.TrimSpace(in.Address),
		District:     strings.TrimSpace(in.District),
		MerchantID:   in.MerchantID,
		OpenWeekdays: []int{1, 2, 3, 4, 5, 6, 7},
		Periods:      []MealPeriod{},
	}
	checkText(&f, "name", c.Name, 1, maxCanteenName)
	checkText(&f, "address", c.Address, 0, maxAddress)
	checkText(&f, "district", c.District, 0, maxDistrict)
	f.Check(in.MerchantID == nil || *in.MerchantID > 0, "merchant_id", "必须是正整数 / must be a positive id")
	if in.OpenWeekdays != nil {
		c.OpenWeekdays = checkWeekdays(&f, in.OpenWeekdays)
	}
	return c, f.Err()
}

// validate checks the fields p sets, each on its own.
func (p CanteenPatch) validate() error {
	var f apperr.Fields
	if p.Name != nil {
		checkText(&f, "name", strings.TrimSpace(*p.Name), 1, maxCanteenName)
	}
	if p.Address != nil {
		checkText(&f, "address", strings.TrimSpace(*p.Address), 0, maxAddress)
	}
	if p.District != nil {
		checkText(&f, "district", strings.TrimSpace(*p.District), 0, maxDistrict)
	}
	if p.MerchantID != nil {
		f.Check(*p.MerchantID >= 0, "merchant_id", "必须是正整数，0 表示移除 / must be a positive id, or 0 to remove")
	}
	if p.OpenWeekdays != nil {
		checkWeekdays(&f, *p.OpenWeekdays)
	}
	if p.ClosedReason != nil {
		checkText(&f, "closed_reason", strings.TrimSpace(*p.ClosedReason), 0, maxClosedReason)
	}
	return f.Err()
}

// apply validates p and changes c accordingly.
func (p CanteenPatch) apply(c *Canteen) error {
	if err := p.validate(); err != nil {
		return err
	}
	if p.Name != nil {
		c.Name = strings.TrimSpace(*p.Name)
	}
	if p.Address != nil {
		c.Address = strings.TrimSpace(*p.Address)
	}
	if p.District != nil {
		c.District = strings.TrimSpace(*p.District)
	}
	if p.MerchantID != nil {
		c.MerchantID = nil
		if id := *p.MerchantID; id > 0 {
			c.MerchantID = &id
		}
	}
	if p.OpenWeekdays != nil {
		c.OpenWeekdays = checkWeekdays(&apperr.Fields{}, *p.OpenWeekdays)
	}
	if p.Closed != nil {
		c.Closed = *p.Closed
	}
	if p.ClosedReason != nil {
		c.ClosedReason = strings.TrimSpace(*p.ClosedReason)
	}
	if !c.Closed {
		c.ClosedReason = ""
	}
	return nil
}

// checkText records field unless s has min..max runes (valid UTF-8, no NUL).
func checkText(f *apperr.Fields, field, s string, min, max int) {
	if min > 0 {
		f.Check(runes(s, min, max), field, fmt.Sprintf("应为 %d 到 %d 个字 / must be %d to %d characters", min, max, min, max))
	} else {
		f.Check(runes(s, min, max), field, fmt.Sprintf("最多 %d 个字 / at most %d characters", max, max))
	}
}

// checkWeekdays validates ISO weekdays and returns them sorted.
func checkWeekdays(f *apperr.Fields, days []int) []int {
	if len(days) == 0 {
		f.Add("open_weekdays", "至少选择一天 / choose at least one weekday (use closed to shut the canteen)")
		return []int{}
	}
	seen := map[int]bool{}
	for i, d := range days {
		field := fmt.Sprintf("open_weekdays[%d]", i)
		switch {
		case d < 1 || d > 7:
			f.Add(field, "应为 1（周一）到 7（周日）/ must be 1 (Monday) to 7 (Sunday)")
		case seen[d]:
			f.Add(field, "重复 / duplicate weekday")
		}
		seen[d] = true
	}
	out := slices.Clone(days)
	slices.Sort(out)
	return out
}

func (mp MealPeriod) validate() error {
	var f apperr.Fields
	f.Check(mp.Period.Valid(), "period", "应为 breakfast、lunch 或 dinner / must be breakfast, lunch or dinner")
	f.Check(mp.ServeStart.Valid(), "serve_start", "应为 00:00 到 23:59 / must be 00:00 to 23:59")
	f.Check(mp.ServeEnd.Valid(), "serve_end", "应为 00:00 到 23:59 / must be 00:00 to 23:59")
	f.Check(mp.OrderCutoff.Valid(), "order_cutoff", "应为 00:00 到 23:59 / must be 00:00 to 23:59")
	if mp.ServeStart.Valid() && mp.ServeEnd.Valid() {
		f.Check(mp.ServeStart < mp.ServeEnd, "serve_end", "应晚于开始供餐时间 / must be after serve_start")
	}
	if mp.OrderCutoff.Valid() && mp.ServeEnd.Valid() {
		f.Check(mp.OrderCutoff <= mp.ServeEnd, "order_cutoff", "不能晚于供餐结束时间 / must not be after serve_end")
	}
	f.Check(mp.PreorderDays >= 0 && mp.PreorderDays <= MaxPreorderDays, "preorder_days",
		fmt.Sprintf("应为 0 到 %d / must be 0 to %d", MaxPreorderDays, MaxPreorderDays))
	return f.Err()
}
