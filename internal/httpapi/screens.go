package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	kitchenweb "github.com/canteen-oss/canteen/web/kitchen"
)

// screenFiles are the files of the kitchen screen (/kitchen/) and the dining room's pickup
// board (/pickup/), by page and name under the page, with their content type.
var screenFiles = map[string]map[string]struct{ file, contentType string }{
	"/kitchen": {
		"":        {"kitchen.html", fiber.MIMETextHTMLCharsetUTF8},
		"app.js":  {"kitchen.js", "text/javascript; charset=utf-8"},
		"app.css": {"screens.css", "text/css; charset=utf-8"},
	},
	"/pickup": {
		"":        {"pickup.html", fiber.MIMETextHTMLCharsetUTF8},
		"app.js":  {"pickup.js", "text/javascript; charset=utf-8"},
		"app.css": {"screens.css", "text/css; charset=utf-8"},
	},
}

// screenCSP lets the screens load only their own files and call only this server.
const screenCSP = "default-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// screenPage serves a wall screen under prefix: the kitchen screen at /kitchen/ (kitchen
// staff log in, pick the canteen and bump tickets; changes arrive over the ticket stream)
// or the pickup board at /pickup/?community=…&canteen=… (public: ready pickup numbers
// only). The bare prefix redirects to prefix + "/".
func (s *server) screenPage(prefix string) fiber.Handler {
	files := screenFiles[prefix]
	return func(c *fiber.Ctx) error {
		path := c.Path()
		if path == prefix {
			return c.Redirect(prefix+"/", fiber.StatusMovedPermanently)
		}
		name, ok := strings.CutPrefix(path, prefix+"/")
		if !ok {
			return fiber.ErrNotFound
		}
		f, ok := files[name]
		if !ok {
			return fiber.ErrNotFound
		}
		b, err := kitchenweb.FS.ReadFile(f.file)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		if name == "" {
			c.Set(fiber.HeaderContentSecurityPolicy, screenCSP)
			c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		}
		c.Set(fiber.HeaderContentType, f.contentType)
		return c.Send(b)
	}
}
