// Package browsertest drives a real headless Chromium for page tests and saves
// screenshots to look at. Without Chromium or a CJK font the test is skipped, except
// with CI=true, where it fails: a page of empty boxes must not pass for Chinese.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("browser tests need %s when CI=true (apt-get install chromium fonts-noto-cjk)", why)
	}
	t.Skipf("browser test skipped: %s (apt-get install chromium fonts-noto-cjk)", why)
}

// New starts a headless Chromium with a width×height viewport and returns its
// context; the browser stops when t ends.
func New(t testing.TB, width, height int64) context.Context {
	t.Helper()
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		unavailable(t, "Chromium")
	}
	if out, err := exec.Command("fc-list", ":lang=zh").Output(); err != nil || len(strings.TrimSpace(string(out))) == 0 {
		unavailable(t, "a CJK font")
	}
	tmp := t.TempDir() // Chromium leaves its profile folders here
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(filepath.Join(tmp, "profile")),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Env("TMPDIR="+tmp),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// Step runs actions with a per-step timeout.
func Step(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("browser step: %v", err)
	}
}

// Screenshot saves a PNG of the viewport as name.png in CANTEEN_SCREENSHOT_DIR (default
// tmp/screenshots at the module root) and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("CANTEEN_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join(moduleRoot(t), "tmp", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	return p
}

func moduleRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}
