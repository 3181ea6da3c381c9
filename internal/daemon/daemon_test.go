package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/availability"
	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/links"
	"github.com/coupler/coupler/internal/logging"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/storetest"
)

type running struct {
	d    *Daemon
	stop context.CancelFunc
	done chan error
}

// start opens a daemon on 127.0.0.1:0 and runs it until stopped.
func start(t *testing.T, cfg config.Config, wrap func(http.Handler) http.Handler) running {
	t.Helper()
	d := New(cfg, logging.Discard())
	d.wrap = wrap
	require.NoError(t, d.Open(t.Context()))
	ctx, cancel := context.WithCancel(context.Background())
	r := running{d: d, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); _ = d.Close() })
	return r
}

func (r running) shutdown(t *testing.T) {
	t.Helper()
	r.stop()
	select {
	case err := <-r.done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not stop")
	}
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

// TestServeRestart runs the daemon, checks the probes, stops it and starts
// it again on the same database: the second start migrates nothing.
func TestServeRestart(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]func(t *testing.T, cfg *config.Config){
		"sqlite":   func(t *testing.T, cfg *config.Config) { cfg.DataDir = t.TempDir() },
		"postgres": func(t *testing.T, cfg *config.Config) { cfg.DatabaseURL = storetest.PostgresURL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Default()
			cfg.HTTP.Addr = "127.0.0.1:0"
			cfg.DataDir = t.TempDir()
			db(t, &cfg)

			r := start(t, cfg, nil)
			require.Equal(t, name, r.d.Store().Dialect())
			require.NotEmpty(t, migrated(t, r.d).Applied, "the first start migrates")
			base := "http://" + r.d.Addr()
			code, body := get(t, base+"/healthz")
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, "ok", body["status"])
			code, body = get(t, base+"/readyz")
			require.Equal(t, http.StatusOK, code, "%v", body)
			require.Equal(t, "ready", body["status"])
			resp, err := http.Get(base + "/metrics")
			require.NoError(t, err)
			m, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Contains(t, string(m), "\ncoupler_job_queue_depth ", "the queue depth is read from River's table")
			require.Contains(t, string(m), `coupler_metrics_scrape_errors{source="queue"} 0`)
			r.shutdown(t)
			require.Error(t, r.d.Store().Ping(t.Context()), "the store is closed after a stop")

			r = start(t, cfg, nil)
			require.Empty(t, migrated(t, r.d).Applied, "the second start migrates nothing")
			code, _ = get(t, "http://"+r.d.Addr()+"/readyz")
			require.Equal(t, http.StatusOK, code)
			r.shutdown(t)
		})
	}
}

// TestInFlightRequestFinishes: a request being served when the stop comes
// gets its whole answer; new connections are refused.
func TestInFlightRequestFinishes(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	entered := make(chan struct{})
	r := start(t, cfg, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/slow" {
				close(entered)
				time.Sleep(500 * time.Millisecond)
				_, _ = io.WriteString(w, "finished")
				return
			}
			next.ServeHTTP(w, req)
		})
	})
	base := "http://" + r.d.Addr()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-entered
	r.stop()
	require.Equal(t, "finished", <-got)
	require.NoError(t, <-r.done)
	_, err := http.Get(base + "/healthz")
	require.Error(t, err, "no new connections after the stop")
}

func TestOpenRefusesBadDatabaseURL(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = "mysql://nope"
	err := New(cfg, logging.Discard()).Open(t.Context())
	require.ErrorIs(t, err, store.ErrInvalid)
}

func migrated(t *testing.T, d *Daemon) store.MigrationResult {
	m, ok := d.Store().(interface{ Migrated() store.MigrationResult })
	require.True(t, ok)
	return m.Migrated()
}

// TestAvailabilityServiceBesideTheUI: the OData service answers HTTP Basic
// itself (no session redirect, no CSRF), with the UI's security headers;
// a valid key without an enabled connection says the ERP is unreachable,
// not "sign in". The sandbox path (200 with a key) is in the web tests.
func TestAvailabilityServiceBesideTheUI(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	r := start(t, cfg, nil)
	base := "http://" + r.d.Addr()
	call := func(path, user, pass string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := call("/odata/v4/ProductItemAvailability", "", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))

	key, _, err := availability.CreateKey(t.Context(), r.d.Store(), "SALES")
	require.NoError(t, err)
	resp = call("/odata/v4/$metadata", "SALES", key)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the metadata needs no ERP")
	resp = call("/odata/v4/ProductItemAvailability", "SALES", key)
	require.NotEqual(t, http.StatusUnauthorized, resp.StatusCode)
	require.NotEqual(t, http.StatusSeeOther, resp.StatusCode)
	require.GreaterOrEqual(t, resp.StatusCode, 500, "no enabled connection: the ERP cannot be read")

	// The UI is still behind its session.
	resp = call("/orders", "", "")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

// TestInsertNowIsNotSkippedAfterACompletedRun: a refresh asked for from the
// UI runs even when the same job completed minutes ago (River's default
// uniqueness would skip it for a day).
func TestInsertNowIsNotSkippedAfterACompletedRun(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	r := start(t, cfg, nil)
	ctx := t.Context()
	first, err := r.d.insertNow(ctx, links.RefreshArgs{})
	require.NoError(t, err)
	// No connection: the worker does nothing and completes; while it is
	// unfinished the same job is answered, once it completed a new one is
	// queued (River's default uniqueness would answer the old one all day).
	require.Eventually(t, func() bool {
		id, err := r.d.insertNow(ctx, links.RefreshArgs{})
		return err == nil && id != first
	}, 20*time.Second, 50*time.Millisecond, "a new job once the first completed")
}
