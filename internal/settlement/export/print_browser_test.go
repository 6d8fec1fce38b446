package export_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/canteen-oss/canteen/internal/browsertest"
	"github.com/canteen-oss/canteen/internal/settlement/export"
)

// TestStatementPrintsOnA4 opens the operator's printable statement in headless Chromium
// laid out for print at the width of an A4 page inside its margins (184 mm, 695 px):
// the Chinese text is there, no table is wider than the page, the screenshot
// tmp/screenshots/statement-print.png shows the first page and statement-print.pdf the
// printed pages with their numbers.
func TestStatementPrintsOnA4(t *testing.T) {
	d := documents(t)["operator"]
	var buf bytes.Buffer
	if err := export.WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "statement.html")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t, 695, 1009)
	browsertest.Step(t, ctx,
		chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
			return chromedp.Void{}, err
		}),
		chromedp.Navigate("file://"+file),
		chromedp.WaitVisible(chromedp.CSS("section.signoff")))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"月度结算单", "阳光餐饮", "已确认 / confirmed", "按日汇总", "按人群汇总", "80–89 岁", "-9.50", "24.50"} {
		if !strings.Contains(text, want) {
			t.Errorf("the printed statement does not show %q", want)
		}
	}
	// Nothing is cut off: no table, and not the page, is wider than the printed width.
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const out = [];
		const width = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth > width) out.push("page " + document.documentElement.scrollWidth + " > " + width);
		for (const el of document.querySelectorAll("table, dl, header, .sign")) {
			const r = el.getBoundingClientRect();
			if (r.right > width + 0.5 || el.scrollWidth > el.clientWidth + 1) out.push(el.tagName + "." + el.className + " " + Math.round(r.right) + " > " + width);
		}
		return out; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(overflow) > 0 {
		t.Errorf("cut off when printed on A4: %v", overflow)
	}
	// Numbers line up: every amount cell of a table is right-aligned.
	misaligned, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`[...document.querySelectorAll("td.n")].filter(td => getComputedStyle(td).textAlign !== "right").length`))
	if err != nil {
		t.Fatal(err)
	}
	if misaligned > 0 {
		t.Errorf("%d amount cells are not right-aligned", misaligned)
	}
	shot := browsertest.Screenshot(t, ctx, "statement-print")
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPrintBackground(),
		func(p *page.PrintToPDFParams) { prefer := true; p.PreferCSSPageSize = &prefer }))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatal("printing did not make a PDF")
	}
	if err := os.WriteFile(strings.TrimSuffix(shot, ".png")+".pdf", pdf, 0o644); err != nil {
		t.Fatal(err)
	}
}
