package bc_test

import (
	"encoding/json"
	"testing"

	"github.com/coupler/coupler/internal/bc"
	"github.com/stretchr/testify/require"
)

func TestCreateUpdateDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	c := b.client

	created, err := bc.CreateAs(ctx, c, bc.SetCustomers, bc.Customer{DisplayName: "Fabrikam Test Ltd", Email: "test@fabrikam.example", CreditLimit: 1000})
	require.NoError(t, err)
	require.True(t, bc.ValidGUID(created.ID))
	require.NotEmpty(t, created.Number, "BC assigns the number from the series")
	require.NotEmpty(t, created.ETag)
	require.Equal(t, 1000.0, created.CreditLimit)

	// A record without the required name is refused with BC's message.
	_, err = c.Create(ctx, bc.SetCustomers, map[string]any{"email": "x@example.com"})
	require.ErrorIs(t, err, bc.ErrBadRequest)
	require.ErrorContains(t, err, "displayName")

	updated, err := c.Update(ctx, bc.SetCustomers, created.ID, created.ETag, map[string]any{"city": "Reading"})
	require.NoError(t, err)
	require.NotEqual(t, created.ETag, bc.ETag(updated), "the ETag changes with the record")

	// The first version's ETag is now stale.
	_, err = c.Update(ctx, bc.SetCustomers, created.ID, created.ETag, map[string]any{"city": "Leeds"})
	require.ErrorIs(t, err, bc.ErrEntityChanged)
	var apiErr *bc.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "Request_EntityChanged", apiErr.Code)

	// No ETag is refused by the client before BC would refuse it.
	_, err = c.Update(ctx, bc.SetCustomers, created.ID, "", map[string]any{"city": "Leeds"})
	require.ErrorContains(t, err, "no ETag")
	// "*" overwrites unconditionally.
	_, err = c.Update(ctx, bc.SetCustomers, created.ID, "*", map[string]any{"city": "York"})
	require.NoError(t, err)

	got, err := bc.GetAs[bc.Customer](ctx, c, bc.SetCustomers, created.ID, bc.Query{})
	require.NoError(t, err)
	require.Equal(t, "York", got.City)

	require.ErrorIs(t, c.Delete(ctx, bc.SetCustomers, created.ID, bc.ETag(updated)), bc.ErrEntityChanged, "delete guarded by a stale ETag")
	require.NoError(t, c.Delete(ctx, bc.SetCustomers, created.ID, got.ETag))
	_, err = c.Get(ctx, bc.SetCustomers, created.ID, bc.Query{})
	require.ErrorIs(t, err, bc.ErrNotFound)
}

func TestUpdateFuncRefetchesOnConflict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	c := b.client
	id := mustCustomerID(t, b, "40000")

	calls := 0
	out, err := c.UpdateFunc(ctx, bc.SetCustomers, id, func(cur json.RawMessage) (any, error) {
		calls++
		if calls == 1 {
			// Someone else edits the record between our read and our write.
			_, err := c.Update(ctx, bc.SetCustomers, id, "*", map[string]any{"phoneNumber": "555-0001"})
			require.NoError(t, err)
		} else {
			var v bc.Customer
			require.NoError(t, json.Unmarshal(cur, &v))
			require.Equal(t, "555-0001", v.PhoneNumber, "the retry sees the other user's change")
		}
		return map[string]any{"website": "https://alpineskihouse.example"}, nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, calls)
	var v bc.Customer
	require.NoError(t, json.Unmarshal(out, &v))
	require.Equal(t, "555-0001", v.PhoneNumber)
	require.Equal(t, "https://alpineskihouse.example", v.Website)

	// Nothing to change: no write.
	before := c.Stats().Requests
	_, err = c.UpdateFunc(ctx, bc.SetCustomers, id, func(json.RawMessage) (any, error) { return nil, nil })
	require.NoError(t, err)
	require.Equal(t, before+1, c.Stats().Requests)

	// A record that keeps changing gives up after UpdateAttempts with ErrEntityChanged.
	calls = 0
	_, err = c.UpdateFunc(ctx, bc.SetCustomers, id, func(json.RawMessage) (any, error) {
		calls++
		_, err := c.Update(ctx, bc.SetCustomers, id, "*", map[string]any{"phoneNumber": "555-01" + string(rune('0'+calls))})
		require.NoError(t, err)
		return map[string]any{"website": "https://x.example"}, nil
	})
	require.ErrorIs(t, err, bc.ErrEntityChanged)
	require.Equal(t, 3, calls)
}

func TestSalesOrderDeepInsertAndShip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	c := b.client

	var desk bc.Item
	require.NoError(t, bc.ListAs(ctx, c, bc.SetItems, bc.Query{Filter: "number eq '1896-S'"}, func(p []bc.Item) error { desk = p[0]; return nil }))
	require.Equal(t, "ATHENS Desk", desk.DisplayName)
	stock := desk.Inventory
	require.Positive(t, stock)

	order, err := bc.CreateAs(ctx, c, bc.SetSalesOrders, bc.SalesDocument{
		CustomerNumber: "10000",
		SalesOrderLines: []bc.SalesDocumentLine{
			{LineType: "Item", LineObjectNumber: "1896-S", Quantity: 2},
		},
	})
	require.NoError(t, err)
	require.True(t, bc.ValidGUID(order.ID))
	require.Equal(t, "Adatum Corporation", order.CustomerName)

	lines := 0
	require.NoError(t, bc.ListAs(ctx, c, bc.SetSalesOrders+"("+order.ID+")/"+bc.SetSalesOrderLines, bc.Query{}, func(p []bc.SalesDocumentLine) error {
		lines += len(p)
		for _, l := range p {
			require.Equal(t, 2.0, l.Quantity)
			require.Equal(t, desk.UnitPrice, l.UnitPrice)
		}
		return nil
	}))
	require.Equal(t, 1, lines)

	require.NoError(t, c.Action(ctx, bc.SetSalesOrders, order.ID, "shipAndInvoice"))
	after, err := bc.GetAs[bc.Item](ctx, c, bc.SetItems, desk.ID, bc.Query{})
	require.NoError(t, err)
	require.Equal(t, stock-2, after.Inventory, "shipping lowers the inventory")
	_, err = c.Get(ctx, bc.SetSalesOrders, order.ID, bc.Query{})
	require.ErrorIs(t, err, bc.ErrNotFound, "a fully shipped and invoiced order is gone")

	require.ErrorContains(t, c.Action(ctx, bc.SetSalesOrders, order.ID, "Microsoft.NAV.shipAndInvoice"), "without the Microsoft.NAV. prefix")
}
