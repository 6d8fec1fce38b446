package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/canteen-oss/canteen/internal/auth"
)

// Who may call what, written out independently of routes.go: "public", "any" (any
// logged-in principal) or the staff roles allowed, with "device" for a kitchen device
// registered to the seeded canteen.
var staffRoles = []string{"admin", "reviewer", "kitchen", "counter", "finance"}

var expectAccess = map[string][]string{
	"POST /api/v1/auth/staff/login":                                  {"public"},
	"POST /api/v1/auth/diner/login":                                  {"public"},
	"POST /api/v1/auth/logout":                                       {"any"},
	"GET /api/v1/me":                                                 {"any"},
	"GET /api/v1/communities":                                        {"public"},
	"GET /api/v1/communities/:communityID/canteens":                  {"public"},
	"GET /api/v1/communities/:communityID/canteens/:canteenID/menus": {"public"},
	"GET /api/v1/diet-tags":                                          {"public"},
	"GET /api/v1/admin/staff":                                        {"admin"},
	"POST /api/v1/admin/staff":                                       {"admin"},
	"GET /api/v1/admin/staff/:id":                                    {"admin"},
	"PATCH /api/v1/admin/staff/:id":                                  {"admin"},
	"GET /api/v1/admin/merchants":                                    {"admin", "finance"},
	"POST /api/v1/admin/merchants":                                   {"admin"},
	"GET /api/v1/admin/merchants/:id":                                {"admin", "finance"},
	"PATCH /api/v1/admin/merchants/:id":                              {"admin"},
	"GET /api/v1/merchant/profile":                                   {"merchant"},
	"GET /api/v1/admin/canteens":                                     staffRoles,
	"POST /api/v1/admin/canteens":                                    {"admin"},
	"GET /api/v1/admin/canteens/:id":                                 staffRoles,
	"PATCH /api/v1/admin/canteens/:id":                               {"admin"},
	"PUT /api/v1/admin/canteens/:id/meal-periods/:period":            {"admin"},
	"GET /api/v1/admin/canteens/:id/closures":                        staffRoles,
	"POST /api/v1/admin/canteens/:id/closures":                       {"admin"},
	"DELETE /api/v1/admin/canteens/:id/closures/:day":                {"admin"},
	"GET /api/v1/admin/dishes":                                       staffRoles,
	"POST /api/v1/admin/dishes":                                      {"admin"},
	"GET /api/v1/admin/dishes/:id":                                   staffRoles,
	"PATCH /api/v1/admin/dishes/:id":                                 {"admin"},
	"GET /api/v1/admin/canteens/:id/menus":                           staffRoles,
	"POST /api/v1/admin/canteens/:id/menus/copy-week":                {"admin"},
	"GET /api/v1/admin/canteens/:id/menus/:day/:period":              staffRoles,
	"PUT /api/v1/admin/canteens/:id/menus/:day/:period":              {"admin"},
	"POST /api/v1/admin/canteens/:id/menus/:day/:period/publish":     {"admin"},
	"GET /api/v1/admin/audit":                                        {"admin", "finance"},

	"POST /api/v1/eligibility/elderly":                                {"diner"},
	"POST /api/v1/eligibility/worker":                                 {"diner"},
	"GET /api/v1/eligibility":                                         {"diner"},
	"GET /api/v1/admin/eligibilities/pending":                         {"reviewer", "admin"},
	"GET /api/v1/admin/eligibilities/expiring":                        {"reviewer", "admin"},
	"GET /api/v1/admin/eligibilities/:id":                             {"reviewer", "admin"},
	"POST /api/v1/admin/eligibilities/:id/approve":                    {"reviewer"},
	"POST /api/v1/admin/eligibilities/:id/reject":                     {"reviewer"},
	"POST /api/v1/admin/eligibilities/:id/revoke":                     {"reviewer"},
	"POST /api/v1/admin/eligibilities/:id/renew":                      {"reviewer"},
	"POST /api/v1/admin/eligibilities/:id/unmask":                     {"reviewer"},
	"GET /api/v1/counter/diners":                                      {"counter", "reviewer"},
	"POST /api/v1/counter/elders":                                     {"counter", "reviewer"},
	"POST /api/v1/family/bindings":                                    {"diner"},
	"GET /api/v1/family/bindings":                                     {"diner"},
	"POST /api/v1/family/bindings/:id/confirm":                        {"diner", "reviewer"},
	"POST /api/v1/family/bindings/:id/revoke":                         {"diner", "reviewer"},
	"GET /api/v1/family/elders":                                       {"diner"},
	"GET /api/v1/admin/bindings/pending":                              {"reviewer", "admin"},
	"GET /api/v1/admin/sponsors":                                      {"admin", "finance"},
	"POST /api/v1/admin/sponsors":                                     {"admin"},
	"GET /api/v1/admin/sponsors/:id":                                  {"admin", "finance"},
	"PATCH /api/v1/admin/sponsors/:id":                                {"admin"},
	"GET /api/v1/admin/pledges":                                       {"admin", "finance"},
	"POST /api/v1/admin/pledges":                                      {"admin"},
	"GET /api/v1/admin/pledges/:id":                                   {"admin", "finance"},
	"PATCH /api/v1/admin/pledges/:id":                                 {"admin"},
	"GET /api/v1/admin/pledges/:id/balances":                          {"admin", "finance"},
	"POST /api/v1/admin/pledges/:id/top-up":                           {"admin"},
	"POST /api/v1/admin/pledges/:id/adjust":                           {"admin"},
	"GET /api/v1/admin/policies":                                      {"admin", "finance"},
	"POST /api/v1/admin/policies":                                     {"admin"},
	"GET /api/v1/admin/policies/:id":                                  {"admin", "finance"},
	"PUT /api/v1/admin/policies/:id":                                  {"admin"},
	"POST /api/v1/admin/policies/:id/deactivate":                      {"admin"},
	"POST /api/v1/admin/policies/:id/activate":                        {"admin"},
	"POST /api/v1/quotes":                                             {"diner", "counter"},
	"POST /api/v1/orders":                                             {"diner", "counter"},
	"GET /api/v1/orders":                                              {"diner"},
	"GET /api/v1/orders/:id":                                          append([]string{"diner"}, staffRoles...),
	"POST /api/v1/orders/:id/cancel":                                  {"diner", "admin", "counter"},
	"POST /api/v1/orders/:id/pay":                                     {"diner"},
	"POST /api/v1/payments/wechat/notify":                             {"public"},
	"POST /api/v1/payments/wechat/refund-notify":                      {"public"},
	"GET /api/v1/admin/payments/attention":                            {"admin", "finance"},
	"GET /api/v1/admin/reconciliation":                                {"admin", "finance"},
	"POST /api/v1/admin/reconciliation/:day/run":                      {"finance"},
	"POST /api/v1/admin/reconciliation/:day/resolutions":              {"finance"},
	"GET /api/v1/kitchen/canteens/:id/tickets":                        {"kitchen", "admin", "device"},
	"GET /api/v1/kitchen/canteens/:id/board":                          {"kitchen", "admin", "device"},
	"GET /api/v1/kitchen/canteens/:id/stations":                       {"kitchen", "admin", "device"},
	"GET /api/v1/kitchen/canteens/:id/stream":                         {"kitchen", "admin", "device"},
	"POST /api/v1/kitchen/tickets/:id/bump":                           {"kitchen", "device"},
	"POST /api/v1/kitchen/tickets/:id/recall":                         {"kitchen", "device"},
	"POST /api/v1/kitchen/tickets/:id/reprint":                        {"kitchen", "device"},
	"POST /api/v1/kitchen/devices":                                    {"kitchen", "admin"},
	"GET /api/v1/admin/devices":                                       {"admin"},
	"POST /api/v1/admin/devices/:id/revoke":                           {"admin"},
	"GET /api/v1/kitchen/canteens/:id/printers":                       {"kitchen", "admin", "device"},
	"POST /api/v1/admin/canteens/:id/printers":                        {"admin"},
	"PATCH /api/v1/admin/printers/:id":                                {"admin"},
	"GET /api/v1/communities/:communityID/canteens/:canteenID/pickup": {"public"},
	"POST /api/v1/orders/:id/refunds":                                 {"diner", "admin", "counter", "finance"},
	"GET /api/v1/me/allowances":                                       {"diner"},
	"GET /api/v1/admin/settlement/statements/:id/export":              {"admin", "finance"},
	"GET /api/v1/merchant/statements/:id/export":                      {"merchant"},
	"GET /api/v1/admin/settlement/months/:month/preview":              {"admin", "finance"},
	"GET /api/v1/admin/settlement/months/:month/checks":               {"admin", "finance"},
	"POST /api/v1/admin/settlement/months/:month/close":               {"finance"},
	"GET /api/v1/admin/settlement/closes":                             {"admin", "finance"},
	"GET /api/v1/admin/settlement/attempts":                           {"admin", "finance"},
	"GET /api/v1/admin/settlement/statements":                         {"admin", "finance"},
	"GET /api/v1/admin/settlement/statements/:id":                     {"admin", "finance"},
	"POST /api/v1/admin/settlement/adjustments":                       {"finance"},
	"GET /api/v1/merchant/statements":                                 {"merchant"},
	"GET /api/v1/merchant/statements/:id":                             {"merchant"},
	"POST /api/v1/merchant/statements/:id/confirm":                    {"merchant"},
	"POST /api/v1/merchant/statements/:id/dispute":                    {"merchant"},
}

// TestEveryRouteEveryRole calls every /api/v1 route as nobody, as a diner, as each staff
// role and as a kitchen device, and checks that exactly the expected callers get past
// authorization.
func TestEveryRouteEveryRole(t *testing.T) {
	e := newEnv(t, 100000)
	callers := append([]string{"nobody", "diner"}, "admin", "reviewer", "kitchen", "counter", "finance", "merchant", "device")
	seen := map[string]bool{}
	for _, r := range e.app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == "HEAD" {
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			continue
		}
		seen[key] = true
		want, ok := expectAccess[key]
		if !ok {
			t.Errorf("route %s has no expected access rule in this test: add it", key)
			continue
		}
		for _, who := range callers {
			t.Run(key+" as "+who, func(t *testing.T) {
				path := e.fillPath(r.Path)
				token := e.tokenFor(who, r.Path)
				reqBody := ""
				if r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" {
					reqBody = "{}"
				}
				resp := e.do(r.Method, path, token, reqBody)
				raw := body(resp)
				allowed := allows(want, who)
				switch {
				case allowed && (resp.StatusCode == 401 || resp.StatusCode == 403):
					t.Fatalf("%s should be allowed, got %d: %s", who, resp.StatusCode, raw)
				case !allowed && who == "nobody" && resp.StatusCode != 401:
					t.Fatalf("nobody should get 401, got %d: %s", resp.StatusCode, raw)
				case !allowed && who != "nobody" && resp.StatusCode != 403:
					t.Fatalf("%s should get 403, got %d: %s", who, resp.StatusCode, raw)
				}
			})
		}
	}
	for key := range expectAccess {
		if !seen[key] {
			t.Errorf("expected route %s is not registered", key)
		}
	}
}

func allows(want []string, who string) bool {
	switch {
	case slices.Contains(want, "public"):
		return true
	case who == "nobody":
		return false
	case slices.Contains(want, "any"):
		return true
	}
	return slices.Contains(want, who)
}

// tokenFor returns a session of who. Logout gets a fresh session, since it ends it.
func (e *env) tokenFor(who, path string) string {
	switch {
	case who == "nobody":
		return ""
	case strings.HasSuffix(path, "/logout") && who == "diner":
		return e.dinerToken(fmt.Sprintf("openid-%s", path))
	case strings.HasSuffix(path, "/logout") && who == "device":
		return e.deviceToken(e.tokens["kitchen"], e.ids["canteen"], "退出用平板")
	case strings.HasSuffix(path, "/logout"):
		return e.login("user-"+who, password)
	case who == "device" && e.tokens["device"] == "":
		e.tokens["device"] = e.deviceToken(e.tokens["kitchen"], e.ids["canteen"], "热菜档平板")
	}
	return e.tokens[who]
}

func (e *env) fillPath(p string) string {
	id := e.ids["canteen"]
	switch {
	case strings.HasPrefix(p, "/api/v1/admin/staff/"):
		id = e.ids["staff-"+string(auth.Kitchen)]
	case strings.HasPrefix(p, "/api/v1/admin/merchants/"):
		id = e.ids["merchant"]
	case strings.HasPrefix(p, "/api/v1/admin/dishes/"):
		id = e.ids["dish"]
	case strings.HasPrefix(p, "/api/v1/admin/eligibilities/"):
		id = e.ids["elderElig"]
	case strings.HasPrefix(p, "/api/v1/admin/sponsors/"):
		id = e.ids["sponsor"]
	case strings.HasPrefix(p, "/api/v1/admin/pledges/"):
		id = e.ids["pledge"]
	case strings.HasPrefix(p, "/api/v1/admin/policies/"):
		id = e.ids["policy"]
	case strings.HasPrefix(p, "/api/v1/family/bindings/"), strings.HasPrefix(p, "/api/v1/orders/"),
		strings.HasPrefix(p, "/api/v1/admin/devices/"):
		id = 987654 // none: the allowed get as far as 404
	}
	r := strings.NewReplacer(
		":communityID", fmt.Sprint(e.ids["community"]),
		":canteenID", fmt.Sprint(e.ids["canteen"]),
		":id", fmt.Sprint(id),
		":day", civilToday().String(),
		":period", "lunch",
		":month", "2999-12", // a month that has not begun: nothing is closed
	)
	return r.Replace(p)
}
