package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/demo"
	"github.com/coupler/coupler/internal/logging"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
)

// setup returns demo options for a fresh data dir, the UI on a free port.
func setupDemo(t *testing.T, dataDir string) (demo.Options, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	var out, steps bytes.Buffer
	return demo.Options{Config: cfg, Addr: "127.0.0.1:0", Once: true, JSON: true, Out: &out, Steps: &steps,
		Logger: logging.Discard()}, &out, &steps
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs in to the web UI and returns the status of the page behind it.
func signIn(t *testing.T, ui, email, password string) int {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(ui + "/signin")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(body)
	require.NotNil(t, m, "no CSRF token on %s/signin", ui)
	resp, err = c.PostForm(ui+"/signin", url.Values{"email": {email}, "password": {password}, "csrf_token": {string(m[1])}, "next": {"/"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, ui+"/", resp.Request.URL.String(), "signed in, redirected home")
	return resp.StatusCode
}

func TestDemoOnceJSONOnAFreshDataDirThenIncrementalSecondRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	opts, out, steps := setupDemo(t, dir)
	opts.ReadyFile = filepath.Join(dir, "ready.json")
	uiAnswered := false
	opts.Served = func(ctx context.Context, s demo.Summary) error {
		// While the summary is printed the UI answers and the admin signs in.
		require.Equal(t, http.StatusOK, signIn(t, s.UIURL, s.AdminUser, s.AdminPassword))
		uiAnswered = true
		return nil
	}
	start := time.Now()
	_, err := demo.Run(ctx, opts)
	require.NoError(t, err, steps.String())
	t.Logf("first run: %s", time.Since(start))
	require.True(t, uiAnswered)

	// The JSON on Out is the whole stdout of `coupler demo --once --json`.
	var s demo.Summary
	require.NoError(t, json.Unmarshal(out.Bytes(), &s), out.String())
	require.Equal(t, 1, s.Run)
	byName := map[string]demo.MappingSummary{}
	for _, m := range s.Mappings {
		byName[m.Mapping] = m
		require.Equal(t, "succeeded", m.Status, "%s: %s", m.Mapping, m.Message)
	}
	// Figures of the sandbox's demo data (Contoso/CRONUS), per mapping.
	require.Equal(t, 18, byName[mapping.Currency].Inserted, "ERP currencies the CRM lacks")
	require.Equal(t, 7, byName[mapping.Salespeople].Coupled, "salespeople coupled to CRM users by e-mail")
	require.Equal(t, 5, byName[mapping.Customer].Modified, "matched accounts written with the ERP's values")
	require.Equal(t, 11, byName[mapping.ItemProduct].Inserted)
	require.Equal(t, 5, byName[mapping.Contact].Inserted, "the demo data's contacts, not the invalid one")
	require.Equal(t, 1, byName[mapping.Contact].Failed)
	require.Equal(t, 1, s.Totals.Failed, "exactly the one deliberately invalid record fails")
	require.Greater(t, s.Totals.Inserted, 50)

	require.Len(t, s.Failures, 1)
	f := s.Failures[0]
	require.Equal(t, mapping.Contact, f.Mapping)
	require.Equal(t, "lastname", f.Field)
	require.Contains(t, f.Message, "exceeded the maximum allowed length of '50'", "the CRM's own refusal")
	require.Contains(t, f.See, "coupler sync errors --mapping CONTACT --data-dir "+dir)
	require.Contains(t, f.Fix, "/_sandbox/contacts/")
	require.Contains(t, f.Fix, "coupler sync run --full CONTACT")
	require.NotEmpty(t, s.Orders, "the demo data's submitted CRM orders")
	created := 0
	for _, o := range s.Orders {
		if o.Result == "created" {
			created++
			require.NotEmpty(t, o.ERPNumber)
		} else {
			require.NotEmpty(t, o.Error, "an order not created says why: %+v", o)
		}
	}
	require.Positive(t, created, "%+v", s.Orders)
	require.Equal(t, demo.AdminEmail, s.AdminUser)
	require.Len(t, s.AdminPassword, 24)

	// The ready file is the sandbox's ready object.
	raw, err := os.ReadFile(opts.ReadyFile)
	require.NoError(t, err)
	var ready sandbox.Ready
	require.NoError(t, json.Unmarshal(raw, &ready))
	require.Equal(t, s.CRMURL, ready.CRMURL)
	require.NotEmpty(t, ready.ERPWebServiceKey)

	// Only the demo stopped: the UI and the sandbox are down.
	_, err = http.Get(s.UIURL + "/healthz")
	require.Error(t, err, "the UI stops with --once")

	// No plaintext secret reached the data dir.
	db, err := os.ReadFile(filepath.Join(dir, "coupler.db"))
	require.NoError(t, err)
	require.NotContains(t, string(db), ready.IntegrationPassword)
	require.NotContains(t, string(db), ready.ERPClientSecret)
	require.NotContains(t, string(db), s.AdminPassword)

	// Second run on the same data dir: couplings reset for the fresh
	// sandbox, the same full run, then an incremental run that writes only
	// the two edited records.
	opts2, out2, steps2 := setupDemo(t, dir)
	_, err = demo.Run(ctx, opts2)
	require.NoError(t, err, steps2.String())
	var s2 demo.Summary
	require.NoError(t, json.Unmarshal(out2.Bytes(), &s2), out2.String())
	require.Equal(t, 2, s2.Run)
	require.Equal(t, s.Totals.Inserted, s2.Totals.Inserted, "the fresh sandbox gets the same full run")
	require.Equal(t, 1, s2.Totals.Failed)
	require.NotEqual(t, s.AdminPassword, s2.AdminPassword, "a new password each run")
	require.NotEmpty(t, s2.Incremental)
	inc := map[string]demo.MappingSummary{}
	written := 0
	for _, m := range s2.Incremental {
		inc[m.Mapping] = m
		written += m.Inserted + m.Modified
		require.Zero(t, m.Failed, "%s: %s", m.Mapping, m.Message)
	}
	require.Equal(t, 2, inc[mapping.Customer].Modified, "customer 10000 to the CRM, account of 20000 to the ERP")
	require.Equal(t, 2, written, "nothing but the two edits is written")
	require.Contains(t, steps2.String(), "couplings, their cursors and open errors reset")

	// The reset closed the first run's errors: one open error, this run's.
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: logging.Discard()})
	require.NoError(t, err)
	defer st.Close()
	open, err := st.ListErrors(ctx, store.ErrorFilter{OpenOnly: true})
	require.NoError(t, err)
	var failed int
	for _, e := range open {
		if e.Code != "ConflictResolved" {
			failed++
		}
	}
	require.Equal(t, 1, failed, "%+v", open)
}

func TestDemoRefusesADataDirWithARealConnection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: logging.Discard()})
	require.NoError(t, err)
	require.NoError(t, st.PutConnection(ctx, setup.ConnectionSetup{Name: "default", CRM: setup.CRMSettings{URL: "https://contoso.crm4.dynamics.com"}}))
	require.NoError(t, st.Close())

	opts, _, _ := setupDemo(t, dir)
	_, err = demo.Run(ctx, opts)
	require.ErrorIs(t, err, demo.ErrNotDemoDataDir)
	require.Contains(t, err.Error(), "contoso.crm4.dynamics.com")
	require.Contains(t, err.Error(), "--data-dir")

	st, err = store.Open(ctx, store.Options{DataDir: dir, Logger: logging.Discard()})
	require.NoError(t, err)
	defer st.Close()
	c, err := st.GetConnection(ctx, "default")
	require.NoError(t, err)
	require.Equal(t, "https://contoso.crm4.dynamics.com", c.CRM.URL, "untouched")
}

func TestDemoTextSummaryNamesTheFailureAndHowToFixIt(t *testing.T) {
	t.Parallel()
	opts, out, _ := setupDemo(t, t.TempDir())
	opts.JSON, opts.Steps = false, out // as on a terminal: one stream
	_, err := demo.Run(context.Background(), opts)
	require.NoError(t, err)
	text := out.String()
	for _, want := range []string{"[1] Start the sandbox", "Assisted setup 1/7", "Assisted setup 7/7", "[ok] Integration solution installed",
		"MAPPING", "CONTACT", "TOTAL", "1 record failed", "See it:  coupler sync errors", "Fix it:", "Submitted CRM orders:",
		"Web UI: http://127.0.0.1:", demo.AdminEmail} {
		require.Contains(t, text, want)
	}
	require.True(t, strings.Index(text, "Assisted setup 5/7 — import") < strings.Index(text, "Assisted setup 6/7 — assign"))
}

func TestDemoServesUntilCancelledThenStopsEverything(t *testing.T) {
	t.Parallel()
	opts, _, steps := setupDemo(t, t.TempDir())
	opts.Once, opts.JSON = false, false
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ui, crm string
	opts.Served = func(ctx context.Context, s demo.Summary) error {
		ui, crm = s.UIURL, s.CRMURL
		resp, err := http.Get(ui + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "database and job queue ready")
		cancel() // Ctrl-C
		return nil
	}
	done := make(chan error, 1)
	go func() { _, err := demo.Run(ctx, opts); done <- err }()
	select {
	case err := <-done:
		require.NoError(t, err, steps.String())
	case <-time.After(50 * time.Second):
		t.Fatal("the demo did not stop after Ctrl-C")
	}
	require.Contains(t, steps.String(), "Stopping: web UI, job queue, database, then the sandbox.")
	for _, u := range []string{ui + "/healthz", crm + "/_sandbox/healthz"} {
		_, err := http.Get(u)
		require.Error(t, err, "%s still answers after the stop", u)
	}
}
