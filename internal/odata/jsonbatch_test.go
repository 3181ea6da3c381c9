package odata

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJSONBatchRoundTrip(t *testing.T) {
	t.Parallel()
	in := JSONBatchRequest{Requests: []JSONBatchItem{
		{ID: "1", Method: "POST", URL: "companies(x)/customers", Headers: map[string]string{"Content-Type": "application/json"}, Body: json.RawMessage(`{"displayName":"A"}`)},
		{ID: "2", Method: "PATCH", URL: "companies(x)/customers(y)", Headers: map[string]string{"If-Match": "*"}, Body: json.RawMessage(`{"city":"B"}`), AtomicityGroup: "g", DependsOn: []string{"1"}},
		{ID: "3", Method: "GET", URL: "companies(x)/items"},
	}}
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"requests":[{"id":"1","method":"POST","url":"companies(x)/customers"`)
	require.Contains(t, string(raw), `"atomicityGroup":"g","dependsOn":["1"]`)
	require.NotContains(t, string(raw), `"body":null`)
	out, err := ReadJSONBatchRequest(strings.NewReader(string(raw)), 0)
	require.NoError(t, err)
	require.Equal(t, in, out)
	require.Equal(t, "*", out.Requests[1].Header("if-match"))

	resp := JSONBatchResponse{Responses: []JSONBatchResult{{ID: "1", Status: 201, Headers: map[string]string{"ETag": `W/"x"`}, Body: json.RawMessage(`{"id":"y"}`)}, {ID: "3", Status: 204}}}
	raw, err = json.Marshal(resp)
	require.NoError(t, err)
	require.JSONEq(t, `{"responses":[{"id":"1","status":201,"headers":{"ETag":"W/\"x\""},"body":{"id":"y"}},{"id":"3","status":204}]}`, string(raw))
}

func TestReadJSONBatchRequestErrors(t *testing.T) {
	t.Parallel()
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf(`{"id":"%d","method":"GET","url":"companies"}`, i)
	}
	tests := []struct{ name, body, want string }{
		{"not json", `<xml/>`, "not a JSON batch object"},
		{"no requests", `{}`, `no "requests" array`},
		{"too many", `{"requests":[` + strings.Join(many, ",") + `]}`, "101 operations exceed the limit of 100"},
		{"no id", `{"requests":[{"method":"GET","url":"x"}]}`, `"id" is missing`},
		{"dup id", `{"requests":[{"id":"a","method":"GET","url":"x"},{"id":"a","method":"GET","url":"x"}]}`, "duplicate id"},
		{"no method", `{"requests":[{"id":"a","url":"x"}]}`, `"method" is missing`},
		{"no url", `{"requests":[{"id":"a","method":"GET"}]}`, `"url" is missing`},
		{"bad dependsOn", `{"requests":[{"id":"a","method":"GET","url":"x","dependsOn":["b"]}]}`, `dependsOn "b"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadJSONBatchRequest(strings.NewReader(tc.body), 0)
			var fe *BatchFormatError
			require.True(t, errors.As(err, &fe), "got %v", err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func FuzzReadJSONBatchRequest(f *testing.F) {
	f.Add(`{"requests":[{"id":"1","method":"GET","url":"companies"}]}`)
	f.Add(`{"requests":[{"id":"1","method":"GET","url":"x","dependsOn":["1"]}]}`)
	f.Add(`{"requests":null}`)
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ReadJSONBatchRequest(strings.NewReader(s), 5)
		if err == nil && len(b.Requests) > 5 {
			t.Fatalf("accepted %d operations over the limit", len(b.Requests))
		}
	})
}
