package catalog

import "github.com/canteen-oss/canteen/internal/apperr"

// Errors of the catalogue. Match them with errors.Is: apperr.Error matches by kind and
// code, so an error carrying field details still matches its sentinel.
var (
	ErrCanteenNotFound  = apperr.New(apperr.NotFound, "canteen_not_found", "食堂不存在 / no such canteen")
	ErrMerchantNotFound = apperr.New(apperr.NotFound, "merchant_not_found", "合作商户不存在 / no such merchant")
	ErrClosureNotFound  = apperr.New(apperr.NotFound, "closure_not_found", "该日没有停业安排 / no closure on that day")
	ErrDishNotFound     = apperr.New(apperr.NotFound, "dish_not_found", "菜品不存在 / no such dish")
	ErrMenuNotFound     = apperr.New(apperr.NotFound, "menu_not_found", "菜单不存在 / no such menu")

	ErrCanteenNameTaken = apperr.New(apperr.Conflict, "canteen_name_taken", "已有同名食堂 / a canteen with this name exists")
	ErrDishNameTaken    = apperr.New(apperr.Conflict, "dish_name_taken", "已有同名菜品 / a dish with this name exists")
	ErrClosureExists    = apperr.New(apperr.Conflict, "closure_exists", "该日已安排停业 / a closure exists on that day")
	ErrMenuExists       = apperr.New(apperr.Conflict, "menu_exists", "该餐次已有菜单 / a menu exists for that day and period")
	ErrMenuItemSold     = apperr.New(apperr.Conflict, "menu_item_sold",
		"菜品已有售出，不能删除或把供应量改到已售数以下 / an item already sold cannot be removed or get a supply below its sold count")
	ErrDishInSet = apperr.New(apperr.Conflict, "dish_in_set",
		"该菜品属于在售套餐，不能停用 / the dish is part of an active set meal")
)

// withFields returns a copy of sentinel naming fields; errors.Is still matches sentinel.
func withFields(sentinel *apperr.Error, fields []apperr.FieldError) error {
	return &apperr.Error{Kind: sentinel.Kind, Code: sentinel.Code, Detail: sentinel.Detail, Fields: fields}
}
