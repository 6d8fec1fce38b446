package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/auth"
)

// routes is the whole route table. Each /api/v1 route names who may call it; the
// OpenAPI document (openapi.yaml) lists the same routes, and tests keep them in step.
func (s *server) routes(app *fiber.App) {
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.metrics)
	app.Get("/openapi.yaml", s.openapiYAML)
	app.Get("/openapi.json", s.openapiJSON)
	app.Get("/docs", s.docsPage)
	if s.Asynqmon != nil {
		app.Use("/admin/asynq", s.basicAdmin, s.asynqmon())
	}

	v1 := app.Group("/api/v1")
	r := func(method, path string, a access, h fiber.Handler) {
		v1.Add(method, path, guard(a), h)
	}
	admin, fin := auth.Admin, auth.Finance

	// Sessions.
	r("POST", "/auth/staff/login", public, s.staffLogin)
	r("POST", "/auth/diner/login", public, s.dinerLogin)
	r("POST", "/auth/logout", loggedIn, s.logout)
	r("GET", "/me", loggedIn, s.getMe)

	// Diner-facing reads: menus are browsable without logging in.
	r("GET", "/communities", public, s.listCommunities)
	r("GET", "/communities/:communityID/canteens", public, s.publicCanteens)
	r("GET", "/communities/:communityID/canteens/:canteenID/menus", public, s.publicMenus)
	r("GET", "/diet-tags", public, s.dietTags)

	// Staff accounts.
	r("GET", "/admin/staff", staff(admin), s.listStaff)
	r("POST", "/admin/staff", staff(admin), s.createStaff)
	r("GET", "/admin/staff/:id", staff(admin), s.getStaff)
	r("PATCH", "/admin/staff/:id", staff(admin), s.updateStaff)

	// Partner merchants.
	r("GET", "/admin/merchants", staff(admin, fin), s.listMerchants)
	r("POST", "/admin/merchants", staff(admin), s.createMerchant)
	r("GET", "/admin/merchants/:id", staff(admin, fin), s.getMerchant)
	r("PATCH", "/admin/merchants/:id", staff(admin), s.updateMerchant)
	r("GET", "/merchant/profile", staff(auth.Merchant), s.merchantProfile)

	// Canteens, meal periods and closures.
	r("GET", "/admin/canteens", staff(allStaff...), s.listCanteens)
	r("POST", "/admin/canteens", staff(admin), s.createCanteen)
	r("GET", "/admin/canteens/:id", staff(allStaff...), s.getCanteen)
	r("PATCH", "/admin/canteens/:id", staff(admin), s.updateCanteen)
	r("PUT", "/admin/canteens/:id/meal-periods/:period", staff(admin), s.setMealPeriod)
	r("GET", "/admin/canteens/:id/closures", staff(allStaff...), s.listClosures)
	r("POST", "/admin/canteens/:id/closures", staff(admin), s.addClosure)
	r("DELETE", "/admin/canteens/:id/closures/:day", staff(admin), s.removeClosure)

	// Dishes and set meals.
	r("GET", "/admin/dishes", staff(allStaff...), s.listDishes)
	r("POST", "/admin/dishes", staff(admin), s.createDish)
	r("GET", "/admin/dishes/:id", staff(allStaff...), s.getDish)
	r("PATCH", "/admin/dishes/:id", staff(admin), s.updateDish)

	// Daily menus.
	r("GET", "/admin/canteens/:id/menus", staff(allStaff...), s.listMenus)
	r("POST", "/admin/canteens/:id/menus/copy-week", staff(admin), s.copyWeek)
	r("GET", "/admin/canteens/:id/menus/:day/:period", staff(allStaff...), s.getMenu)
	r("PUT", "/admin/canteens/:id/menus/:day/:period", staff(admin), s.putMenu)
	r("POST", "/admin/canteens/:id/menus/:day/:period/publish", staff(admin), s.publishMenu)

	// Audit.
	r("GET", "/admin/audit", staff(admin, fin), s.listAudit)

	v1.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}
