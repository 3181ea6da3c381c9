package dataverse

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/stretchr/testify/require"
)

// env is a running simulator with a token for the application user.
type env struct {
	t      *testing.T
	srv    *Server
	http   *httptest.Server
	base   string // http://127.0.0.1:port
	api    string // base + /api/data/v9.2/
	token  string
	issuer *identity.Issuer
}

type setupOpts struct {
	seed  string
	scale int
	clock func() time.Time
}

func setup(t testing.TB, o ...setupOpts) *env {
	t.Helper()
	var so setupOpts
	if len(o) > 0 {
		so = o[0]
	}
	if so.seed == "" {
		so.seed = "demo"
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	iss := identity.New(identity.Options{Logger: log})
	srv, err := New(Options{Identity: iss, Seed: so.seed, Scale: so.scale, Logger: log, Clock: so.clock})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &env{srv: srv, http: hs, base: hs.URL, api: hs.URL + "/api/data/v9.2/", issuer: iss}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	c := srv.Credentials()
	e.token = e.fetchToken(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}})
	return e
}

func (e *env) fetchToken(t testing.TB, form url.Values) string {
	t.Helper()
	form.Set("scope", e.base+"/.default")
	resp, err := http.PostForm(e.base+"/"+e.issuer.Tenant()+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(body))
	require.NoError(t, json.Unmarshal(body, &tok))
	return tok.AccessToken
}

func (e *env) userToken(t testing.TB, user, password string) string {
	return e.fetchToken(t, url.Values{"grant_type": {"password"}, "client_id": {identity.SamplePublicClientID}, "username": {user}, "password": {password}})
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

func (r response) values(t testing.TB) []map[string]any {
	t.Helper()
	var m struct {
		Value []map[string]any `json:"value"`
	}
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m.Value
}

func (r response) errorCode(t testing.TB) string {
	t.Helper()
	m := r.json(t)
	e, _ := m["error"].(map[string]any)
	require.NotNil(t, e, string(r.body))
	return e["code"].(string)
}

// do sends a request with the app token; headers are "Name: value" strings.
func (e *env) do(t testing.TB, method, path string, body any, headers ...string) response {
	t.Helper()
	return e.doAs(t, e.token, method, path, body, headers...)
}

func (e *env) doAs(t testing.TB, token, method, path string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.api + path
	}
	u = strings.ReplaceAll(u, " ", "%20") // tests write readable queries
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}
