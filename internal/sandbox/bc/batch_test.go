package bc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/odata"
)

func (e *env) batch(t *testing.T, items []odata.JSONBatchItem, hdr ...string) (resp, odata.JSONBatchResponse) {
	t.Helper()
	b, err := json.Marshal(odata.JSONBatchRequest{Requests: items})
	require.NoError(t, err)
	r := e.do("POST", e.root+"/$batch", string(b), hdr...)
	var out odata.JSONBatchResponse
	if r.status == http.StatusOK {
		require.NoError(t, json.Unmarshal(r.body, &out), string(r.body))
	}
	return r, out
}

func TestBatchIndependent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cid := e.srv.Credentials().CompanyID
	items := []odata.JSONBatchItem{
		{ID: "1", Method: "POST", URL: "companies(" + cid + ")/customers", Headers: map[string]string{"Content-Type": "application/json"}, Body: json.RawMessage(`{"displayName":"Batch One"}`)},
		{ID: "2", Method: "POST", URL: "companies(" + cid + ")/customers", Body: json.RawMessage(`{"city":"no name"}`)},
		{ID: "3", Method: "PATCH", URL: e.comp + "/customers(" + seedID("customers", "10000") + ")", Headers: map[string]string{"If-Match": "*"}, Body: json.RawMessage(`{"city":"Ely"}`)},
		{ID: "4", Method: "GET", URL: "companies(" + cid + ")/customers?$filter=city eq 'Ely'"},
		{ID: "5", Method: "PATCH", URL: "companies(" + cid + ")/customers(" + seedID("customers", "20000") + ")", Body: json.RawMessage(`{"city":"Ely"}`), DependsOn: []string{"2"}},
		{ID: "6", Method: "GET", URL: "/nowhere/customers"},
	}
	r, out := e.batch(t, items)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Len(t, out.Responses, 6)
	st := map[string]int{}
	for _, x := range out.Responses {
		st[x.ID] = x.Status
	}
	require.Equal(t, map[string]int{"1": 201, "2": 400, "3": 200, "4": 200, "5": 424, "6": 400}, st)
	require.Contains(t, string(out.Responses[0].Body), `"displayName":"Batch One"`)
	require.NotEmpty(t, out.Responses[0].Headers["etag"])
	require.Contains(t, string(out.Responses[1].Body), "Application_DialogException")
	require.Contains(t, string(out.Responses[3].Body), `"number":"10000"`)
	require.Len(t, e.do("GET", "customers", "").values(t), 6)
}

func TestBatchAtomic(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cid := e.srv.Credentials().CompanyID
	items := []odata.JSONBatchItem{
		{ID: "a", Method: "POST", URL: "companies(" + cid + ")/customers", Body: json.RawMessage(`{"displayName":"Kept?"}`)},
		{ID: "b", Method: "PATCH", URL: "companies(" + cid + ")/customers(" + seedID("customers", "10000") + ")", Headers: map[string]string{"If-Match": "*"}, Body: json.RawMessage(`{"city":"Changed"}`)},
		{ID: "c", Method: "POST", URL: "companies(" + cid + ")/salesOrders(" + seedID("salesOrders", "101001") + ")/Microsoft.NAV.shipAndInvoice"},
		{ID: "d", Method: "PATCH", URL: "companies(" + cid + ")/customers(" + seedID("customers", "20000") + ")", Body: json.RawMessage(`{"city":"x"}`)}, // no If-Match
		{ID: "e", Method: "POST", URL: "companies(" + cid + ")/customers", Body: json.RawMessage(`{"displayName":"Never run"}`)},
	}
	r, out := e.batch(t, items, "Isolation", "snapshot")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	st := []int{}
	for _, x := range out.Responses {
		st = append(st, x.Status)
	}
	require.Equal(t, []int{424, 424, 424, 400, 424}, st)
	require.Contains(t, string(out.Responses[3].Body), "BadRequest_InvalidToken")
	require.Contains(t, string(out.Responses[0].Body), "Rolled back")
	// nothing happened
	require.Len(t, e.do("GET", "customers", "").values(t), 5)
	c10000 := e.do("GET", "customers("+seedID("customers", "10000")+")", "").json(t)
	require.Equal(t, "Cambridge", c10000["city"])
	require.InDelta(t, 0, c10000["balanceDue"], 1e-9)
	require.Equal(t, http.StatusOK, e.do("GET", "salesOrders("+seedID("salesOrders", "101001")+")", "").status)
	require.InDelta(t, 500, inventory(t, e, "1996-S"), 1e-9)
	require.Empty(t, e.do("GET", "salesInvoices?$filter=orderNumber eq '101001'", "").values(t))

	// the same batch without the bad operation commits everything
	items = append(items[:3], items[4])
	r, out = e.batch(t, items, "Isolation", "snapshot")
	require.Equal(t, http.StatusOK, r.status)
	for _, x := range out.Responses {
		require.Less(t, x.Status, 300, string(x.Body))
	}
	require.Len(t, e.do("GET", "customers", "").values(t), 7)
	require.InDelta(t, 488, inventory(t, e, "1996-S"), 1e-9)
	require.InDelta(t, 10880.4*1.25, e.do("GET", "customers("+seedID("customers", "10000")+")", "").json(t)["balanceDue"], 1e-6)
}

func TestBatchLimits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var items []odata.JSONBatchItem
	for i := range 101 {
		items = append(items, odata.JSONBatchItem{ID: fmt.Sprint(i), Method: "GET", URL: "companies"})
	}
	r, _ := e.batch(t, items)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.errMsg(t), "101 operations exceed the limit of 100")
	r, out := e.batch(t, items[:100])
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, out.Responses, 100)
	r = e.do("POST", e.root+"/$batch", "--b\r\n", "Content-Type", "multipart/mixed; boundary=b")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.True(t, strings.Contains(r.errMsg(t), "JSON $batch"))
}
