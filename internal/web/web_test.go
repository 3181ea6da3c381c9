package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/logging"
	"github.com/coupler/coupler/internal/secret"
	connsetup "github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/users"
	"github.com/coupler/coupler/internal/web"
)

// cheapKDF keeps password hashing fast in tests.
var cheapKDF = users.KDF{Memory: 1024, Time: 1, Threads: 1}

type testBundle struct {
	st      store.Store
	srv     *httptest.Server
	handler *web.Handler
	users   *users.Service
}

// setup serves the web handler over a real SQLite store with one admin
// (admin@example.com) and one viewer (viewer@example.com), password
// "correct horse battery".
func setup(t *testing.T) *testBundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), logging.Discard())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	us := users.NewService(st, logging.Discard(), cheapKDF)
	_, err = us.Create(ctx, "admin@example.com", "Ada Admin", users.RoleAdmin, "correct horse battery")
	require.NoError(t, err)
	_, err = us.Create(ctx, "viewer@example.com", "Vic Viewer", users.RoleViewer, "correct horse battery")
	require.NoError(t, err)
	_, err = us.Create(ctx, "operator@example.com", "Olga Operator", users.RoleOperator, "correct horse battery")
	require.NoError(t, err)
	dir := t.TempDir()
	box, err := secret.New(secret.Options{Store: st, DataDir: dir, Logger: logging.Discard()})
	require.NoError(t, err)
	svc := &connsetup.Service{Conns: st, Secrets: box, NotFound: store.ErrNotFound, Log: logging.Discard()}
	h, err := web.New(web.Options{Logger: logging.Discard(), Users: us, Store: st, Setup: svc, Secrets: box})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testBundle{st: st, srv: srv, handler: h, users: us}
}

func client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfFrom(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(body)
	require.NotNil(t, m, "no CSRF token in %s", u)
	return string(m[1])
}

func signIn(t *testing.T, b *testBundle, email, password string) (*http.Client, *http.Response) {
	t.Helper()
	c := client(t)
	tok := csrfFrom(t, c, b.srv.URL+"/signin")
	resp, err := c.PostForm(b.srv.URL+"/signin", url.Values{"email": {email}, "password": {password}, "csrf_token": {tok}, "next": {"/"}})
	require.NoError(t, err)
	resp.Body.Close()
	return c, resp
}

func TestEveryProtectedRouteRefusesStrangers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := client(t)
	checked := 0
	for _, r := range b.handler.Routes() {
		if r.Role == "" {
			continue
		}
		method, path := routePath(r.Pattern)
		req, err := http.NewRequest(method, b.srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		if strings.HasPrefix(path, "/api/") {
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, r.Pattern)
			require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer", r.Pattern)
		} else if method == http.MethodGet {
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, r.Pattern)
			require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/signin"), r.Pattern)
		} else {
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, r.Pattern)
		}
		checked++
	}
	require.Positive(t, checked)
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, email, password string
		status                int
	}{
		{"right password", "admin@example.com", "correct horse battery", http.StatusSeeOther},
		{"upper-case e-mail", "ADMIN@example.com", "correct horse battery", http.StatusSeeOther},
		{"wrong password", "admin@example.com", "wrong horse battery", http.StatusUnauthorized},
		{"unknown user", "nobody@example.com", "correct horse battery", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp := signIn(t, b, tt.email, tt.password)
			require.Equal(t, tt.status, resp.StatusCode)
			home, err := c.Get(b.srv.URL + "/")
			require.NoError(t, err)
			body, _ := io.ReadAll(home.Body)
			home.Body.Close()
			if tt.status == http.StatusSeeOther {
				require.Equal(t, http.StatusOK, home.StatusCode)
				require.Contains(t, string(body), "Signed in as Ada Admin")
			} else {
				require.Equal(t, http.StatusSeeOther, home.StatusCode)
			}
		})
	}
}

func TestPostWithoutCSRFIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, _ := signIn(t, b, "admin@example.com", "correct horse battery")
	resp, err := c.PostForm(b.srv.URL+"/signout", url.Values{})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, string(body), "CSRF")

	// A sign-in form posted without its token is refused too.
	resp, err = client(t).PostForm(b.srv.URL+"/signin", url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestSignInIsRateLimited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := client(t)
	tok := csrfFrom(t, c, b.srv.URL+"/signin")
	limited := false
	for i := 0; i < 10 && !limited; i++ {
		resp, err := c.PostForm(b.srv.URL+"/signin", url.Values{"email": {"admin@example.com"}, "password": {"guess"}, "csrf_token": {tok}})
		require.NoError(t, err)
		resp.Body.Close()
		limited = resp.StatusCode == http.StatusTooManyRequests
	}
	require.True(t, limited, "ten quick wrong passwords must be slowed down")
}

func TestSecurityHeadersAndAssets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, path := range []string{"/signin", "/static/htmx-2.0.11.min.js", "/static/style.css", "/healthz"} {
		resp, err := http.Get(b.srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		csp := resp.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self'", path)
		require.Contains(t, csp, "frame-ancestors 'none'", path)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	}
	resp, err := http.Get(b.srv.URL + "/signin")
	require.NoError(t, err)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		require.True(t, c.HttpOnly, c.Name)
		require.NotEqual(t, http.SameSiteNoneMode, c.SameSite, c.Name)
	}
}

func TestSafeRedirectAfterSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := client(t)
	tok := csrfFrom(t, c, b.srv.URL+"/signin")
	resp, err := c.PostForm(b.srv.URL+"/signin", url.Values{"email": {"viewer@example.com"}, "password": {"correct horse battery"}, "csrf_token": {tok}, "next": {"//evil.example/"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "/", resp.Header.Get("Location"))
}

// routePath turns a pattern into a method and a concrete path.
func routePath(pattern string) (string, string) {
	method, path, _ := strings.Cut(pattern, " ")
	return method, strings.NewReplacer("{$}", "", "{id}", "1", "{name}", "CUSTOMER", "{mapping}", "CUSTOMER", "{erp_id}", "x").Replace(path)
}
