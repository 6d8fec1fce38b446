package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/settlement/export"
)

// exportCSP keeps the printable statement inert: its own inline styles, nothing else.
const exportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// exportStatement answers a closed statement as a file (?format=xlsx|csv|html) for
// admin and finance.
func (s *server) exportStatement(c *fiber.Ctx) error {
	return s.sendExport(c, func(ctx context.Context, id int64, f export.Format) (export.File, error) {
		return s.Exports.Export(ctx, me(c).CommunityID, id, f)
	})
}

// exportMerchantStatement answers a merchant user's own statement as a file; another
// merchant's is not found.
func (s *server) exportMerchantStatement(c *fiber.Ctx) error {
	return s.sendExport(c, func(ctx context.Context, id int64, f export.Format) (export.File, error) {
		p := me(c)
		return s.Exports.ExportForMerchant(ctx, p.CommunityID, p.MerchantID, id, f)
	})
}

// sendExport reads the statement id and ?format=, renders the file with render and
// sends it: spreadsheets as attachments, the printable statement inline, each with its
// name in ASCII and in UTF-8 (RFC 6266).
func (s *server) sendExport(c *fiber.Ctx, render func(ctx context.Context, id int64, f export.Format) (export.File, error)) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	f, err := export.ParseFormat(c.Query("format"))
	if err != nil {
		return err
	}
	file, err := render(c.UserContext(), id, f)
	if err != nil {
		return err
	}
	disposition := "attachment"
	if f == export.HTML {
		disposition = "inline"
		c.Set("Content-Security-Policy", exportCSP)
	}
	c.Set(fiber.HeaderContentType, file.ContentType)
	c.Set(fiber.HeaderContentDisposition, contentDisposition(disposition, file.ASCIIName, file.Name))
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Status(http.StatusOK).Send(file.Body)
}

// contentDisposition writes a Content-Disposition header with an ASCII file name for old
// clients and the real one as filename* (RFC 6266, RFC 8187).
func contentDisposition(kind, ascii, name string) string {
	return kind + `; filename="` + quoteASCII(ascii) + `"; filename*=UTF-8''` + percentEncode(name)
}

// quoteASCII keeps the printable ASCII of s that may stand in a quoted string.
func quoteASCII(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' {
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// percentEncode writes s as an RFC 8187 value: attr-chars as they are, every other byte
// of its UTF-8 as %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("!#$&+-.^_`|~", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}
