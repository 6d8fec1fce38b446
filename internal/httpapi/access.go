package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/auth"
)

// access says who may call a route.
type access struct {
	public bool        // anyone, logged in or not
	diner  bool        // a logged-in diner
	anyone bool        // any logged-in principal
	device bool        // a kitchen device (it acts only on its own canteen)
	roles  []auth.Role // staff holding one of these roles
}

var (
	public   = access{public: true}
	loggedIn = access{anyone: true}
)

func staff(roles ...auth.Role) access { return access{roles: roles} }

// dinerOr lets in a logged-in diner and staff holding one of roles.
func dinerOr(roles ...auth.Role) access { return access{diner: true, roles: roles} }

// deviceOr lets in a kitchen device and staff holding one of roles. A device passes no
// other rule but loggedIn.
func deviceOr(roles ...auth.Role) access { return access{device: true, roles: roles} }

// dinerOnly lets in a logged-in diner only.
var dinerOnly = access{diner: true}

// allStaff is every staff role except the merchant users, who only see their own merchant.
var allStaff = []auth.Role{auth.Admin, auth.Reviewer, auth.Kitchen, auth.Counter, auth.Finance}

var errForbidden = apperr.New(apperr.Forbidden, "forbidden", "没有权限 / you may not do this")

// authenticate resolves a bearer token, if any, into the principal. A bad token is
// only an error for routes that need a login.
func (s *server) authenticate(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	if token, ok := strings.CutPrefix(h, "Bearer "); ok && token != "" {
		if err := s.resolveToken(c, token); err != nil {
			return err
		}
	}
	return c.Next()
}

// resolveToken looks a session token up and keeps its principal for the guards. A token
// that names no live session is kept as authErr, an error only for routes that need a
// login; any other failure is returned.
func (s *server) resolveToken(c *fiber.Ctx, token string) error {
	p, err := s.Auth.Authenticate(c.UserContext(), token)
	switch {
	case err == nil:
		c.Locals("principal", p)
		c.Locals("token", strings.Clone(token))
	case apperr.KindOf(err) != apperr.Unauthenticated:
		return err
	default:
		c.Locals("authErr", err)
	}
	return nil
}

func principal(c *fiber.Ctx) (auth.Principal, bool) {
	p, ok := c.Locals("principal").(auth.Principal)
	return p, ok
}

// guard enforces a route's access rule before its handler runs.
func guard(a access) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if a.public {
			return c.Next()
		}
		p, ok := principal(c)
		if !ok {
			if err, ok := c.Locals("authErr").(error); ok {
				return err
			}
			return auth.ErrNoSession
		}
		if a.admits(p) {
			return c.Next()
		}
		return errForbidden
	}
}

// admits reports whether the logged-in p passes a.
func (a access) admits(p auth.Principal) bool {
	return a.public || a.anyone ||
		a.diner && p.Kind == auth.DinerKind ||
		a.device && p.Kind == auth.DeviceKind ||
		len(a.roles) > 0 && p.HasAny(a.roles...)
}

// canteenScope fails unless the staff or device caller may act on canteen id.
func canteenScope(c *fiber.Ctx, id int64) error {
	p, _ := principal(c)
	if !p.CanAccessCanteen(id) {
		return errForbidden
	}
	return nil
}

// me returns the caller, who has passed a guard that requires a login.
func me(c *fiber.Ctx) auth.Principal {
	p, _ := principal(c)
	return p
}
