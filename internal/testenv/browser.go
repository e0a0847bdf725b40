package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, or $CHROMIUM; a test that needs a
// browser fails without one (scripts/deps.sh installs it).
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, b := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if b == "" {
			continue
		}
		if _, err := os.Stat(b); err == nil {
			return b
		}
	}
	t.Fatal("headless Chromium not found (apt-get install chromium; scripts/deps.sh installs it) or set $CHROMIUM")
	return ""
}

// Browser starts a headless Chromium with a fresh profile and a
// guard-post-sized window (1366x768), and returns a chromedp context on a
// first tab; it is stopped when the test ends. Media play without a user
// gesture, as on a monitor left open all shift.
func Browser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting headless Chromium: %v", err)
	}
	return ctx
}
