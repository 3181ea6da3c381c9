package bc

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCreateCustomer(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", "customers", `{"displayName":"Fourth Coffee","email":"ops@fourthcoffee.example","city":"Reading","country":"GB","currencyCode":"EUR","@odata.etag":"ignored"}`)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	c := r.json(t)
	require.Equal(t, "C00010", c["number"])
	require.Equal(t, "EUR", c["currencyCode"])
	require.Equal(t, seedID("currencies", "EUR"), c["currencyId"])
	require.NotEqual(t, emptyGUID, c["id"])
	require.Equal(t, r.header.Get("ETag"), c["@odata.etag"])
	require.Equal(t, e.comp+"/customers("+c["id"].(string)+")", r.header.Get("Location"))
	got := e.do("GET", "customers("+c["id"].(string)+")", "")
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, "Fourth Coffee", got.json(t)["displayName"])

	// id settable on POST; duplicate number refused
	r = e.do("POST", "customers", `{"id":"11111111-2222-3333-4444-555555555555","number":"10000","displayName":"Dup"}`)
	require.Equal(t, http.StatusConflict, r.status, string(r.body))
	require.Equal(t, "Internal_EntityWithSameKeyExists", r.errCode(t))
	r = e.do("POST", "customers", `{"id":"11111111-2222-3333-4444-555555555555","number":"60000","displayName":"Own id"}`)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	require.Equal(t, "11111111-2222-3333-4444-555555555555", r.json(t)["id"])
}

func TestWriteValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name, set, body string
		status          int
		code, msg       string
	}{
		{"no name", "customers", `{"city":"x"}`, 400, "Application_DialogException", `A "displayName" must be provided.`},
		{"unknown property", "customers", `{"displayName":"x","colour":"red"}`, 400, "BadRequest", "The property 'colour' does not exist on type 'Microsoft.NAV.customer'"},
		{"too long", "customers", `{"displayName":"` + strings.Repeat("x", 101) + `"}`, 400, "Application_StringExceededLength", "The length of the string is 101, but it must be less than or equal to 100 characters."},
		{"wrong type", "customers", `{"displayName":"x","creditLimit":"lots"}`, 400, "BadRequest", "Edm.Decimal"},
		{"bad enum", "items", `{"displayName":"x","type":"Invalid Type"}`, 400, "Unknown", "'Invalid Type' is not an option. The existing options are: Inventory,Service,Non-Inventory"},
		{"read only", "customers", `{"displayName":"x","balanceDue":5}`, 400, "BadRequest_InvalidOperation", "balanceDue"},
		{"null", "customers", `{"displayName":null}`, 400, "BadRequest", "does not allow null values"},
		{"bad date", "salesOrders", `{"customerNumber":"10000","orderDate":"31/12/2026"}`, 400, "BadRequest", "Unable to convert value"},
		{"no customer", "salesOrders", `{"externalDocumentNumber":"X"}`, 400, "Application_DialogException", `A "customerNumber" or a "customerId" must be provided.`},
		{"unknown customer", "salesOrders", `{"customerNumber":"99999"}`, 400, "Application_DialogException", "The Customer does not exist"},
		{"inventory on insert", "items", `{"displayName":"x","inventory":5}`, 400, "Application_DialogException", "Inventory cannot be changed during on insert."},
		{"currency unknown", "customers", `{"displayName":"x","currencyCode":"XXX"}`, 400, "Application_DialogException", "The Currency does not exist"},
		{"ledger read only", "itemLedgerEntries", `{"quantity":1}`, 405, "BadRequest_MethodNotAllowed", "'POST' requests for 'itemLedgerEntries'"},
		{"unknown salesperson", "customers", `{"displayName":"x","salespersonCode":"BC2"}`, 404, "Internal_RecordNotFound", "The Salesperson/Purchaser does not exist. Identification fields and values: Code='BC2'"},
		{"unknown payment terms", "customers", `{"displayName":"x","paymentTermsId":"` + emptyGUID[:35] + `1"}`, 404, "Internal_RecordNotFound", "The Payment Terms does not exist."},
		{"not json", "customers", `not json`, 400, "BadRequest", "Invalid Request Body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.do("POST", tc.set, tc.body)
			require.Equal(t, tc.status, r.status, string(r.body))
			require.Equal(t, tc.code, r.errCode(t))
			require.Contains(t, r.errMsg(t), tc.msg)
		})
	}
}

func TestPatchRequiresIfMatch(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := setup(t, func(o *Options) { o.Clock = clock })
	id := seedID("customers", "20000")
	get := e.do("GET", "customers("+id+")", "")
	tag := get.header.Get("ETag")

	r := e.do("PATCH", "customers("+id+")", `{"city":"Leeds"}`)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "BadRequest_InvalidToken", r.errCode(t))
	require.Contains(t, string(r.body), "Could not validate the client concurrency token required by the service.")

	r = e.do("PATCH", "customers("+id+")", `{"city":"Leeds"}`, "If-Match", `W/"JzE7MTsn"`)
	require.Equal(t, http.StatusConflict, r.status)
	require.Equal(t, "Request_EntityChanged", r.errCode(t))

	now = now.Add(time.Minute)
	r = e.do("PATCH", "customers("+id+")", `{"city":"Leeds"}`, "If-Match", tag)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	m := r.json(t)
	require.Equal(t, "Leeds", m["city"])
	require.Equal(t, "2026-11-25T10:01:00Z", m["lastModifiedDateTime"])
	require.NotEqual(t, tag, r.header.Get("ETag"))

	// the old ETag is now stale
	r = e.do("PATCH", "customers("+id+")", `{"city":"York"}`, "If-Match", tag)
	require.Equal(t, http.StatusConflict, r.status)

	// * always matches; echoing read-only fields unchanged is accepted
	body := fmt.Sprintf(`{"city":"York","id":%q,"lastModifiedDateTime":"2020-01-01T00:00:00Z","number":"20000"}`, id)
	r = e.do("PATCH", "customers("+id+")", body, "If-Match", "*")
	require.Equal(t, http.StatusOK, r.status, string(r.body))

	// incremental read sees only the changed customer
	r = e.do("GET", "customers?$filter=lastModifiedDateTime gt 2026-11-25T10:00:30Z", "")
	vs := r.values(t)
	require.Len(t, vs, 1)
	require.Equal(t, "20000", vs[0]["number"])

	r = e.do("PATCH", "customers("+id+")", `{"displayName":" "}`, "If-Match", "*")
	require.Equal(t, "Application_DialogException", r.errCode(t))
	require.Contains(t, string(r.body), `The blank \"displayName\" is not allowed.`)

	// rename through PATCH
	r = e.do("PATCH", "customers("+id+")", `{"number":"20001"}`, "If-Match", "*")
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, e.do("GET", "customers?$filter=number eq '20001'", "").values(t), 1)
	require.Empty(t, e.do("GET", "customers?$filter=number eq '20000'", "").values(t))
}

func TestDelete(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.do("POST", "customers", `{"displayName":"Short lived"}`).json(t)
	u := "customers(" + c["id"].(string) + ")"
	r := e.do("DELETE", u, "")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "BadRequest_InvalidToken", r.errCode(t))
	r = e.do("DELETE", u, "", "If-Match", c["@odata.etag"].(string))
	require.Equal(t, http.StatusNoContent, r.status)
	require.Equal(t, http.StatusNotFound, e.do("GET", u, "").status)
	require.Len(t, e.do("GET", "customers", "").values(t), 5)

	// deleting a document deletes its lines
	oid := seedID("salesOrders", "101002")
	require.Equal(t, http.StatusNoContent, e.do("DELETE", "salesOrders("+oid+")", "", "If-Match", "*").status)
	r = e.do("GET", "salesOrderLines?$filter=documentId eq "+oid, "")
	require.Empty(t, r.values(t))
}

func TestDeepInsertAndLines(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", "salesOrders", `{"customerNumber":"20000","externalDocumentNumber":"CRM-1","salesOrderLines":[
		{"lineObjectNumber":"1896-S","quantity":2},
		{"itemId":"`+seedID("items", "1928-S")+`","quantity":4,"unitPrice":30},
		{"lineType":"Comment","description":"Deliver to the back door"}]}`)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	o := r.json(t)
	require.Equal(t, "101005", o["number"])
	require.Equal(t, "Trey Research", o["customerName"])
	require.Equal(t, "Helen Ray", o["shipToContact"])
	require.Equal(t, "Draft", o["status"])
	require.InDelta(t, 2*649.4+4*30, o["totalAmountExcludingTax"], 1e-9)
	require.InDelta(t, (2*649.4+4*30)*1.25, o["totalAmountIncludingTax"], 1e-9)
	lines := o["salesOrderLines"].([]any)
	require.Len(t, lines, 3)
	l0 := lines[0].(map[string]any)
	require.Equal(t, "ATHENS Desk", l0["description"])
	require.Equal(t, "PCS", l0["unitOfMeasureCode"])
	require.InDelta(t, 2, l0["shipQuantity"], 1e-9)
	require.EqualValues(t, 20000, lines[1].(map[string]any)["sequence"])
	oid := o["id"].(string)

	// a failing line undoes the whole deep insert
	r = e.do("POST", "salesOrders", `{"customerNumber":"20000","salesOrderLines":[{"lineObjectNumber":"1896-S","quantity":1},{"lineObjectNumber":"NOPE","quantity":1}]}`)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, string(r.body), "Item does not exist.")
	require.Len(t, e.do("GET", "salesOrders", "").values(t), 5)

	// add, change and remove a line; the header follows
	r = e.do("POST", "salesOrders("+oid+")/salesOrderLines", `{"lineObjectNumber":"1900-S","quantity":1}`)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	lid := r.json(t)["id"].(string)
	r = e.do("PATCH", "salesOrders("+oid+")/salesOrderLines("+lid+")", `{"quantity":3}`, "If-Match", "*")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.InDelta(t, 375.3, r.json(t)["amountExcludingTax"], 1e-9)
	r = e.do("PATCH", "salesOrders("+oid+")/salesOrderLines("+lid+")", `{"sequence":5}`, "If-Match", "*")
	require.Contains(t, string(r.body), "The value for sequence cannot be modified. Delete and insert the line again.")
	r = e.do("PATCH", "salesOrders("+oid+")/salesOrderLines("+lid+")", `{"lineObjectNumber":"1896-S"}`, "If-Match", "*")
	require.Contains(t, string(r.body), `The value for \"lineObjectNumber\" cannot be modified.`)
	h := e.do("GET", "salesOrders("+oid+")", "").json(t)
	require.InDelta(t, 2*649.4+4*30+375.3, h["totalAmountExcludingTax"], 1e-9)
	r = e.do("PATCH", "salesOrders("+oid+")", `{"salesOrderLines":[]}`, "If-Match", "*")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, string(r.body), "Deep update is not supported")
	r = e.do("POST", "salesOrderLines", `{"lineObjectNumber":"1900-S","quantity":1}`)
	require.Contains(t, string(r.body), "Document Id")
	r = e.do("POST", "salesOrderLines", `{"documentId":"`+oid+`","itemId":"`+seedID("items", "1900-S")+`","accountId":"`+seedID("x", "y")+`"}`)
	require.Contains(t, string(r.body), `Both \"itemId\" and \"accountId\" are specified. Specify only one of them.`)
	require.Equal(t, http.StatusNoContent, e.do("DELETE", "salesOrders("+oid+")/salesOrderLines("+lid+")", "", "If-Match", "*").status)
	h = e.do("GET", "salesOrders("+oid+")", "").json(t)
	require.InDelta(t, 2*649.4+4*30, h["totalAmountExcludingTax"], 1e-9)
}

func TestInventoryPatchPostsAdjustment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := seedID("items", "1936-S")
	r := e.do("PATCH", "items("+id+")", `{"inventory":480}`, "If-Match", "*")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.InDelta(t, 480, r.json(t)["inventory"], 1e-9)
	les := e.do("GET", "itemLedgerEntries?$filter=itemNumber eq '1936-S'&$orderby=entryNumber desc", "").values(t)
	require.Len(t, les, 2)
	require.Equal(t, "Negative_x0020_Adjmt_x002E_", les[0]["entryType"])
	require.InDelta(t, -20, les[0]["quantity"], 1e-9)
}

func TestCustomerKeepsItsContact(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.do("POST", "customers", `{"displayName":"Northwind Traders","email":"info@northwind.example","city":"Bath"}`).json(t)
	ks := e.do("GET", "contacts?$filter=companyName eq 'Northwind Traders'", "").values(t)
	require.Len(t, ks, 1)
	require.Equal(t, "CT000023", ks[0]["number"])
	require.Equal(t, "Company", ks[0]["type"])
	require.Equal(t, "Customer", ks[0]["contactBusinessRelation"])
	require.Equal(t, "info@northwind.example", ks[0]["email"])
	r := e.do("PATCH", "customers("+c["id"].(string)+")", `{"email":"sales@northwind.example","creditLimit":100}`, "If-Match", "*")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	k := e.do("GET", "contacts("+ks[0]["id"].(string)+")", "").json(t)
	require.Equal(t, "sales@northwind.example", k["email"])
	// a demo customer's contact follows too
	r = e.do("PATCH", "customers("+seedID("customers", "50000")+")", `{"displayName":"Relecloud Ltd"}`, "If-Match", "*")
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, e.do("GET", "contacts?$filter=displayName eq 'Relecloud Ltd'", "").values(t), 1)
	// a customer with open documents cannot be deleted
	r = e.do("DELETE", "customers("+seedID("customers", "10000")+")", "", "If-Match", "*")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.errMsg(t), "You cannot delete customer 10000 because there is at least one outstanding")
}
