// Package export renders a closed month-end statement (结算单) for people: an Excel
// workbook (汇总, 按日, 按人群, 订单明细, 调整), a CSV file of its order-detail lines and a
// printable A4 HTML statement. Every amount is worked out in integer fen and written as
// an exact yuan string ("12.30"); diners appear only masked (张*, 138****5678). The
// renderers are pure: Service reads the statement and what it names, and picks one.
package export

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Document is one statement as an export shows it: the statement with every line, what
// its lines name (Details), and when the export was made.
type Document struct {
	Statement   settlement.Statement
	Details     Details
	GeneratedAt time.Time
}

// Details is what a statement's lines refer to, read beside it: the community's name,
// canteen and sponsor names by id, the diner of each order (masked) and the statements
// that adjustment lines refer to. A missing entry is shown by its id.
type Details struct {
	Community string
	Canteens  map[int64]string
	Sponsors  map[int64]string
	Diners    map[int64]Diner // by order id
	Refs      map[int64]Ref   // by statement id
}

// Diner is who ate an order, masked for display: Name like "张*", Phone like
// "138****5678" ("" when unknown). Raw names and numbers never reach an export.
type Diner struct {
	Name  string
	Phone string
}

// Ref is an earlier statement an adjustment line refers to.
type Ref struct {
	Month     settlement.Month
	PartyName string
}

// Format is a file format a statement is exported in.
type Format string

// The export formats.
const (
	XLSX Format = "xlsx" // Excel workbook
	CSV  Format = "csv"  // order-detail lines, UTF-8 with BOM
	HTML Format = "html" // printable statement, A4
)

// ErrFormatInvalid is the Invalid error of ParseFormat; it names the field "format".
var ErrFormatInvalid = &apperr.Error{Kind: apperr.Invalid, Code: "format_invalid",
	Detail: "导出格式应为 xlsx、csv 或 html / export format must be xlsx, csv or html",
	Fields: []apperr.FieldError{{Field: "format", Reason: "应为 xlsx、csv 或 html / must be xlsx, csv or html"}}}

// ParseFormat parses "xlsx", "csv" or "html". Errors are ErrFormatInvalid.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case XLSX, CSV, HTML:
		return f, nil
	}
	return "", ErrFormatInvalid
}

// ContentType is the media type a file of format f is served as.
func (f Format) ContentType() string {
	switch f {
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case CSV:
		return "text/csv; charset=utf-8"
	case HTML:
		return "text/html; charset=utf-8"
	}
	return "application/octet-stream"
}

// File is a rendered export: Name is the file name to offer (Chinese), ASCIIName the
// same in ASCII for clients that cannot read the other.
type File struct {
	Format      Format
	Name        string
	ASCIIName   string
	ContentType string
	Body        []byte
}

// FileNames returns the Chinese and the ASCII file names of statement s in format f,
// e.g. "结算单-2026-10-阳光餐饮-12.xlsx" and "statement-12-2026-10-operator.xlsx".
func FileNames(s settlement.Statement, f Format) (name, ascii string) {
	party := cleanName(s.PartyName)
	if party == "" {
		party = kindLabelZH(s.Party.Kind)
	}
	name = fmt.Sprintf("结算单-%s-%s-%d.%s", s.Month, party, s.ID, f)
	ascii = fmt.Sprintf("statement-%d-%s-%s.%s", s.ID, s.Month, s.Party.Kind, f)
	return name, ascii
}

// cleanName keeps a party name fit for a file name: no path separators, quotes,
// reserved characters or control characters, at most 40 runes.
func cleanName(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 40 {
			break
		}
		switch {
		case unicode.IsControl(r), strings.ContainsRune(`/\:*?"<>|`, r):
			continue
		case unicode.IsSpace(r):
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	return strings.Trim(b.String(), "._ ")
}

// Yuan writes fen as exact yuan with two decimals: 1230 is "12.30", -5 is "-0.05". It
// uses integer arithmetic only.
func Yuan(fen int64) string {
	sign := ""
	u := uint64(fen)
	if fen < 0 {
		sign, u = "-", uint64(-(fen+1))+1 // -MinInt64 without overflow
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// MaskName masks a person's name for display, keeping the first character: "张三"
// becomes "张*", "欧阳娜娜" "欧***"; a single character becomes "*"; "" stays "".
func MaskName(s string) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch n {
	case 0:
		return ""
	case 1:
		return "*"
	}
	r, _ := utf8.DecodeRuneInString(s)
	return string(r) + strings.Repeat("*", n-1)
}

// Labels, Chinese first.

func kindLabelZH(k settlement.PartyKind) string {
	if k == settlement.Sponsor {
		return "资助方"
	}
	return "食堂运营方"
}

func partyKindLabel(k settlement.PartyKind) string {
	if k == settlement.Sponsor {
		return "资助方 / sponsor"
	}
	return "食堂运营方 / canteen operator"
}

func statusLabel(s settlement.SignoffStatus) string {
	switch s {
	case settlement.Issued:
		return "已出具 / issued"
	case settlement.Confirmed:
		return "已确认 / confirmed"
	case settlement.Disputed:
		return "有异议 / disputed"
	case "":
		return "—"
	}
	return string(s)
}

func periodLabel(p catalog.Period) string {
	if p == "" {
		return ""
	}
	return p.Label() + " / " + string(p)
}

func tierLabel(t *subsidy.AgeTier) string {
	if t == nil {
		return ""
	}
	switch *t {
	case subsidy.TierUnder60:
		return "60 岁以下 / under 60"
	case subsidy.Tier90:
		return "90 岁及以上 / 90+"
	}
	return fmt.Sprintf("%d–%d 岁 / %d–%d", int(*t), int(*t)+9, int(*t), int(*t)+9)
}

func actorLabel(a settlement.Signoff) string {
	if a.Actor.Name == "" {
		return string(a.Actor.Kind)
	}
	return a.Actor.Name
}

func dayString(d civil.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(civil.Shanghai()).Format("2006-01-02 15:04:05")
}

func minuteString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(civil.Shanghai()).Format("2006-01-02 15:04")
}
