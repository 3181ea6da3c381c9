package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// browser starts headless Chromium for a test, or skips (fails under CI)
// when it is not installed.
func browser(t *testing.T) context.Context { return browserFor(t, 60*time.Second) }

// browserFor is browser with a longer budget for the whole test.
func browserFor(t *testing.T, budget time.Duration) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; ./scripts/test installs Debian's chromium package when run as root")
		}
		t.Skip("chromium not installed: run ./scripts/test as root (it installs Debian's chromium) to run browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 800))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first call starts the browser and must not carry a timeout.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	ctx, cancel3 := context.WithTimeout(ctx, budget)
	t.Cleanup(cancel3)
	return ctx
}

// screenshotDir is where browser tests leave pictures for review.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("COUPLER_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "coupler-screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

func TestBrowserSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := browser(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
	))
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main h1`)))
	require.NoError(t, err)
	require.Equal(t, "Overview", heading)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(screenshotDir(t), "overview.png"), shot, 0o644))
}
