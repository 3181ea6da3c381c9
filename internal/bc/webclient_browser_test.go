package bc_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coupler/coupler/internal/bc"
	simbc "github.com/coupler/coupler/internal/sandbox/bc"
	"github.com/stretchr/testify/require"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium (Debian's) for one test, or skips with
// one line when it is missing, unless CI=true.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else {
			if os.Getenv("CI") == "true" {
				t.Fatalf("chromium is not installed at %s (CI=true: ./scripts/test installs it)", chromiumPath)
			}
			t.Skip("chromium is not installed; run ./scripts/test (as root) to install it")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 40*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// TestWebClientRecordRendersInChromium follows the deep links coupler puts
// on CRM records (?company=…&page=…&filter=… or &bookmark=…) in a real
// browser and checks that the record's card shows.
func TestWebClientRecordRendersInChromium(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := browser(t)

	// A customer card by filter, as the demo's links are built.
	cardURL := b.baseURL + b.sim.WebClientRecordPath(21, "10000")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(cardURL), chromedp.WaitVisible(chromedp.ID("record-name"))))
	require.Equal(t, "10000", text(t, ctx, chromedp.ID("record-number")))
	require.Equal(t, "Adatum Corporation", text(t, ctx, chromedp.ID("record-name")))
	require.Contains(t, text(t, ctx, chromedp.CSS(`dd[data-field="email"]`)), "@")
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	require.Contains(t, title, "Customer Card")
	savePNG(t, ctx, "coupler-bc-webclient-customer-*.png")

	// A record created through the API opens by bookmark, with its lines.
	order, err := bc.CreateAs(t.Context(), b.client, bc.SetSalesOrders, bc.SalesDocument{
		CustomerNumber:  "20000",
		SalesOrderLines: []bc.SalesDocumentLine{{LineType: "Item", LineObjectNumber: "1896-S", Quantity: 3}},
	})
	require.NoError(t, err)
	q := url.Values{"company": {b.creds.CompanyName}, "page": {"42"}, "bookmark": {simbc.Bookmark(36, order.Number)}}
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(b.baseURL+b.sim.WebClientPath()+"?"+q.Encode()),
		chromedp.WaitVisible(chromedp.ID("lines"))))
	require.Equal(t, order.Number, text(t, ctx, chromedp.ID("record-number")))
	require.Contains(t, text(t, ctx, chromedp.ID("lines")), "1896-S")
	savePNG(t, ctx, "coupler-bc-webclient-order-*.png")

	// From the customer list, a click opens a card.
	listURL := b.baseURL + b.sim.WebClientPath() + "?" + url.Values{"company": {b.creds.CompanyName}, "page": {"22"}}.Encode()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(listURL),
		chromedp.WaitVisible(chromedp.CSS("#list a")),
		chromedp.Click(chromedp.CSS("#list li:first-child a")),
		chromedp.WaitVisible(chromedp.ID("record-name"))))
	require.NotEmpty(t, text(t, ctx, chromedp.ID("record-name")))

	// A record that does not exist says so instead of showing an empty card.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(b.baseURL+b.sim.WebClientRecordPath(21, "99999")),
		chromedp.WaitVisible(chromedp.ID("message"))))
	msg := text(t, ctx, chromedp.ID("message"))
	require.Contains(t, msg, "99999")
	require.Contains(t, strings.ToLower(msg), "does not exist")
}

func text[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	require.NoError(t, err)
	return strings.TrimSpace(s)
}

// savePNG keeps a full-page screenshot in $TMPDIR for a human to look at.
func savePNG(t *testing.T, ctx context.Context, pattern string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NotEmpty(t, png)
	f, err := os.CreateTemp("", pattern)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write(png)
	require.NoError(t, err)
	t.Logf("screenshot: %s", filepath.Clean(f.Name()))
}
