package httpapi_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/canteen-oss/canteen/internal/browsertest"
)

// TestDocsPageInBrowser opens /docs in headless Chromium at phone and desktop widths:
// every operation renders, the filter narrows them, and screenshots are saved.
func TestDocsPageInBrowser(t *testing.T) {
	e := newEnv(t, 100)
	base := e.serve()
	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"docs-phone", 390, 844}, {"docs-desktop", 1280, 900}} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := browsertest.New(t, vp.width, vp.height)
			browsertest.Step(t, ctx, chromedp.Navigate(base+"/docs"), chromedp.WaitVisible(chromedp.CSS("details.op")))
			total, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("details.op").length`))
			if err != nil {
				t.Fatal(err)
			}
			if total < 35 {
				t.Fatalf("%d operations rendered, want every route (>= 35)", total)
			}
			text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#ops")))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"发布每日菜单", "/api/v1/admin/canteens/{id}/menus/{day}/{period}/publish"} {
				if !strings.Contains(text, want) {
					t.Errorf("page does not show %q", want)
				}
			}
			browsertest.Screenshot(t, ctx, vp.name)
			browsertest.Step(t, ctx, chromedp.SendKeys(chromedp.CSS("#filter"), "菜单"))
			shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("details.op:not(.hidden)").length`))
			if err != nil {
				t.Fatal(err)
			}
			if shown == 0 || shown >= total {
				t.Fatalf("filter 菜单 shows %d of %d operations", shown, total)
			}
			browsertest.Step(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
				const op = document.querySelector('details.op:not(.hidden)'); op.open = true; op.scrollIntoView(); })()`))
			browsertest.Screenshot(t, ctx, vp.name+"-filtered")
		})
	}
}
