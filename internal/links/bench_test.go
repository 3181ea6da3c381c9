package links_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/links"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

// BenchmarkRefresh measures one links refresh of 5,000 coupled accounts
// against the sandbox: b.N alternates between a rewrite of every link (the
// web client URL changed) and a run that finds them all current.
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "none", Scale: 5000, Logger: log})
	require.NoError(b, err)
	defer sb.Close()
	r := sb.Ready()
	dial := func(user, pw string) *dataverse.Client {
		cs := dataverse.ConnectionString{AuthType: dataverse.AuthOAuth, URL: r.CRMURL, UserName: user, Password: pw,
			ClientID: dataverse.DefaultPublicClientID, RedirectURI: "app://x", LoginPrompt: dataverse.LoginPromptNever}
		c, err := dataverse.New(ctx, dataverse.Config{Conn: &cs, TokenURL: r.TokenURL})
		require.NoError(b, err)
		return c
	}
	_, err = setup.EnsureSolutionComponents(ctx, dial(r.CRMAdminUser, r.CRMAdminPassword))
	require.NoError(b, err)
	crm := dial(r.IntegrationUser, r.IntegrationPassword)
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL}})
	require.NoError(b, err)
	st, err := store.Open(ctx, store.Options{DataDir: b.TempDir(), Logger: log})
	require.NoError(b, err)
	defer st.Close()
	var custs []string
	require.NoError(b, erp.List(ctx, "customers", bc.Query{Select: []string{"id"}}, func(p []json.RawMessage) error {
		for _, raw := range p {
			var c struct{ ID string }
			require.NoError(b, json.Unmarshal(raw, &c))
			custs = append(custs, c.ID)
		}
		return nil
	}))
	var cs []syncer.Coupling
	for rec, err := range crm.All(ctx, "accounts", dataverse.Query{Select: []string{"accountid"}}) {
		require.NoError(b, err)
		if len(cs) < len(custs) {
			cs = append(cs, syncer.Coupling{Mapping: mapping.Customer, ERPID: custs[len(cs)], CRMID: rec.String("accountid"), LastResult: syncer.ResultSuccess})
		}
	}
	require.NoError(b, st.PutCouplings(ctx, cs))
	c := setup.ConnectionSetup{Name: setup.DefaultName}
	urls := []string{r.ERPWebClientURL, "https://erp.example.com/moved/"}
	b.ResetTimer()
	for i := range b.N {
		c.ERP.WebClientURL = urls[(i/2)%2]
		rs, err := links.Refresh(ctx, links.Options{Setup: c, CRM: crm, ERP: erp, Couplings: st})
		require.NoError(b, err)
		if i == 0 {
			b.ReportMetric(float64(rs[0].Coupled), "coupled")
		}
	}
}
