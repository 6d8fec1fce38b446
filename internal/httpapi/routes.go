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
	app.Get("/m*", s.dinerPage)                    // the diner web page: /m/, its script, style and config.json
	app.Get("/kitchen*", s.screenPage("/kitchen")) // the kitchen screen: /kitchen/, its script and style
	app.Get("/pickup*", s.screenPage("/pickup"))   // the dining room's pickup board
	app.Get("/finance*", s.consolePage)            // the month-end console for finance and partner merchants
	if s.Asynqmon != nil {
		app.Use("/admin/asynq", s.basicAdmin, s.asynqmon())
	}

	v1 := app.Group("/api/v1")
	r := func(method, path string, a access, h fiber.Handler) {
		v1.Add(method, path, guard(a), h)
	}
	admin, fin, rev, ctr := auth.Admin, auth.Finance, auth.Reviewer, auth.Counter

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

	// Eligibility: diners apply for themselves; reviewers decide; the counter registers
	// elders without WeChat and finds diners, masked and without their group.
	r("POST", "/eligibility/elderly", dinerOnly, s.applyElderly)
	r("POST", "/eligibility/worker", dinerOnly, s.applyWorker)
	r("GET", "/eligibility", dinerOnly, s.myEligibilities)
	r("GET", "/admin/eligibilities/pending", staff(rev, admin), s.pendingEligibilities)
	r("GET", "/admin/eligibilities/expiring", staff(rev, admin), s.expiringEligibilities)
	r("GET", "/admin/eligibilities/:id", staff(rev, admin), s.getEligibility)
	r("POST", "/admin/eligibilities/:id/approve", staff(rev), s.approveEligibility)
	r("POST", "/admin/eligibilities/:id/reject", staff(rev), s.rejectEligibility)
	r("POST", "/admin/eligibilities/:id/revoke", staff(rev), s.revokeEligibility)
	r("POST", "/admin/eligibilities/:id/renew", staff(rev), s.renewEligibility)
	r("POST", "/admin/eligibilities/:id/unmask", staff(rev), s.unmaskEligibility)
	r("GET", "/counter/diners", staff(ctr, rev), s.findDiners)
	r("POST", "/counter/elders", staff(ctr, rev), s.registerElder)

	// Family bindings: a family member orders for an elder once the elder (or a reviewer)
	// confirms.
	r("POST", "/family/bindings", dinerOnly, s.requestBinding)
	r("GET", "/family/bindings", dinerOnly, s.myBindings)
	r("POST", "/family/bindings/:id/confirm", dinerOr(rev), s.confirmBinding)
	r("POST", "/family/bindings/:id/revoke", dinerOr(rev), s.revokeBinding)
	r("GET", "/family/elders", dinerOnly, s.myElders)
	r("GET", "/admin/bindings/pending", staff(rev, admin), s.pendingBindings)

	// Sponsors, pledges and public-benefit price policies.
	r("GET", "/admin/sponsors", staff(admin, fin), s.listSponsors)
	r("POST", "/admin/sponsors", staff(admin), s.createSponsor)
	r("GET", "/admin/sponsors/:id", staff(admin, fin), s.getSponsor)
	r("PATCH", "/admin/sponsors/:id", staff(admin), s.updateSponsor)
	r("GET", "/admin/pledges", staff(admin, fin), s.listPledges)
	r("POST", "/admin/pledges", staff(admin), s.createPledge)
	r("GET", "/admin/pledges/:id", staff(admin, fin), s.getPledge)
	r("PATCH", "/admin/pledges/:id", staff(admin), s.updatePledge)
	r("GET", "/admin/pledges/:id/balances", staff(admin, fin), s.pledgeBalances)
	r("POST", "/admin/pledges/:id/top-up", staff(admin), s.topUpPledge)
	r("POST", "/admin/pledges/:id/adjust", staff(admin), s.adjustPledge)
	r("GET", "/admin/policies", staff(admin, fin), s.listPolicies)
	r("POST", "/admin/policies", staff(admin), s.createPolicy)
	r("GET", "/admin/policies/:id", staff(admin, fin), s.getPolicy)
	r("PUT", "/admin/policies/:id", staff(admin), s.updatePolicy)
	r("POST", "/admin/policies/:id/deactivate", staff(admin), s.deactivatePolicy)
	r("POST", "/admin/policies/:id/activate", staff(admin), s.activatePolicy)

	// Quotes and orders: diners for themselves or a bound elder, the counter for anyone.
	// Staff see prices only.
	r("POST", "/quotes", dinerOr(ctr), s.quote)
	r("POST", "/orders", dinerOr(ctr), s.placeOrder)
	r("GET", "/orders", dinerOnly, s.myOrders)
	r("GET", "/orders/:id", dinerOr(allStaff...), s.getOrder)
	r("POST", "/orders/:id/cancel", dinerOr(admin, ctr), s.cancelOrder)
	r("POST", "/orders/:id/pay", dinerOnly, s.payOrder)
	r("POST", "/orders/:id/refunds", dinerOr(admin, ctr, fin), s.refundOrder)

	// WeChat Pay calls this; the notification's signature is its credential.
	r("POST", "/payments/wechat/notify", public, s.wechatPayNotify)
	r("POST", "/payments/wechat/refund-notify", public, s.wechatRefundNotify)
	r("GET", "/admin/payments/attention", staff(admin, fin), s.paymentsNeedingAttention)
	// Reconciliation with WeChat Pay's daily trade bill: findings, re-runs, finance's notes.
	r("GET", "/admin/reconciliation", staff(admin, fin), s.listReconciliation)
	r("POST", "/admin/reconciliation/:day/run", staff(fin), s.rerunReconciliation)
	r("POST", "/admin/reconciliation/:day/resolutions", staff(fin), s.resolveFinding)

	// Month end: checks and a preview of an open month, closing it (finance), the
	// immutable statements with their sign-off, and corrections booked into the next open
	// month. A merchant user reads and signs off only its own merchant's statements.
	r("GET", "/admin/settlement/months/:month/preview", staff(admin, fin), s.previewMonth)
	r("GET", "/admin/settlement/months/:month/checks", staff(admin, fin), s.monthChecks)
	r("POST", "/admin/settlement/months/:month/close", staff(fin), s.closeMonth)
	r("GET", "/admin/settlement/closes", staff(admin, fin), s.listCloses)
	r("GET", "/admin/settlement/attempts", staff(admin, fin), s.listCloseAttempts)
	r("GET", "/admin/settlement/statements", staff(admin, fin), s.listStatements)
	r("GET", "/admin/settlement/statements/:id", staff(admin, fin), s.getStatement)
	r("POST", "/admin/settlement/adjustments", staff(fin), s.postAdjustment)
	r("GET", "/merchant/statements", staff(auth.Merchant), s.merchantStatements)
	r("GET", "/merchant/statements/:id", staff(auth.Merchant), s.merchantStatement)
	r("POST", "/merchant/statements/:id/confirm", staff(auth.Merchant), s.confirmStatement)
	r("POST", "/merchant/statements/:id/dispute", staff(auth.Merchant), s.disputeStatement)
	// A closed statement as a file: ?format=xlsx, csv (order detail) or html (to print).
	r("GET", "/admin/settlement/statements/:id/export", staff(admin, fin), s.exportStatement)
	r("GET", "/merchant/statements/:id/export", staff(auth.Merchant), s.exportMerchantStatement)

	// The kitchen: open tickets, bump and recall, reprint, the production board — for kitchen
	// staff and for kitchen devices, each device on its own canteen only; the
	// dining room's pickup board is public and shows numbers only.
	kit := auth.Kitchen
	r("GET", "/kitchen/canteens/:id/tickets", deviceOr(kit, admin), s.openTickets)
	r("GET", "/kitchen/canteens/:id/board", deviceOr(kit, admin), s.productionBoard)
	r("GET", "/kitchen/canteens/:id/stations", deviceOr(kit, admin), s.kitchenStations)
	// Server-Sent Events for kitchen screens; the token may come as ?access_token=.
	screen := deviceOr(kit, admin)
	v1.Add("GET", "/kitchen/canteens/:id/stream", s.streamGuard(screen), s.kitchenStream(screen))
	r("POST", "/kitchen/tickets/:id/bump", deviceOr(kit), s.moveTicket(false))
	r("POST", "/kitchen/tickets/:id/recall", deviceOr(kit), s.moveTicket(true))
	r("POST", "/kitchen/tickets/:id/reprint", deviceOr(kit), s.reprintTicket)
	// Kitchen devices: a screen stays logged in to one canteen until it expires or an
	// admin revokes it. Staff register one; a device cannot.
	r("POST", "/kitchen/devices", staff(kit, admin), s.registerDevice)
	r("GET", "/admin/devices", staff(admin), s.listDevices)
	r("POST", "/admin/devices/:id/revoke", staff(admin), s.revokeDevice)
	// Network ticket printers: screens show their status, admins set them up.
	r("GET", "/kitchen/canteens/:id/printers", deviceOr(kit, admin), s.listPrinters)
	r("POST", "/admin/canteens/:id/printers", staff(admin), s.createPrinter)
	r("PATCH", "/admin/printers/:id", staff(admin), s.updatePrinter)
	r("GET", "/communities/:communityID/canteens/:canteenID/pickup", public, s.pickupBoard)
	r("GET", "/me/allowances", dinerOnly, s.allowances)

	// Audit.
	r("GET", "/admin/audit", staff(admin, fin), s.listAudit)

	v1.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}
