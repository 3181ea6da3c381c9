package orders_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/orders"
)

// submit creates one submitted CRM order for account 10000 with one line of
// product 1928-S (3 × 35.60) and the given header values.
func submit(t *testing.T, e *env, number string, head map[string]any) {
	t.Helper()
	ctx := context.Background()
	seed := crmOrder(t, e, "ORD-01001-DEMO01")
	body := map[string]any{"name": "Order " + number, "ordernumber": number, "customerid_account@odata.bind": "/accounts(" + seed.String("_customerid_value") + ")"}
	for k, v := range head {
		body[k] = v
	}
	id, err := e.crm.Create(ctx, "salesorders", body)
	require.NoError(t, err)
	var product string
	for p, err := range e.crm.All(ctx, "products", dataverse.Query{Select: []string{"productid"}, Filter: "productnumber eq '1928-S'"}) {
		require.NoError(t, err)
		product = p.String("productid")
	}
	_, err = e.crm.Create(ctx, "salesorderdetails", map[string]any{"salesorderid@odata.bind": "/salesorders(" + id + ")",
		"productid@odata.bind": "/products(" + product + ")", "quantity": 3, "priceperunit": 35.60, "manualdiscountamount": 6.80, "sequencenumber": 1})
	require.NoError(t, err)
	require.NoError(t, e.crm.Update(ctx, "salesorders", dataverse.ID(id), map[string]any{"statecode": 1, "statuscode": 3}, ""))
}

func TestOrderRules(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	var eur string
	for c, err := range e.crm.All(ctx, "transactioncurrencies", dataverse.Query{Select: []string{"transactioncurrencyid"}, Filter: "isocurrencycode eq 'EUR'"}) {
		require.NoError(t, err)
		eur = c.String("transactioncurrencyid")
	}
	require.NotEmpty(t, eur)

	submit(t, e, "R-FREIGHT", map[string]any{"freightamount": 25.0})
	out, err := e.svc.CreateOrders(ctx, "R-FREIGHT")
	require.NoError(t, err)
	require.Equal(t, "failed", out[0].Result)
	require.Contains(t, out[0].Error, "no ERP item is configured for freight")
	require.NoError(t, e.st.PutSetting(ctx, orders.SettingFreightItem, "1900-S"))
	out, err = e.svc.CreateOrders(ctx, "R-FREIGHT")
	require.NoError(t, err)
	require.Equal(t, "created", out[0].Result, out[0].Error)
	so := e.erpOrders(t, "Order R-FREIGHT")[0]
	// 3 × 35.60 − 6.80 line discount + 25 freight.
	require.InDelta(t, 3*35.60-6.80+25, so.TotalAmountExcludingTax, 0.01)

	submit(t, e, "R-CURRENCY", map[string]any{"transactioncurrencyid@odata.bind": "/transactioncurrencies(" + eur + ")"})
	require.NoError(t, e.st.PutSetting(ctx, orders.SettingLocalCurrency, "GBP"))
	out, err = e.svc.CreateOrders(ctx, "R-CURRENCY")
	require.NoError(t, err)
	require.Equal(t, "failed", out[0].Result)
	require.Contains(t, out[0].Error, "is in EUR but ERP customer 10000 bills in GBP")

	// A blocked ERP customer fails the order with what to do.
	erpBase := e.sb.Ready().ERPURL
	req, err := http.NewRequest(http.MethodPatch, erpBase[:strings.Index(erpBase, "/v2.0")]+"/_sandbox/customers/10000", strings.NewReader(`{"blocked":"All"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	submit(t, e, "R-BLOCKED", nil)
	fresh := e.service(t, orders.Options{}) // no cached customer
	out, err = fresh.CreateOrders(ctx, "R-BLOCKED")
	require.NoError(t, err)
	require.Equal(t, "failed", out[0].Result)
	require.Contains(t, out[0].Error, "is blocked")

	_, err = e.svc.CreateOrders(ctx, "NO-SUCH-ORDER")
	require.ErrorContains(t, err, `no submitted CRM order has number "NO-SUCH-ORDER"`)
}
