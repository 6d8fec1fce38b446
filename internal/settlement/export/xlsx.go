package export

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// The workbook's sheets, in order.
const (
	SheetSummary     = "汇总 Summary"
	SheetByDay       = "按日 By day"
	SheetByGroup     = "按人群 By group"
	SheetDetail      = "订单明细 Order detail"
	SheetAdjustments = "调整 Adjustments"
)

// MoneyFormat is the number format of every yuan cell. A yuan cell holds the exact
// decimal written from integer fen ("12.30"), never the result of float arithmetic.
const MoneyFormat = "0.00"

// WriteXLSX writes d as an Excel workbook: 汇总 (party, month, status, totals,
// counterparts, sign-off), 按日 (meal day × canteen), 按人群 (group × age tier), 订单明细
// (one row per line, diners masked) and 调整 (lines for earlier statements). Each table
// has a Chinese and an English header row, frozen, and a totals row equal to the
// statement's totals to the fen.
func WriteXLSX(w io.Writer, d Document) error {
	v, err := newView(d)
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	x, err := newBook(f)
	if err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return err
	}
	for _, name := range []string{SheetByDay, SheetByGroup, SheetDetail, SheetAdjustments} {
		if _, err := f.NewSheet(name); err != nil {
			return err
		}
	}
	for _, step := range []func(view) error{x.summary, x.byDay, x.byGroup, x.detail, x.adjustments} {
		if err := step(v); err != nil {
			return fmt.Errorf("export: xlsx: %w", err)
		}
	}
	if err := f.SetDocProps(&excelize.DocProperties{Title: v.Title, Creator: "canteen", Language: "zh-CN",
		Created: d.GeneratedAt.UTC().Format("2006-01-02T15:04:05Z"), Modified: d.GeneratedAt.UTC().Format("2006-01-02T15:04:05Z")}); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	_, err = f.WriteTo(w)
	return err
}

// book writes sheets of one workbook with its shared styles.
type book struct {
	f                               *excelize.File
	title, head, headEN, text, wrap int
	money, count, totText, totMoney int
	totCount, label                 int
	sheet                           string
	row                             int
}

// cell is one value to write: text, an integer (int) or fen written as exact yuan.
type cell struct {
	kind  byte // 't' text, 'i' integer, 'm' money, 0 empty
	s     string
	n     int64
	style int
}

func text(s string) cell   { return cell{kind: 't', s: s} }
func integer(n int64) cell { return cell{kind: 'i', n: n} }
func money(fen int64) cell { return cell{kind: 'm', n: fen} }

// optInt is an integer cell, empty for 0 (no order, no pledge).
func optInt(n int64) cell {
	if n == 0 {
		return cell{}
	}
	return integer(n)
}

func newBook(f *excelize.File) (*book, error) {
	b := &book{f: f}
	moneyFmt := MoneyFormat
	font := func(bold bool, size float64, color string) *excelize.Font {
		return &excelize.Font{Bold: bold, Size: size, Color: color, Family: "等线"}
	}
	grey := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EEF1F5"}}
	top := []excelize.Border{{Type: "top", Color: "333333", Style: 1}}
	bottom := []excelize.Border{{Type: "bottom", Color: "333333", Style: 1}}
	styles := []struct {
		dst *int
		s   excelize.Style
	}{
		{&b.title, excelize.Style{Font: font(true, 14, "")}},
		{&b.head, excelize.Style{Font: font(true, 11, ""), Fill: grey, Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}},
		{&b.headEN, excelize.Style{Font: font(false, 9, "555555"), Fill: grey, Border: bottom, Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}},
		{&b.text, excelize.Style{Font: font(false, 11, "")}},
		{&b.wrap, excelize.Style{Font: font(false, 11, ""), Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&b.money, excelize.Style{Font: font(false, 11, ""), CustomNumFmt: &moneyFmt}},
		{&b.count, excelize.Style{Font: font(false, 11, ""), NumFmt: 1}},
		{&b.label, excelize.Style{Font: font(true, 11, "")}},
		{&b.totText, excelize.Style{Font: font(true, 11, ""), Border: top}},
		{&b.totMoney, excelize.Style{Font: font(true, 11, ""), Border: top, CustomNumFmt: &moneyFmt}},
		{&b.totCount, excelize.Style{Font: font(true, 11, ""), Border: top, NumFmt: 1}},
	}
	for _, st := range styles {
		id, err := f.NewStyle(&st.s)
		if err != nil {
			return nil, err
		}
		*st.dst = id
	}
	return b, nil
}

// start begins sheet name with its column widths (in characters) and A4 page setup.
func (b *book) start(name string, widths ...float64) error {
	b.sheet, b.row = name, 0
	for i, wd := range widths {
		col, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return err
		}
		if err := b.f.SetColWidth(name, col, col, wd); err != nil {
			return err
		}
	}
	size, orient := 9, "landscape" // A4
	fit := true
	one, zero := 1, 0
	if err := b.f.SetPageLayout(name, &excelize.PageLayoutOptions{Size: &size, Orientation: &orient, FitToWidth: &one, FitToHeight: &zero}); err != nil {
		return err
	}
	return b.f.SetSheetProps(name, &excelize.SheetPropsOptions{FitToPage: &fit})
}

// put writes cells into the next row; a cell without a style gets the default one for
// its kind (or def for text).
func (b *book) put(def int, cells ...cell) error {
	b.row++
	for i, c := range cells {
		if c.kind == 0 {
			continue
		}
		ref, err := excelize.CoordinatesToCellName(i+1, b.row)
		if err != nil {
			return err
		}
		style := c.style
		switch c.kind {
		case 't':
			if style == 0 {
				style = def
			}
			err = b.f.SetCellStr(b.sheet, ref, c.s)
		case 'i':
			if style == 0 {
				style = b.count
			}
			err = b.f.SetCellInt(b.sheet, ref, c.n)
		case 'm':
			if style == 0 {
				style = b.money
			}
			// The exact decimal, stored as a number: no float ever holds the amount.
			err = b.f.SetCellDefault(b.sheet, ref, Yuan(c.n))
		}
		if err != nil {
			return err
		}
		if err := b.f.SetCellStyle(b.sheet, ref, ref, style); err != nil {
			return err
		}
	}
	return nil
}

// header writes the two header rows (Chinese, English) and freezes the sheet below them.
func (b *book) header(cols [][2]string) error {
	zh := make([]cell, len(cols))
	en := make([]cell, len(cols))
	for i, c := range cols {
		zh[i], en[i] = text(c[0]), text(c[1])
	}
	if err := b.put(b.head, zh...); err != nil {
		return err
	}
	if err := b.put(b.headEN, en...); err != nil {
		return err
	}
	// Printed, every page repeats the two header rows.
	if err := b.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: fmt.Sprintf("'%s'!$1:$2", b.sheet),
		Scope: b.sheet}); err != nil {
		return err
	}
	return b.freeze()
}

// freeze keeps the rows written so far in view.
func (b *book) freeze() error {
	top := fmt.Sprintf("A%d", b.row+1)
	return b.f.SetPanes(b.sheet, &excelize.Panes{Freeze: true, YSplit: b.row, TopLeftCell: top, ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: top, ActiveCell: top, Pane: "bottomLeft"}}})
}

// totalsStyle turns cells into a totals row.
func (b *book) totalsStyle(cells []cell) []cell {
	for i := range cells {
		switch cells[i].kind {
		case 't':
			cells[i].style = b.totText
		case 'i':
			cells[i].style = b.totCount
		case 'm':
			cells[i].style = b.totMoney
		}
	}
	return cells
}

func (b *book) summary(v view) error {
	if err := b.start(SheetSummary, 44, 40, 28, 44); err != nil {
		return err
	}
	if err := b.header([][2]string{{"项目", "Item"}, {"内容", "Value"}}); err != nil {
		return err
	}
	s := v.S
	rows := [][]cell{
		{text("社区 / Community"), text(v.Community)},
		{text("结算单号 / Statement no."), integer(s.ID)},
		{text("结算对象 / Party"), text(s.PartyName)},
		{text("对象类型 / Party kind"), text(v.PartyKind)},
		{text("月份 / Month"), text(s.Month.String())},
		{text("确认状态 / Sign-off status"), text(v.Status)},
		{text("出具时间 / Issued at"), text(v.Created)},
		{text("导出时间 / Exported at"), text(v.Generated)},
		{text("明细行数 / Lines"), integer(int64(s.LineCount))},
	}
	for _, r := range rows {
		r[0].style = b.label
		if err := b.put(b.text, r...); err != nil {
			return err
		}
	}
	b.row++
	if err := b.put(b.head, text("金额汇总（元）"), text("Totals (yuan)")); err != nil {
		return err
	}
	for _, a := range v.Summary {
		c := money(a.Fen)
		if a.Count {
			c = integer(a.Fen)
		}
		r := []cell{text(a.Label), c}
		if a.Bold {
			r = b.totalsStyle(r)
		}
		if err := b.put(b.text, r...); err != nil {
			return err
		}
	}
	b.row++
	if err := b.put(b.head, text(v.CounterTitle), text("金额（元）/ Amount (yuan)"), text("类型 / Kind")); err != nil {
		return err
	}
	if len(v.Counterparts) == 0 {
		if err := b.put(b.text, text("无 / none")); err != nil {
			return err
		}
	}
	for _, c := range v.Counterparts {
		if err := b.put(b.text, text(c.Name), money(c.Fen), text(c.Kind)); err != nil {
			return err
		}
	}
	if err := b.put(b.text, b.totalsStyle([]cell{text("合计 / Total"), money(v.CounterTotal)})...); err != nil {
		return err
	}
	b.row++
	if err := b.put(b.head, text("确认记录 / Sign-off"), text("时间 / At"), text("操作人 / By"), text("说明 / Comment")); err != nil {
		return err
	}
	if len(v.Signoffs) == 0 {
		if err := b.put(b.text, text("—")); err != nil {
			return err
		}
	}
	for _, so := range v.Signoffs {
		c := text(so.Comment)
		c.style = b.wrap
		if err := b.put(b.text, text(so.Status), text(so.At), text(so.Who), c); err != nil {
			return err
		}
	}
	return nil
}

// breakdown writes a sheet of sum rows with a totals row of the statement's totals.
func (b *book) breakdown(name string, keys [][2]string, rows []sumRow, v view) error {
	widths := []float64{26, 30}
	for range moneyColumns {
		widths = append(widths, 13)
	}
	if err := b.start(name, widths...); err != nil {
		return err
	}
	if err := b.header(append(keys, moneyColumns...)); err != nil {
		return err
	}
	line := func(keys []string, t sumRow) []cell {
		cells := make([]cell, 0, len(keys)+len(moneyColumns))
		for _, k := range keys {
			cells = append(cells, text(k))
		}
		cells = append(cells, integer(int64(t.Meals)))
		for _, fen := range moneyOf(t.Totals) {
			cells = append(cells, money(fen))
		}
		return cells
	}
	for _, r := range rows {
		if err := b.put(b.text, line(r.Keys, r)...); err != nil {
			return err
		}
	}
	return b.put(b.text, b.totalsStyle(line([]string{"合计 / Total", ""}, sumRow{Totals: v.S.Totals}))...)
}

func (b *book) byDay(v view) error {
	return b.breakdown(SheetByDay, [][2]string{{"就餐日", "Meal day"}, {"食堂", "Canteen"}}, v.ByDay, v)
}

func (b *book) byGroup(v view) error {
	return b.breakdown(SheetByGroup, [][2]string{{"人群", "Group"}, {"年龄档", "Age tier"}}, v.ByGroup, v)
}

// detailColumns are the order detail's columns, shared with the CSV file.
var detailColumns = [][2]string{
	{"序号", "No."}, {"订单号", "Order"}, {"食堂", "Canteen"}, {"就餐日", "Meal day"}, {"餐次", "Period"},
	{"人群", "Group"}, {"年龄档", "Age tier"}, {"就餐人", "Diner"}, {"手机号", "Phone"}, {"类型", "Kind"},
	{"金额（元）", "Amount (yuan)"}, {"金额（分）", "Amount (fen)"}, {"发生时间", "At"}, {"资助方", "Sponsor"},
	{"认捐", "Pledge"}, {"凭证号", "Reference"}, {"调整", "Adjustment"}, {"引用结算单", "Refers to statement"},
	{"备注", "Memo"},
}

func yesNo(b bool) string {
	if b {
		return "是 / yes"
	}
	return ""
}

func (b *book) detail(v view) error {
	if err := b.start(SheetDetail, 7, 10, 18, 12, 14, 18, 16, 10, 14, 22, 13, 12, 20, 20, 8, 26, 10, 28, 50); err != nil {
		return err
	}
	if err := b.header(detailColumns); err != nil {
		return err
	}
	for _, r := range v.Detail {
		memo := text(r.Memo)
		memo.style = b.wrap
		if err := b.put(b.text, integer(int64(r.No)), optInt(r.OrderID), text(r.Canteen), text(r.Day), text(r.Period),
			text(r.Group), text(r.Tier), text(r.Diner), text(r.Phone), text(r.Kind), money(r.Fen), integer(r.Fen), text(r.At),
			text(r.Sponsor), optInt(r.PledgeID), text(r.Ref), text(yesNo(r.Adjustment)), text(r.RefStatement), memo); err != nil {
			return err
		}
	}
	if len(v.Detail) > 0 {
		last, err := excelize.CoordinatesToCellName(len(detailColumns), b.row)
		if err != nil {
			return err
		}
		if err := b.f.AutoFilter(b.sheet, "A2:"+last, nil); err != nil {
			return err
		}
	}
	t := v.S.Totals.TotalFen
	return b.put(b.text, b.totalsStyle([]cell{text("合计 / Total"), {}, {}, {}, {}, {}, {}, {}, {}, {}, money(t), integer(t)})...)
}

func (b *book) adjustments(v view) error {
	if err := b.start(SheetAdjustments, 7, 30, 22, 10, 18, 12, 13, 12, 60); err != nil {
		return err
	}
	if err := b.header([][2]string{{"序号", "No."}, {"引用结算单", "Refers to statement"}, {"类型", "Kind"}, {"订单号", "Order"},
		{"食堂", "Canteen"}, {"就餐日", "Meal day"}, {"金额（元）", "Amount (yuan)"}, {"金额（分）", "Amount (fen)"}, {"备注", "Memo"}}); err != nil {
		return err
	}
	if len(v.Adjustments) == 0 {
		if err := b.put(b.text, cell{}, text("本月无调整 / no adjustments this month")); err != nil {
			return err
		}
	}
	for _, r := range v.Adjustments {
		memo := text(r.Memo)
		memo.style = b.wrap
		if err := b.put(b.text, integer(int64(r.No)), text(r.RefStatement), text(r.Kind), optInt(r.OrderID), text(r.Canteen),
			text(r.Day), money(r.Fen), integer(r.Fen), memo); err != nil {
			return err
		}
	}
	return b.put(b.text, b.totalsStyle([]cell{text("合计 / Total"), {}, {}, {}, {}, {}, money(v.AdjustTotal), integer(v.AdjustTotal)})...)
}
