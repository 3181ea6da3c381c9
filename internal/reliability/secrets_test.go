package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/demo"
	"github.com/coupler/coupler/internal/sandbox"
)

// lockedBuffer collects logs written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

var (
	csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	// A bearer token (JWT) has no business in logs, pages or the database.
	jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.`)
)

// TestReliabilityNoSecretInClear runs the whole demo (sandbox, assisted
// setup with every kind of secret, full synchronisation, orders) with debug
// logs, signs in to its web UI and reads every page and API answer, runs
// `coupler connection show`, then scans the logs, the narration, the pages,
// the CLI output and the bytes of the database files for every secret in
// clear and for bearer tokens.
func TestReliabilityNoSecretInClear(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	readyFile := filepath.Join(t.TempDir(), "ready.json")
	logs := &lockedBuffer{}
	var out, steps bytes.Buffer
	cfg := config.Default()
	cfg.DataDir = dir
	pages := map[string][]byte{}
	sum, err := demo.Run(ctx, demo.Options{
		Config: cfg, Addr: "127.0.0.1:0", ReadyFile: readyFile, JSON: true, Once: true, Out: &out, Steps: &steps,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Served: func(ctx context.Context, s demo.Summary) error {
			browse(t, s, pages)
			return nil
		},
	})
	require.NoError(t, err)
	require.NotEmpty(t, pages, "the web UI was read")

	var r sandbox.Ready
	raw, err := os.ReadFile(readyFile)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &r))
	secrets := map[string]string{
		"CRM client secret":             r.CRMClientSecret,
		"CRM integration password":      r.IntegrationPassword,
		"CRM administrator password":    r.CRMAdminPassword,
		"ERP client secret":             r.ERPClientSecret,
		"ERP web service access key":    r.ERPWebServiceKey,
		"coupler admin password (demo)": sum.AdminPassword,
	}
	for name, v := range secrets {
		require.NotEmpty(t, v, name)
	}

	show, showErr, err := run(t, "--data-dir", dir, "connection", "show")
	require.NoError(t, err, "connection show: %s", showErr)
	showJSON, showErr2, err := run(t, "--data-dir", dir, "connection", "show", "--json")
	require.NoError(t, err, "connection show --json: %s", showErr2)

	places := map[string][]byte{
		"logs (debug)":                  logs.Bytes(),
		"demo narration":                steps.Bytes(),
		"connection show":               append(show, showErr...),
		"connection show --json":        append(showJSON, showErr2...),
		"demo summary without password": bytes.ReplaceAll(out.Bytes(), []byte(`"admin_password": "`+sum.AdminPassword+`"`), nil),
	}
	for path, b := range pages {
		places["web "+path] = b
	}
	files, err := filepath.Glob(filepath.Join(dir, "coupler.db*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		places["database file "+filepath.Base(f)] = b
	}
	scanned := 0
	for place, b := range places {
		for name, v := range secrets {
			scanned++
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s in clear in %s", name, place)
			}
		}
		if m := jwtRE.Find(b); m != nil {
			t.Errorf("a bearer token (%.20s…) in %s", m, place)
		}
	}
	require.Contains(t, string(out.Bytes()), sum.AdminPassword, "the demo prints its admin password once, by design")
	count(&tally.badInputs, int64(scanned))
	t.Logf("%d places × %d secrets scanned (%d bytes of logs, %d pages)", len(places), len(secrets), len(logs.Bytes()), len(pages))
}

// browse signs in to the demo's web UI and reads its pages and API answers
// into pages (path → body).
func browse(t *testing.T, s demo.Summary, pages map[string][]byte) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar}
	get := func(path string) []byte {
		resp, err := c.Get(s.UIURL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		pages[fmt.Sprintf("%s (%d)", path, resp.StatusCode)] = b
		return b
	}
	m := csrfRE.FindSubmatch(get("/signin"))
	require.NotNil(t, m, "sign-in form has a CSRF token")
	resp, err := c.PostForm(s.UIURL+"/signin", url.Values{"email": {s.AdminUser}, "password": {s.AdminPassword}, "csrf_token": {string(m[1])}})
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 400, "sign in: %s", b)
	for _, p := range []string{"/", "/connection", "/setup", "/mappings", "/couplings", "/sync", "/sync/runs", "/errors", "/users", "/tokens", "/metrics",
		"/api/v1/connection", "/api/v1/mappings", "/api/v1/jobs", "/api/v1/errors", "/api/v1/couplings", "/api/v1/users"} {
		get(p) // API routes want a token: their refusals are scanned too
	}
}
