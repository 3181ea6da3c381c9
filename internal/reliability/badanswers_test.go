package reliability

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
)

// badAnswers are what a broken, hostile or different service may answer.
var badAnswers = []struct {
	name, contentType string
	status            int
	body              string
	header            map[string]string
}{
	{"malformed JSON", "application/json", 200, `{"value":[{"accountid":"1",`, nil},
	{"JSON of the wrong shape", "application/json", 200, `{"value":{"accountid":"1"}}`, nil},
	{"value is not a list", "application/json", 200, `{"value":"x"}`, nil},
	{"wrong content type (HTML login page)", "text/html", 200, `<html><body>Sign in to your account</body></html>`, nil},
	{"truncated body", "application/json", 200, `{"value":[{"name":"Contoso"`, map[string]string{"Content-Length": "4096"}},
	{"empty body", "application/json", 200, ``, nil},
	{"HTML error page", "text/html", 502, `<html>502 Bad Gateway</html>`, nil},
	{"different API version", "application/json", 404, `{"error":{"code":"0x80060888","message":"Resource not found for the segment 'v9.2'."}}`, nil},
	{"expired token mid-run", "application/json", 401, `{"error":{"code":"","message":"The access token expired."}}`, map[string]string{"WWW-Authenticate": `Bearer error="invalid_token", error_description="The access token expired"`}},
	{"forbidden", "application/json", 403, `{"error":{"code":"0x80040220","message":"Principal user is missing prvReadAccount privilege."}}`, nil},
	{"oversized field", "application/json", 200, `{"value":[{"accountid":"1","name":"` + strings.Repeat("x", 4<<20) + `"}]}`, nil},
	{"nextLink to another host", "application/json", 200, `{"value":[],"@odata.nextLink":"http://203.0.113.9/api/data/v9.2/accounts?$skiptoken=1"}`, nil},
	{"invalid date", "application/json", 200, `{"value":[{"id":"1","lastModifiedDateTime":"yesterday","modifiedon":"31/02/2024"}]}`, nil},
	{"NUL and invalid UTF-8", "application/json", 200, "{\"value\":[{\"name\":\"a\\u0000b\xff\"}]}", nil},
}

// TestReliabilityBadAnswers points both API clients at a server that gives
// each bad answer in turn: the call fails (or, for answers a client may
// tolerate, succeeds) with a message that names what went wrong, never a
// panic and never a hang; the next good answer works (nothing else is
// affected).
func TestReliabilityBadAnswers(t *testing.T) {
	t.Parallel()
	for _, ba := range badAnswers {
		t.Run(ba.name, func(t *testing.T) {
			t.Parallel()
			count(&tally.badInputs, 2)
			var bad atomic.Bool
			bad.Store(true)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !bad.Load() {
					w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
					_, _ = w.Write([]byte(`{"value":[]}`))
					return
				}
				for k, v := range ba.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", ba.contentType)
				w.WriteHeader(ba.status)
				_, _ = w.Write([]byte(ba.body))
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			dv, err := dataverse.New(ctx, dataverse.Config{URL: srv.URL, Logger: discard(), MaxAttempts: 1, Timeout: 5 * time.Second,
				TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(time.Hour)})})
			require.NoError(t, err)
			erp, err := bc.New(bc.Config{APIURL: srv.URL + "/v2.0/tenant/production/api/v2.0", CompanyID: "ab35d16a-c044-5cc2-bb64-f438f5fc4fa1",
				Logger: discard(), MaxRetries: -1, Timeout: 5 * time.Second, Basic: &bc.Basic{User: "ADMIN", WebServiceKey: "k"}})
			require.NoError(t, err)

			dvErr := dv.List(ctx, "accounts", dataverse.Query{}, func(dataverse.Page) error { return nil })
			bcErr := erp.List(ctx, "customers", bc.Query{}, func([]json.RawMessage) error { return nil })
			for side, err := range map[string]error{"dataverse": dvErr, "bc": bcErr} {
				if err == nil {
					t.Logf("%s tolerated: %s", side, ba.name)
					continue
				}
				msg := err.Error()
				t.Logf("%s: %s", side, msg)
				require.NotEmpty(t, strings.TrimSpace(msg))
				require.Less(t, len(msg), 2000, "%s: the message stays readable (no whole body echoed)", side)
				require.NotContains(t, msg, "Bearer t", "%s: no token in the message", side)
			}
			if ba.status >= 400 {
				require.Error(t, dvErr, "dataverse must not accept a %d", ba.status)
				require.Error(t, bcErr, "bc must not accept a %d", ba.status)
			}
			if ba.status == 200 && ba.contentType == "text/html" {
				require.Error(t, dvErr, "dataverse must not read an HTML page as records")
				require.Error(t, bcErr, "bc must not read an HTML page as records")
			}
			// The clients keep working once the service answers properly.
			bad.Store(false)
			require.NoError(t, dv.List(ctx, "accounts", dataverse.Query{}, func(dataverse.Page) error { return nil }), "dataverse after the bad answer")
			require.NoError(t, erp.List(ctx, "customers", bc.Query{}, func([]json.RawMessage) error { return nil }), "bc after the bad answer")
		})
	}
}
