package catalog

import (
	"context"

	"github.com/canteen-oss/canteen/internal/civil"
)

// Store keeps the catalogue (catalogdb implements it). Every method reads and writes only
// rows of the given community; a row of another community is reported as not found.
// Every mutating method runs in one transaction that also writes its audit record under
// Scope.Actor, with before and after as JSON of the domain values.
//
// Methods that take a callback load the current rows inside the transaction, locking them,
// and call it before writing anything; an error from the callback is returned as is and
// nothing is written.
type Store interface {
	// CreateCanteen inserts c. ErrCanteenNameTaken, ErrMerchantNotFound.
	CreateCanteen(ctx context.Context, sc Scope, c Canteen) (Canteen, error)
	// UpdateCanteen locks canteen id, lets apply change it and saves it. ErrCanteenNotFound.
	UpdateCanteen(ctx context.Context, sc Scope, id int64, apply func(*Canteen) error) (Canteen, error)
	// Canteen returns a canteen with its meal periods. ErrCanteenNotFound.
	Canteen(ctx context.Context, communityID, id int64) (Canteen, error)
	// Canteens returns the community's canteens by ID, with their meal periods.
	Canteens(ctx context.Context, communityID int64) ([]Canteen, error)
	// PutMealPeriod creates or replaces the canteen's meal period mp.Period. ErrCanteenNotFound.
	PutMealPeriod(ctx context.Context, sc Scope, canteenID int64, mp MealPeriod) (MealPeriod, error)
	// AddClosure adds a closure day. ErrCanteenNotFound, ErrClosureExists.
	AddClosure(ctx context.Context, sc Scope, canteenID int64, c Closure) (Closure, error)
	// RemoveClosure removes the closure on day. ErrCanteenNotFound, ErrClosureNotFound.
	RemoveClosure(ctx context.Context, sc Scope, canteenID int64, day civil.Date) error
	// Closures returns the canteen's closures from..to (inclusive) by day. ErrCanteenNotFound.
	Closures(ctx context.Context, communityID, canteenID int64, from, to civil.Date) ([]Closure, error)

	// CreateDish inserts d with its components once check accepts the rows they refer to.
	// ErrDishNameTaken.
	CreateDish(ctx context.Context, sc Scope, d Dish, check func(Dish, DishRefs) error) (Dish, error)
	// UpdateDish locks dish id, lets apply change it, lets check accept the rows it then
	// refers to, and saves it. ErrDishNotFound, ErrDishNameTaken.
	UpdateDish(ctx context.Context, sc Scope, id int64, apply func(*Dish) error, check func(Dish, DishRefs) error) (Dish, error)
	// Dish returns a dish with its components. ErrDishNotFound.
	Dish(ctx context.Context, communityID, id int64) (Dish, error)
	// Dishes returns the community's dishes matching f, by category and name.
	Dishes(ctx context.Context, communityID int64, f DishFilter) ([]Dish, error)

	// ChangeMenus loads the state q names, lets change decide, and saves the menus it
	// returns (items added, changed and removed to match), returning them as saved.
	// Concurrent changes of one canteen's menus are serialised. ErrCanteenNotFound.
	ChangeMenus(ctx context.Context, sc Scope, q MenuQuery, change func(MenuState) ([]MenuChange, error)) ([]Menu, error)
	// Menu returns one menu with its items. ErrMenuNotFound.
	Menu(ctx context.Context, communityID, canteenID int64, day civil.Date, period Period) (Menu, error)
	// Menus returns the canteen's menus matching f, by day and period.
	Menus(ctx context.Context, communityID, canteenID int64, f MenuFilter) ([]Menu, error)
}
