package bc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/stretchr/testify/require"
)

func TestListCompanies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cos, err := b.client.ListCompanies(t.Context())
	require.NoError(t, err)
	require.Len(t, cos, 1)
	require.Equal(t, b.creds.CompanyID, cos[0].ID)
	require.Equal(t, "CRONUS International Ltd.", cos[0].Name)
}

func TestListFilterAndTypedRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var got []bc.Customer
	err := bc.ListAs(t.Context(), b.client, bc.SetCustomers, bc.Query{Filter: "number eq '10000'"}, func(p []bc.Customer) error {
		got = append(got, p...)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "Adatum Corporation", got[0].DisplayName)
	require.True(t, bc.ValidGUID(got[0].ID))
	require.NotEmpty(t, got[0].ETag)
	require.False(t, got[0].LastModifiedDateTime.IsZero())

	c, err := bc.GetAs[bc.Customer](t.Context(), b.client, bc.SetCustomers, got[0].ID, bc.Query{Select: []string{"number", "displayName"}})
	require.NoError(t, err)
	require.Equal(t, "10000", c.Number)
	require.Empty(t, c.City, "$select leaves other fields out")

	// A query the service refuses comes back as a typed error naming it.
	err = b.client.List(t.Context(), bc.SetCustomers, bc.Query{Filter: "noSuchField eq 1"}, func([]json.RawMessage) error { return nil })
	require.ErrorIs(t, err, bc.ErrBadRequest)
	var apiErr *bc.APIError
	require.ErrorAs(t, err, &apiErr)
	require.NotEmpty(t, apiErr.CorrelationID)
	require.Contains(t, apiErr.Message, "noSuchField")
}

func TestListFollowsNextLink(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var all []string
	pages := 0
	var count int64 = -1
	err := b.client.ListPages(t.Context(), bc.SetItems, bc.Query{MaxPageSize: 3, Count: true, Select: []string{"id", "number"}}, func(p bc.Page) error {
		pages++
		require.LessOrEqual(t, len(p.Records), 3)
		if count < 0 {
			count = p.Count
		}
		for _, r := range p.Records {
			all = append(all, bc.ID(r))
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(len(all)), count, "the pages add up to @odata.count")
	require.GreaterOrEqual(t, len(all), 20, "the demo company has the twenty furniture items")
	require.Equal(t, (len(all)+2)/3, pages)
	seen := map[string]bool{}
	for _, id := range all {
		require.False(t, seen[id], "id %s seen twice across pages", id)
		seen[id] = true
	}

	// An error from the callback stops the walk and comes back unchanged.
	stop := errors.New("stop")
	calls := 0
	err = b.client.List(t.Context(), bc.SetItems, bc.Query{MaxPageSize: 2}, func([]json.RawMessage) error { calls++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)
}

func TestListFieldsReadsWhatListReads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := bc.Query{MaxPageSize: 3, Filter: "number ge '1'"}
	var raw []map[string]any
	err := b.client.List(t.Context(), bc.SetCustomers, q, func(p []json.RawMessage) error {
		for _, r := range p {
			dec := json.NewDecoder(bytes.NewReader(r))
			dec.UseNumber()
			var f map[string]any
			require.NoError(t, dec.Decode(&f))
			raw = append(raw, f)
		}
		return nil
	})
	require.NoError(t, err)
	var fields []map[string]any
	pages := 0
	err = b.client.ListFields(t.Context(), bc.SetCustomers, q, func(p []map[string]any) error {
		pages++
		require.LessOrEqual(t, len(p), 3)
		fields = append(fields, p...)
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(fields), 5, "the demo company's customers")
	require.Equal(t, (len(fields)+2)/3, pages, "the next links are followed")
	require.Equal(t, raw, fields)
	require.IsType(t, json.Number(""), fields[0]["creditLimit"], "numbers stay json.Number")

	// A query the service refuses comes back as a typed error, as from List.
	err = b.client.ListFields(t.Context(), bc.SetCustomers, bc.Query{Filter: "noSuchField eq 1"}, func([]map[string]any) error { return nil })
	require.ErrorIs(t, err, bc.ErrBadRequest)
	require.ErrorContains(t, b.client.ListFields(t.Context(), bc.SetCustomers, bc.Query{Top: -1}, nil), "must not be negative")
}

func TestListModifiedSinceCursor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	n := 0
	cursor, err := b.client.ListModifiedSince(ctx, bc.SetCustomers, time.Time{}, bc.Query{}, func(p []json.RawMessage) error { n += len(p); return nil })
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 5)
	require.False(t, cursor.IsZero())

	// Nothing changed: the next read holds only the cursor's own
	// millisecond (read again on purpose) and the cursor stays.
	time.Sleep(5 * time.Millisecond)
	n = 0
	next, err := b.client.ListModifiedSince(ctx, bc.SetCustomers, cursor, bc.Query{}, func(p []json.RawMessage) error {
		for _, r := range p {
			lm, err := bc.LastModified(r)
			require.NoError(t, err)
			require.Equal(t, cursor, lm, "only the boundary millisecond is read again")
			n++
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, cursor, next)

	// One change: only that record comes back and the cursor moves to it.
	var trey bc.Customer
	require.NoError(t, bc.ListAs(ctx, b.client, bc.SetCustomers, bc.Query{Filter: "number eq '20000'"}, func(p []bc.Customer) error { trey = p[0]; return nil }))
	updated, err := b.client.Update(ctx, bc.SetCustomers, trey.ID, trey.ETag, map[string]any{"phoneNumber": "555-0142"})
	require.NoError(t, err)
	var ids []string
	next, err = b.client.ListModifiedSince(ctx, bc.SetCustomers, cursor, bc.Query{Select: []string{"id", "number"}}, func(p []json.RawMessage) error {
		for _, r := range p {
			ids = append(ids, bc.ID(r))
		}
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, ids, trey.ID)
	require.LessOrEqual(t, len(ids), n+1, "the changed record, plus at most the boundary millisecond")
	lm, err := bc.LastModified(updated)
	require.NoError(t, err)
	require.Equal(t, lm, next)

	// A failing callback leaves the cursor where it was.
	_, err = b.client.ListModifiedSince(ctx, bc.SetCustomers, cursor, bc.Query{Filter: "number eq '20000'"}, func([]json.RawMessage) error { return context.Canceled })
	require.ErrorIs(t, err, context.Canceled)
}

func TestBasicAuthOnPremisesLayout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, err := bc.New(b.basicConfig())
	require.NoError(t, err)
	require.Equal(t, bc.LayoutOnPremises, c.Root().Layout)
	raw, err := c.Get(t.Context(), bc.SetCustomers, mustCustomerID(t, b, "30000"), bc.Query{})
	require.NoError(t, err)
	require.Contains(t, string(raw), "School of Fine Art")

	cfg := b.basicConfig()
	cfg.Basic.WebServiceKey = "wrong-key"
	bad, err := bc.New(cfg)
	require.NoError(t, err)
	_, err = bad.ListCompanies(t.Context())
	require.ErrorIs(t, err, bc.ErrUnauthorized)
}

func TestOAuthWrongSecret(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := b.oauthConfig()
	cfg.OAuth.ClientSecret = "wrong"
	c, err := bc.New(cfg)
	require.NoError(t, err)
	_, err = c.ListCompanies(t.Context())
	require.ErrorIs(t, err, bc.ErrUnauthorized)
	require.ErrorContains(t, err, "token endpoint")
	require.Equal(t, int64(1), c.Stats().Requests, "a refused token is not retried")
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.client.Get(t.Context(), bc.SetCustomers, "00000000-0000-4000-8000-00000000dead", bc.Query{})
	require.ErrorIs(t, err, bc.ErrNotFound)
	var apiErr *bc.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.Status)
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	pt := &peakTransport{base: http.DefaultTransport}
	var observed atomic.Int64
	b := setup(t, setupOpt{cfg: func(c *bc.Config) {
		c.HTTPClient = &http.Client{Transport: pt}
		c.MaxConcurrent = 3
		c.Observe = func(ri bc.RequestInfo) {
			if ri.EntitySet == bc.SetCustomers && ri.Status == http.StatusOK && ri.Duration > 0 {
				observed.Add(1)
			}
		}
	}})
	id := mustCustomerID(t, b, "10000")
	before := b.client.Stats().Requests
	errs := make(chan error, 30)
	for range 30 {
		go func() {
			_, err := b.client.Get(t.Context(), bc.SetCustomers, id, bc.Query{})
			errs <- err
		}()
	}
	for range 30 {
		require.NoError(t, <-errs)
	}
	require.LessOrEqual(t, pt.peak.Load(), int64(3))
	require.Equal(t, int64(30), b.client.Stats().Requests-before)
	require.Equal(t, int64(31), observed.Load(), "Observe saw every request (30 + the lookup)")
}

func mustCustomerID(t *testing.T, b *testBundle, number string) string {
	t.Helper()
	var id string
	err := bc.ListAs(t.Context(), b.client, bc.SetCustomers, bc.Query{Filter: "number eq '" + number + "'"}, func(p []bc.Customer) error {
		require.Len(t, p, 1)
		id = p[0].ID
		return nil
	})
	require.NoError(t, err)
	return id
}

func TestUsersAndMetadata(t *testing.T) {
	t.Parallel()
	b := setup(t)
	users, err := b.client.ListUsers(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, users)
	byName := map[string]bc.User{}
	for _, u := range users {
		require.True(t, bc.ValidGUID(u.UserSecurityID), u.UserName)
		byName[u.UserName] = u
	}
	require.Equal(t, "Enabled", byName[b.creds.User].State)

	md, err := b.client.Metadata(t.Context())
	require.NoError(t, err)
	require.Contains(t, string(md), "EntitySet Name=\"customers\"")
	require.Contains(t, string(md), "edmx:Edmx")
}

func TestCount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	all, err := b.client.Count(t.Context(), bc.SetItems, "")
	require.NoError(t, err)
	listed := 0
	require.NoError(t, b.client.List(t.Context(), bc.SetItems, bc.Query{}, func(p []json.RawMessage) error { listed += len(p); return nil }))
	require.Equal(t, int64(listed), all)
	one, err := b.client.Count(t.Context(), bc.SetItems, "number eq '1896-S'")
	require.NoError(t, err)
	require.Equal(t, int64(1), one)
}

// countingTransport counts the GETs of one entity set as they start.
type countingTransport struct {
	set  string
	gets atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+c.set) {
		c.gets.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestListFieldsReadsAhead: the next page is asked for while the caller
// still handles the current one; a reader that stops early gets its own
// error back and the page asked for ahead is dropped.
func TestListFieldsReadsAhead(t *testing.T) {
	t.Parallel()
	ct := &countingTransport{set: bc.SetCustomers}
	b := setup(t, setupOpt{cfg: func(c *bc.Config) { c.HTTPClient = &http.Client{Transport: ct} }})
	q := bc.Query{MaxPageSize: 2}
	var ids []string
	pages := 0
	require.NoError(t, b.client.ListFields(t.Context(), bc.SetCustomers, q, func(p []map[string]any) error {
		pages++
		if len(p) == 2 && pages < 3 {
			require.Eventually(t, func() bool { return ct.gets.Load() == int32(pages+1) }, 5*time.Second, time.Millisecond,
				"page %d: the service gets the next page's request before this page is done", pages)
		}
		for _, r := range p {
			ids = append(ids, r["id"].(string))
		}
		return nil
	}))
	require.GreaterOrEqual(t, pages, 3)
	require.Len(t, slices.Compact(slices.Sorted(slices.Values(ids))), len(ids), "each record once")

	stop := errors.New("enough")
	err := b.client.ListFields(t.Context(), bc.SetCustomers, q, func([]map[string]any) error { return stop })
	require.ErrorIs(t, err, stop)
}

// TestListFieldsFollowsOnlySafeLinks: a next link that repeats itself or
// leaves the API host ends the walk with an error naming it; the link
// found ahead is not requested either.
func TestListFieldsFollowsOnlySafeLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		next func(self string) string
		want string
	}{
		{"loop", func(self string) string { return self }, "same @odata.nextLink twice"},
		{"elsewhere", func(string) string { return "http://elsewhere.example/api/v2.0/companies(x)/customers?page=2" }, "not on the API host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gets atomic.Int32
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gets.Add(1)
				w.Header().Set("Content-Type", "application/json")
				self := srv.URL + r.URL.RequestURI()
				_ = json.NewEncoder(w).Encode(map[string]any{"value": []any{map[string]any{"id": "1"}}, "@odata.nextLink": tt.next(self)})
			}))
			t.Cleanup(srv.Close)
			c, err := bc.New(bc.Config{APIURL: srv.URL + "/BC/api/v2.0", CompanyID: "7c8b5b6e-0000-4000-8000-000000000001", Basic: &bc.Basic{User: "u", WebServiceKey: "k"}, Timeout: 5 * time.Second})
			require.NoError(t, err)
			pages := 0
			err = c.ListFields(t.Context(), bc.SetCustomers, bc.Query{}, func([]map[string]any) error { pages++; return nil })
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, 1, pages)
			require.Equal(t, int32(1), gets.Load())
		})
	}
}
