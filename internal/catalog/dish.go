package catalog

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// DishKind says whether a dish is a single dish or a set meal (套餐) made of dishes.
type DishKind string

// The dish kinds.
const (
	KindDish DishKind = "dish"
	KindSet  DishKind = "set"
)

// Valid reports whether k is a known kind.
func (k DishKind) Valid() bool { return k == KindDish || k == KindSet }

// DietTag is one entry of the fixed diet vocabulary: a stable code and its Chinese label.
type DietTag struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

var dietTags = []DietTag{
	{"soft", "软烂"},
	{"low_salt", "低盐"},
	{"low_sugar", "低糖"},
	{"low_fat", "低脂"},
	{"vegetarian", "素食"},
	{"halal", "清真"},
	{"spicy", "辣"},
}

// DietTags returns the diet tags a dish may carry, in display order.
func DietTags() []DietTag { return slices.Clone(dietTags) }

// DietTagLabel returns the Chinese label of code, and whether code is in the vocabulary.
func DietTagLabel(code string) (string, bool) {
	for _, t := range dietTags {
		if t.Code == code {
			return t.Label, true
		}
	}
	return "", false
}

// Dish is a dish (菜品) or a set meal of a community. PriceFen is its standard price in fen;
// a menu may sell it at another price. A set meal (Kind KindSet) has 1 to 10 Components,
// plain dishes of the same community, all active while the set is active.
type Dish struct {
	ID          int64     `json:"id"`
	CommunityID int64     `json:"community_id"`
	Kind        DishKind  `json:"kind"`
	Name        string    `json:"name"`
	Category    string    `json:"category"`
	DietTags    []string  `json:"diet_tags"`
	Description string    `json:"description"`
	PhotoURL    string    `json:"photo_url"`
	PriceFen    int64     `json:"price_fen"`
	Active      bool      `json:"active"`
	Components  []SetItem `json:"components"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// SetItem is one dish of a set meal and how many of it the set holds.
type SetItem struct {
	DishID   int64 `json:"dish_id"`
	Quantity int   `json:"quantity"`
}

// DishInput is a new dish or set meal; it starts active. A zero Kind means KindDish.
type DishInput struct {
	Kind        DishKind  `json:"kind"`
	Name        string    `json:"name"`
	Category    string    `json:"category"`
	DietTags    []string  `json:"diet_tags"`
	Description string    `json:"description"`
	PhotoURL    string    `json:"photo_url"`
	PriceFen    int64     `json:"price_fen"`
	Components  []SetItem `json:"components"`
}

// DishPatch changes the fields that are not nil. The kind of a dish never changes;
// Components may only be given for a set meal and replace all of its components.
type DishPatch struct {
	Name        *string    `json:"name"`
	Category    *string    `json:"category"`
	DietTags    *[]string  `json:"diet_tags"`
	Description *string    `json:"description"`
	PhotoURL    *string    `json:"photo_url"`
	PriceFen    *int64     `json:"price_fen"`
	Active      *bool      `json:"active"`
	Components  *[]SetItem `json:"components"`
}

// DishFilter narrows ListDishes. Zero fields match every dish.
type DishFilter struct {
	Category   string
	Kind       DishKind
	ActiveOnly bool
}

// DishRefs are the rows a dish change depends on, read by the Store inside the change's
// transaction: the community's dishes named as components (an ID of another community
// or of no dish is absent), and the active set meals that contain the changed dish.
type DishRefs struct {
	Components   map[int64]Dish
	InActiveSets []int64
}

// Limits of dish fields. Text limits are in runes.
const (
	MaxPriceFen       = 100_000_000 // 1,000,000 yuan
	maxDishName       = 60
	maxCategory       = 30
	maxDescription    = 500
	maxPhotoURL       = 500
	maxSetComponents  = 10
	maxComponentCount = 20
)

func (in DishInput) dish(communityID int64) (Dish, error) {
	d := Dish{
		CommunityID: communityID,
		Kind:        in.Kind,
		Name:        strings.TrimSpace(in.Name),
		Category:    strings.TrimSpace(in.Category),
		DietTags:    in.DietTags,
		Description: strings.TrimSpace(in.Description),
		PhotoURL:    strings.TrimSpace(in.PhotoURL),
		PriceFen:    in.PriceFen,
		Active:      true,
		Components:  in.Components,
	}
	if d.Kind == "" {
		d.Kind = KindDish
	}
	if d.DietTags == nil {
		d.DietTags = []string{}
	}
	if d.Components == nil {
		d.Components = []SetItem{}
	}
	var f apperr.Fields
	f.Check(d.Kind.Valid(), "kind", "应为 dish 或 set / must be dish or set")
	checkText(&f, "name", d.Name, 1, maxDishName)
	checkText(&f, "category", d.Category, 1, maxCategory)
	checkText(&f, "description", d.Description, 0, maxDescription)
	checkPhotoURL(&f, d.PhotoURL)
	checkPrice(&f, "price_fen", d.PriceFen)
	checkDietTags(&f, d.DietTags)
	switch d.Kind {
	case KindSet:
		checkComponents(&f, d.Components, 0)
	case KindDish:
		f.Check(len(d.Components) == 0, "components", "只有套餐有组成菜品 / only a set meal has components")
	}
	return d, f.Err()
}

// validate checks the fields p sets, each on its own.
func (p DishPatch) validate() error {
	var f apperr.Fields
	if p.Name != nil {
		checkText(&f, "name", strings.TrimSpace(*p.Name), 1, maxDishName)
	}
	if p.Category != nil {
		checkText(&f, "category", strings.TrimSpace(*p.Category), 1, maxCategory)
	}
	if p.DietTags != nil {
		checkDietTags(&f, *p.DietTags)
	}
	if p.Description != nil {
		checkText(&f, "description", strings.TrimSpace(*p.Description), 0, maxDescription)
	}
	if p.PhotoURL != nil {
		checkPhotoURL(&f, strings.TrimSpace(*p.PhotoURL))
	}
	if p.PriceFen != nil {
		checkPrice(&f, "price_fen", *p.PriceFen)
	}
	if p.Components != nil {
		checkComponents(&f, *p.Components, 0)
	}
	return f.Err()
}

// apply validates p against d and changes d accordingly.
func (p DishPatch) apply(d *Dish) error {
	if err := p.validate(); err != nil {
		return err
	}
	if p.Components != nil {
		var f apperr.Fields
		if d.Kind != KindSet {
			f.Add("components", "只有套餐有组成菜品 / only a set meal has components")
		} else {
			checkComponents(&f, *p.Components, d.ID)
		}
		if err := f.Err(); err != nil {
			return err
		}
		d.Components = slices.Clone(*p.Components)
	}
	if p.Name != nil {
		d.Name = strings.TrimSpace(*p.Name)
	}
	if p.Category != nil {
		d.Category = strings.TrimSpace(*p.Category)
	}
	if p.DietTags != nil {
		d.DietTags = append([]string{}, *p.DietTags...)
	}
	if p.Description != nil {
		d.Description = strings.TrimSpace(*p.Description)
	}
	if p.PhotoURL != nil {
		d.PhotoURL = strings.TrimSpace(*p.PhotoURL)
	}
	if p.PriceFen != nil {
		d.PriceFen = *p.PriceFen
	}
	if p.Active != nil {
		d.Active = *p.Active
	}
	return nil
}

func checkDietTags(f *apperr.Fields, tags []string) {
	seen := map[string]bool{}
	for i, tag := range tags {
		field := fmt.Sprintf("diet_tags[%d]", i)
		if _, ok := DietTagLabel(tag); !ok {
			f.Add(field, "未知的饮食标签 / unknown diet tag")
		} else if seen[tag] {
			f.Add(field, "重复 / duplicate diet tag")
		}
		seen[tag] = true
	}
}

// checkComponents checks the shape of a set meal's components; self is the set's own ID (0 if new).
func checkComponents(f *apperr.Fields, items []SetItem, self int64) {
	if len(items) < 1 || len(items) > maxSetComponents {
		f.Add("components", fmt.Sprintf("套餐应含 1 到 %d 个菜品 / a set meal has 1 to %d dishes", maxSetComponents, maxSetComponents))
	}
	ids := map[int64]bool{}
	for i, c := range items {
		field := fmt.Sprintf("components[%d].dish_id", i)
		switch {
		case c.DishID <= 0:
			f.Add(field, "必须是正整数 / must be a positive id")
		case ids[c.DishID]:
			f.Add(field, "重复 / duplicate dish")
		case c.DishID == self:
			f.Add(field, "套餐不能包含自身 / a set meal cannot contain itself")
		}
		ids[c.DishID] = true
		f.Check(c.Quantity >= 1 && c.Quantity <= maxComponentCount, fmt.Sprintf("components[%d].quantity", i),
			fmt.Sprintf("应为 1 到 %d / must be 1 to %d", maxComponentCount, maxComponentCount))
	}
}

func checkPhotoURL(f *apperr.Fields, s string) {
	f.Check(validPhotoURL(s), "photo_url", "应为空或 http(s) 网址 / must be empty or an http(s) URL")
}

func checkPrice(f *apperr.Fields, field string, fen int64) {
	f.Check(fen > 0 && fen <= MaxPriceFen, field, "应大于 0 分且不超过 100 万元 / must be more than 0 and at most 100000000 fen")
}

func validPhotoURL(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > maxPhotoURL || strings.ContainsAny(s, " \t\r\n\x00") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// checkDishRefs checks d against the rows it refers to: a set meal's components must be
// plain dishes of the community, active while the set is active; a plain dish that
// belongs to an active set meal stays active.
func checkDishRefs(d Dish, refs DishRefs) error {
	var missing []apperr.FieldError
	var f apperr.Fields
	if d.Kind == KindSet {
		for i, c := range d.Components {
			field := fmt.Sprintf("components[%d].dish_id", i)
			comp, ok := refs.Components[c.DishID]
			switch {
			case !ok:
				missing = append(missing, apperr.FieldError{Field: field, Reason: "菜品不存在 / no such dish"})
			case comp.Kind != KindDish:
				f.Add(field, "套餐只能包含单品 / a set meal can only contain plain dishes")
			case d.Active && !comp.Active:
				f.Add(field, "菜品已停用 / the dish is inactive")
			}
		}
	}
	if len(missing) > 0 {
		return withFields(ErrDishNotFound, missing)
	}
	if err := f.Err(); err != nil {
		return err
	}
	if d.Kind == KindDish && !d.Active && len(refs.InActiveSets) > 0 {
		return withFields(ErrDishInSet, []apperr.FieldError{{Field: "active",
			Reason: fmt.Sprintf("属于在售套餐 %v / part of active set meals %v", refs.InActiveSets, refs.InActiveSets)}})
	}
	return nil
}
