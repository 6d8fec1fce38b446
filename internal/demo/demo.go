// Package demo seeds the demo community that `canteen dev` serves: a community, a
// partner merchant, a canteen with three meal periods, dishes and a set meal, staff of
// every role, and published menus for today and the days ahead. Seeding is idempotent:
// a second run only adds the menus that are missing.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/auth"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/community"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/funding"
)

// Code is the demo community's code.
const Code = "demo"

// Password is every demo staff account's password.
const Password = "demo-password"

// Login is one demo staff account.
type Login struct {
	Username string
	Role     auth.Role
	Note     string
}

// Logins are the demo staff accounts.
var Logins = []Login{
	{"demo-admin", auth.Admin, "社区管理员 community admin"},
	{"demo-reviewer", auth.Reviewer, "资格审核 eligibility reviewer"},
	{"demo-kitchen", auth.Kitchen, "后厨 kitchen"},
	{"demo-counter", auth.Counter, "前台 counter"},
	{"demo-finance", auth.Finance, "财务 finance"},
	{"demo-merchant", auth.Merchant, "爱心商户 partner merchant"},
}

// Services are what Seed uses; it goes through the same rules as the API. NewDiner,
// when set, makes a WeChat diner for an openid (the demo elder).
type Services struct {
	Community   *community.Service
	Auth        *auth.Service
	Catalog     *catalog.Service
	Eligibility *eligibility.Service
	Funding     *funding.Service
	NewDiner    func(ctx context.Context, communityID int64, openID string) (int64, error)
}

// Result says what the demo community is.
type Result struct {
	CommunityID int64
	CanteenID   int64
	Created     bool
	Menus       int
}

// Seed creates the demo community if it is missing and makes sure menus are published
// for today and the next six days.
func Seed(ctx context.Context, s Services, now time.Time) (Result, error) {
	var res Result
	c, err := s.Community.CommunityByCode(ctx, Code)
	switch {
	case err == nil:
		res.CommunityID = c.ID
		canteens, err := s.Catalog.ListCanteens(ctx, c.ID)
		if err != nil || len(canteens) == 0 {
			return res, fmt.Errorf("demo: the demo community has no canteen: %v", err)
		}
		res.CanteenID = canteens[0].ID
	case apperr.KindOf(err) == apperr.NotFound:
		if res, err = create(ctx, s, civil.Today(now)); err != nil {
			return res, err
		}
		res.Created = true
	default:
		return res, fmt.Errorf("demo: look up demo community: %w", err)
	}
	n, err := menus(ctx, s, res, civil.Today(now))
	res.Menus = n
	return res, err
}

func ptr[T any](v T) *T { return &v }

func create(ctx context.Context, s Services, today civil.Date) (Result, error) {
	c, err := s.Community.CreateCommunity(ctx, audit.SystemActor, community.Community{
		Code: Code, Name: "幸福里社区（演示）", City: "广州市", District: "越秀区"})
	if err != nil {
		return Result{}, fmt.Errorf("demo: community: %w", err)
	}
	m, err := s.Community.CreateMerchant(ctx, c.ID, audit.SystemActor, community.MerchantInput{
		Name: ptr("阳光餐饮（演示）"), ContactName: ptr("陈经理"), ContactPhone: ptr("13800138000"),
		ContactEmail: ptr("chen@example.com"), Address: ptr("幸福里 12 号")})
	if err != nil {
		return Result{}, fmt.Errorf("demo: merchant: %w", err)
	}
	boss := auth.Principal{Kind: auth.StaffKind, CommunityID: c.ID, Name: "system", Roles: []auth.Role{auth.Admin}}
	var reviewerID int64
	for _, l := range Logins {
		in := auth.StaffInput{Username: l.Username, DisplayName: l.Note, Password: Password, Roles: []auth.Role{l.Role}}
		if l.Role == auth.Merchant {
			in.MerchantID = &m.ID
		}
		st, err := s.Auth.CreateStaff(ctx, boss, in)
		if err != nil {
			return Result{}, fmt.Errorf("demo: staff %s: %w", l.Username, err)
		}
		if l.Role == auth.Reviewer {
			reviewerID = st.ID
		}
	}
	sc := catalog.Scope{CommunityID: c.ID, Actor: audit.SystemActor}
	ct, err := s.Catalog.CreateCanteen(ctx, sc, catalog.CanteenInput{
		Name: "幸福里长者饭堂", Address: "幸福里 8 号一楼", District: "越秀区", MerchantID: &m.ID})
	if err != nil {
		return Result{}, fmt.Errorf("demo: canteen: %w", err)
	}
	for _, mp := range []catalog.MealPeriod{
		{Period: catalog.Breakfast, ServeStart: catalog.Clock(7, 0), ServeEnd: catalog.Clock(9, 0), OrderCutoff: catalog.Clock(8, 30), PreorderDays: 6, Enabled: true},
		{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0), ServeEnd: catalog.Clock(13, 30), OrderCutoff: catalog.Clock(13, 0), PreorderDays: 6, Enabled: true},
		{Period: catalog.Dinner, ServeStart: catalog.Clock(17, 0), ServeEnd: catalog.Clock(19, 0), OrderCutoff: catalog.Clock(18, 30), PreorderDays: 6, Enabled: true},
	} {
		if _, err := s.Catalog.SetMealPeriod(ctx, sc, ct.ID, mp); err != nil {
			return Result{}, fmt.Errorf("demo: meal period %s: %w", mp.Period, err)
		}
	}
	for _, d := range dishes {
		if _, err := s.Catalog.CreateDish(ctx, sc, d); err != nil {
			return Result{}, fmt.Errorf("demo: dish %s: %w", d.Name, err)
		}
	}
	all, err := s.Catalog.ListDishes(ctx, c.ID, catalog.DishFilter{})
	if err != nil {
		return Result{}, err
	}
	byName := map[string]int64{}
	for _, d := range all {
		byName[d.Name] = d.ID
	}
	set := catalog.DishInput{Kind: catalog.KindSet, Name: "长者营养套餐", Category: "套餐", DietTags: []string{"soft", "low_salt"},
		Description: "一荤一素一汤一饭", PriceFen: 1200, Components: []catalog.SetItem{
			{DishID: byName["番茄炒蛋"], Quantity: 1}, {DishID: byName["白灼菜心"], Quantity: 1},
			{DishID: byName["冬瓜排骨汤"], Quantity: 1}, {DishID: byName["米饭"], Quantity: 1}}}
	if _, err := s.Catalog.CreateDish(ctx, sc, set); err != nil {
		return Result{}, fmt.Errorf("demo: set meal: %w", err)
	}
	if s.Funding != nil {
		if err := seedSubsidy(ctx, s, c.ID, m.ID, reviewerID, today); err != nil {
			return Result{}, err
		}
	}
	return Result{CommunityID: c.ID, CanteenID: ct.ID}, nil
}

var dishes = []catalog.DishInput{
	{Name: "红烧肉", Category: "荤菜", PriceFen: 1200, Description: "肥瘦相间，炖得软烂", DietTags: []string{"soft"}},
	{Name: "清蒸鲈鱼", Category: "荤菜", PriceFen: 1500, Description: "少盐清蒸", DietTags: []string{"low_salt", "low_fat"}},
	{Name: "番茄炒蛋", Category: "荤菜", PriceFen: 800, DietTags: []string{"soft"}},
	{Name: "白灼菜心", Category: "素菜", PriceFen: 500, DietTags: []string{"vegetarian", "low_fat"}},
	{Name: "麻婆豆腐", Category: "素菜", PriceFen: 600, DietTags: []string{"spicy", "soft"}},
	{Name: "冬瓜排骨汤", Category: "汤", PriceFen: 600, DietTags: []string{"low_salt"}},
	{Name: "米饭", Category: "主食", PriceFen: 100, DietTags: []string{"vegetarian"}},
	{Name: "小米粥", Category: "早餐", PriceFen: 200, DietTags: []string{"soft", "low_sugar", "vegetarian"}},
	{Name: "鲜肉包", Category: "早餐", PriceFen: 250},
	{Name: "蒸蛋羹", Category: "早餐", PriceFen: 300, DietTags: []string{"soft", "low_salt"}},
	{Name: "牛肉拉面", Category: "面食", PriceFen: 1400},
}

var periodDishes = map[catalog.Period][]string{
	catalog.Breakfast: {"小米粥", "鲜肉包", "蒸蛋羹"},
	catalog.Lunch:     {"长者营养套餐", "红烧肉", "清蒸鲈鱼", "番茄炒蛋", "白灼菜心", "麻婆豆腐", "冬瓜排骨汤", "米饭", "牛肉拉面"},
	catalog.Dinner:    {"长者营养套餐", "番茄炒蛋", "白灼菜心", "冬瓜排骨汤", "米饭", "牛肉拉面"},
}

// menus publishes the missing menus for today..today+6.
func menus(ctx context.Context, s Services, r Result, today civil.Date) (int, error) {
	all, err := s.Catalog.ListDishes(ctx, r.CommunityID, catalog.DishFilter{})
	if err != nil {
		return 0, err
	}
	byName := map[string]int64{}
	for _, d := range all {
		byName[d.Name] = d.ID
	}
	sc := catalog.Scope{CommunityID: r.CommunityID, Actor: audit.SystemActor}
	n := 0
	for i := range 7 {
		day := today.AddDays(i)
		for _, p := range catalog.Periods() {
			_, err := s.Catalog.GetMenu(ctx, r.CommunityID, r.CanteenID, day, p)
			if err == nil {
				continue
			}
			if apperr.KindOf(err) != apperr.NotFound {
				return n, err
			}
			var items []catalog.MenuItemInput
			for _, name := range periodDishes[p] {
				items = append(items, catalog.MenuItemInput{DishID: byName[name], Supply: 60})
			}
			if _, err := s.Catalog.PutMenu(ctx, sc, r.CanteenID, day, p, items); err != nil {
				if isSkippable(err) {
					continue
				}
				return n, fmt.Errorf("demo: menu %s %s: %w", day, p, err)
			}
			if _, err := s.Catalog.PublishMenu(ctx, sc, r.CanteenID, day, p); err != nil {
				return n, fmt.Errorf("demo: publish %s %s: %w", day, p, err)
			}
			n++
		}
	}
	return n, nil
}

// isSkippable: a menu the rules refuse for that day (closed day) is simply not made.
func isSkippable(err error) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && (ae.Kind == apperr.Invalid || ae.Kind == apperr.FailedPrecondition)
}
