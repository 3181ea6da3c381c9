package bc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/odata"
	"github.com/stretchr/testify/require"
)

func TestDecodeErrorMapsSentinels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		is      []error
		isNot   []error
		code    string
		message string
		corr    string
	}{
		{name: "entity changed", status: 409,
			body: `{"error":{"code":"Request_EntityChanged","message":"Another user has already changed the record.  CorrelationId:  0f5c2f4e-1111-4222-8333-944445555666."}}`,
			is:   []error{ErrEntityChanged}, isNot: []error{ErrNotFound, ErrBadRequest},
			code: "Request_EntityChanged", message: "Another user has already changed the record.", corr: "0f5c2f4e-1111-4222-8333-944445555666"},
		{name: "missing if-match", status: 400,
			body: `{"error":{"code":"BadRequest_InvalidToken","message":"Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.  CorrelationId:  x."}}`,
			is:   []error{ErrInvalidToken, ErrBadRequest}, isNot: []error{ErrEntityChanged},
			code: "BadRequest_InvalidToken", corr: "x",
			message: "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request."},
		{name: "record not found", status: 404,
			body: `{"error":{"code":"Internal_RecordNotFound","message":"The Customer does not exist. Identification fields and values: No.='99'  CorrelationId:  c."}}`,
			is:   []error{ErrNotFound}, code: "Internal_RecordNotFound", message: "The Customer does not exist. Identification fields and values: No.='99'", corr: "c"},
		{name: "exists", status: 409, body: `{"error":{"code":"Internal_EntityWithSameKeyExists","message":"exists"}}`,
			is: []error{ErrAlreadyExists}, isNot: []error{ErrEntityChanged}, code: "Internal_EntityWithSameKeyExists", message: "exists"},
		{name: "unauthorized", status: 401, body: `{"error":{"code":"Authentication_InvalidCredentials","message":"The server has rejected the client credentials.  CorrelationId:  c."}}`,
			is: []error{ErrUnauthorized}, code: "Authentication_InvalidCredentials", message: "The server has rejected the client credentials.", corr: "c"},
		{name: "throttled", status: 429, body: `{"error":{"code":"Application_TooManyRequests","message":"slow down"}}`, is: []error{ErrThrottled}},
		{name: "html 502", status: 502, body: "<html>bad gateway</html>", is: []error{ErrServer}, message: "<html>bad gateway</html>"},
		{name: "empty 503", status: 503, body: "", is: []error{ErrServer}, message: "Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := decodeError(tt.status, []byte(tt.body), "PATCH", "/api/v2.0/companies(x)/customers(y)")
			var err error = e
			for _, s := range tt.is {
				require.ErrorIs(t, err, s)
			}
			for _, s := range tt.isNot {
				require.NotErrorIs(t, err, s)
			}
			if tt.code != "" {
				require.Equal(t, tt.code, e.Code)
			}
			if tt.message != "" {
				require.Equal(t, tt.message, e.Message)
			}
			require.Equal(t, tt.corr, e.CorrelationID)
			require.Contains(t, e.Error(), "PATCH /api/v2.0/companies(x)/customers(y)")
			var wrapped error = &ThrottledError{RetryAfter: time.Second, Err: e}
			var got *APIError
			require.ErrorAs(t, wrapped, &got)
			require.ErrorIs(t, wrapped, ErrThrottled)
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{" 120 ", 2 * time.Minute, true},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		require.Equal(t, tt.ok, ok, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestQueryEncode(t *testing.T) {
	t.Parallel()
	q := Query{Filter: "displayName eq 'Adatum Corporation' and creditLimit gt 0", Select: []string{"id", "number"},
		OrderBy: []string{"number desc"}, Expand: []string{"salesOrderLines"}, Top: 5, Skip: 10, Count: true}
	require.Equal(t, "$filter=displayName%20eq%20%27Adatum%20Corporation%27%20and%20creditLimit%20gt%200"+
		"&$select=id%2Cnumber&$orderby=number%20desc&$expand=salesOrderLines&$top=5&$skip=10&$count=true", q.Encode())
	require.Equal(t, "", Query{}.Encode())
	require.ErrorContains(t, Query{Top: -1}.validate(), "must not be negative")
}

func TestDecodePage(t *testing.T) {
	t.Parallel()
	body := `{"@odata.context":"http://h/api/v2.0/$metadata#companies(x)/customers","@odata.count":3,
	"value":[{"@odata.etag":"W/\"a\"","id":"1","lastModifiedDateTime":"2024-01-02T03:04:05.123Z"},{"id":"2","nested":{"value":[1]}}],
	"@odata.nextLink":"http://h/api/v2.0/companies(x)/customers?$skiptoken=abc"}`
	p, err := decodePage(strings.NewReader(body))
	require.NoError(t, err)
	require.Len(t, p.Records, 2)
	require.Equal(t, int64(3), p.Count)
	require.Equal(t, "http://h/api/v2.0/companies(x)/customers?$skiptoken=abc", p.NextLink)
	require.Equal(t, `W/"a"`, ETag(p.Records[0]))
	require.Equal(t, "2", ID(p.Records[1]))
	lm, err := LastModified(p.Records[0])
	require.NoError(t, err)
	require.Equal(t, time.Date(2024, 1, 2, 3, 4, 5, 123e6, time.UTC), lm)
	_, err = LastModified(p.Records[1])
	require.ErrorContains(t, err, "no lastModifiedDateTime")

	for _, bad := range []string{``, `[]`, `{"value":{}}`, `{"@odata.context":"x"}`, `{"value":[1,`} {
		_, err := decodePage(strings.NewReader(bad))
		require.Error(t, err, bad)
	}
	_, err = decodePage(strings.NewReader(``))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	f, err := decodeFieldsPage(strings.NewReader(body))
	require.NoError(t, err)
	require.Empty(t, f.Records)
	require.Equal(t, int64(3), f.Count)
	require.Equal(t, p.NextLink, f.NextLink)
	require.Equal(t, []map[string]any{
		{"@odata.etag": `W/"a"`, "id": "1", "lastModifiedDateTime": "2024-01-02T03:04:05.123Z"},
		{"id": "2", "nested": map[string]any{"value": []any{json.Number("1")}}},
	}, f.Fields)
	// Pages of objects fail as the raw read fails them; a record that is not an object
	// fails the page.
	for _, bad := range []string{``, `[]`, `{"value":{}}`, `{"@odata.context":"x"}`, `{"value":[{"id":"1"},`,
		`{"value":[{"id":"1"}`, `{"value":[{"id":"1","n":1.`, `{"value":[{"id":"1"}],"@odata.count":"x"}`} {
		_, rawErr := decodePage(strings.NewReader(bad))
		require.Error(t, rawErr, bad)
		_, err := decodeFieldsPage(strings.NewReader(bad))
		require.Error(t, err, bad)
		require.Equal(t, rawErr.Error(), err.Error(), "the same message as the raw read: %s", bad)
		require.Equal(t, errors.Is(rawErr, io.ErrUnexpectedEOF), errors.Is(err, io.ErrUnexpectedEOF), bad)
	}
	for _, bad := range []string{`{"value":[1,`, `{"value":[1]}`, `{"value":[{"id":"1"},"x"]}`} {
		_, err := decodeFieldsPage(strings.NewReader(bad))
		require.ErrorContains(t, err, "of page: json: cannot unmarshal", bad)
	}
	f, err = decodeFieldsPage(strings.NewReader(`{"value":[null]}`))
	require.NoError(t, err)
	require.Equal(t, []map[string]any{nil}, f.Fields)
}

func FuzzDecodePage(f *testing.F) {
	f.Add(`{"value":[{"id":"1"}],"@odata.nextLink":"x"}`)
	f.Add(`{"value":[]}`)
	f.Add(`{"@odata.count":"x","value":[]}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decodePage(strings.NewReader(s))
		fp, ferr := decodeFieldsPage(strings.NewReader(s))
		if err != nil {
			require.Error(t, ferr, "the one-pass read accepts no page the raw read refuses")
			return
		}
		for _, r := range p.Records {
			require.True(t, json.Valid(r))
		}
		// The one pass reads what the two passes read: each record parsed on its own.
		var want []map[string]any
		for _, r := range p.Records {
			dec := json.NewDecoder(bytes.NewReader(r))
			dec.UseNumber()
			var m map[string]any
			if dec.Decode(&m) != nil {
				require.Error(t, ferr, "a record that is not an object fails the page")
				return
			}
			want = append(want, m)
		}
		require.NoError(t, ferr)
		require.Equal(t, want, fp.Fields)
		require.Equal(t, p.NextLink, fp.NextLink)
		require.Equal(t, p.Count, fp.Count)
	})
}

func TestAlignAnswers(t *testing.T) {
	t.Parallel()
	req := odata.JSONBatchRequest{Requests: []odata.JSONBatchItem{{ID: "1"}, {ID: "2"}, {ID: "3"}}}
	// Out of order with ids.
	got, err := alignAnswers(req, odata.JSONBatchResponse{Responses: []odata.JSONBatchResult{{ID: "3", Status: 204}, {ID: "1", Status: 201}, {ID: "2", Status: 400}}})
	require.NoError(t, err)
	require.Equal(t, []int{201, 400, 204}, []int{got[0].Status, got[1].Status, got[2].Status})
	// Null ids, as in BC's documentation: by position.
	got, err = alignAnswers(req, odata.JSONBatchResponse{Responses: []odata.JSONBatchResult{{Status: 200}, {Status: 204}, {Status: 400}}})
	require.NoError(t, err)
	require.Equal(t, 400, got[2].Status)
	_, err = alignAnswers(req, odata.JSONBatchResponse{Responses: []odata.JSONBatchResult{{Status: 200}}})
	require.ErrorContains(t, err, "1 results for 3 operations")
	_, err = alignAnswers(req, odata.JSONBatchResponse{Responses: []odata.JSONBatchResult{{ID: "9"}, {ID: "1"}, {ID: "2"}}})
	require.ErrorContains(t, err, `id "9"`)
	_, err = alignAnswers(req, odata.JSONBatchResponse{Responses: []odata.JSONBatchResult{{ID: "1"}, {ID: "1"}, {ID: "2"}}})
	require.ErrorContains(t, err, "twice")
}

func TestSetPaths(t *testing.T) {
	t.Parallel()
	c, err := New(Config{APIURL: "http://127.0.0.1:1/BC/api/v2.0", CompanyID: "7C8B5B6E-0000-4000-8000-000000000001",
		Basic: &Basic{User: "u", WebServiceKey: "k"}})
	require.NoError(t, err)
	u, err := c.recordURL("salesOrders(7c8b5b6e-0000-4000-8000-000000000002)/salesOrderLines", "7C8B5B6E-0000-4000-8000-000000000003")
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:1/BC/api/v2.0/companies(7c8b5b6e-0000-4000-8000-000000000001)/salesOrders(7c8b5b6e-0000-4000-8000-000000000002)/salesOrderLines(7c8b5b6e-0000-4000-8000-000000000003)", u)
	for _, bad := range []string{"", "/customers", "customers?$top=1", "customers('10000')", "../x", "customers x"} {
		_, err := c.companyURL(bad)
		require.Error(t, err, bad)
	}
	_, err = c.recordURL("customers", "10000")
	require.ErrorContains(t, err, `customers id "10000" is not a GUID`)
	require.Equal(t, "salesOrderLines", setName("salesOrders(x)/salesOrderLines"))
	require.Equal(t, "salesOrders", setName("salesOrders(x)/Microsoft.NAV.shipAndInvoice"))
	require.ErrorContains(t, c.checkSameOrigin("http://evil:1/BC/api/v2.0/companies"), "not on the API host")
	require.NoError(t, c.checkSameOrigin("http://127.0.0.1:1/BC/api/v2.0/companies(x)/customers?$skiptoken=1"))
}

// TestDecodeFieldsBytesOwnsItsMemory: the walk reuses one buffer for every
// page's answer, so a page's records must not point into it.
func TestDecodeFieldsBytesOwnsItsMemory(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"value":[{"id":"1","displayName":"Adatum","n":1.5}],"@odata.nextLink":"http://h/next"}`,
		`{"value":[{"id":"1","displayName":"Adatum","n":1.5}],"@odata.nextLink":"http://h/next"} trailing`, // the streaming reader's path
	} {
		b := []byte(body)
		p, err := decodeFieldsBytes(b)
		require.NoError(t, err, body)
		clear(b)
		require.Equal(t, []map[string]any{{"id": "1", "displayName": "Adatum", "n": json.Number("1.5")}}, p.Fields, body)
		require.Equal(t, "http://h/next", p.NextLink, body)
	}
}
