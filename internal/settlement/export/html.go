package export

import (
	"bytes"
	_ "embed"
	"html/template"
	"io"
	"strconv"

	"github.com/canteen-oss/canteen/internal/settlement"
)

//go:embed statement.html
var statementHTML string

var statementTmpl = template.Must(template.New("statement").Funcs(template.FuncMap{
	"yuan":    Yuan,
	"money":   moneyOf,
	"columns": func() [][2]string { return moneyColumns },
	"neg":     func(fen int64) bool { return fen < 0 },
	"count":   func(n int64) string { return strconv.FormatInt(n, 10) },
	"breakdownOf": func(zh1, en1, zh2, en2 string, rows []sumRow, t settlement.Totals, noWrap bool) breakdown {
		return breakdown{KeyZH1: zh1, KeyEN1: en1, KeyZH2: zh2, KeyEN2: en2, Rows: rows, Totals: t, NoWrap: noWrap}
	},
}).Parse(statementHTML))

// breakdown is what the template's breakdown table shows: two key columns (the first
// kept on one line when NoWrap), the rows and the statement's totals.
type breakdown struct {
	KeyZH1, KeyEN1, KeyZH2, KeyEN2 string
	Rows                           []sumRow
	Totals                         settlement.Totals
	NoWrap                         bool
}

// WriteHTML writes d as one self-contained HTML page to read on screen and print on A4:
// header, totals and counterparts, by day, by group, adjustments and the sign-off box,
// Chinese first; styles are embedded and nothing is loaded from elsewhere. The order
// detail is left to the XLSX and CSV files.
func WriteHTML(w io.Writer, d Document) error {
	v, err := newView(d)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := statementTmpl.Execute(&buf, v); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
