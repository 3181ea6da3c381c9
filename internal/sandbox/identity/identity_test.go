package identity

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	crmAudience = "http://127.0.0.1:5555"
	bcAudience  = "https://api.businesscentral.dynamics.com"
)

type testBundle struct {
	issuer   *Issuer
	srv      *httptest.Server
	tokenURL string
	clock    *fakeClock
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	iss := New(Options{Clock: clock.Now, TTL: time.Hour})
	iss.RegisterClient("crm-app", "s3cret", "user-crm-app")
	iss.RegisterUser("integration@contoso.test", "P@ssw0rd", "user-integration")
	srv := httptest.NewServer(iss.Handler())
	t.Cleanup(srv.Close)
	return &testBundle{issuer: iss, srv: srv, tokenURL: srv.URL + "/" + iss.Tenant() + "/oauth2/v2.0/token", clock: clock}
}

func TestClientCredentialsWithOAuth2Library(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader, oauth2.AuthStyleAutoDetect} {
		cfg := clientcredentials.Config{ClientID: "crm-app", ClientSecret: "s3cret", TokenURL: b.tokenURL,
			Scopes: []string{crmAudience + "/.default"}, AuthStyle: style}
		tok, err := cfg.Token(context.Background())
		require.NoError(t, err)
		require.Equal(t, "Bearer", tok.TokenType)
		require.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, 5*time.Minute)

		claims, err := b.issuer.Verify(tok.AccessToken, crmAudience+"/")
		require.NoError(t, err)
		require.Equal(t, Claims{Subject: "user-crm-app", ClientID: "crm-app", Audience: crmAudience,
			Tenant: b.issuer.Tenant(), ExpiresAt: b.clock.Now().Add(time.Hour)}, claims)

		_, err = b.issuer.Verify(tok.AccessToken, bcAudience)
		require.ErrorIs(t, err, ErrWrongAudience)
	}
}

func TestPasswordGrantAndRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := oauth2.Config{ClientID: SamplePublicClientID, Endpoint: oauth2.Endpoint{TokenURL: b.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{bcAudience + "/.default", "offline_access"}}
	tok, err := cfg.PasswordCredentialsToken(context.Background(), "Integration@Contoso.test", "P@ssw0rd")
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	claims, err := b.issuer.Verify(tok.AccessToken, bcAudience)
	require.NoError(t, err)
	require.Equal(t, "user-integration", claims.Subject)
	require.Equal(t, "Integration@Contoso.test", claims.UserName)

	_, err = b.issuer.Verify(tok.RefreshToken, bcAudience)
	require.ErrorIs(t, err, ErrInvalidToken, "a refresh token is not an access token")

	// After expiry the library refreshes transparently.
	tok.Expiry = time.Now().Add(-time.Minute)
	b.clock.Advance(2 * time.Hour)
	fresh, err := cfg.TokenSource(context.Background(), tok).Token()
	require.NoError(t, err)
	require.NotEqual(t, tok.AccessToken, fresh.AccessToken)
	claims, err = b.issuer.Verify(fresh.AccessToken, bcAudience)
	require.NoError(t, err)
	require.Equal(t, "user-integration", claims.Subject)
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
		err    string
		code   int
	}{
		{"wrong secret", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {"crm-app"}, "client_secret": {"nope"}, "scope": {crmAudience + "/.default"}}, 401, "invalid_client", 7000215},
		{"no secret", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {"crm-app"}, "scope": {crmAudience + "/.default"}}, 401, "invalid_client", 7000218},
		{"unknown app", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {"ghost"}, "client_secret": {"x"}, "scope": {crmAudience + "/.default"}}, 400, "unauthorized_client", 700016},
		{"scope without .default", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {"crm-app"}, "client_secret": {"s3cret"}, "scope": {crmAudience + "/user_impersonation"}}, 400, "invalid_scope", 1002012},
		{"two resources", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {"crm-app"}, "client_secret": {"s3cret"}, "scope": {crmAudience + "/.default " + bcAudience + "/.default"}}, 400, "invalid_scope", 28000},
		{"missing scope", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {"crm-app"}, "client_secret": {"s3cret"}}, 400, "invalid_request", 900144},
		{"missing grant", "", url.Values{"client_id": {"crm-app"}}, 400, "invalid_request", 900144},
		{"unsupported grant", "", url.Values{"grant_type": {"authorization_code"}}, 400, "unsupported_grant_type", 70003},
		{"unknown user", "", url.Values{"grant_type": {"password"}, "client_id": {SamplePublicClientID}, "username": {"who@contoso.test"}, "password": {"x"}, "scope": {bcAudience + "/.default"}}, 400, "invalid_grant", 50034},
		{"wrong password", "", url.Values{"grant_type": {"password"}, "client_id": {SamplePublicClientID}, "username": {"integration@contoso.test"}, "password": {"x"}, "scope": {bcAudience + "/.default"}}, 400, "invalid_grant", 50126},
		{"confidential client without secret in password grant", "", url.Values{"grant_type": {"password"}, "client_id": {"crm-app"}, "username": {"integration@contoso.test"}, "password": {"P@ssw0rd"}, "scope": {bcAudience + "/.default"}}, 401, "invalid_client", 7000218},
		{"bad refresh token", "", url.Values{"grant_type": {"refresh_token"}, "client_id": {SamplePublicClientID}, "refresh_token": {"abc"}}, 400, "invalid_grant", 9002313},
		{"wrong tenant", "/contoso.onmicrosoft.com/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}}, 400, "invalid_request", 90002},
		{"app token on /common", "/common/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"crm-app"}, "client_secret": {"s3cret"}, "scope": {crmAudience + "/.default"}}, 400, "invalid_request", 90009},
		{"unknown user on /organizations", "/organizations/oauth2/v2.0/token", url.Values{"grant_type": {"password"}, "client_id": {SamplePublicClientID}, "username": {"who@contoso.test"}, "password": {"x"}, "scope": {bcAudience + "/.default"}}, 400, "invalid_grant", 50034},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := b.tokenURL
			if tt.path != "" {
				u = b.srv.URL + tt.path
			}
			resp, err := http.PostForm(u, tt.form)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tt.status, resp.StatusCode)
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
				Codes       []int  `json:"error_codes"`
				Timestamp   string `json:"timestamp"`
				TraceID     string `json:"trace_id"`
				Correlation string `json:"correlation_id"`
				Access      string `json:"access_token"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			require.Equal(t, tt.err, body.Error)
			require.Equal(t, []int{tt.code}, body.Codes)
			require.True(t, strings.HasPrefix(body.Description, "AADSTS"), body.Description)
			require.Contains(t, body.Description, "Trace ID: "+body.TraceID)
			require.Contains(t, body.Description, "Correlation ID: "+body.Correlation)
			require.Equal(t, "2026-03-01 12:00:00Z", body.Timestamp)
			require.Empty(t, body.Access)
		})
	}
}

func TestPasswordGrantOnOrganizations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := oauth2.Config{ClientID: SamplePublicClientID, Endpoint: oauth2.Endpoint{TokenURL: b.srv.URL + "/organizations/oauth2/v2.0/token", AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{crmAudience + "/.default"}}
	tok, err := cfg.PasswordCredentialsToken(context.Background(), "integration@contoso.test", "P@ssw0rd")
	require.NoError(t, err)
	claims, err := b.issuer.Verify(tok.AccessToken, crmAudience)
	require.NoError(t, err)
	require.Equal(t, b.issuer.Tenant(), claims.Tenant)
}

func TestOAuth2LibrarySurfacesAADSTS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := clientcredentials.Config{ClientID: "crm-app", ClientSecret: "wrong", TokenURL: b.tokenURL, Scopes: []string{crmAudience + "/.default"}}
	_, err := cfg.Token(context.Background())
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "invalid_client", re.ErrorCode)
	require.Contains(t, re.ErrorDescription, "AADSTS7000215")
}

func TestGetIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, err := http.Get(b.tokenURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	raw, _ := io.ReadAll(resp.Body)
	require.Contains(t, string(raw), "AADSTS900561")
}

func TestV1EndpointWithResource(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, err := http.PostForm(b.srv.URL+"/"+b.issuer.Tenant()+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"crm-app"}, "client_secret": {"s3cret"}, "resource": {crmAudience + "/"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "3600", body["expires_in"])
	_, err = b.issuer.Verify(body["access_token"].(string), crmAudience)
	require.NoError(t, err)
}

func TestVerify(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := clientcredentials.Config{ClientID: "crm-app", ClientSecret: "s3cret", TokenURL: b.tokenURL, Scopes: []string{crmAudience + "/.default"}}
	tok, err := cfg.Token(context.Background())
	require.NoError(t, err)
	good := tok.AccessToken
	parts := strings.Split(good, ".")
	other := New(Options{Clock: b.clock.Now, Tenant: b.issuer.Tenant()})

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"garbage", "not-a-jwt", ErrInvalidToken},
		{"empty", "", ErrInvalidToken},
		{"tampered payload", parts[0] + "." + parts[1] + "x." + parts[2], ErrInvalidToken},
		{"tampered signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])), ErrInvalidToken},
		{"alg none", "eyJhbGciOiJub25lIn0." + parts[1] + ".", ErrInvalidToken},
	}
	for _, tt := range tests {
		_, err := b.issuer.Verify(tt.token, crmAudience)
		require.ErrorIs(t, err, tt.want, tt.name)
	}
	_, err = other.Verify(good, crmAudience)
	require.ErrorIs(t, err, ErrInvalidToken, "another issuer's key")

	_, err = b.issuer.Verify(good, "")
	require.NoError(t, err, "empty audience accepts any")

	b.clock.Advance(time.Hour)
	claims, err := b.issuer.Verify(good, crmAudience)
	require.ErrorIs(t, err, ErrExpired)
	require.Equal(t, "user-crm-app", claims.Subject)
	require.False(t, errors.Is(err, ErrInvalidToken))
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer ": "", "": ""} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		got, ok := BearerToken(r)
		require.Equal(t, want, got, h)
		require.Equal(t, want != "", ok, h)
	}
}

// BenchmarkVerify measures the per-request cost of bearer authentication in
// the simulators.
func BenchmarkVerify(b *testing.B) {
	iss := New(Options{})
	tok := iss.sign(tokenClaims{Aud: crmAudience, Tid: iss.Tenant(), Sub: "u", AppID: "a", Exp: time.Now().Add(time.Hour).Unix()})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Verify(tok, crmAudience); err != nil {
			b.Fatal(err)
		}
	}
}
