package httpapi

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/web/diner"
)

// dinerFiles are the diner page's files by the name under /m/, with their content type.
var dinerFiles = map[string]struct{ file, contentType string }{
	"":        {"index.html", fiber.MIMETextHTMLCharsetUTF8},
	"app.js":  {"app.js", "text/javascript; charset=utf-8"},
	"app.css": {"app.css", "text/css; charset=utf-8"},
}

// dinerConfig is GET /m/config.json: whether the page runs in demo mode and, if so, where
// the fake WeChat mints login codes and where the fake WeChat Pay takes demo payments.
type dinerConfig struct {
	Demo           bool   `json:"demo"`
	WeChatLoginURL string `json:"wechat_login_url"`
	PayURL         string `json:"pay_url"`
}

func (s *server) dinerConfig() dinerConfig {
	cfg := dinerConfig{Demo: s.Demo}
	if s.DemoWeChatURL != "" {
		cfg.WeChatLoginURL = strings.TrimRight(s.DemoWeChatURL, "/") + "/fake/login-code"
	}
	if s.DemoPayURL != "" {
		cfg.PayURL = strings.TrimRight(s.DemoPayURL, "/") + "/fake/pay"
	}
	return cfg
}

// dinerPage serves the diner web page under /m/: the page, its script and style sheet, and
// config.json. The route is /m*, since /m/* would miss /m/ itself; /m redirects to /m/ and
// any other path starting with /m is not found. The page talks to /api/v1 from the same
// origin; in demo mode it may also call the fakes, which the Content-Security-Policy allows.
//
// In demo mode a clearly labelled demo pay button sends the prepay id from the
// wx.requestPayment parameters to the fake WeChat Pay, whose signed notification then
// marks the order paid; the page follows the order until it is.
func (s *server) dinerPage(c *fiber.Ctx) error {
	path := c.Path()
	if path == "/m" {
		return c.Redirect("/m/", fiber.StatusMovedPermanently)
	}
	name, ok := strings.CutPrefix(path, "/m/")
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if name == "config.json" {
		return c.JSON(s.dinerConfig())
	}
	f, ok := dinerFiles[name]
	if !ok {
		return fiber.ErrNotFound
	}
	b, err := diner.FS.ReadFile(f.file)
	if err != nil {
		return err
	}
	if name == "" {
		cfg := s.dinerConfig()
		connect := []string{"'self'"}
		for _, u := range []string{cfg.WeChatLoginURL, cfg.PayURL} {
			if o := origin(u); o != "" {
				connect = append(connect, o)
			}
		}
		c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'self'; img-src 'self' data: https:; "+
			"connect-src "+strings.Join(connect, " ")+"; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	return c.Send(b)
}

// origin is scheme://host of an absolute URL, or "" when u is not one.
func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return ""
	}
	return p.Scheme + "://" + p.Host
}
