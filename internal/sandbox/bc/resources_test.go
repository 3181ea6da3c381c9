package bc

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResourceLines(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hour := seedID("unitsOfMeasure", "HOUR")
	qid := seedID("salesQuotes", "1001")
	tests := []struct {
		name, path, body string
		status           int
		code, msg        string
		want             map[string]any // fields of the first Resource line
	}{
		{"order deep insert fills the line", "salesOrders", `{"customerNumber":"10000","salesOrderLines":[{"lineType":"Resource","lineObjectNumber":"MARTY","quantity":3}]}`,
			201, "", "", map[string]any{"lineObjectNumber": "MARTY", "description": "Marty Horst", "unitPrice": 90.0, "unitOfMeasureCode": "HOUR",
				"unitOfMeasureId": hour, "itemId": emptyGUID, "amountExcludingTax": 270.0}},
		{"given price and description are kept", "salesOrders", `{"customerNumber":"10000","salesOrderLines":[{"lineType":"Resource","lineObjectNumber":"lina","quantity":2,"unitPrice":75,"description":"Design review"}]}`,
			201, "", "", map[string]any{"lineObjectNumber": "LINA", "description": "Design review", "unitPrice": 75.0, "amountExcludingTax": 150.0}},
		{"quote deep insert", "salesQuotes", `{"customerNumber":"20000","salesQuoteLines":[{"lineType":"Resource","lineObjectNumber":"TERRY","quantity":1}]}`,
			201, "", "", map[string]any{"description": "Terry Dodds", "unitPrice": 100.0}},
		{"line posted to a quote", "salesQuotes(" + qid + ")/salesQuoteLines", `{"lineType":"Resource","lineObjectNumber":"KATHERINE","quantity":1}`,
			201, "", "", map[string]any{"description": "KATHERINE HULL", "unitPrice": 100.0}},
		{"unknown resource in a deep insert", "salesOrders", `{"customerNumber":"10000","externalDocumentNumber":"NO-RES","salesOrderLines":[{"lineType":"Item","lineObjectNumber":"1900-S","quantity":1},{"lineType":"Resource","lineObjectNumber":"CRM-SVC-01","quantity":1}]}`,
			400, "Application_DialogException", "The Resource does not exist. Identification fields and values: No.='CRM-SVC-01'", nil},
		{"unknown resource on a quote line", "salesQuotes(" + qid + ")/salesQuoteLines", `{"lineType":"Resource","lineObjectNumber":"NOBODY","quantity":1}`,
			400, "Application_DialogException", "The Resource does not exist. Identification fields and values: No.='NOBODY'", nil},
		{"resource line without a number", "salesOrders", `{"customerNumber":"10000","salesOrderLines":[{"lineType":"Resource","quantity":1}]}`,
			400, "Application_DialogException", "The Resource does not exist. Identification fields and values: No.=''", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.do("POST", tc.path, tc.body)
			require.Equal(t, tc.status, r.status, string(r.body))
			if tc.status != http.StatusCreated {
				require.Equal(t, tc.code, r.errCode(t))
				require.Contains(t, r.errMsg(t), tc.msg)
				return
			}
			doc := r.json(t)
			line := doc
			if _, isLine := doc["lineType"]; !isLine {
				set := map[bool]string{true: "salesOrders", false: "salesQuotes"}[tc.path == "salesOrders"]
				lines := e.do("GET", set+"("+doc["id"].(string)+")/"+set[:len(set)-1]+"Lines", "").values(t)
				require.Len(t, lines, 1)
				line = lines[0]
			}
			require.Equal(t, "Resource", line["lineType"])
			for k, v := range tc.want {
				require.Equal(t, v, line[k], k)
			}
		})
	}
	// the refused deep insert left nothing behind
	require.Empty(t, e.do("GET", "salesOrders?$filter=externalDocumentNumber eq 'NO-RES'", "").values(t))
}

func TestResourcesThroughControl(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.hs.URL + "/_sandbox/resources"
	list := e.do("GET", base, "").values(t)
	require.Len(t, list, 4)
	require.Equal(t, map[string]any{"number": "KATHERINE", "name": "KATHERINE HULL", "unitOfMeasureCode": "HOUR", "unitPrice": 100.0}, list[0])
	require.EqualValues(t, 4, e.do("GET", e.hs.URL+"/_sandbox/info", "").json(t)["records"].(map[string]any)["resources"])

	order := `{"customerNumber":"10000","salesOrderLines":[{"lineType":"Resource","lineObjectNumber":"CRM-SVC-01","quantity":2}]}`
	require.Equal(t, http.StatusBadRequest, e.do("POST", "salesOrders", order).status)
	r := e.do("PUT", base+"/CRM-SVC-01", `{"name":"On-site assembly","unitOfMeasureCode":"HOUR","unitPrice":75}`)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	r = e.do("PUT", base+"/CRM-SVC-01", `{"name":"On-site assembly","unitOfMeasureCode":"HOUR","unitPrice":80}`)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r = e.do("POST", "salesOrders", order)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	require.InDelta(t, 160, r.json(t)["totalAmountExcludingTax"], 1e-9)

	for _, bad := range []struct{ body, code string }{
		{`{"name":"x","unitOfMeasureCode":"FORTNIGHT"}`, "Application_DialogException"},
		{`{"name":"x","unitPrice":-1}`, "Application_DialogException"},
		{`{"name":"x","colour":"red"}`, "BadRequest"},
	} {
		r := e.do("PUT", base+"/BAD", bad.body)
		require.Equal(t, http.StatusBadRequest, r.status, bad.body)
		require.Equal(t, bad.code, r.errCode(t), bad.body)
	}
	require.Equal(t, http.StatusNoContent, e.do("DELETE", base+"/CRM-SVC-01", "").status)
	r = e.do("DELETE", base+"/CRM-SVC-01", "")
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, "Internal_RecordNotFound", r.errCode(t))
	require.Equal(t, http.StatusBadRequest, e.do("POST", "salesOrders", order).status)
}

// Shipping and invoicing a resource line posts no item ledger entry (BC writes resource
// ledger entries, which API v2.0 does not show).
func TestResourceLinesPostNoItemLedgerEntries(t *testing.T) {
	t.Parallel()
	e := setup(t)
	before := len(e.do("GET", "itemLedgerEntries", "").values(t))
	r := e.do("POST", "salesOrders", `{"customerNumber":"10000","salesOrderLines":[`+
		`{"lineType":"Item","lineObjectNumber":"1928-S","quantity":2},{"lineType":"Resource","lineObjectNumber":"MARTY","quantity":3}]}`)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	o := r.json(t)
	r = e.do("POST", "salesOrders("+o["id"].(string)+")/Microsoft.NAV.shipAndInvoice", "")
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	le := e.do("GET", "itemLedgerEntries", "").values(t)
	require.Len(t, le, before+1, "one entry, for the item line")
	require.Equal(t, "1928-S", le[len(le)-1]["itemNumber"])
	inv := e.do("GET", "salesInvoices?$filter=orderNumber eq '"+o["number"].(string)+"'&$expand=salesInvoiceLines", "").values(t)
	require.Len(t, inv, 1)
	lines := inv[0]["salesInvoiceLines"].([]any)
	require.Len(t, lines, 2)
	res := lines[1].(map[string]any)
	require.Equal(t, "Resource", res["lineType"])
	require.Equal(t, "MARTY", res["lineObjectNumber"])
	require.InDelta(t, 270, res["amountExcludingTax"], 1e-9)
}

func TestSnapshotKeepsResources(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("PUT", e.hs.URL+"/_sandbox/resources/CRM-SVC-01", `{"name":"On-site assembly","unitOfMeasureCode":"HOUR","unitPrice":75}`)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var b bytes.Buffer
	require.NoError(t, e.srv.SaveSnapshot(&b))
	require.Equal(t, http.StatusNoContent, e.do("DELETE", e.hs.URL+"/_sandbox/resources/CRM-SVC-01", "").status)
	require.NoError(t, e.srv.LoadSnapshot(&b))
	require.Len(t, e.do("GET", e.hs.URL+"/_sandbox/resources", "").values(t), 5)
}
