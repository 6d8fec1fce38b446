package catalog

import (
	"time"

	"github.com/canteen-oss/canteen/internal/civil"
)

// MenuStatus is where a daily menu is in its life: drafts are seen by staff only,
// published menus by diners.
type MenuStatus string

// The menu statuses.
const (
	Draft     MenuStatus = "draft"
	Published MenuStatus = "published"
)

// Menu is a daily menu (每日菜单): what canteen CanteenID serves on Day (an Asia/Shanghai
// date) at Period, item by item in display order.
type Menu struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	CanteenID   int64      `json:"canteen_id"`
	Day         civil.Date `json:"day"`
	Period      Period     `json:"period"`
	Status      MenuStatus `json:"status"`
	PublishedAt *time.Time `json:"published_at"`
	Items       []MenuItem `json:"items"`
}

// MenuItem is one dish on a menu. Name, Category, Kind, DietTags and PhotoURL are read from
// the dish; PriceFen (the standard price before any subsidy, in fen), Supply and Sold belong
// to the menu. Remaining is Supply - Sold.
type MenuItem struct {
	DishID    int64    `json:"dish_id"`
	Name      string   `json:"name"`
	Category  string   `json:"category"`
	Kind      DishKind `json:"kind"`
	DietTags  []string `json:"diet_tags"`
	PhotoURL  string   `json:"photo_url"`
	PriceFen  int64    `json:"price_fen"`
	Supply    int      `json:"supply"`
	Sold      int      `json:"sold"`
	Remaining int      `json:"remaining"`
}

// MenuItemInput is one item of PutMenu. A nil PriceFen sells the dish at its standard price.
type MenuItemInput struct {
	DishID   int64  `json:"dish_id"`
	PriceFen *int64 `json:"price_fen"`
	Supply   int    `json:"supply"`
}

// CopyResult reports CopyWeek: how many menus were copied, and what was left out and why.
type CopyResult struct {
	Copied  int        `json:"copied"`
	Skipped []CopySkip `json:"skipped"`
}

// CopySkip is a source menu that was not copied to Day (in the target week), or, when
// DishID is set, one item of it that was left out of the copy.
type CopySkip struct {
	Day    civil.Date `json:"day"`
	Period Period     `json:"period"`
	Reason string     `json:"reason"`
	DishID int64      `json:"dish_id,omitempty"`
}

// Reasons a menu cannot be made on a day, as given in CopySkip.Reason.
const (
	ReasonMenuExists     = "menu_exists"      // the target already has a menu
	ReasonCanteenClosed  = "canteen_closed"   // the canteen is closed until further notice
	ReasonWeekdayClosed  = "weekday_closed"   // the canteen does not open on that weekday
	ReasonClosure        = "closure"          // a closure is planned that day
	ReasonPeriodDisabled = "period_disabled"  // the meal period is not configured or disabled
	ReasonDayPast        = "day_past"         // the day is before today
	ReasonTooFarAhead    = "too_far_ahead"    // the day is more than MenuDaysAhead days ahead
	ReasonDishInactive   = "dish_inactive"    // (with DishID) the dish is no longer active
	ReasonNoActiveDishes = "no_active_dishes" // no item of the source menu can be copied
)

var reasonText = map[string]string{
	ReasonMenuExists:     "该餐次已有菜单 / a menu exists",
	ReasonCanteenClosed:  "食堂已停业 / the canteen is closed",
	ReasonWeekdayClosed:  "食堂当天不营业 / the canteen does not open on this weekday",
	ReasonClosure:        "当天停业 / the canteen is closed that day",
	ReasonPeriodDisabled: "该餐次未开设或已停用 / the meal period is not offered",
	ReasonDayPast:        "日期已过 / the day is in the past",
	ReasonTooFarAhead:    "最多提前 60 天排菜单 / menus can be made at most 60 days ahead",
	ReasonDishInactive:   "菜品已停用 / the dish is inactive",
	ReasonNoActiveDishes: "没有可复制的菜品 / no dish of the menu can be copied",
}

// Menu limits.
const (
	MenuDaysAhead    = 60  // the furthest day a menu may be made for, counted from today
	PublishDaysAhead = 7   // the furthest day a menu may be published for
	MaxMenuItems     = 100 // items per menu
	MaxSupply        = 100_000
	MaxMenuSpanDays  = 62 // days ListMenus returns at most
	maxClosureSpan   = 366
)

// MenuFilter narrows Store.Menus to days From..To (inclusive) and, when set, one status.
type MenuFilter struct {
	From, To civil.Date
	Status   MenuStatus
}

// MenuQuery names what Store.ChangeMenus loads: the canteen, its closures and menus on Days,
// and the dishes DishIDs besides those on the loaded menus.
type MenuQuery struct {
	CanteenID int64
	Days      []civil.Date
	DishIDs   []int64
}

// MenuState is what Store.ChangeMenus read, and locked, for a menu change. Dishes holds
// the community's dishes among those asked for and those on Menus, by ID.
type MenuState struct {
	Canteen  Canteen
	Closures []Closure
	Menus    []Menu
	Dishes   map[int64]Dish
}

// Menu returns the loaded menu of day and period, or nil.
func (st MenuState) Menu(day civil.Date, period Period) *Menu {
	for i := range st.Menus {
		if st.Menus[i].Day == day && st.Menus[i].Period == period {
			return &st.Menus[i]
		}
	}
	return nil
}

// MenuChange is one menu to save: the whole new state of the menu (ID 0 for a new one),
// recorded in the audit log under Action.
type MenuChange struct {
	Action string
	Menu   Menu
}
