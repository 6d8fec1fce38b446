// Package auth knows who is calling: staff with roles scoped to a community (and
// optionally to canteens), partner-merchant users, and diners who log in from the
// WeChat mini-program. Sessions are opaque bearer tokens stored only as SHA-256 hashes.
package auth

import (
	"slices"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
)

// Role is a staff role. A merchant user has the Merchant role and no other.
type Role string

// The roles.
const (
	Admin    Role = "admin"    // runs the community: staff, canteens, dishes, menus, merchants
	Reviewer Role = "reviewer" // reviews who belongs to which group
	Kitchen  Role = "kitchen"  // works the ticket screen
	Counter  Role = "counter"  // orders and takes cash for diners at the counter
	Finance  Role = "finance"  // statements and reconciliation
	Merchant Role = "merchant" // a partner merchant's user; sees only its own merchant
)

// Roles lists every role.
var Roles = []Role{Admin, Reviewer, Kitchen, Counter, Finance, Merchant}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles, r) {
		return "", apperr.New(apperr.Invalid, "unknown_role", "unknown role "+s)
	}
	return r, nil
}

// Kind is the kind of principal.
type Kind string

// The principal kinds.
const (
	StaffKind  Kind = "staff"
	DinerKind  Kind = "diner"
	DeviceKind Kind = "device" // a kitchen screen registered to one canteen (device.go)
)

// Principal is an authenticated caller.
type Principal struct {
	Kind        Kind    `json:"kind"`
	ID          int64   `json:"id"`
	CommunityID int64   `json:"community_id"`
	Name        string  `json:"name"`
	Roles       []Role  `json:"roles,omitempty"`
	CanteenIDs  []int64 `json:"canteen_ids,omitempty"` // staff: empty means every canteen; a device: its one canteen
	MerchantID  int64   `json:"merchant_id,omitempty"` // merchant users only
	CanteenID   int64   `json:"canteen_id,omitempty"`  // devices only: the canteen it serves
}

// HasAny reports whether p is staff holding at least one of roles. It is false for a
// device, which passes only the routes that admit devices.
func (p Principal) HasAny(roles ...Role) bool {
	if p.Kind != StaffKind {
		return false
	}
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// CanAccessCanteen reports whether staff p, or device p, may act on canteen id. A
// device may act on its own canteen only.
func (p Principal) CanAccessCanteen(id int64) bool {
	switch p.Kind {
	case StaffKind:
		return len(p.CanteenIDs) == 0 || slices.Contains(p.CanteenIDs, id)
	case DeviceKind:
		return p.CanteenID != 0 && p.CanteenID == id
	}
	return false
}

// Actor returns p as the actor of an audit record.
func (p Principal) Actor() audit.Actor {
	k := audit.Staff
	switch p.Kind {
	case DinerKind:
		k = audit.Diner
	case DeviceKind:
		k = DeviceActor
	}
	return audit.Actor{Kind: k, ID: p.ID, Name: p.Name}
}

// Staff is a staff account.
type Staff struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Roles       []Role     `json:"roles"`
	CanteenIDs  []int64    `json:"canteen_ids"`
	MerchantID  *int64     `json:"merchant_id"`
	DisabledAt  *time.Time `json:"disabled_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

// Principal returns the principal of a logged-in staff member.
func (s Staff) Principal() Principal {
	p := Principal{Kind: StaffKind, ID: s.ID, CommunityID: s.CommunityID, Name: s.DisplayName,
		Roles: s.Roles, CanteenIDs: s.CanteenIDs}
	if s.MerchantID != nil {
		p.MerchantID = *s.MerchantID
	}
	return p
}

// Diner is a person who eats, known by the openid of one WeChat app.
type Diner struct {
	ID          int64     `json:"id"`
	CommunityID int64     `json:"community_id"`
	AppID       string    `json:"-"`
	OpenID      string    `json:"-"`
	Nickname    string    `json:"nickname"`
	CreatedAt   time.Time `json:"created_at"`
}

// Principal returns the principal of a logged-in diner.
func (d Diner) Principal() Principal {
	name := d.Nickname
	if name == "" {
		name = "diner"
	}
	return Principal{Kind: DinerKind, ID: d.ID, CommunityID: d.CommunityID, Name: name}
}

// Session is a newly issued login. Token is shown once, to its owner.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Principal Principal `json:"principal"`
}

// Errors.
var (
	ErrBadCredentials  = apperr.New(apperr.Unauthenticated, "bad_credentials", "用户名或密码错误 / wrong username or password")
	ErrNoSession       = apperr.New(apperr.Unauthenticated, "session_invalid", "请重新登录 / not logged in or the session has expired")
	ErrStaffNotFound   = apperr.New(apperr.NotFound, "staff_not_found", "no such staff account")
	ErrUsernameTaken   = apperr.New(apperr.Conflict, "username_taken", "用户名已被使用 / username is taken")
	ErrCommunityAbsent = apperr.New(apperr.NotFound, "community_not_found", "no such community")
)
