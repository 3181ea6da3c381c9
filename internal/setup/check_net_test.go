package setup_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/setup"
)

// memSecrets is the Secrets contract in memory (the secret package has
// its own tests against the real store).
type memSecrets struct {
	mu sync.Mutex
	m  map[[2]string]string
}

func newMemSecrets() *memSecrets { return &memSecrets{m: map[[2]string]string{}} }

func (s *memSecrets) Put(_ context.Context, owner, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[[2]string{owner, name}] = value
	return nil
}

func (s *memSecrets) Get(_ context.Context, owner, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[[2]string{owner, name}]
	if !ok {
		return "", secret.ErrNotSet
	}
	return v, nil
}

func (s *memSecrets) IsSet(_ context.Context, owner, name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[[2]string{owner, name}]
	return ok, nil
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

const (
	testUser     = "integration@contoso.onmicrosoft.com"
	testPassword = "Right-Password-1"
	testClient   = "erp-app"
	testSecret   = "erp-app-secret"
)

// netSetup starts a real token endpoint and returns a setup whose CRM and
// ERP URLs the caller points at failing peers.
func netSetup(t *testing.T) (setup.ConnectionSetup, *memSecrets, *identity.Issuer) {
	t.Helper()
	iss := identity.New(identity.Options{Logger: slog.New(slog.DiscardHandler)})
	iss.RegisterUser(testUser, testPassword, "00000000-0000-0000-0000-0000000000aa")
	iss.RegisterPublicClient("51f81489-12ee-4a9e-aaae-a2591f45987d")
	iss.RegisterClient(testClient, testSecret, "00000000-0000-0000-0000-0000000000bb")
	ts := httptest.NewServer(iss.Handler())
	t.Cleanup(ts.Close)
	tokenURL := ts.URL + "/" + iss.Tenant() + "/oauth2/v2.0/token"
	a := setup.Answers{
		"allow-insecure": "yes", "crm.url": "http://" + closedAddr(t), "crm.user": testUser, "crm.password": testPassword,
		"crm.token-url": tokenURL, "crm.sdk-version": "9",
		"erp.url":        "http://" + closedAddr(t) + "/v2.0/" + iss.Tenant() + "/sandbox/api/v2.0",
		"erp.company-id": "5106c77d-44e3-ea11-bb43-000d3a2feca1", "erp.client-id": testClient, "erp.client-secret": testSecret,
		"erp.token-url": tokenURL,
	}
	d, err := setup.Build(a, setup.NewDraft("", "", nil))
	require.NoError(t, err)
	sec := newMemSecrets()
	for k, v := range d.Secrets {
		require.NoError(t, sec.Put(context.Background(), d.Setup.Name, k, v))
	}
	return d.Setup, sec, iss
}

func runTest(t *testing.T, c setup.ConnectionSetup, sec setup.Secrets, hc *http.Client) setup.Checklist {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := setup.DialOptions{Interactive: true, HTTPClient: hc}
	var cl setup.Clients
	cl.CRM, cl.CRMErr = setup.DialCRM(ctx, c, sec, o)
	cl.ERP, cl.ERPErr = setup.DialERP(ctx, c, sec, o)
	return setup.RunTest(ctx, c, cl, time.Now())
}

func requireCheck(t *testing.T, l setup.Checklist, id string, st setup.Status, reason, fix string) {
	t.Helper()
	c, ok := l.Find(id)
	require.True(t, ok, id)
	require.Equal(t, st, c.Status, "%s\n%s", id, l.String())
	require.Equal(t, reason, c.Reason, id)
	require.Equal(t, fix, c.Fix, id)
}

func TestCheckUnreachable(t *testing.T) {
	t.Parallel()
	c, sec, _ := netSetup(t)
	l := runTest(t, c, sec, nil)
	require.False(t, l.OK())
	requireCheck(t, l, "crm.reach", setup.Failed,
		"nothing accepts connections at "+c.CRM.URL+" (connection refused)",
		"check the CRM URL's host and port, and that the service is running")
	requireCheck(t, l, "erp.reach", setup.Failed,
		"nothing accepts connections at "+c.ERP.APIURL+" (connection refused)",
		"check the ERP URL's host and port, and that the service is running")
	requireCheck(t, l, "crm.role-admin", setup.Skipped, "the CRM could not be reached or refused to sign in", "")
}

func TestCheckUntrustedTLS(t *testing.T) {
	t.Parallel()
	c, sec, _ := netSetup(t)
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsSrv.Close)
	c.CRM.URL = tlsSrv.URL
	l := runTest(t, c, sec, nil)
	requireCheck(t, l, "crm.reach", setup.Failed,
		"the TLS certificate of "+tlsSrv.URL+" is not trusted (signed by an unknown authority)",
		"install the certificate's issuing CA in this machine's trust store, or give the server a certificate from a public CA")
}

func TestCheckWrongPassword(t *testing.T) {
	t.Parallel()
	c, sec, _ := netSetup(t)
	require.NoError(t, sec.Put(context.Background(), c.Name, setup.SecretCRMPassword, "Wrong-Password"))
	l := runTest(t, c, sec, nil)
	ch, _ := l.Find("crm.auth")
	require.Equal(t, setup.Failed, ch.Status, l.String())
	require.Contains(t, ch.Reason, "the CRM refused the credentials: ")
	require.Contains(t, ch.Reason, "AADSTS50126")
	require.NotContains(t, l.String(), "Wrong-Password")
	require.Equal(t, "check crm.user and crm.password", ch.Fix)
}

func TestCheckMissingSecret(t *testing.T) {
	t.Parallel()
	c, _, _ := netSetup(t)
	l := runTest(t, c, newMemSecrets(), nil)
	requireCheck(t, l, "crm.auth", setup.Failed, "crm.password is not set", "run `coupler setup` to enter it")
}
