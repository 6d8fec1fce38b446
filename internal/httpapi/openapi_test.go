package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"gopkg.in/yaml.v3"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/auth"
)

// The tests in this file keep openapi.yaml in step with the route table (routes.go):
// every /api/v1 route is documented and every documented /api/v1 operation exists,
// each operation carries what the docs page shows, and x-roles say what the guard does.

// oaOperation is what the tests read of one OpenAPI operation.
type oaOperation struct {
	OperationID string               `yaml:"operationId"`
	Summary     string               `yaml:"summary"`
	Tags        []string             `yaml:"tags"`
	XRoles      []string             `yaml:"x-roles"`
	Security    *[]map[string]any    `yaml:"security"`
	Parameters  []map[string]any     `yaml:"parameters"`
	Responses   map[string]yaml.Node `yaml:"responses"`
}

// oaDocument is what the tests read of openapi.yaml.
type oaDocument struct {
	OpenAPI string                          `yaml:"openapi"`
	Tags    []struct{ Name string }         `yaml:"tags"`
	Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	Comps   struct {
		Parameters map[string]map[string]any `yaml:"parameters"`
	} `yaml:"components"`
}

var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oaPathItemFields are the fields of an OpenAPI path item that are not operations.
var oaPathItemFields = []string{"$ref", "summary", "description", "servers", "parameters"}

// oaOp is one documented operation; Shared are the parameters of its path item.
type oaOp struct {
	Method, Path string
	Op           oaOperation
	Shared       []map[string]any
}

func loadOpenAPI(t *testing.T) (oaDocument, []oaOp) {
	t.Helper()
	var doc oaDocument
	if err := yaml.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	var ops []oaOp
	for path, item := range doc.Paths {
		var shared []map[string]any
		if node, ok := item["parameters"]; ok {
			if err := node.Decode(&shared); err != nil {
				t.Fatalf("openapi.yaml: %s parameters: %v", path, err)
			}
		}
		for key, node := range item {
			if !slices.Contains(oaMethods, key) {
				if !slices.Contains(oaPathItemFields, key) {
					t.Errorf("openapi.yaml: path %s has unknown field %q (methods are lower case)", path, key)
				}
				continue
			}
			var op oaOperation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("openapi.yaml: %s %s: %v", key, path, err)
			}
			ops = append(ops, oaOp{Method: strings.ToUpper(key), Path: path, Op: op, Shared: shared})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		return ops[i].Path+" "+ops[i].Method < ops[j].Path+" "+ops[j].Method
	})
	return doc, ops
}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// openAPIPath turns a Fiber route path into an OpenAPI one: /x/:id becomes /x/{id}.
func openAPIPath(p string) string { return fiberParam.ReplaceAllString(p, "{$1}") }

// apiRoutes returns the app's /api/v1 routes as "METHOD /path" in OpenAPI form.
//
// GetRoutes(true) leaves out what Use registered: the global middleware at "/" and the
// /api/v1 catch-all that answers 404 (both registered for every method). Fiber's app.Get
// adds a HEAD twin of each GET route; routes.go adds API routes with v1.Add, which does
// not, but a HEAD twin of a GET route is skipped all the same.
func apiRoutes(t *testing.T, app *fiber.App) map[string]fiber.Route {
	t.Helper()
	all := app.GetRoutes(true)
	gets := map[string]bool{}
	for _, r := range all {
		if r.Method == fiber.MethodGet {
			gets[r.Path] = true
		}
	}
	out := map[string]fiber.Route{}
	for _, r := range all {
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		if r.Method == fiber.MethodHead && gets[r.Path] {
			continue
		}
		if strings.ContainsAny(r.Path, "*+?") {
			t.Errorf("route %s %s uses a wildcard or optional parameter, which OpenAPI cannot describe", r.Method, r.Path)
		}
		key := r.Method + " " + openAPIPath(r.Path)
		if _, dup := out[key]; dup {
			t.Errorf("route %s is registered twice", key)
		}
		out[key] = r
	}
	return out
}

func newDocApp() *fiber.App {
	return New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Options{BodyLimit: 1 << 20, RequestTimeout: time.Second})
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	app := New(Deps{}, Options{BodyLimit: 1 << 20, RequestTimeout: time.Second})
	routes := apiRoutes(t, app)
	if len(routes) == 0 {
		t.Fatal("the app has no /api/v1 routes")
	}
	doc, ops := loadOpenAPI(t)

	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}

	documented := map[string]bool{}
	for _, o := range ops {
		if strings.HasPrefix(o.Path, "/api/v1/") {
			documented[o.Method+" "+o.Path] = true
		}
	}
	var missing, extra []string
	for k := range routes {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if _, ok := routes[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("%d route(s) in routes.go are missing from openapi.yaml:\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("%d operation(s) in openapi.yaml are not routes in routes.go:\n  %s", len(extra), strings.Join(extra, "\n  "))
	}

	// Every operation, API or not, carries what the docs page shows.
	declared := map[string]bool{}
	for _, tag := range doc.Tags {
		declared[tag.Name] = true
	}
	ids := map[string]string{}
	for _, o := range ops {
		name := o.Method + " " + o.Path
		if o.Op.OperationID == "" {
			t.Errorf("%s has no operationId", name)
		} else if prev, dup := ids[o.Op.OperationID]; dup {
			t.Errorf("operationId %q is used by both %s and %s", o.Op.OperationID, prev, name)
		} else {
			ids[o.Op.OperationID] = name
		}
		if strings.TrimSpace(o.Op.Summary) == "" {
			t.Errorf("%s has no summary", name)
		}
		if len(o.Op.XRoles) == 0 {
			t.Errorf("%s has no x-roles", name)
		}
		for _, r := range o.Op.XRoles {
			if r != "public" && r != "any" && r != "diner" && r != "device" {
				if _, err := auth.ParseRole(r); err != nil {
					t.Errorf("%s: x-roles names unknown role %q", name, r)
				}
			}
		}
		if len(o.Op.Tags) == 0 {
			t.Errorf("%s has no tag", name)
		}
		for _, tag := range o.Op.Tags {
			if !declared[tag] {
				t.Errorf("%s: tag %q is not in the top-level tags list", name, tag)
			}
		}
		if len(o.Op.Responses) == 0 {
			t.Errorf("%s has no responses", name)
		}
		public := slices.Equal(o.Op.XRoles, []string{"public"})
		hasSecurity := o.Op.Security != nil && len(*o.Op.Security) > 0
		if public == hasSecurity {
			t.Errorf("%s: x-roles %v but security %v: public operations have `security: []`, the others bearerAuth",
				name, o.Op.XRoles, o.Op.Security)
		}
	}
}

// TestOpenAPIPathParameters checks that each {param} in a documented path has a path
// parameter of that name, and that no path parameter is documented that the path lacks.
func TestOpenAPIPathParameters(t *testing.T) {
	doc, ops := loadOpenAPI(t)
	braces := regexp.MustCompile(`\{([^}]+)\}`)
	for _, o := range ops {
		var want []string
		for _, m := range braces.FindAllStringSubmatch(o.Path, -1) {
			want = append(want, m[1])
		}
		var got []string
		for _, p := range slices.Concat(o.Shared, o.Op.Parameters) {
			if ref, ok := p["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/components/parameters/")
				comp, exists := doc.Comps.Parameters[name]
				if !found || !exists {
					t.Errorf("%s %s: parameter $ref %q does not resolve", o.Method, o.Path, ref)
					continue
				}
				p = comp
			}
			if p["in"] == "path" {
				got = append(got, fmt.Sprint(p["name"]))
				if p["required"] != true {
					t.Errorf("%s %s: path parameter %v must be required", o.Method, o.Path, p["name"])
				}
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s %s: path parameters %v documented, the path has %v", o.Method, o.Path, got, want)
		}
	}
}

// TestOpenAPIRefsResolve checks that every local $ref in the document points at something.
func TestOpenAPIRefsResolve(t *testing.T) {
	var root any
	if err := yaml.Unmarshal(openapiDoc, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if k == "$ref" {
					ref, _ := child.(string)
					if !oaResolves(root, ref) {
						t.Errorf("%s: $ref %q does not resolve", at, ref)
					}
					continue
				}
				walk(child, at+"/"+k)
			}
		case []any:
			for i, child := range v {
				walk(child, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(root, "#")
}

func oaResolves(root any, ref string) bool {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	cur := root
	for _, part := range strings.Split(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPIOperationsEndpoints checks that the documented endpoints outside /api/v1
// are routes of the app, and that the operational ones are documented.
func TestOpenAPIOperationsEndpoints(t *testing.T) {
	app := New(Deps{}, Options{BodyLimit: 1 << 20, RequestTimeout: time.Second})
	registered := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		registered[r.Method+" "+openAPIPath(r.Path)] = true
	}
	_, ops := loadOpenAPI(t)
	documented := map[string]bool{}
	for _, o := range ops {
		k := o.Method + " " + o.Path
		documented[k] = true
		if !strings.HasPrefix(o.Path, "/api/v1/") && !registered[k] {
			t.Errorf("openapi.yaml documents %s, which is not a route", k)
		}
	}
	for _, k := range []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.yaml"} {
		if !documented[k] {
			t.Errorf("openapi.yaml does not document %s", k)
		}
	}
}

// TestOpenAPIRolesMatchGuards runs each /api/v1 route's guard (the first handler routes.go
// gives it) for an anonymous caller, a diner, a staff member of each single role and a
// kitchen device, and checks that x-roles names exactly who gets through: [public], [any],
// or the roles, with diner and device among them when a logged-in diner or device gets
// through.
func TestOpenAPIRolesMatchGuards(t *testing.T) {
	app := New(Deps{}, Options{BodyLimit: 1 << 20, RequestTimeout: time.Second})
	routes := apiRoutes(t, app)
	_, ops := loadOpenAPI(t)
	documented := map[string][]string{}
	for _, o := range ops {
		documented[o.Method+" "+o.Path] = o.Op.XRoles
	}

	callers := map[string]*auth.Principal{"anonymous": nil, "diner": {Kind: auth.DinerKind, ID: 1, CommunityID: 1},
		"device": {Kind: auth.DeviceKind, ID: 3, CommunityID: 1, Roles: []auth.Role{auth.Kitchen}, CanteenIDs: []int64{1}, CanteenID: 1}}
	for _, r := range auth.Roles {
		callers[string(r)] = &auth.Principal{Kind: auth.StaffKind, ID: 2, CommunityID: 1, Roles: []auth.Role{r}}
	}
	keys := make([]string, 0, len(routes))
	for k := range routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		route := routes[key]
		want, ok := documented[key]
		if !ok {
			continue // reported by TestOpenAPIMatchesRoutes
		}
		if len(route.Handlers) < 2 {
			t.Errorf("%s: expected a guard and a handler, got %d handlers", key, len(route.Handlers))
			continue
		}
		passes := map[string]bool{}
		for name, p := range callers {
			passes[name] = guardPasses(t, route.Handlers[0], p)
		}
		var got []string
		switch {
		case passes["anonymous"]:
			got = []string{"public"}
		case passes["diner"] && passes["device"] && allStaffPass(passes):
			got = []string{"any"}
		default:
			if passes["diner"] {
				got = append(got, "diner")
			}
			if passes["device"] {
				got = append(got, "device")
			}
			for _, r := range auth.Roles {
				if passes[string(r)] {
					got = append(got, string(r))
				}
			}
		}
		if !sameSet(got, want) {
			t.Errorf("%s: x-roles %v, but the guard lets through %v", key, want, got)
		}
	}
}

func allStaffPass(passes map[string]bool) bool {
	for _, r := range auth.Roles {
		if !passes[string(r)] {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// guardPasses runs guard in a throwaway app for caller p (nil: anonymous) and reports
// whether it let the request through. Any refusal other than 401 or 403 fails the test.
func guardPasses(t *testing.T, guard fiber.Handler, p *auth.Principal) bool {
	t.Helper()
	probe := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		switch apperr.KindOf(err) {
		case apperr.Unauthenticated:
			return c.SendStatus(http.StatusUnauthorized)
		case apperr.Forbidden:
			return c.SendStatus(http.StatusForbidden)
		}
		return c.Status(http.StatusInternalServerError).SendString(err.Error())
	}})
	probe.Get("/probe", func(c *fiber.Ctx) error {
		if p != nil {
			c.Locals("principal", *p)
		}
		return c.Next()
	}, guard, func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) })
	resp, err := probe.Test(httptest.NewRequest(http.MethodGet, "/probe", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return true
	case http.StatusUnauthorized, http.StatusForbidden:
		return false
	}
	b, _ := io.ReadAll(resp.Body)
	t.Fatalf("guard answered %d: %s", resp.StatusCode, b)
	return false
}

// TestOpenAPIServedAsJSON checks that /openapi.json converts the document (a YAML key that
// is not a string, such as an unquoted 200, would make the conversion fail) and that
// /openapi.yaml and /docs are served.
func TestOpenAPIServedAsJSON(t *testing.T) {
	app := newDocApp()
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil), 5000)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	resp, b := get("/openapi.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/openapi.json: status %d: %s", resp.StatusCode, b)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Info    struct{ Title string }    `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("/openapi.json is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Title != "canteen API" || len(doc.Paths) == 0 {
		t.Errorf("/openapi.json: openapi %q, title %q, %d paths", doc.OpenAPI, doc.Info.Title, len(doc.Paths))
	}

	resp, b = get("/openapi.yaml")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") || len(b) != len(openapiDoc) {
		t.Errorf("/openapi.yaml: status %d, type %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
	}

	resp, b = get("/docs")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("/docs: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(b), `fetch("/openapi.json"`) {
		t.Error("/docs does not load /openapi.json")
	}
}

// TestOpenAPIDocsPageSelfContained checks that the docs page loads nothing from elsewhere: the
// machine serving it may be offline.
func TestOpenAPIDocsPageSelfContained(t *testing.T) {
	page := string(docsHTML)
	if !strings.Contains(page, `<html lang="zh-CN">`) {
		t.Error(`docs.html lacks <html lang="zh-CN">`)
	}
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|@import|url\(\s*["']?(https?:)?//`)
	if m := external.FindString(page); m != "" {
		t.Errorf("docs.html refers to another site: %q", m)
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("docs.html has %d <script> elements, want one inline script", n)
	}
	if strings.Contains(page, "innerHTML") || strings.Contains(page, "insertAdjacentHTML") || strings.Contains(page, "document.write") {
		t.Error("docs.html writes HTML from strings; put text in with textContent")
	}
}
