package bc

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func inventory(t *testing.T, e *env, item string) float64 {
	t.Helper()
	v := e.do("GET", "items?$filter=number eq '"+item+"'&$select=inventory", "").values(t)
	require.Len(t, v, 1)
	return v[0]["inventory"].(float64)
}

func TestShipAndInvoice(t *testing.T) {
	t.Parallel()
	e := setup(t)
	oid := seedID("salesOrders", "101001")
	r := e.do("POST", "salesOrders("+oid+")/Microsoft.NAV.shipAndInvoice", "")
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	require.Empty(t, r.body)
	// fully shipped and invoiced: the order is gone
	require.Equal(t, http.StatusNotFound, e.do("GET", "salesOrders("+oid+")", "").status)
	require.InDelta(t, 488, inventory(t, e, "1996-S"), 1e-9)
	inv := e.do("GET", "salesInvoices?$filter=orderNumber eq '101001'&$expand=salesInvoiceLines", "").values(t)
	require.Len(t, inv, 1)
	require.Equal(t, "103215", inv[0]["number"])
	require.Equal(t, "Open", inv[0]["status"])
	require.Equal(t, oid, inv[0]["orderId"])
	require.InDelta(t, 10880.4*1.25, inv[0]["totalAmountIncludingTax"], 1e-6)
	require.InDelta(t, 10880.4*1.25, inv[0]["remainingAmount"], 1e-6)
	require.Len(t, inv[0]["salesInvoiceLines"], 1)
	le := e.do("GET", "itemLedgerEntries?$filter=itemNumber eq '1996-S' and entryType eq 'Sale'", "").values(t)
	require.Len(t, le, 1)
	require.InDelta(t, -12, le[0]["quantity"], 1e-9)
	require.Equal(t, "10000", le[0]["sourceNumber"])
	require.Equal(t, "Customer", le[0]["sourceType"])

	// an order without lines cannot be posted
	o := e.do("POST", "salesOrders", `{"customerNumber":"10000"}`).json(t)
	r = e.do("POST", "salesOrders("+o["id"].(string)+")/Microsoft.NAV.shipAndInvoice", "")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "Application_DialogException", r.errCode(t))
	// GET on an action is refused
	require.Equal(t, http.StatusMethodNotAllowed, e.do("GET", "salesOrders("+oid+")/Microsoft.NAV.shipAndInvoice", "").status)
}

func TestPartialShipmentThroughControlThenInvoice(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", e.hs.URL+"/_sandbox/salesOrders/101002/ship", `{"lines":[{"sequence":10000,"quantity":4}]}`)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, "Open", r.json(t)["status"])
	require.InDelta(t, 496, inventory(t, e, "1968-S"), 1e-9)
	require.InDelta(t, 500, inventory(t, e, "1928-S"), 1e-9)
	oid := seedID("salesOrders", "101002")
	ls := e.do("GET", "salesOrders("+oid+")/salesOrderLines", "").values(t)
	require.InDelta(t, 4, ls[0]["shippedQuantity"], 1e-9)
	require.InDelta(t, 6, ls[0]["shipQuantity"], 1e-9)
	// shipping more than remains is refused, and nothing changes
	r = e.do("POST", e.hs.URL+"/_sandbox/salesOrders/101002/ship", `{"lines":[{"sequence":10000,"quantity":7}]}`)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.InDelta(t, 496, inventory(t, e, "1968-S"), 1e-9)

	// shipAndInvoice ships the rest and invoices everything
	require.Equal(t, http.StatusNoContent, e.do("POST", "salesOrders("+oid+")/Microsoft.NAV.shipAndInvoice", "").status)
	require.InDelta(t, 490, inventory(t, e, "1968-S"), 1e-9)
	require.InDelta(t, 493, inventory(t, e, "1928-S"), 1e-9)
	inv := e.do("GET", "salesInvoices?$filter=orderNumber eq '101002'", "").values(t)
	require.Len(t, inv, 1)
	require.InDelta(t, 1482.2, inv[0]["totalAmountExcludingTax"], 1e-9)
}

func TestQuoteActions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	q1, q2 := seedID("salesQuotes", "1001"), seedID("salesQuotes", "1002")

	r := e.do("POST", "salesQuotes("+q1+")/Microsoft.NAV.send", "")
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	q := e.do("GET", "salesQuotes("+q1+")", "").json(t)
	require.Equal(t, "Sent", q["status"])
	require.NotEqual(t, blankDateTime, q["sentDate"])

	r = e.do("POST", "salesQuotes("+q1+")/Microsoft.NAV.makeOrder", "")
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	require.Equal(t, http.StatusNotFound, e.do("GET", "salesQuotes("+q1+")", "").status)
	o := e.do("GET", "salesOrders?$filter=customerNumber eq '20000'&$expand=salesOrderLines", "").values(t)
	require.Len(t, o, 1)
	require.Equal(t, "101005", o[0]["number"])
	require.InDelta(t, 1251, o[0]["totalAmountExcludingTax"], 1e-9)
	require.Len(t, o[0]["salesOrderLines"], 1)
	require.Empty(t, e.do("GET", "salesQuoteLines?$filter=documentId eq "+q1, "").values(t))

	require.Equal(t, http.StatusNoContent, e.do("POST", "salesQuotes("+q2+")/Microsoft.NAV.makeInvoice", "").status)
	inv := e.do("GET", "salesInvoices?$filter=customerNumber eq '40000' and status eq 'Draft'", "").values(t)
	require.Len(t, inv, 2) // the demo's 102204 and the new one
	require.Equal(t, "102222", inv[1]["number"])
	require.InDelta(t, 616.5, inv[1]["totalAmountIncludingTax"], 1e-9)
}

func TestPostInvoice(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := seedID("salesInvoices", "102201")
	r := e.do("POST", "salesInvoices("+id+")/Microsoft.NAV.post", "")
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	inv := e.do("GET", "salesInvoices("+id+")", "").json(t)
	require.Equal(t, "103215", inv["number"])
	require.Equal(t, "Open", inv["status"])
	require.InDelta(t, 649.4*1.25, inv["remainingAmount"], 1e-9)
	require.InDelta(t, 499, inventory(t, e, "1896-S"), 1e-9)
	r = e.do("POST", "salesInvoices("+id+")/Microsoft.NAV.post", "")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.errMsg(t), "The action can be applied to a draft invoice only.")
	r = e.do("PATCH", "salesInvoices("+id+")", `{"externalDocumentNumber":"X"}`, "If-Match", "*")
	require.Equal(t, http.StatusBadRequest, r.status)
	r = e.do("DELETE", "salesInvoices("+id+")", "", "If-Match", "*")
	require.Equal(t, http.StatusBadRequest, r.status)
	cust := "customers(" + seedID("customers", "20000") + ")"
	require.InDelta(t, 649.4*1.25, e.do("GET", cust, "").json(t)["balanceDue"], 1e-9)
	// pay it by hand
	r = e.do("POST", e.hs.URL+"/_sandbox/salesInvoices/103215/pay", "")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, "Paid", e.do("GET", "salesInvoices("+id+")", "").json(t)["status"])
	require.InDelta(t, 0, e.do("GET", cust, "").json(t)["balanceDue"], 1e-9)
}
