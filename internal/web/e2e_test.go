package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/daemon"
	"github.com/coupler/coupler/internal/logging"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/users"
)

// e2e is a coupler daemon (store, River queue with the sync jobs, web UI)
// next to a sandbox, as `coupler serve` runs against real services.
type e2e struct {
	sb   *sandbox.Sandbox
	r    sandbox.Ready
	d    *daemon.Daemon
	base string
	dir  string // the daemon's data dir (key file)
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, sandbox.Options{CRMAddr: "127.0.0.1:0", ERPAddr: "127.0.0.1:0", Seed: "demo", Logger: logging.Discard()})
	require.NoError(t, err)
	t.Cleanup(func() { sb.Close() })
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	d := daemon.New(cfg, logging.Discard())
	require.NoError(t, d.Open(ctx))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the daemon did not stop")
		}
	})
	us := users.NewService(d.Store(), logging.Discard(), cheapKDF)
	_, err = us.Create(ctx, "admin@example.com", "Ada Admin", users.RoleAdmin, "correct horse battery")
	require.NoError(t, err)
	return &e2e{sb: sb, r: sb.Ready(), d: d, base: "http://" + d.Addr(), dir: cfg.DataDir}
}

// plantInvalidContact creates an ERP contact whose surname is longer than
// the CRM's contact.lastname (50): the CRM refuses it, a real failure.
func plantInvalidContact(t *testing.T, r sandbox.Ready) string {
	t.Helper()
	c, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: logging.Discard(),
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	require.NoError(t, err)
	raw, err := c.Create(t.Context(), bc.SetContacts, map[string]any{"type": "Person",
		"displayName": "Hubert Wolfeschlegelsteinhausenbergerdorff-Welchevoralternwaren", "email": "hubert@contoso.com"})
	require.NoError(t, err)
	var v struct{ Number string }
	require.NoError(t, json.Unmarshal(raw, &v))
	return v.Number
}

func (e *e2e) fixContact(t *testing.T, number string) {
	t.Helper()
	u, err := url.Parse(e.r.ERPURL)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPatch, u.Scheme+"://"+u.Host+"/_sandbox/contacts/"+number, strings.NewReader(`{"displayName":"Hubert Wolfeschlegelstein"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(screenshotDir(t), name+".png"), b, 0o644))
}

// TestBrowserAssistedSetupSyncAndRetry is the whole path a new user takes:
// sign in, run the assisted setup against the sandbox (a bad value first),
// see the connection enabled, test it, start a full synchronisation, watch
// the counts appear, open the failed record, fix it at the source and
// retry it until the error is resolved.
func TestBrowserAssistedSetupSyncAndRetry(t *testing.T) {
	t.Parallel()
	start := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	e := startE2E(t)
	number := plantInvalidContact(t, e.r)
	step("sandbox and daemon started")
	ctx := browserFor(t, 150*time.Second)
	step("browser started")
	r := e.r
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/setup"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`#finish`)),
	))
	fields := map[string]string{
		"allow-insecure": "yes", "crm-url": "ftp://" + strings.TrimPrefix(r.CRMURL, "http://"), "crm-auth-type": "OAuth",
		"crm-user": r.IntegrationUser, "crm-password": r.IntegrationPassword, "crm-token-url": r.TokenURL,
		"erp-url": r.ERPURL, "erp-company-id": r.ERPCompanyID, "erp-auth-type": "oauth", "erp-client-id": r.ERPClientID,
		"erp-client-secret": r.ERPClientSecret, "erp-token-url": r.TokenURL, "erp-scope": r.ERPScope,
		"erp-web-client-url": r.ERPWebClientURL, "crm-api-version": "9.2", "crm-sdk-version": "100", "import-solution": "yes",
		"availability-enabled": "no", "sales-orders-enabled": "no", "enable": "yes",
	}
	fill := func(then ...chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] {
		var acts []chromedp.Action[chromedp.Void]
		for k, v := range fields {
			acts = append(acts, chromedp.SetValue(chromedp.CSS("#f-"+k), v))
		}
		acts = append(acts, chromedp.SetValue(chromedp.CSS(`#admin-user`), r.CRMAdminUser),
			chromedp.SetValue(chromedp.CSS(`#admin-password`), r.CRMAdminPassword))
		return append(acts, then...)
	}
	// A bad URL is refused with its message next to the field.
	require.NoError(t, chromedp.Do(ctx, fill(chromedp.Click(chromedp.CSS(`#finish`)), chromedp.WaitVisible(chromedp.CSS(`#f-crm-url-err`)))...))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#f-crm-url-err`)))
	require.NoError(t, err)
	require.Contains(t, msg, "ftp")
	shot(t, ctx, "setup-validation")
	step("setup-validation")

	fields["crm-url"] = r.CRMURL
	require.NoError(t, chromedp.Do(ctx, fill(chromedp.Click(chromedp.CSS(`#finish`)), chromedp.WaitVisible(chromedp.CSS(`#setup-result`)))...))
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#setup-result`)))
	require.NoError(t, err)
	require.Contains(t, result, "The connection is enabled.", result)
	require.Contains(t, result, "Created the default synchronisation setup", result)
	shot(t, ctx, "setup-finished")
	step("setup-finished")

	// The connection page shows it enabled; Test connection answers through htmx.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.base+"/connection"), chromedp.WaitVisible(chromedp.CSS(`#conn-state`)),
		chromedp.Click(chromedp.CSS(`#test-connection`)), chromedp.WaitVisible(chromedp.CSS(`#checklist li.check`))))
	state, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#conn-state`)))
	require.NoError(t, err)
	require.Contains(t, state, "Enabled")
	checks, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#checklist`)))
	require.NoError(t, err)
	require.Contains(t, checks, "every check passed", checks)
	shot(t, ctx, "connection")
	step("connection")

	// Full synchronisation through the job queue; the runs table polls.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.base+"/sync"), chromedp.WaitVisible(chromedp.CSS(`#sync-all`)),
		chromedp.Click(chromedp.CSS(`form:nth-of-type(2) button.secondary`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.run[data-mapping="CONTACT"][data-trigger="full"][data-status="succeeded"]`))))
	// Every CUSTOMER run's counts, as the page shows them (the
	// minute tick may have run the mapping before the full run).
	inserted, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('tr.run[data-mapping="CUSTOMER"] td.n-inserted, tr.run[data-mapping="CUSTOMER"] td.n-coupled, tr.run[data-mapping="CUSTOMER"] td.n-modified')).map(td => td.textContent.trim())`))
	require.NoError(t, err)
	total := 0
	for _, s := range inserted {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		total += n
	}
	require.Positive(t, total, "customers were inserted, coupled or modified in the CRM: %v", inserted)
	// The full run's row: a scheduled run may follow it, and leaves the
	// uncoupled failed contact alone (only coupled records are synchronised).
	failed, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.run[data-mapping="CONTACT"][data-trigger="full"] td.n-failed`)))
	require.NoError(t, err)
	require.Equal(t, "1", strings.TrimSpace(failed))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.base+"/sync"), chromedp.WaitVisible(chromedp.CSS(`.chart svg polyline.synced`))))
	shot(t, ctx, "sync")
	step("sync")

	// Open the failed record: reason and payload are there.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.base+"/errors?mapping=CONTACT"), chromedp.WaitVisible(chromedp.CSS(`a.error-link`))))
	shot(t, ctx, "errors")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a.error-link`)), chromedp.WaitVisible(chromedp.CSS(`#retry`))))
	reason, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#reason`)))
	require.NoError(t, err)
	require.Contains(t, strings.ToLower(reason), "lastname", reason)
	payload, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#payload`)))
	require.NoError(t, err)
	require.Contains(t, payload, "Wolfeschlegelsteinhausenbergerdorff")
	shot(t, ctx, "error-detail")
	step("error-detail")
	errURL, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)

	// Fixed at the source, retried: the error is resolved.
	e.fixContact(t, number)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#retry`)), chromedp.WaitVisible(chromedp.CSS(`.flash`))))
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.flash`)))
	require.NoError(t, err)
	require.Contains(t, flash, "ran now")
	deadline := time.Now().Add(30 * time.Second)
	for {
		es, err := e.d.Store().ListErrors(t.Context(), store.ErrorFilter{Mapping: "CONTACT", OpenOnly: true})
		require.NoError(t, err)
		if len(es) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the retried record is still failing: %+v", es)
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(errURL), chromedp.WaitVisible(chromedp.CSS(`#reason`))))
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	require.NoError(t, err)
	require.Contains(t, page, "resolved")

	// /metrics: records per mapping, direction and outcome; API requests
	// per service and status; job durations.
	resp, err := http.Get(e.base + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`coupler_sync_records_total\{direction="Bidirectional",mapping="CONTACT",outcome="failed"\} 1\n`,
		`coupler_sync_records_total\{direction="ToCRM",mapping="CURRENCY",outcome="inserted"\} [1-9]`,
		`coupler_api_requests_total\{service="crm",status="200"\} [1-9]`,
		`coupler_api_requests_total\{service="erp",status="429"\} 0\n`,
		`coupler_sync_open_errors\{mapping="CONTACT"\} 0\n`,
	} {
		require.True(t, regexp.MustCompile(want).Match(metrics), "/metrics has no line matching %s", want)
	}
	// Every CUSTOMER job took under a minute: the full run, and any the
	// scheduler's minute tick started beside it.
	m := regexp.MustCompile(`coupler_sync_job_duration_seconds_bucket\{mapping="CUSTOMER",le="60"\} (\d+)\n`).FindSubmatch(metrics)
	require.NotNil(t, m, "/metrics has no CUSTOMER job duration")
	jobs, err := e.d.Store().ListJobs(t.Context(), store.JobFilter{Mapping: "CUSTOMER"})
	require.NoError(t, err)
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1)
	require.LessOrEqual(t, n, len(jobs), "one duration per CUSTOMER job")

	// Coupled records found by name in the ERP, with their CRM side.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.base+"/couplings?mapping=CUSTOMER&in=erp&q=Adatum"),
		chromedp.WaitVisible(chromedp.CSS(`#couplings`))))
	found, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#couplings tbody`)))
	require.NoError(t, err)
	require.Contains(t, found, "Adatum Corporation")
	require.Contains(t, found, "Success", "the customer found in the ERP is coupled: %s", found)
	shot(t, ctx, "couplings-search")

	// On a phone no page is wider than the screen (tables scroll inside).
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))
	for _, p := range []string{"sync", "connection", "errors", "couplings", "orders", "availability"} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.base+"/"+p), chromedp.WaitVisible(chromedp.CSS(`main h1`))))
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		require.NoError(t, err)
		require.LessOrEqual(t, width, 390, "/%s is wider than a phone", p)
		shot(t, ctx, "phone-"+p)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateReset()))

	for _, p := range []string{"mappings", "couplings", "tokens", "users", "orders", "availability"} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.base+"/"+p), chromedp.WaitVisible(chromedp.CSS(`main h1`))))
		shot(t, ctx, p)
	}
}
