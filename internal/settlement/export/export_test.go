package export_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlement/export"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The fixture: October 2026 in 幸福里社区. 阳光餐饮 (merchant 7) cooks in canteen 1; canteen
// 2 is run by the community. The district civil-affairs bureau (sponsor 3) and 阳光餐饮's
// charity fund (sponsor 4, linked to merchant 7) pay subsidies. September is closed
// (statements 11 and 12); a refund of a September order lands in October as adjustment
// lines, and finance corrects statement 12 by hand.

var (
	october   = settlement.Month{Year: 2026, Month: time.October}
	september = settlement.Month{Year: 2026, Month: time.September}
	shanghai  = civil.Shanghai()
)

func day(d int) civil.Date { return civil.Date{Year: 2026, Month: time.October, Day: d} }

func at(d, h, m int) time.Time { return time.Date(2026, time.October, d, h, m, 0, 0, shanghai) }

func tier(t subsidy.AgeTier) *subsidy.AgeTier { return &t }

func facts() settlement.Facts {
	const meal1, canteen2 = 1, 2
	sepDay := civil.Date{Year: 2026, Month: time.September, Day: 28}
	mv := func(kind settlement.LineKind, order, canteen, operator, sponsor, pledge int64, d civil.Date, p catalog.Period,
		g subsidy.Group, tr *subsidy.AgeTier, when time.Time, fen int64, ref string) settlement.Move {
		return settlement.Move{Kind: kind, OrderID: order, CanteenID: canteen, OperatorID: operator, SponsorID: sponsor,
			PledgeID: pledge, Day: d, Period: p, Group: g, Tier: tr, At: when, Fen: fen, Ref: ref}
	}
	elder80, elder60 := tier(subsidy.Tier80), tier(subsidy.Tier60)
	moves := []settlement.Move{
		// An elder of 80+ at lunch: 8.00 subsidy, pays 4.00 by WeChat.
		mv(settlement.LineSubsidy, 101, meal1, 7, 3, 31, day(8), catalog.Lunch, subsidy.Elderly, elder80, at(8, 11, 2), 800, "LT101"),
		mv(settlement.LinePayment, 101, meal1, 7, 0, 0, day(8), catalog.Lunch, subsidy.Elderly, elder80, at(8, 11, 3), 400, "4200002026100811030001"),
		// A rider: 5.00 from 阳光餐饮's fund, 7.00 cash at the counter.
		mv(settlement.LineSubsidy, 102, meal1, 7, 4, 41, day(8), catalog.Lunch, subsidy.Worker, nil, at(8, 14, 20), 500, "LT102"),
		mv(settlement.LineCash, 102, meal1, 7, 0, 0, day(8), catalog.Lunch, subsidy.Worker, nil, at(8, 14, 20), 700, ""),
		// An elder of 60-69 at the community's canteen, refunded the next day.
		mv(settlement.LineSubsidy, 103, canteen2, 0, 3, 31, day(9), catalog.Dinner, subsidy.Elderly, elder60, at(9, 17, 30), 600, "LT103"),
		mv(settlement.LinePayment, 103, canteen2, 0, 0, 0, day(9), catalog.Dinner, subsidy.Elderly, elder60, at(9, 17, 31), 600, "4200002026100917310002"),
		mv(settlement.LineRefund, 103, canteen2, 0, 0, 0, day(9), catalog.Dinner, subsidy.Elderly, elder60, at(10, 9, 0), -600, "R103-1"),
		mv(settlement.LineReversal, 103, canteen2, 0, 3, 31, day(9), catalog.Dinner, subsidy.Elderly, elder60, at(10, 9, 0), -600, "LT103R"),
		// Anyone at breakfast, standard price; one dish refunded.
		mv(settlement.LinePayment, 104, meal1, 7, 0, 0, day(9), catalog.Breakfast, subsidy.General, nil, at(9, 7, 45), 1230, "4200002026100907450003"),
		mv(settlement.LineRefund, 104, meal1, 7, 0, 0, day(9), catalog.Breakfast, subsidy.General, nil, at(9, 8, 5), -230, "R104-1"),
		// A September order refunded in October: adjustments of the closed month.
		mv(settlement.LineRefund, 95, meal1, 7, 0, 0, sepDay, catalog.Lunch, subsidy.Elderly, elder80, at(2, 10, 15), -300, "R95-1"),
		mv(settlement.LineReversal, 95, meal1, 7, 3, 31, sepDay, catalog.Lunch, subsidy.Elderly, elder80, at(2, 10, 15), -500, "LT95R"),
		// The bureau's pledge corrected by one adjust entry, no order.
		mv(settlement.LineLedgerAdjust, 0, 0, 0, 3, 31, civil.Date{}, "", "", nil, at(31, 16, 0), 37, "LA31"),
	}
	merchant7 := int64(7)
	return settlement.Facts{
		CommunityID: 1,
		Month:       october,
		Moves:       moves,
		Adjustments: []settlement.Adjustment{{ID: 5, CommunityID: 1, Month: october, StatementID: 12, StatementMonth: september,
			Party: settlement.Party{Kind: settlement.Operator, ID: 7}, OrderID: 95, Fen: -150,
			Reason:    `一份餐重复计费, 见 "9 月对账"`,
			Actor:     audit.Actor{Kind: audit.Staff, ID: 2, Name: "财务 李会计"},
			CreatedAt: at(20, 15, 30), CanteenID: meal1, OperatorID: 7, Day: sepDay, Period: catalog.Lunch}},
		Closed:        []settlement.Month{september},
		FirstActivity: september,
		Originals: []settlement.Original{
			{OrderID: 95, Party: settlement.Party{Kind: settlement.Operator, ID: 7}, StatementID: 12},
			{OrderID: 95, Party: settlement.Party{Kind: settlement.Sponsor, ID: 3}, StatementID: 11},
		},
		Sponsors:  map[int64]settlement.SponsorInfo{3: {Name: "区民政局"}, 4: {Name: "阳光餐饮爱心基金", MerchantID: &merchant7}},
		Merchants: map[int64]string{7: "阳光餐饮"},
	}
}

func details() export.Details {
	return export.Details{
		Community: "幸福里社区",
		Canteens:  map[int64]string{1: "幸福里长者食堂", 2: "河畔社区食堂"},
		Sponsors:  map[int64]string{3: "区民政局", 4: "阳光餐饮爱心基金"},
		Diners: map[int64]export.Diner{
			101: {Name: export.MaskName("张桂兰"), Phone: "138****5678"},
			102: {Name: export.MaskName("李强"), Phone: "137****0021"},
			103: {Name: export.MaskName("王秀英"), Phone: ""},
			95:  {Name: export.MaskName("张桂兰"), Phone: "138****5678"},
		},
		Refs: map[int64]export.Ref{11: {Month: september, PartyName: "区民政局"}, 12: {Month: september, PartyName: "阳光餐饮"}},
	}
}

// documents builds October's statements with settlement.Build and returns those of
// 阳光餐饮 (operator 7; disputed, then confirmed) and of the bureau (sponsor 3; issued).
func documents(t *testing.T) map[string]export.Document {
	t.Helper()
	out := map[string]export.Document{}
	generated := time.Date(2026, time.November, 3, 9, 30, 0, 0, shanghai)
	for _, s := range settlement.Build(facts()) {
		s.CloseID = 4
		s.CreatedAt = time.Date(2026, time.November, 1, 2, 0, 5, 0, shanghai)
		system := audit.Actor{Kind: audit.System, Name: "月结任务 / month-end task"}
		s.Signoffs = []settlement.Signoff{{Seq: 1, Status: settlement.Issued, Actor: system, At: s.CreatedAt}}
		switch s.Party {
		case settlement.Party{Kind: settlement.Operator, ID: 7}:
			s.ID = 22
			clerk := audit.Actor{Kind: audit.Staff, ID: 9, Name: "阳光餐饮 王店长"}
			s.Signoffs = append(s.Signoffs,
				settlement.Signoff{Seq: 2, Status: settlement.Disputed, Comment: "10 月 9 日早餐少记一份 <b>现金</b>", Actor: clerk,
					At: time.Date(2026, time.November, 2, 10, 0, 0, 0, shanghai)},
				settlement.Signoff{Seq: 3, Status: settlement.Confirmed, Comment: "已核对，无误", Actor: clerk,
					At: time.Date(2026, time.November, 3, 9, 0, 0, 0, shanghai)})
			s.Status = settlement.Confirmed
			out["operator"] = export.Document{Statement: s, Details: details(), GeneratedAt: generated}
		case settlement.Party{Kind: settlement.Sponsor, ID: 3}:
			s.ID = 21
			s.Status = settlement.Issued
			out["sponsor"] = export.Document{Statement: s, Details: details(), GeneratedAt: generated}
		}
	}
	if len(out) != 2 {
		t.Fatalf("Build made %d of the statements the fixture needs", len(out))
	}
	return out
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

func TestGolden(t *testing.T) {
	for party, d := range documents(t) {
		for _, f := range []export.Format{export.CSV, export.HTML, export.XLSX} {
			t.Run(party+"."+string(f), func(t *testing.T) {
				var buf bytes.Buffer
				var err error
				switch f {
				case export.CSV:
					err = export.WriteCSV(&buf, d)
				case export.HTML:
					err = export.WriteHTML(&buf, d)
				case export.XLSX:
					err = export.WriteXLSX(&buf, d)
				}
				if err != nil {
					t.Fatal(err)
				}
				got := buf.Bytes()
				if f == export.XLSX {
					got = []byte(dumpXLSX(t, got))
					f = "xlsx.txt"
				}
				golden(t, party+"."+string(f), got)
			})
		}
	}
}

// dumpXLSX reads a workbook back and writes every sheet as text: its frozen pane and
// column widths, then each cell with its type, value as stored, number format and bold.
func dumpXLSX(t *testing.T, data []byte) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	defer func() { _ = f.Close() }()
	var b strings.Builder
	for _, sheet := range f.GetSheetList() {
		fmt.Fprintf(&b, "== %s\n", sheet)
		p, err := f.GetPanes(sheet)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "panes: freeze=%v ySplit=%d xSplit=%d topLeft=%s\n", p.Freeze, p.YSplit, p.XSplit, p.TopLeftCell)
		for _, dn := range f.GetDefinedName() {
			if dn.Scope == sheet {
				fmt.Fprintf(&b, "defined: %s = %s\n", dn.Name, dn.RefersTo)
			}
		}
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		width := 0
		for _, r := range rows {
			width = max(width, len(r))
		}
		var ws []string
		for c := 1; c <= width; c++ {
			col, _ := excelize.ColumnNumberToName(c)
			w, err := f.GetColWidth(sheet, col)
			if err != nil {
				t.Fatal(err)
			}
			ws = append(ws, fmt.Sprintf("%s=%g", col, w))
		}
		fmt.Fprintf(&b, "widths: %s\n", strings.Join(ws, " "))
		for ri, r := range rows {
			for ci, v := range r {
				if v == "" {
					continue
				}
				ref, _ := excelize.CoordinatesToCellName(ci+1, ri+1)
				fmt.Fprintf(&b, "%s %s\n", ref, describeCell(t, f, sheet, ref, v))
			}
		}
	}
	return b.String()
}

func describeCell(t *testing.T, f *excelize.File, sheet, ref, v string) string {
	t.Helper()
	typ, err := f.GetCellType(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	kind := "num"
	if typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		kind = "str"
	}
	out := fmt.Sprintf("%s %q", kind, v)
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if kind == "num" {
		switch {
		case st.CustomNumFmt != nil:
			out += " fmt=" + *st.CustomNumFmt
		default:
			out += fmt.Sprintf(" fmt=#%d", st.NumFmt)
		}
	}
	if st.Font != nil && st.Font.Bold {
		out += " bold"
	}
	return out
}

// fen reads an exact yuan string ("-12.30") as fen, without floats.
func fen(t *testing.T, s string) int64 {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 2 {
		t.Fatalf("amount %q is not written with two decimals", s)
	}
	y, err1 := strconv.ParseInt(whole, 10, 64)
	c, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("amount %q does not parse", s)
	}
	if neg {
		return -(y*100 + c)
	}
	return y*100 + c
}

// TestWorkbookAddsUp reads the operator's workbook back and checks that each table's rows
// add up, to the fen, to its totals row, and that the totals row is the statement's.
func TestWorkbookAddsUp(t *testing.T) {
	for party, d := range documents(t) {
		t.Run(party, func(t *testing.T) {
			var buf bytes.Buffer
			if err := export.WriteXLSX(&buf, d); err != nil {
				t.Fatal(err)
			}
			f, err := excelize.OpenReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			tot := d.Statement.Totals
			if tot.TotalFen == 0 || tot.Meals == 0 {
				t.Fatalf("fixture statement has no money: %+v", tot)
			}
			want := []int64{int64(tot.Meals), tot.SubsidyFen, tot.ReversalFen, tot.PaymentFen, tot.CashFen, tot.RefundFen,
				tot.AdjustmentFen, tot.TotalFen}
			for _, sheet := range []string{export.SheetByDay, export.SheetByGroup} {
				rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
				if err != nil {
					t.Fatal(err)
				}
				body, last := rows[2:len(rows)-1], rows[len(rows)-1]
				for c := range want {
					var sum int64
					for _, r := range body {
						sum += cellFen(t, r[2+c], c == 0)
					}
					if got := cellFen(t, last[2+c], c == 0); got != sum || got != want[c] {
						t.Errorf("%s column %d: rows sum to %d, totals row says %d, statement %d", sheet, 3+c, sum, got, want[c])
					}
				}
			}
			rows, err := f.GetRows(export.SheetDetail, excelize.Options{RawCellValue: true})
			if err != nil {
				t.Fatal(err)
			}
			body, last := rows[2:len(rows)-1], rows[len(rows)-1]
			if len(body) != d.Statement.LineCount {
				t.Errorf("order detail has %d rows, statement %d lines", len(body), d.Statement.LineCount)
			}
			var yuan, whole int64
			for _, r := range body {
				y, n := fen(t, r[10]), cellFen(t, r[11], true)
				if y != n {
					t.Errorf("line %s: yuan %s is not fen %s", r[0], r[10], r[11])
				}
				yuan += y
				whole += n
			}
			if fen(t, last[10]) != tot.TotalFen || yuan != tot.TotalFen || whole != tot.TotalFen {
				t.Errorf("order detail: yuan sums to %d, fen to %d, totals row %s; statement total %d", yuan, whole, last[10], tot.TotalFen)
			}
		})
	}
}

func cellFen(t *testing.T, s string, count bool) int64 {
	t.Helper()
	if count {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%q is not a whole number", s)
		}
		return n
	}
	return fen(t, s)
}

// TestNoRawDiner checks that the exports carry diners only as masked.
func TestNoRawDiner(t *testing.T) {
	d := documents(t)["operator"]
	var csvBuf, htmlBuf, xlsxBuf bytes.Buffer
	if err := export.WriteCSV(&csvBuf, d); err != nil {
		t.Fatal(err)
	}
	if err := export.WriteHTML(&htmlBuf, d); err != nil {
		t.Fatal(err)
	}
	if err := export.WriteXLSX(&xlsxBuf, d); err != nil {
		t.Fatal(err)
	}
	dump := dumpXLSX(t, xlsxBuf.Bytes())
	for name, out := range map[string]string{"csv": csvBuf.String(), "html": htmlBuf.String(), "xlsx": dump} {
		for _, raw := range []string{"张桂兰", "李强", "王秀英", "13812345678"} {
			if strings.Contains(out, raw) {
				t.Errorf("%s shows %q unmasked", name, raw)
			}
		}
	}
	for _, masked := range []string{"张**", "138****5678", "李*"} {
		if !strings.Contains(csvBuf.String(), masked) || !strings.Contains(dump, masked) {
			t.Errorf("order detail lacks the masked diner %q", masked)
		}
	}
}

func TestCSVShape(t *testing.T) {
	d := documents(t)["operator"]
	var buf bytes.Buffer
	if err := export.WriteCSV(&buf, d); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\uFEFF序号 No.,") {
		t.Errorf("CSV does not start with a BOM and the header: %q", out[:min(40, len(out))])
	}
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	if len(lines) != 1+d.Statement.LineCount {
		t.Errorf("CSV has %d records, want header + %d lines", len(lines), d.Statement.LineCount)
	}
	if !strings.Contains(out, `"2026-09 月结算单 12 的调整：一份餐重复计费, 见 ""9 月对账""`) {
		t.Error("a memo with a comma and quotes is not quoted as RFC 4180 says")
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	d := documents(t)["operator"]
	d.Details.Canteens[1] = "=HYPERLINK(\"http://x\")"
	var buf bytes.Buffer
	if err := export.WriteCSV(&buf, d); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), ",\"=HYPERLINK") || strings.Contains(buf.String(), ",=HYPERLINK") {
		t.Error("a canteen name starting with = reaches the CSV as a formula")
	}
	if !strings.Contains(buf.String(), `"'=HYPERLINK(""http://x"")"`) {
		t.Error("the canteen name is not kept as text")
	}
}

// TestHTMLEscapes checks that names and comments cannot add markup to the statement.
func TestHTMLEscapes(t *testing.T) {
	d := documents(t)["operator"]
	var buf bytes.Buffer
	if err := export.WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<b>现金</b>") || !strings.Contains(buf.String(), "&lt;b&gt;现金&lt;/b&gt;") {
		t.Error("a sign-off comment is not escaped")
	}
	for _, ext := range []string{"src=", "href=", "@import", "url("} {
		if strings.Contains(buf.String(), ext) {
			t.Errorf("the statement loads something from elsewhere (%s)", ext)
		}
	}
}

// TestInconsistentStatementRefused checks that a statement whose lines do not add up to
// its totals is not exported.
func TestInconsistentStatementRefused(t *testing.T) {
	d := documents(t)["operator"]
	d.Statement.Lines = d.Statement.Lines[1:]
	d.Statement.LineCount--
	for name, write := range map[string]func(*bytes.Buffer, export.Document) error{
		"csv":  func(b *bytes.Buffer, d export.Document) error { return export.WriteCSV(b, d) },
		"html": func(b *bytes.Buffer, d export.Document) error { return export.WriteHTML(b, d) },
		"xlsx": func(b *bytes.Buffer, d export.Document) error { return export.WriteXLSX(b, d) },
	} {
		var buf bytes.Buffer
		if err := write(&buf, d); err == nil {
			t.Errorf("%s: a statement missing a line was exported", name)
		}
	}
}

func TestYuan(t *testing.T) {
	for fenV, want := range map[int64]string{0: "0.00", 5: "0.05", -5: "-0.05", 1230: "12.30", -100: "-1.00",
		1000000000001: "10000000000.01", -9223372036854775808: "-92233720368547758.08", 9223372036854775807: "92233720368547758.07"} {
		if got := export.Yuan(fenV); got != want {
			t.Errorf("Yuan(%d) = %q, want %q", fenV, got, want)
		}
	}
}

func TestMaskName(t *testing.T) {
	for in, want := range map[string]string{"张三": "张*", "欧阳娜娜": "欧***", "李": "*", "": "", " 王秀英 ": "王**", "Tom": "T**"} {
		if got := export.MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, ok := range []string{"xlsx", "csv", "html"} {
		if f, err := export.ParseFormat(ok); err != nil || string(f) != ok {
			t.Errorf("ParseFormat(%q) = %q, %v", ok, f, err)
		}
	}
	for _, bad := range []string{"", "XLSX", "pdf", "xls"} {
		if _, err := export.ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) accepted", bad)
		}
	}
}

func TestFileNames(t *testing.T) {
	s := settlement.Statement{ID: 22, Month: october, Party: settlement.Party{Kind: settlement.Operator, ID: 7},
		PartyName: `阳光/餐饮 "总店"`}
	name, ascii := export.FileNames(s, export.XLSX)
	if name != "结算单-2026-10-阳光餐饮_总店-22.xlsx" || ascii != "statement-22-2026-10-operator.xlsx" {
		t.Errorf("FileNames = %q, %q", name, ascii)
	}
}

// bigDocument is a month of a busy operator: n orders, each a subsidy and a payment line.
func bigDocument(n int) export.Document {
	f := facts()
	f.Moves, f.Adjustments = nil, nil
	det := details()
	for i := range n {
		order := int64(1000 + i)
		d, when := day(1+i%31), at(1+i%31, 11, i%60)
		f.Moves = append(f.Moves,
			settlement.Move{Kind: settlement.LineSubsidy, OrderID: order, CanteenID: 1, OperatorID: 7, SponsorID: 3, PledgeID: 31,
				Day: d, Period: catalog.Lunch, Group: subsidy.Elderly, Tier: tier(subsidy.Tier70), At: when, Fen: 800, Ref: fmt.Sprintf("LT%d", order)},
			settlement.Move{Kind: settlement.LinePayment, OrderID: order, CanteenID: 1, OperatorID: 7, Day: d, Period: catalog.Lunch,
				Group: subsidy.Elderly, Tier: tier(subsidy.Tier70), At: when, Fen: 400, Ref: fmt.Sprintf("4200%018d", order)})
		det.Diners[order] = export.Diner{Name: "张*", Phone: "138****5678"}
	}
	for _, s := range settlement.Build(f) {
		if s.Party.Kind == settlement.Operator {
			s.ID = 99
			return export.Document{Statement: s, Details: det, GeneratedAt: at(31, 23, 0)}
		}
	}
	panic("no operator statement")
}

// BenchmarkWriteXLSX writes the workbook of a statement of 10,000 lines.
func BenchmarkWriteXLSX(b *testing.B) {
	d := bigDocument(5000)
	for b.Loop() {
		if err := export.WriteXLSX(io.Discard, d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteCSV writes the order detail of a statement of 10,000 lines.
func BenchmarkWriteCSV(b *testing.B) {
	d := bigDocument(5000)
	for b.Loop() {
		if err := export.WriteCSV(io.Discard, d); err != nil {
			b.Fatal(err)
		}
	}
}
