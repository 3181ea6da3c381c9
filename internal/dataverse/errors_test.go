package dataverse

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/odata"
	"github.com/stretchr/testify/require"
)

func TestDecodeAPIError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		header   http.Header
		body     string
		sentinel error
		code     string
	}{
		{"not found", 404, nil, `{"error":{"code":"0x80040217","message":"account With Id = 1 Does Not Exist"}}`, ErrNotFound, "0x80040217"},
		{"precondition", 412, nil, `{"error":{"code":"","message":"The version of the existing record doesn't match the RowVersion property provided."}}`, ErrPreconditionFailed, ""},
		{"unauthorized", 401, http.Header{"Www-Authenticate": {`Bearer authorization_uri=https://login.microsoftonline.com/t/oauth2/authorize`}}, ``, ErrUnauthorized, ""},
		{"forbidden", 403, nil, `{"error":{"code":"0x80040220","message":"Principal user is missing prvReadAccount privilege"}}`, ErrForbidden, "0x80040220"},
		{"validation", 400, nil, `{"error":{"code":"0x80044331","message":"A validation error occurred."}}`, ErrValidation, "0x80044331"},
		{"throttled", 429, http.Header{"Retry-After": {"7"}}, `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`, ErrThrottled, CodeRequestLimit},
		{"gateway html", 502, nil, `<html>Bad Gateway</html>`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			err := decodeAPIError("GET", "https://x/api/data/v9.2/accounts", tt.status, h, []byte(tt.body))
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tt.status, ae.Status)
			require.Equal(t, tt.code, ae.Code)
			require.NotEmpty(t, ae.Message)
			for _, s := range []error{ErrNotFound, ErrPreconditionFailed, ErrUnauthorized, ErrForbidden, ErrValidation, ErrThrottled} {
				require.Equal(t, s == tt.sentinel, errors.Is(err, s), "errors.Is(%v)", s)
			}
			if tt.status == 429 {
				var te *ThrottledError
				require.ErrorAs(t, err, &te)
				require.Equal(t, 7*time.Second, te.RetryAfter)
			}
			if tt.status == 400 {
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.Equal(t, 3*time.Second, parseRetryAfter("3", now))
	require.Equal(t, 1500*time.Millisecond, parseRetryAfter("1.5", now))
	require.Equal(t, 10*time.Second, parseRetryAfter(now.Add(10*time.Second).Format(http.TimeFormat), now))
	require.Zero(t, parseRetryAfter("", now))
	require.Zero(t, parseRetryAfter("-4", now))
	require.Zero(t, parseRetryAfter("soon", now))
}

func TestBackoffBoundedAndJittered(t *testing.T) {
	t.Parallel()
	b := backoff{base: 100 * time.Millisecond, max: time.Second}
	seen := map[time.Duration]bool{}
	for n := 0; n < 20; n++ {
		for range 20 {
			d := b.delay(n)
			want := min(b.base<<min(n, 20), b.max)
			require.GreaterOrEqual(t, d, want/2)
			require.LessOrEqual(t, d, want)
			seen[d] = true
		}
	}
	require.Greater(t, len(seen), 50, "delays must be jittered")
}

func TestMapBatch(t *testing.T) {
	t.Parallel()
	reqs := []BatchRequest{
		{Method: "PATCH", Path: "accounts(1)"},
		{Method: "POST", Path: "accounts", ChangeSet: "a"},
		{Method: "POST", Path: "contacts", ChangeSet: "a"},
		{Method: "DELETE", Path: "accounts(2)"},
		{Method: "POST", Path: "accounts", ChangeSet: "b"},
		{Method: "POST", Path: "accounts", ChangeSet: "b"},
		{Method: "GET", Path: "accounts(3)"},
	}
	parts := []odata.BatchRequest{
		{}, {ChangeSet: "cs1", ContentID: "2"}, {ChangeSet: "cs1", ContentID: "3"}, {}, {ChangeSet: "cs2", ContentID: "5"}, {ChangeSet: "cs2", ContentID: "6"}, {},
	}
	eid := func(id string) http.Header {
		return http.Header{"Odata-Entityid": {"https://x/api/data/v9.2/accounts(" + id + ")"}}
	}
	answers := []odata.BatchResponse{
		{Status: 204, Header: eid("00000000-0000-0000-0000-000000000001")},
		// change set answered in reverse Content-ID order
		{ChangeSet: "r1", ContentID: "3", Status: 204, Header: eid("00000000-0000-0000-0000-000000000003")},
		{ChangeSet: "r1", ContentID: "2", Status: 204, Header: eid("00000000-0000-0000-0000-000000000002")},
		{Status: 404, Body: []byte(`{"error":{"code":"0x80040217","message":"missing"}}`)},
		// failed change set: one error for the whole set
		{ContentID: "6", Status: 400, Body: []byte(`{"error":{"code":"0x80044331","message":"bad"}}`)},
		// the GET never ran: the batch stopped
	}
	got := mapBatch(reqs, parts, answers, "https://x/api/data/v9.2/$batch")
	require.NoError(t, got[0].Err)
	require.Equal(t, "00000000-0000-0000-0000-000000000001", got[0].EntityID)
	require.Equal(t, "00000000-0000-0000-0000-000000000002", got[1].EntityID)
	require.Equal(t, "00000000-0000-0000-0000-000000000003", got[2].EntityID)
	require.ErrorIs(t, got[3].Err, ErrNotFound)
	require.ErrorIs(t, got[4].Err, ErrRolledBack)
	require.NotErrorIs(t, got[4].Err, ErrValidation)
	require.ErrorIs(t, got[5].Err, ErrValidation)
	var ve *ValidationError
	require.ErrorAs(t, got[5].Err, &ve)
	require.Equal(t, "0x80044331", ve.Code)
	require.ErrorIs(t, got[6].Err, ErrNotExecuted)
}

func TestSplitBatch(t *testing.T) {
	t.Parallel()
	var reqs []BatchRequest
	for i := range 10 {
		cs := ""
		if i >= 3 && i < 7 {
			cs = "x"
		}
		reqs = append(reqs, BatchRequest{Method: "POST", Path: "accounts", ChangeSet: cs})
	}
	got, err := SplitBatch(reqs, 5)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Len(t, got[0], 3) // cut before the change set
	require.Len(t, got[1], 5) // change set (4) + 1
	require.Len(t, got[2], 2)
	_, err = SplitBatch(reqs, 3)
	require.ErrorContains(t, err, "cannot fit")
}

func TestAlternateKeyAndPath(t *testing.T) {
	t.Parallel()
	require.Equal(t, Key("accountnumber='A1'"), AlternateKey(map[string]any{"accountnumber": "A1"}))
	require.Equal(t, Key("emailaddress1='o''neil@x.com',firstname='Joe'"),
		AlternateKey(map[string]any{"firstname": "Joe", "emailaddress1": "o'neil@x.com"}))
	require.Equal(t, "accounts(name='A%20%26%20B')", path("accounts", AlternateKey(map[string]any{"name": "A & B"})))
	require.Equal(t, Key("n=5"), AlternateKey(map[string]any{"n": 5}))
	id, ok := EntityID(http.Header{"Odata-Entityid": {"https://x/api/data/v9.2/accounts(7D5E187C-9E6C-E711-8111-000D3A36F5D6)"}})
	require.True(t, ok)
	require.Equal(t, "7d5e187c-9e6c-e711-8111-000d3a36f5d6", id)
	maj, minor, err := MajorMinor("9.2.24011.00181")
	require.NoError(t, err)
	require.Equal(t, [2]int{9, 2}, [2]int{maj, minor})
	_, _, err = MajorMinor("nine")
	require.Error(t, err)
}
