package setup_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/sandbox"
	dvsim "github.com/coupler/coupler/internal/sandbox/dataverse"
	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/coupler/coupler/internal/setup"
)

var errNoRow = errors.New("no such connection")

// memConns is the Connections contract in memory.
type memConns struct {
	mu sync.Mutex
	m  map[string]setup.ConnectionSetup
}

func (m *memConns) GetConnection(_ context.Context, name string) (setup.ConnectionSetup, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[name]
	if !ok {
		return c, errNoRow
	}
	return c, nil
}

func (m *memConns) PutConnection(_ context.Context, c setup.ConnectionSetup) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[c.Name] = c
	return nil
}

// live is one sandbox with a connection set up to it (saved, not enabled).
type live struct {
	sb    *sandbox.Sandbox
	r     sandbox.Ready
	svc   *setup.Service
	sec   *memSecrets
	admin *dataverse.Client // the sandbox's System Administrator, to break things
}

func sandboxAnswers(r sandbox.Ready) setup.Answers {
	return setup.Answers{
		"allow-insecure": "yes", "crm.url": r.CRMURL, "crm.user": r.IntegrationUser, "crm.password": r.IntegrationPassword,
		"crm.token-url": r.TokenURL, "erp.url": r.ERPURL, "erp.company-id": r.ERPCompanyID, "erp.client-id": r.ERPClientID,
		"erp.client-secret": r.ERPClientSecret, "erp.token-url": r.TokenURL,
	}
}

func startLive(t *testing.T) *live {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { sb.Close() })
	r := sb.Ready()
	d, err := setup.Build(sandboxAnswers(r), setup.NewDraft("", "", nil))
	require.NoError(t, err)
	l := &live{sb: sb, r: r, sec: newMemSecrets()}
	l.svc = &setup.Service{Conns: &memConns{m: map[string]setup.ConnectionSetup{}}, Secrets: l.sec, NotFound: errNoRow,
		Options: setup.DialOptions{Interactive: true}}
	require.NoError(t, l.svc.Save(ctx, d))
	cs := dataverse.ConnectionString{AuthType: dataverse.AuthOAuth, URL: r.CRMURL, UserName: r.CRMAdminUser, Password: r.CRMAdminPassword,
		ClientID: dataverse.DefaultPublicClientID, RedirectURI: "app://x", LoginPrompt: dataverse.LoginPromptNever}
	l.admin, err = dataverse.New(ctx, dataverse.Config{Conn: &cs, TokenURL: r.TokenURL})
	require.NoError(t, err)
	return l
}

func (l *live) importSolution(t *testing.T) {
	t.Helper()
	require.NoError(t, l.svc.ImportSolution(context.Background(), "", &setup.AdminCredentials{User: l.r.CRMAdminUser, Password: l.r.CRMAdminPassword}))
}

func (l *live) assignRoles(t *testing.T) {
	t.Helper()
	as, err := l.svc.AssignRoles(context.Background(), "")
	require.NoError(t, err)
	require.Len(t, as, 2)
}

// first returns the first record of a query, as the administrator.
func (l *live) first(t *testing.T, set, filter string) dataverse.Record {
	t.Helper()
	resp, err := l.admin.Do(context.Background(), dataverse.Request{Method: http.MethodGet, Path: set, Query: url.Values{"$filter": {filter}}})
	require.NoError(t, err)
	var page struct{ Value []dataverse.Record }
	require.NoError(t, json.Unmarshal(resp.Body, &page))
	require.NotEmpty(t, page.Value, "%s?$filter=%s", set, filter)
	return page.Value[0]
}

func TestEnableAgainstSandbox(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	ctx := context.Background()
	list, err := l.svc.Enable(ctx, "")
	require.ErrorIs(t, err, setup.ErrTestFailed)
	requireCheck(t, list, "crm.solution", setup.Failed, "the integration solution MicrosoftDynamicsNavIntegration is not installed in the CRM",
		"run `coupler connection import-solution` (or answer yes to import-solution in `coupler setup`)")
	c, err := l.svc.Load(ctx, "")
	require.NoError(t, err)
	require.False(t, c.Enabled)

	l.importSolution(t)
	l.assignRoles(t)
	list, err = l.svc.Enable(ctx, "")
	require.NoError(t, err, list.String())
	require.True(t, list.OK())
	c, err = l.svc.Load(ctx, "")
	require.NoError(t, err)
	require.True(t, c.Enabled)
	require.Equal(t, "9.2.25113.00171", c.LastTest.CRMVersion)
	require.True(t, c.LastTest.SolutionInstalled)
	on, _, err := setup.Active(ctx, l.svc.Conns, "")
	require.NoError(t, err)
	require.True(t, on)

	_, err = l.svc.Disable(ctx, "", "")
	require.NoError(t, err)
	on, why, err := setup.Active(ctx, l.svc.Conns, "")
	require.NoError(t, err)
	require.False(t, on)
	require.Equal(t, "disabled by the user; run `coupler connection enable` to resume", why)
	c2, err := l.svc.Load(ctx, "")
	require.NoError(t, err)
	c.Enabled, c.DisableReason, c.UpdatedAt = false, "disabled by the user", c2.UpdatedAt
	require.Equal(t, c, c2, "disable keeps every setting")
}

// TestConnectionFailures: each broken condition fails its check with its
// exact reason and fix.
func TestConnectionFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	user := "integration@cronus-sandbox.onmicrosoft.com"
	tests := []struct {
		name          string
		breakIt       func(t *testing.T, l *live)
		check         string
		reason, fix   string
		reasonContain string // when the reason holds a server-generated id or time
	}{
		{name: "user without roles", breakIt: func(t *testing.T, l *live) { l.importSolution(t) },
			check:  "crm.role-admin",
			reason: "the integration user " + user + " lacks the Integration Administrator role",
			fix:    "run `coupler connection assign-roles` or assign the Integration Administrator role to " + user + " in the CRM"},
		{name: "user without Integration User", breakIt: func(t *testing.T, l *live) { l.importSolution(t) },
			check:  "crm.role-user",
			reason: "the integration user " + user + " lacks the Integration User role",
			fix:    "run `coupler connection assign-roles` or assign the Integration User role to " + user + " in the CRM"},
		{name: "user with System Administrator", breakIt: func(t *testing.T, l *live) {
			l.importSolution(t)
			l.assignRoles(t)
			sysadmin := l.first(t, "roles", "name eq 'System Administrator'").String("roleid")
			who := l.first(t, "systemusers", "domainname eq '"+user+"'").String("systemuserid")
			require.NoError(t, l.admin.Associate(ctx, "systemusers", dataverse.ID(who), "systemuserroles_association", "roles", dataverse.ID(sysadmin)))
		}, check: "crm.not-sysadmin",
			reason: "the integration user " + user + " holds the System Administrator role (System Administrator)",
			fix:    "remove System Administrator from " + user + " in the CRM, or use a dedicated integration user: an administrator account must not run the integration"},
		{name: "missing currency", breakIt: func(t *testing.T, l *live) {
			l.importSolution(t)
			l.assignRoles(t)
			gbp := l.first(t, "transactioncurrencies", "isocurrencycode eq 'GBP'").String("transactioncurrencyid")
			require.NoError(t, l.admin.Update(ctx, "transactioncurrencies", dataverse.ID(gbp), map[string]any{"isocurrencycode": "XTS"}, "*"))
		}, check: "erp.currency",
			reason: "the ERP's base currency GBP is not a transaction currency in the CRM",
			fix:    "add the currency GBP in the CRM (Settings > Business Management > Currencies), then test again"},
		{name: "wrong password", breakIt: func(t *testing.T, l *live) {
			require.NoError(t, l.sec.Put(ctx, setup.DefaultName, setup.SecretCRMPassword, "Not-The-Password-1"))
		}, check: "crm.auth", reasonContain: "AADSTS50126", fix: "check crm.user and crm.password"},
		{name: "wrong ERP secret", breakIt: func(t *testing.T, l *live) {
			require.NoError(t, l.sec.Put(ctx, setup.DefaultName, setup.SecretERPClientSecret, "Not-The-Secret-1"))
		}, check: "erp.auth", reasonContain: "AADSTS7000215", fix: "check erp.client-id and erp.client-secret"},
		{name: "disabled user", breakIt: func(t *testing.T, l *live) {
			who := l.first(t, "systemusers", "domainname eq '"+user+"'").String("systemuserid")
			require.NoError(t, l.admin.Update(ctx, "systemusers", dataverse.ID(who), map[string]any{"isdisabled": true}, "*"))
		}, check: "crm.auth", reasonContain: "is disabled. Disabled users cannot access the system.",
			fix: "enable the integration user in the CRM (Settings > Security > Users), then test again"},
		{name: "unknown ERP company", breakIt: func(t *testing.T, l *live) {
			c, err := l.svc.Load(ctx, "")
			require.NoError(t, err)
			c.ERP.CompanyID = "00000000-0000-0000-0000-0000000000e1"
			require.NoError(t, l.svc.Conns.PutConnection(ctx, c))
		}, check: "erp.company", reason: "the ERP has no company with id 00000000-0000-0000-0000-0000000000e1",
			reasonContain: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := startLive(t)
			tt.breakIt(t, l)
			list, err := l.svc.Enable(ctx, "")
			require.ErrorIs(t, err, setup.ErrTestFailed)
			t.Log("\n" + list.String())
			ch, ok := list.Find(tt.check)
			require.True(t, ok)
			require.Equal(t, setup.Failed, ch.Status, list.String())
			if tt.reasonContain != "" {
				require.Contains(t, ch.Reason, tt.reasonContain)
			} else {
				require.Equal(t, tt.reason, ch.Reason)
			}
			if tt.fix != "" {
				require.Equal(t, tt.fix, ch.Fix)
			}
			for _, s := range []string{l.r.IntegrationPassword, l.r.ERPClientSecret, "Not-The-"} {
				require.NotContains(t, list.String(), s)
			}
			c, err := l.svc.Load(ctx, "")
			require.NoError(t, err)
			require.False(t, c.Enabled, "a failed test must not enable")
		})
	}
}

// TestExpiredToken: the CRM's clock runs two hours ahead of the token
// endpoint's (clock skew), so every token arrives expired.
func TestExpiredToken(t *testing.T) {
	t.Parallel()
	var ticks atomic.Int64
	base := time.Now()
	// Each reading is two hours later than the previous one: a token
	// issued at one reading is expired at the next, when it is verified.
	clock := func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * 2 * time.Hour) }
	log := slog.New(slog.DiscardHandler)
	iss := identity.New(identity.Options{Logger: log, Clock: clock})
	sim, err := dvsim.New(dvsim.Options{Identity: iss, Seed: "demo", Logger: log})
	require.NoError(t, err)
	idp := httptest.NewServer(iss.Handler())
	t.Cleanup(idp.Close)
	crm := httptest.NewServer(sim.Handler())
	t.Cleanup(crm.Close)
	cr := sim.Credentials()

	c, sec, _ := netSetup(t)
	c.CRM.URL = crm.URL
	c.CRM.UserName = cr.IntegrationUser
	c.CRM.TokenURL = idp.URL + "/" + iss.Tenant() + "/oauth2/v2.0/token"
	tpl, err := setup.ConnectionTemplate("crm.connection-string", c.CRM, "")
	require.NoError(t, err)
	c.CRM.ConnectionString = tpl
	require.NoError(t, sec.Put(context.Background(), c.Name, setup.SecretCRMPassword, cr.IntegrationPassword))
	list := runTest(t, c, sec, nil)
	ch, _ := list.Find("crm.auth")
	require.Equal(t, setup.Failed, ch.Status, list.String())
	require.Contains(t, ch.Reason, "the CRM refused the access token because it had expired: identity: token expired: it expired at ")
	require.Equal(t, "check this machine's clock against the token endpoint's, then test again; if it persists check crm.user and crm.password", ch.Fix)
}

// TestBasicAuthERP: the on-premises layout with user + web service access key.
func TestBasicAuthERP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := startLive(t)
	a := sandboxAnswers(l.r)
	a["erp.url"], a["erp.auth-type"], a["erp.user"], a["erp.web-service-key"] = l.r.ERPOnPremURL, "basic", l.r.ERPUser, l.r.ERPWebServiceKey
	delete(a, "erp.client-id")
	delete(a, "erp.client-secret")
	delete(a, "erp.token-url")
	d, err := setup.Build(a, setup.NewDraft("", "", nil))
	require.NoError(t, err)
	require.Empty(t, d.Ignored)
	require.NoError(t, l.svc.Save(ctx, d))
	l.importSolution(t)
	l.assignRoles(t)
	list, err := l.svc.Enable(ctx, "")
	require.NoError(t, err, list.String())

	require.NoError(t, l.sec.Put(ctx, setup.DefaultName, setup.SecretERPAccessKey, "wrong-key"))
	list, err = l.svc.Enable(ctx, "")
	require.ErrorIs(t, err, setup.ErrTestFailed)
	ch, _ := list.Find("erp.auth")
	require.Equal(t, setup.Failed, ch.Status, list.String())
	require.Equal(t, "check erp.user and erp.web-service-key", ch.Fix)
	require.NotContains(t, list.String(), "wrong-key")
}
