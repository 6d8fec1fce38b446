package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/web/console"
)

// consoleFiles are the month-end console's files by the name under /finance/, with their
// content type.
var consoleFiles = map[string]struct{ file, contentType string }{
	"":        {"index.html", fiber.MIMETextHTMLCharsetUTF8},
	"app.js":  {"app.js", "text/javascript; charset=utf-8"},
	"app.css": {"app.css", "text/css; charset=utf-8"},
}

// consoleCSP lets the console load only its own files and call only this server. Exports
// are fetched with the login and handed to the browser as blob: URLs; the printable
// statement opens from one in a new tab, which takes this policy with it, so inline style
// is allowed for the statement's own style sheet (the console writes data as text only,
// and scripts stay limited to its own file).
const consoleCSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// consolePage serves the month-end console under /finance/ (月结台): finance and admins
// log in to preview, check and close a month, read its statements, exports and WeChat
// reconciliation; partner merchants read, confirm or dispute their own statements. The
// page is public; every piece of data comes from /api/v1 with the staff login. /finance
// redirects to /finance/ and any other path is not found.
func (s *server) consolePage(c *fiber.Ctx) error {
	path := c.Path()
	if path == "/finance" {
		return c.Redirect("/finance/", fiber.StatusMovedPermanently)
	}
	name, ok := strings.CutPrefix(path, "/finance/")
	if !ok {
		return fiber.ErrNotFound
	}
	f, ok := consoleFiles[name]
	if !ok {
		return fiber.ErrNotFound
	}
	b, err := console.FS.ReadFile(f.file)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if name == "" {
		c.Set(fiber.HeaderContentSecurityPolicy, consoleCSP)
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	return c.Send(b)
}
