package links_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/links"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
)

type fixture struct {
	r     sandbox.Ready
	crm   *dataverse.Client
	erp   *bc.Client
	st    store.Store
	setup setup.ConnectionSetup
}

func setupFixture(t *testing.T) fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.DiscardHandler)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { sb.Close() })
	r := sb.Ready()
	dial := func(user, pw string) *dataverse.Client {
		cs := dataverse.ConnectionString{AuthType: dataverse.AuthOAuth, URL: r.CRMURL, UserName: user, Password: pw,
			ClientID: dataverse.DefaultPublicClientID, RedirectURI: "app://x", LoginPrompt: dataverse.LoginPromptNever}
		c, err := dataverse.New(ctx, dataverse.Config{Conn: &cs, TokenURL: r.TokenURL})
		require.NoError(t, err)
		return c
	}
	_, err = setup.EnsureSolutionComponents(ctx, dial(r.CRMAdminUser, r.CRMAdminPassword))
	require.NoError(t, err)
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL}})
	require.NoError(t, err)
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	c := setup.ConnectionSetup{Name: setup.DefaultName}
	c.ERP.APIURL, c.ERP.WebClientURL = r.ERPURL, r.ERPWebClientURL
	return fixture{r: r, crm: dial(r.IntegrationUser, r.IntegrationPassword), erp: erp, st: st, setup: c}
}

type customer struct{ ID, Number, DisplayName string }

func (f fixture) customers(t *testing.T, n int) []customer {
	t.Helper()
	var out []customer
	require.NoError(t, f.erp.List(context.Background(), "customers", bc.Query{Top: n, Select: []string{"id", "number", "displayName"}}, func(page []json.RawMessage) error {
		for _, raw := range page {
			var c customer
			require.NoError(t, json.Unmarshal(raw, &c))
			out = append(out, c)
		}
		return nil
	}))
	require.Len(t, out, n)
	return out
}

func (f fixture) accounts(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for rec, err := range f.crm.All(context.Background(), "accounts", dataverse.Query{Select: []string{"accountid"}, Top: n}) {
		require.NoError(t, err)
		ids = append(ids, rec.String("accountid"))
	}
	require.Len(t, ids, n)
	return ids
}

func (f fixture) link(t *testing.T, accountID string) string {
	t.Helper()
	rec, err := f.crm.Retrieve(context.Background(), "accounts", dataverse.ID(accountID), setup.ColERPLink)
	require.NoError(t, err)
	return rec.String(setup.ColERPLink)
}

func accountsResult(t *testing.T, rs []links.Result) links.Result {
	t.Helper()
	for _, r := range rs {
		if r.Table == "accounts" {
			return r
		}
	}
	t.Fatal("no result for accounts")
	return links.Result{}
}

func TestRefreshWritesLinksAndBrowserOpensTheCustomer(t *testing.T) {
	t.Parallel()
	f := setupFixture(t)
	ctx := context.Background()
	custs := f.customers(t, 3)
	accts := f.accounts(t, 4)
	for i := range 3 {
		_, err := f.st.PutCoupling(ctx, syncer.Coupling{Mapping: mapping.Customer, ERPID: custs[i].ID, CRMID: accts[i], LastResult: syncer.ResultSuccess})
		require.NoError(t, err)
	}
	// An uncoupled account with a stale link loses it.
	require.NoError(t, f.crm.Update(ctx, "accounts", dataverse.ID(accts[3]), map[string]any{setup.ColERPLink: "https://example.com/stale"}, ""))

	// Start from a wrong web client URL, as after a move of the ERP.
	f.setup.ERP.WebClientURL = "https://erp.example.com/old/"
	rs, err := links.Refresh(ctx, links.Options{Setup: f.setup, CRM: f.crm, ERP: f.erp, Couplings: f.st})
	require.NoError(t, err)
	got := accountsResult(t, rs)
	require.Equal(t, links.Result{Table: "accounts", Coupled: 3, Updated: 3, Cleared: 1}, got)
	require.True(t, strings.HasPrefix(f.link(t, accts[0]), "https://erp.example.com/old/?company="), f.link(t, accts[0]))
	require.Empty(t, f.link(t, accts[3]))

	// Reset of the web client URL: every link is rewritten, then a second run changes nothing.
	f.setup.ERP.WebClientURL = setup.DefaultWebClientURL(f.setup.ERP.APIURL)
	require.Equal(t, f.r.ERPWebClientURL, f.setup.ERP.WebClientURL)
	rs, err = links.Refresh(ctx, links.Options{Setup: f.setup, CRM: f.crm, ERP: f.erp, Couplings: f.st})
	require.NoError(t, err)
	require.Equal(t, links.Result{Table: "accounts", Coupled: 3, Updated: 3}, accountsResult(t, rs))
	rs, err = links.Refresh(ctx, links.Options{Setup: f.setup, CRM: f.crm, ERP: f.erp, Couplings: f.st})
	require.NoError(t, err)
	require.Equal(t, links.Result{Table: "accounts", Coupled: 3, Unchanged: 3}, accountsResult(t, rs))

	u := f.link(t, accts[1])
	require.True(t, strings.HasPrefix(u, f.r.ERPWebClientURL+"?company="), u)
	q, err := url.Parse(u)
	require.NoError(t, err)
	require.Equal(t, "21", q.Query().Get("page"))
	require.Equal(t, "'No.' IS '"+custs[1].Number+"'", q.Query().Get("filter"))

	// coupler's own UI links both ways from the coupling.
	cs, err := f.st.ListCouplings(ctx, store.CouplingFilter{Mapping: mapping.Customer})
	require.NoError(t, err)
	var cp syncer.Coupling
	for _, c := range cs {
		if c.CRMID == accts[1] {
			cp = c
		}
	}
	var cm mapping.TableMapping
	for _, m := range mapping.Defaults() {
		if m.Name == mapping.Customer {
			cm = m
		}
	}
	f.setup.CRM.URL = f.r.CRMURL
	pair, err := links.ForCoupling(ctx, f.erp, f.setup, cm, cp, "CRONUS International Ltd.")
	require.NoError(t, err)
	require.Equal(t, u, pair.ERP)
	require.Equal(t, f.r.CRMURL+"/main.aspx?etn=account&id="+accts[1]+"&pagetype=entityrecord", pair.CRM)

	// Follow the link in a real browser: the web client's customer card shows that customer.
	bctx := browser(t)
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("#record-number"))))
	title, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main h1")))
	require.NoError(t, err)
	require.Contains(t, title, "Customer Card")
	number, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#record-number")))
	require.NoError(t, err)
	require.Equal(t, custs[1].Number, number)
	name, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#record-name")))
	require.NoError(t, err)
	require.Equal(t, custs[1].DisplayName, name)
}

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, company string
		page          int
		number, want  string
		err           string
	}{
		{"https://businesscentral.dynamics.com/tenant/Production/", "CRONUS UK Ltd.", 21, "10000",
			"https://businesscentral.dynamics.com/tenant/Production/?company=CRONUS%20UK%20Ltd.&page=21&filter=%27No.%27%20IS%20%2710000%27", ""},
		{"http://127.0.0.1:8080/bc", "A&B", 30, "O'1", "http://127.0.0.1:8080/bc/?company=A%26B&page=30&filter=%27No.%27%20IS%20%27O%27%271%27", ""},
		{"not a url", "X", 21, "1", "", "erp.web-client-url"},
		{"https://x.example/", "", 21, "1", "", "company name is unknown"},
	}
	for _, tt := range tests {
		got, err := links.URL(tt.base, tt.company, tt.page, tt.number)
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
}

// browser starts headless Chromium, or skips (fails under CI) without it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; ./scripts/test installs Debian's chromium package when run as root")
		}
		t.Skip("chromium not installed: run ./scripts/test as root to run the browser test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	ctx, cancel3 := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(cancel3)
	return ctx
}
