package bc

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/sandbox/identity"
)

// env is a simulator served over real HTTP with a token for its application.
type env struct {
	t      *testing.T
	srv    *Server
	hs     *httptest.Server
	token  string
	issuer *identity.Issuer
	root   string // absolute API root URL
	comp   string // absolute companies({id}) URL
}

func fixedClock() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }

func setup(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	iss := identity.New(identity.Options{})
	o := Options{Identity: iss, Seed: "demo"}
	for _, f := range opts {
		f(&o)
	}
	srv, err := New(o)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	tokSrv := httptest.NewServer(iss.Handler())
	t.Cleanup(tokSrv.Close)
	cr := srv.Credentials()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.ClientID}, "client_secret": {cr.ClientSecret}, "scope": {cr.Scope}}
	resp, err := http.PostForm(tokSrv.URL+"/"+cr.Tenant+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	require.NoError(t, json.Unmarshal(b, &tok))
	e := &env{t: t, srv: srv, hs: hs, token: tok.AccessToken, issuer: iss, root: hs.URL + srv.APIRootPath()}
	e.comp = e.root + "/companies(" + cr.CompanyID + ")"
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

func (r resp) values(t *testing.T) []map[string]any {
	t.Helper()
	var m struct {
		Value []map[string]any `json:"value"`
	}
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m.Value
}

func (r resp) errCode(t *testing.T) string {
	t.Helper()
	var m struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	require.Contains(t, m.Error.Message, "  CorrelationId:  ")
	return m.Error.Code
}

// do sends a request; url may be relative to the company URL.
func (e *env) do(method, u, body string, hdr ...string) resp {
	e.t.Helper()
	if !strings.HasPrefix(u, "http") {
		u = e.comp + "/" + u
	}
	if base, rawq, ok := strings.Cut(u, "?"); ok && strings.ContainsAny(rawq, " '") {
		q, err := url.ParseQuery(rawq)
		require.NoError(e.t, err)
		u = base + "?" + q.Encode()
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (r resp) errMsg(t *testing.T) string {
	t.Helper()
	var m struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m.Error.Message
}
