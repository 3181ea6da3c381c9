package statistics_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/statistics"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
)

type fixture struct {
	crm    *dataverse.Client
	erp    *bc.Client
	erpURL string
	st     store.Store
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
	return fixture{crm: dial(r.IntegrationUser, r.IntegrationPassword), erp: erp, erpURL: r.ERPURL, st: st}
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(raw, &v))
	return v
}

func TestStatisticsFollowTheERP(t *testing.T) {
	t.Parallel()
	f := setupFixture(t)
	ctx := context.Background()
	must := func(raw json.RawMessage, err error) json.RawMessage {
		t.Helper()
		require.NoError(t, err)
		return raw
	}

	// A new customer with one order of 4 units of a priced item, coupled to a new account.
	var itemNo string
	require.NoError(t, f.erp.List(ctx, "items", bc.Query{Filter: "unitPrice gt 10 and type eq 'Inventory'", Top: 1}, func(p []json.RawMessage) error {
		itemNo = decode[struct{ Number string }](t, p[0]).Number
		return nil
	}))
	cust := decode[struct{ ID, Number string }](t, must(f.erp.Create(ctx, "customers", map[string]any{"displayName": "Statistics Test Ltd"})))
	order := decode[struct {
		ID, Number              string
		TotalAmountIncludingTax float64
		TotalAmountExcludingTax float64
		Lines                   []struct{ ID string } `json:"salesOrderLines"`
	}](t, must(f.erp.Create(ctx, "salesOrders", map[string]any{"customerId": cust.ID,
		"salesOrderLines": []any{map[string]any{"lineType": "Item", "lineObjectNumber": itemNo, "quantity": 4}}})))
	require.Len(t, order.Lines, 1)
	accountID, err := f.crm.Create(ctx, "accounts", map[string]any{"name": "Statistics Test Ltd"})
	require.NoError(t, err)
	_, err = f.st.PutCoupling(ctx, syncer.Coupling{Mapping: mapping.Customer, ERPID: cust.ID, CRMID: accountID, LastResult: syncer.ResultSuccess})
	require.NoError(t, err)
	// Read the totals the ERP computed (deep insert may answer before lines are totalled).
	order = decode[struct {
		ID, Number              string
		TotalAmountIncludingTax float64
		TotalAmountExcludingTax float64
		Lines                   []struct{ ID string } `json:"salesOrderLines"`
	}](t, must(f.erp.Get(ctx, "salesOrders", order.ID, bc.Query{Expand: []string{"salesOrderLines"}})))
	require.Greater(t, order.TotalAmountIncludingTax, 0.0)

	set, err := setup.EntitySetName(ctx, f.crm, setup.StatisticsTable)
	require.NoError(t, err)
	row := func() dataverse.Record {
		t.Helper()
		rec, err := f.crm.Retrieve(ctx, set, dataverse.AlternateKey(map[string]any{setup.ColStatsAccountID: accountID}))
		require.NoError(t, err)
		return rec
	}
	refresh := func() statistics.Result {
		t.Helper()
		res, err := statistics.Refresh(ctx, statistics.Options{CRM: f.crm, ERP: f.erp, Couplings: f.st})
		require.NoError(t, err)
		require.Zero(t, res.Failed, res.Errors)
		return res
	}

	require.Equal(t, 1, refresh().Written)
	r := row()
	require.Equal(t, cust.Number, r.String(setup.ColStatsName))
	require.InDelta(t, order.TotalAmountIncludingTax, num(t, r, "cpl_outstandingorders"), 0.01)
	require.InDelta(t, 0, num(t, r, "cpl_shippednotinvoiced"), 0.001)
	require.InDelta(t, 0, num(t, r, "cpl_balance"), 0.001)
	require.Equal(t, statistics.Result{Accounts: 1, Unchanged: 1}, refresh(), "nothing changed in the ERP: nothing written")

	// Ship without invoicing (the warehouse, by hand): the amount moves from outstanding orders to shipped not invoiced.
	u, err := url.Parse(f.erpURL)
	require.NoError(t, err)
	resp, err := http.Post(u.Scheme+"://"+u.Host+"/_sandbox/salesOrders/"+url.PathEscape(order.Number)+"/ship", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 1, refresh().Written)
	r = row()
	require.InDelta(t, 0, num(t, r, "cpl_outstandingorders"), 0.001)
	require.InDelta(t, order.TotalAmountIncludingTax, num(t, r, "cpl_shippednotinvoiced"), 0.01)

	// Invoice: the posted invoice makes the sales and the balance.
	require.NoError(t, f.erp.Action(ctx, "salesOrders", order.ID, "shipAndInvoice"))
	require.Equal(t, 1, refresh().Written)
	c := decode[struct{ BalanceDue float64 }](t, must(f.erp.Get(ctx, "customers", cust.ID, bc.Query{})))
	r = row()
	require.InDelta(t, 0, num(t, r, "cpl_shippednotinvoiced"), 0.001)
	require.InDelta(t, order.TotalAmountExcludingTax, num(t, r, "cpl_sales"), 0.01)
	require.InDelta(t, order.TotalAmountIncludingTax, c.BalanceDue, 0.01)
	require.InDelta(t, c.BalanceDue, num(t, r, "cpl_balance"), 0.01)
}

// num reads a decimal column of a CRM row.
func num(t *testing.T, r dataverse.Record, col string) float64 {
	t.Helper()
	switch v := r[col].(type) {
	case float64:
		return v
	case json.Number:
		f, err := v.Float64()
		require.NoError(t, err)
		return f
	}
	t.Fatalf("column %s is %T %v, not a number", col, r[col], r[col])
	return 0
}
