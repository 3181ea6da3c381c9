package orders_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
)

func crmQuote(t *testing.T, e *env, number string) dataverse.Record {
	t.Helper()
	for r, err := range e.crm.All(context.Background(), "quotes", dataverse.Query{Filter: "quotenumber eq '" + number + "' and statecode eq 1"}) {
		require.NoError(t, err)
		return r
	}
	t.Fatalf("no active CRM quote %s", number)
	return nil
}

func erpQuote(t *testing.T, e *env, number string) (bc.SalesDocument, bool) {
	var out []bc.SalesDocument
	require.NoError(t, bc.ListAs(context.Background(), e.erp, bc.SetSalesQuotes, bc.Query{Filter: "number eq '" + number + "'", Expand: []string{"salesQuoteLines"}},
		func(ds []bc.SalesDocument) error { out = append(out, ds...); return nil }))
	if len(out) == 0 {
		return bc.SalesDocument{}, false
	}
	return out[0], true
}

func itemLines(ls []bc.SalesDocumentLine) []bc.SalesDocumentLine {
	var out []bc.SalesDocumentLine
	for _, l := range ls {
		if l.LineType == "Item" {
			out = append(out, l)
		}
	}
	return out
}

func TestQuoteRevisionWin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	const qn = "QUO-01001-DEMO01"

	// Active quote → ERP quote.
	out, err := e.svc.ProcessQuotes(ctx)
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.Equal(t, "created", out[0].Result, out[0].Error)
	erpNo := out[0].ERPNumber
	q, ok := erpQuote(t, e, erpNo)
	require.True(t, ok)
	ls := itemLines(q.SalesQuoteLines)
	require.Len(t, ls, 1)
	require.Equal(t, 10.0, ls[0].Quantity)

	out, err = e.svc.ProcessQuotes(ctx)
	require.NoError(t, err)
	require.Empty(t, out, "an unchanged quote is not sent again")

	// Revision: the old row is closed as Revised, a new row keeps the number.
	old := crmQuote(t, e, qn)
	oldID := old.String("quoteid")
	require.NoError(t, e.crm.Update(ctx, "quotes", dataverse.ID(oldID), map[string]any{"statecode": 3, "statuscode": 7}, ""))
	cust := old.String("_customerid_value")
	newID, err := e.crm.Create(ctx, "quotes", map[string]any{"name": old.String("name"), "quotenumber": qn,
		"customerid_account@odata.bind":    "/accounts(" + cust + ")",
		"transactioncurrencyid@odata.bind": "/transactioncurrencies(" + old.String("_transactioncurrencyid_value") + ")"})
	require.NoError(t, err)
	lines, err := lineProducts(e, oldID)
	require.NoError(t, err)
	_, err = e.crm.Create(ctx, "quotedetails", map[string]any{"quoteid@odata.bind": "/quotes(" + newID + ")",
		"productid@odata.bind": "/products(" + lines[0] + ")", "quantity": 20, "priceperunit": 125.10, "sequencenumber": 1})
	require.NoError(t, err)
	require.NoError(t, e.crm.Update(ctx, "quotes", dataverse.ID(newID), map[string]any{"statecode": 1, "statuscode": 2}, ""))

	out, err = e.svc.ProcessQuotes(ctx)
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.Equal(t, "revised", out[0].Result, out[0].Error)
	q, ok = erpQuote(t, e, erpNo)
	require.True(t, ok, "the same ERP quote is updated")
	ls = itemLines(q.SalesQuoteLines)
	require.Len(t, ls, 1)
	require.Equal(t, 20.0, ls[0].Quantity)

	// Win with a submitted order: the ERP order is made, the ERP quote goes.
	require.NoError(t, e.crm.Update(ctx, "quotes", dataverse.ID(newID), map[string]any{"statecode": 2, "statuscode": 4}, ""))
	oid, err := e.crm.Create(ctx, "salesorders", map[string]any{"name": "Guest chairs order", "ordernumber": "ORD-Q-1",
		"customerid_account@odata.bind": "/accounts(" + cust + ")", "quoteid@odata.bind": "/quotes(" + newID + ")"})
	require.NoError(t, err)
	_, err = e.crm.Create(ctx, "salesorderdetails", map[string]any{"salesorderid@odata.bind": "/salesorders(" + oid + ")",
		"productid@odata.bind": "/products(" + lines[0] + ")", "quantity": 20, "priceperunit": 125.10, "sequencenumber": 1})
	require.NoError(t, err)
	require.NoError(t, e.crm.Update(ctx, "salesorders", dataverse.ID(oid), map[string]any{"statecode": 1, "statuscode": 3}, ""))

	out, err = e.svc.ProcessQuotes(ctx)
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.Equal(t, "created", out[0].Result, out[0].Error)
	require.Equal(t, "ORD-Q-1", out[0].CRMNumber)
	_, ok = erpQuote(t, e, erpNo)
	require.False(t, ok, "the won quote's ERP quote is removed")
	require.Len(t, e.erpOrders(t, "Guest chairs order"), 1)

	out, err = e.svc.ProcessQuotes(ctx)
	require.NoError(t, err)
	require.Empty(t, out)
}

func lineProducts(e *env, quoteID string) ([]string, error) {
	var out []string
	for r, err := range e.crm.All(context.Background(), "quotedetails", dataverse.Query{Select: []string{"_productid_value"}, Filter: "_quoteid_value eq " + quoteID}) {
		if err != nil {
			return nil, err
		}
		out = append(out, r.String("_productid_value"))
	}
	return out, nil
}
