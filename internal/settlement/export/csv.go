package export

import (
	"bufio"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// bom starts the CSV file so that Excel reads it as UTF-8.
const bom = "\uFEFF"

// WriteCSV writes d's order-detail lines as CSV (RFC 4180: CRLF line ends, fields
// quoted when they need it), UTF-8 with a byte-order mark: one header row, then one row
// per line with the amount both as exact yuan ("12.30") and as integer fen. Text that a
// spreadsheet would take for a formula (starting with = + - @) is prefixed with '.
func WriteCSV(w io.Writer, d Document) error {
	v, err := newView(d)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(bom); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	head := make([]string, len(detailColumns))
	for i, c := range detailColumns {
		head[i] = c[0] + " " + c[1]
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range v.Detail {
		rec := []string{strconv.Itoa(r.No), optID(r.OrderID), safe(r.Canteen), r.Day, r.Period, r.Group, r.Tier,
			safe(r.Diner), safe(r.Phone), r.Kind, Yuan(r.Fen), strconv.FormatInt(r.Fen, 10), r.At, safe(r.Sponsor),
			optID(r.PledgeID), safe(r.Ref), yesNo(r.Adjustment), safe(r.RefStatement), safe(r.Memo)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func optID(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// safe keeps free text from being read as a formula when the file is opened in a
// spreadsheet (CSV injection).
func safe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
