package bc

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/coupler/coupler/internal/sandbox/limits"
)

func rawGet(t *testing.T, u string, set func(*http.Request)) resp {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	require.NoError(t, err)
	set(req)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cr := e.srv.Credentials()
	online := e.comp + "/customers?$top=1"
	onPrem := e.hs.URL + e.srv.OnPremAPIRootPath() + "/companies(" + cr.CompanyID + ")/customers?$top=1"
	other := identity.New(identity.Options{})
	other.RegisterClient("x", "y", "z")
	otherTok := tokenFor(t, other, "x", "y", Audience+"/.default")
	hostTok := tokenFor(t, e.issuer, cr.ClientID, cr.ClientSecret, "http://"+e.hs.Listener.Addr().String()+"/.default")
	wrongAud := tokenFor(t, e.issuer, cr.ClientID, cr.ClientSecret, "https://graph.microsoft.com/.default")
	tests := []struct {
		name   string
		url    string
		set    func(*http.Request)
		status int
	}{
		{"bearer online", online, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.token) }, 200},
		{"bearer own host audience", online, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+hostTok) }, 200},
		{"bearer on-prem", onPrem, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.token) }, 200},
		{"basic key on-prem", onPrem, func(r *http.Request) { r.SetBasicAuth(cr.User, cr.WebServiceKey) }, 200},
		{"no credentials", online, func(r *http.Request) {}, 401},
		{"no credentials on-prem", onPrem, func(r *http.Request) {}, 401},
		{"garbage token", online, func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc.def.ghi") }, 401},
		{"other issuer", online, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+otherTok) }, 401},
		{"wrong audience", online, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+wrongAud) }, 401},
		{"wrong key", onPrem, func(r *http.Request) { r.SetBasicAuth(cr.User, "nope") }, 401},
		{"wrong user", onPrem, func(r *http.Request) { r.SetBasicAuth("SOMEONE", cr.WebServiceKey) }, 401},
		{"basic online refused", online, func(r *http.Request) { r.SetBasicAuth(cr.User, cr.WebServiceKey) }, 401},
		{"online without tenant", e.hs.URL + "/v2.0/production/api/v2.0/companies", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.token) }, 200},
		{"wrong tenant", e.hs.URL + "/v2.0/other/production/api/v2.0/companies", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.token) }, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rawGet(t, tc.url, tc.set)
			require.Equal(t, tc.status, r.status, string(r.body))
			if tc.status == 401 {
				require.Equal(t, "Authentication_InvalidCredentials", r.errCode(t))
				require.NotEmpty(t, r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func tokenFor(t *testing.T, iss *identity.Issuer, id, secret, scope string) string {
	t.Helper()
	hs := httptest.NewServer(iss.Handler())
	defer hs.Close()
	res, err := http.PostForm(hs.URL+"/"+iss.Tenant()+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {scope}})
	require.NoError(t, err)
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&tok))
	require.NotEmpty(t, tok.AccessToken)
	return tok.AccessToken
}

func TestRequestLimit(t *testing.T) {
	t.Parallel()
	lim := limits.New(limits.Config{Requests: 3, Window: time.Hour, Concurrent: 5, Queue: 95}, nil)
	e := setup(t, func(o *Options) { o.Limiter = lim })
	for range 3 {
		require.Equal(t, http.StatusOK, e.do("GET", "currencies?$top=1", "").status)
	}
	r := e.do("GET", "currencies?$top=1", "")
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Equal(t, "Application_TooManyRequests", r.errCode(t))
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.EqualValues(t, 1, lim.Stats().Throttled)
}
