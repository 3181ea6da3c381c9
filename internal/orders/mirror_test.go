package orders_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
)

func TestMirrorERPOrders(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	// The demo's ERP orders of coupled customers appear first.
	first, err := e.svc.MirrorERPOrders(ctx)
	require.NoError(t, err)

	var cust bc.Customer
	require.NoError(t, bc.ListAs(ctx, e.erp, bc.SetCustomers, bc.Query{Filter: "number eq '10000'"}, func(cs []bc.Customer) error { cust = cs[0]; return nil }))
	so, err := bc.CreateAs(ctx, e.erp, bc.SetSalesOrders, bc.SalesDocument{CustomerID: cust.ID, ExternalDocumentNumber: "PHONE-42",
		SalesOrderLines: []bc.SalesDocumentLine{{LineType: "Item", LineObjectNumber: "1928-S", Quantity: 2}, {LineType: "Item", LineObjectNumber: "1996-S", Quantity: 1}}})
	require.NoError(t, err)

	res, err := e.svc.MirrorERPOrders(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Created, "first run %+v, second %+v", first, res)
	var crm dataverse.Record
	for r, err := range e.crm.All(ctx, "salesorders", dataverse.Query{Filter: "ordernumber eq '" + so.Number + "'"}) {
		require.NoError(t, err)
		crm = r
	}
	require.NotNil(t, crm, "the ERP order is a CRM order")
	require.Equal(t, "PHONE-42", crm.String("name"))
	n := 0
	for r, err := range e.crm.All(ctx, "salesorderdetails", dataverse.Query{Filter: "_salesorderid_value eq " + crm.String("salesorderid")}) {
		require.NoError(t, err)
		require.NotEmpty(t, r.String("_productid_value"), "coupled items become products")
		n++
	}
	require.Equal(t, 2, n)

	// Again: nothing new, even when the cursor is forgotten.
	require.NoError(t, e.st.PutSetting(ctx, "sales_orders.erp_cursor", ""))
	res, err = e.svc.MirrorERPOrders(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Created)
	n = 0
	for _, err := range e.crm.All(ctx, "salesorders", dataverse.Query{Filter: "ordernumber eq '" + so.Number + "'"}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 1, n)
}
