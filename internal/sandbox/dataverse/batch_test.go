package dataverse

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/coupler/coupler/internal/odata"
	"github.com/stretchr/testify/require"
)

// postBatch sends reqs as a multipart $batch and decodes the answer.
func (e *env) postBatch(t testing.TB, reqs []odata.BatchRequest, headers ...string) (int, []odata.BatchResponse) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, odata.WriteBatchRequest(&buf, "batch_test", reqs))
	req, err := http.NewRequest("POST", e.api+"$batch", &buf)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "multipart/mixed; boundary=batch_test")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/mixed") {
		t.Fatalf("batch answered %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	require.True(t, strings.HasPrefix(string(body), "--batchresponse_"), "boundary on the first line")
	out, err := odata.ReadBatchResponse(bytes.NewReader(body), resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	return resp.StatusCode, out
}

func jsonPart(method, url string, body any) odata.BatchRequest {
	b, _ := json.Marshal(body)
	if body == nil {
		b = nil
	}
	return odata.BatchRequest{Method: method, URL: url, Header: http.Header{"Content-Type": {"application/json; type=entry"}}, Body: b}
}

func TestBatchChangeSetIsAtomic(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cs := func(r odata.BatchRequest, id string) odata.BatchRequest {
		r.ChangeSet, r.ContentID = "changeset_1", id
		return r
	}
	status, resps := e.postBatch(t, []odata.BatchRequest{
		cs(jsonPart("POST", "/api/data/v9.2/accounts", map[string]any{"name": "Batch parent"}), "1"),
		cs(jsonPart("POST", e.api+"contacts", map[string]any{"lastname": "Batch child", "parentcustomerid_account@odata.bind": "$1"}), "2"),
		cs(jsonPart("PATCH", "$1", map[string]any{"telephone1": "555"}), "3"),
		jsonPart("GET", "accounts?$select=name,telephone1&$filter=name%20eq%20'Batch%20parent'", nil),
	})
	require.Equal(t, 200, status)
	require.Len(t, resps, 4)
	for i := 0; i < 3; i++ {
		require.Equal(t, 204, resps[i].Status, string(resps[i].Body))
		require.True(t, strings.HasPrefix(resps[i].ChangeSet, "changesetresponse_"))
		require.Equal(t, []string{"1", "2", "3"}[i], resps[i].ContentID)
	}
	require.NotEmpty(t, resps[0].Header.Get("OData-EntityId"))
	require.Equal(t, 200, resps[3].Status)
	require.Contains(t, string(resps[3].Body), `"telephone1":"555"`)

	// A failing operation rolls the whole change set back.
	status, resps = e.postBatch(t, []odata.BatchRequest{
		cs(jsonPart("POST", "accounts", map[string]any{"name": "Rolled back"}), "1"),
		cs(jsonPart("POST", "accounts", map[string]any{"nosuch": 1}), "2"),
	})
	require.Equal(t, 400, status)
	require.Len(t, resps, 1)
	require.Equal(t, 400, resps[0].Status)
	require.Equal(t, "2", resps[0].ContentID)
	r := e.do(t, "GET", "accounts?$filter=name eq 'Rolled back'", nil)
	require.Empty(t, r.values(t))
}

func TestBatchErrorHandling(t *testing.T) {
	t.Parallel()
	e := setup(t)
	reqs := []odata.BatchRequest{
		jsonPart("POST", "accounts", map[string]any{"name": "first"}),
		jsonPart("POST", "accounts", map[string]any{"nosuch": 1}),
		jsonPart("POST", "accounts", map[string]any{"name": "third"}),
	}
	status, resps := e.postBatch(t, reqs)
	require.Equal(t, 400, status)
	require.Len(t, resps, 2, "the first error stops the batch")
	status, resps = e.postBatch(t, reqs, "Prefer: odata.continue-on-error")
	require.Equal(t, 200, status)
	require.Len(t, resps, 3)
	require.Equal(t, []int{204, 400, 204}, []int{resps[0].Status, resps[1].Status, resps[2].Status})
	var e1 odata.Error
	require.NoError(t, json.Unmarshal(resps[1].Body, &struct{ Error *odata.Error }{&e1}))

	// A GET inside a change set is refused.
	_, resps = e.postBatch(t, []odata.BatchRequest{{ChangeSet: "cs", Method: "GET", URL: "accounts"}})
	require.Equal(t, 400, resps[0].Status)

	// More than 1,000 operations.
	many := make([]odata.BatchRequest, 1001)
	for i := range many {
		many[i] = jsonPart("GET", "WhoAmI", nil)
	}
	var buf bytes.Buffer
	require.NoError(t, odata.WriteBatchRequest(&buf, "b", many))
	r := e.do(t, "POST", "$batch", buf.Bytes(), "Content-Type: multipart/mixed; boundary=b")
	require.Equal(t, 400, r.status)
	require.Contains(t, string(r.body), "A maximum number of '1000' operations")

	r = e.do(t, "POST", "$batch", "not multipart", "Content-Type: text/plain")
	require.Equal(t, 400, r.status)
}

func TestChangeTracking(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do(t, "GET", "accounts?$select=name", nil, "Prefer: odata.track-changes, odata.maxpagesize=4")
	require.Equal(t, 200, r.status, string(r.body))
	require.Contains(t, r.header.Values("Preference-Applied"), "odata.track-changes")
	var delta string
	next, _ := r.json(t)["@odata.nextLink"].(string)
	for next != "" {
		r = e.do(t, "GET", next, nil, "Prefer: odata.track-changes, odata.maxpagesize=4")
		next, _ = r.json(t)["@odata.nextLink"].(string)
	}
	delta, _ = r.json(t)["@odata.deltaLink"].(string)
	require.Contains(t, delta, "$deltatoken=")

	litware := deterministicID("account:CRM2").String()
	northwind := deterministicID("account:CRM3").String()
	require.Equal(t, 204, e.do(t, "PATCH", "accounts("+litware+")", map[string]any{"telephone1": "1"}).status)
	require.Equal(t, 204, e.do(t, "DELETE", "accounts("+northwind+")", nil).status)
	created := entityID(t, e.do(t, "POST", "accounts", map[string]any{"name": "New since"}))

	r = e.do(t, "GET", delta, nil)
	require.Equal(t, 200, r.status, string(r.body))
	m := r.json(t)
	require.True(t, strings.HasSuffix(m["@odata.context"].(string), "$metadata#accounts(name)/$delta"), m["@odata.context"])
	vals := r.values(t)
	require.Len(t, vals, 3)
	require.Equal(t, litware, vals[0]["accountid"])
	require.Equal(t, map[string]any{"@odata.context": e.api + "$metadata#accounts/$deletedEntity", "id": northwind, "reason": "deleted"}, vals[1])
	require.Equal(t, created, vals[2]["accountid"])
	delta2 := m["@odata.deltaLink"].(string)
	require.NotEqual(t, delta, delta2)
	require.Empty(t, e.do(t, "GET", delta2, nil).values(t), "nothing changed since")

	r = e.do(t, "GET", "accounts?$filter=name eq 'x'", nil, "Prefer: odata.track-changes")
	require.Equal(t, 400, r.status)
}

// TestBatchRepresentations: the operations of one $batch that ask for a
// representation each get the one their own query and Prefer header
// describe, although the batch builds each plan once.
func TestBatchRepresentations(t *testing.T) {
	t.Parallel()
	e := setup(t)
	part := func(query, prefer string, body map[string]any) odata.BatchRequest {
		r := jsonPart("POST", "accounts"+query, body)
		if prefer != "" {
			r.Header.Set("Prefer", prefer)
		}
		return r
	}
	annotated := `return=representation,odata.include-annotations="OData.Community.Display.V1.FormattedValue"`
	status, resps := e.postBatch(t, []odata.BatchRequest{
		part("?$select=name", "return=representation", map[string]any{"name": "Rep one", "accountnumber": "R1"}),
		part("?$select=accountnumber", "return=representation", map[string]any{"name": "Rep two", "accountnumber": "R2"}),
		part("?$select=name", "return=representation", map[string]any{"name": "Rep three", "accountnumber": "R3"}),
		part("?$select=name", "", map[string]any{"name": "Rep four"}),
		part("?$select=name,customertypecode", annotated, map[string]any{"name": "Rep five", "customertypecode": 3}),
		part("?$select=nosuch", "return=representation", map[string]any{"name": "Rep six"}),
	}, "Prefer: odata.continue-on-error")
	require.Equal(t, 200, status)
	require.Len(t, resps, 6)
	body := func(i int) map[string]any {
		require.Equal(t, 201, resps[i].Status, string(resps[i].Body))
		var m map[string]any
		require.NoError(t, json.Unmarshal(resps[i].Body, &m))
		return m
	}
	require.Equal(t, "Rep one", body(0)["name"])
	require.NotContains(t, body(0), "accountnumber")
	require.Equal(t, "R2", body(1)["accountnumber"])
	require.NotContains(t, body(1), "name")
	require.Equal(t, "Rep three", body(2)["name"])
	require.Equal(t, 204, resps[3].Status)
	require.Empty(t, resps[3].Body)
	require.Contains(t, body(4), "customertypecode@OData.Community.Display.V1.FormattedValue")
	require.NotContains(t, body(2), "customertypecode@OData.Community.Display.V1.FormattedValue")
	require.Equal(t, 400, resps[5].Status, "an unknown column in $select is refused for each operation: %s", resps[5].Body)
	require.Empty(t, e.do(t, "GET", "accounts?$select=name&$filter=name eq 'Rep six'", nil).values(t), "refused before the write")
	r := e.do(t, "POST", "accounts?$select=nosuch", []byte(`{"name":"Rep seven"}`), "Prefer: return=representation")
	require.Equal(t, 400, r.status, string(r.body))
	require.Empty(t, e.do(t, "GET", "accounts?$select=name&$filter=name eq 'Rep seven'", nil).values(t), "refused before the write")
}
