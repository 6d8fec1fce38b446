package httpapi

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"gopkg.in/yaml.v3"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/auth"
)

//go:embed openapi.yaml
var openapiDoc []byte

//go:embed docs.html
var docsHTML []byte

// OpenAPI returns the OpenAPI document.
func OpenAPI() []byte { return openapiDoc }

func (s *server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz answers 200 only when every dependency answers and the schema is current.
func (s *server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	for _, ch := range s.Ready {
		if err := ch.Fn(ctx); err != nil {
			checks[ch.Name] = err.Error()
			ok = false
		} else {
			checks[ch.Name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	return c.Status(status).JSON(fiber.Map{"ready": ok, "checks": checks})
}

func (s *server) openapiYAML(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
	return c.Send(openapiDoc)
}

// openapiAsJSON is the embedded document converted once, on first use.
var openapiAsJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openapiDoc, &doc); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

func (s *server) openapiJSON(c *fiber.Ctx) error {
	b, err := openapiAsJSON()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(b)
}

func (s *server) docsPage(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(docsHTML)
}

// basicAdmin lets an admin reach the queue monitor from a browser: HTTP Basic with
// the staff username and password (subject to the login rate limit) starts a staff
// session kept in an HttpOnly cookie scoped to /admin.
func (s *server) basicAdmin(c *fiber.Ctx) error {
	const cookie = "canteen_admin"
	if token := c.Cookies(cookie); token != "" {
		if p, err := s.Auth.Authenticate(c.UserContext(), token); err == nil && p.HasAny(auth.Admin) {
			return c.Next()
		}
	}
	challenge := func() error {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="canteen admin", charset="UTF-8"`)
		return c.Status(http.StatusUnauthorized).SendString("admin login required")
	}
	raw, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Basic ")
	if !ok {
		return challenge()
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return challenge()
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return challenge()
	}
	sess, err := s.Auth.StaffLogin(c.UserContext(), user, pass, c.IP())
	if err != nil {
		if apperr.KindOf(err) == apperr.TooManyRequests {
			return err
		}
		return challenge()
	}
	if !sess.Principal.HasAny(auth.Admin) {
		_ = s.Auth.Logout(c.UserContext(), sess.Token)
		return c.Status(http.StatusForbidden).SendString("admin role required")
	}
	c.Cookie(&fiber.Cookie{Name: cookie, Value: sess.Token, Path: "/admin", HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode, Secure: c.Protocol() == "https", Expires: sess.ExpiresAt})
	return c.Next()
}

func (s *server) asynqmon() fiber.Handler { return adaptor.HTTPHandler(s.Asynqmon) }
