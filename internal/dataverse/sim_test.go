package dataverse

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/odata"
	"github.com/coupler/coupler/internal/sandbox/dataverse"
	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// fixture is the Dataverse simulator and its token endpoint on one
// 127.0.0.1 listener, as `coupler sandbox` serves them, plus a client.
type fixture struct {
	c        *Client
	sim      *dataverse.Server
	iss      *identity.Issuer
	url      string
	tokenURL string
	creds    dataverse.Credentials
}

func setup(t testing.TB, tune ...func(*dataverse.Options, *Config)) *fixture {
	t.Helper()
	return setupWrapped(t, nil, tune...)
}

// setupWrapped is setup with the simulator's handler wrapped, e.g. to slow
// its answers down.
func setupWrapped(t testing.TB, wrap func(http.Handler) http.Handler, tune ...func(*dataverse.Options, *Config)) *fixture {
	t.Helper()
	iss := identity.New(identity.Options{})
	opts := dataverse.Options{Identity: iss, Seed: "demo", Logger: slog.New(slog.DiscardHandler)}
	cfg := Config{MaxAttempts: 6, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Timeout: 20 * time.Second,
		RequestsPerSecond: -1}
	for _, f := range tune {
		f(&opts, &cfg)
	}
	sim, err := dataverse.New(opts)
	require.NoError(t, err)
	// The simulator serves its token endpoint on the same listener, as
	// `coupler sandbox` does: token_url = {crm_url}/{tenant}/oauth2/v2.0/token.
	h := sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	creds := sim.Credentials()
	f := &fixture{sim: sim, iss: iss, url: srv.URL, tokenURL: srv.URL + "/" + creds.Tenant + "/oauth2/v2.0/token", creds: creds}
	conn, err := ParseConnectionString("AuthType=ClientSecret;Url=" + srv.URL + ";ClientId=" + f.creds.ClientID + ";ClientSecret={CLIENTSECRET}")
	require.NoError(t, err)
	conn, err = conn.Fill(Secrets{ClientSecret: f.creds.ClientSecret})
	require.NoError(t, err)
	cfg.Conn = &conn
	cfg.TokenURL = f.tokenURL
	f.c, err = New(context.Background(), cfg)
	require.NoError(t, err)
	return f
}

func TestSimWhoAmIAndVersion(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	who, err := f.c.WhoAmI(ctx)
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f-]{36}$`, who.UserID)
	require.Regexp(t, `^[0-9a-f-]{36}$`, who.BusinessUnitID)
	v, err := f.c.RetrieveVersion(ctx)
	require.NoError(t, err)
	major, _, err := MajorMinor(v)
	require.NoError(t, err)
	require.Equal(t, 9, major)
}

func TestSimDiscoversTokenEndpoint(t *testing.T) {
	t.Parallel()
	f := setup(t)
	got, err := DiscoverTokenURL(context.Background(), http.DefaultClient, f.url)
	require.NoError(t, err)
	require.Equal(t, f.tokenURL, got)
}

func TestSimRecordLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()

	id, err := f.c.Create(ctx, "accounts", map[string]any{"name": "Lifecycle Ltd", "telephone1": "555-0100"})
	require.NoError(t, err)
	rec, err := f.c.Retrieve(ctx, "accounts", ID(id), "name", "telephone1")
	require.NoError(t, err)
	require.Equal(t, "Lifecycle Ltd", rec.String("name"))
	require.Equal(t, id, rec.String("accountid"))
	etag := rec.ETag()
	require.NotEmpty(t, etag)

	require.NoError(t, f.c.Update(ctx, "accounts", ID(id), map[string]any{"telephone1": "555-0199"}, etag))
	err = f.c.Update(ctx, "accounts", ID(id), map[string]any{"telephone1": "555-0000"}, etag)
	require.ErrorIs(t, err, ErrPreconditionFailed, "stale ETag")

	missing := "00000000-0000-0000-0000-00000000dead"
	err = f.c.Update(ctx, "accounts", ID(missing), map[string]any{"name": "x"}, "")
	require.ErrorIs(t, err, ErrNotFound, "Update never creates")
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.NotEmpty(t, ae.Message)

	newID := "6b1d0a52-3c4e-4f71-8a90-1234567890ab"
	up, err := f.c.Upsert(ctx, "accounts", ID(newID), map[string]any{"name": "Upserted"})
	require.NoError(t, err)
	if up.ID != "" {
		require.Equal(t, newID, up.ID)
	}
	_, err = f.c.Upsert(ctx, "accounts", ID(newID), map[string]any{"name": "Upserted twice"})
	require.NoError(t, err)
	rec, err = f.c.Retrieve(ctx, "accounts", ID(newID), "name")
	require.NoError(t, err)
	require.Equal(t, "Upserted twice", rec.String("name"))
	require.ErrorIs(t, f.c.CreateOnly(ctx, "accounts", ID(newID), map[string]any{"name": "dup"}), ErrPreconditionFailed)

	require.NoError(t, f.c.Delete(ctx, "accounts", ID(newID), ""))
	_, err = f.c.Retrieve(ctx, "accounts", ID(newID))
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, CodeObjectNotFound, ae.Code)
	require.ErrorIs(t, f.c.Delete(ctx, "accounts", ID(newID), ""), ErrNotFound)

	_, err = f.c.Create(ctx, "accounts", map[string]any{"nosuchcolumn": 1})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve, "unknown column")
	require.ErrorIs(t, err, ErrValidation)
	_, err = f.c.Create(ctx, "nosuchtables", map[string]any{"name": "x"})
	require.Error(t, err)
	st := f.c.Stats()
	require.Positive(t, st.Count(http.MethodPost, http.StatusNoContent))
	require.Positive(t, st.Total())
}

func TestSimPagingAndCount(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	reqs := make([]BatchRequest, 25)
	for i := range reqs {
		reqs[i] = BatchRequest{Method: http.MethodPost, Path: "accounts", Body: map[string]any{"name": "Paged " + string(rune('A'+i))}}
	}
	res, err := f.c.Batch(ctx, reqs, BatchOptions{})
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err, "request %d", i)
		require.NotEmpty(t, r.EntityID)
	}
	q := Query{Select: []string{"name"}, Filter: "startswith(name,'Paged ')", PageSize: 10, Count: true}
	var pages, rows int
	require.NoError(t, f.c.List(ctx, "accounts", q, func(p Page) error {
		pages++
		rows += len(p.Records)
		if pages == 1 {
			require.Equal(t, 25, p.Count)
			require.NotEmpty(t, p.NextLink)
		}
		return nil
	}))
	require.Equal(t, 3, pages)
	require.Equal(t, 25, rows)

	n := 0
	for r, err := range f.c.All(ctx, "accounts", Query{Select: []string{"name"}, Filter: "startswith(name,'Paged ')", PageSize: 7}) {
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(r.String("name"), "Paged "))
		n++
		if n == 12 {
			break
		}
	}
	require.Equal(t, 12, n)

	count, err := f.c.Count(ctx, "accounts", "accountid", "startswith(name,'Paged ')")
	require.NoError(t, err)
	require.Equal(t, 25, count)

	err = f.c.List(ctx, "accounts", Query{Filter: "name eq"}, func(Page) error { return nil })
	require.ErrorIs(t, err, ErrValidation, "a malformed $filter is the service's 400")
}

func TestSimChangeTracking(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	a, err := f.c.Create(ctx, "accounts", map[string]any{"name": "Tracked A"})
	require.NoError(t, err)
	b, err := f.c.Create(ctx, "accounts", map[string]any{"name": "Tracked B"})
	require.NoError(t, err)

	seen := map[string]bool{}
	delta, err := f.c.Changes(ctx, "accounts", Query{Select: []string{"name"}, PageSize: 50}, "", func(p Page) error {
		for _, r := range p.Records {
			seen[r.String("accountid")] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, delta)
	require.True(t, seen[a] && seen[b], "the initial read returns every row")

	require.NoError(t, f.c.Update(ctx, "accounts", ID(a), map[string]any{"name": "Tracked A2"}, ""))
	require.NoError(t, f.c.Delete(ctx, "accounts", ID(b), ""))
	var changed []string
	var deleted []string
	next, err := f.c.Changes(ctx, "accounts", Query{Select: []string{"name"}}, delta, func(p Page) error {
		for _, r := range p.Records {
			changed = append(changed, r.String("name"))
		}
		for _, d := range p.Deleted {
			deleted = append(deleted, d.ID)
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, next)
	require.Equal(t, []string{"Tracked A2"}, changed)
	require.Equal(t, []string{b}, deleted)
}

func TestSimBatch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()

	res, err := f.c.Batch(ctx, []BatchRequest{
		{Method: http.MethodPost, Path: "accounts", Body: map[string]any{"name": "Batch Parent"}, ChangeSet: "cs", ContentID: "1"},
		{Method: http.MethodPost, Path: "contacts", ChangeSet: "cs",
			Body: map[string]any{"lastname": "Batch Child", "parentcustomerid_account@odata.bind": "$1"}},
		{Method: http.MethodGet, Path: "accounts?$select=name&$filter=name%20eq%20'Batch%20Parent'"},
	}, BatchOptions{})
	require.NoError(t, err)
	require.Len(t, res, 3)
	for i, r := range res {
		require.NoError(t, r.Err, "request %d", i)
	}
	contact, err := f.c.Retrieve(ctx, "contacts", ID(res[1].EntityID), "_parentcustomerid_value")
	require.NoError(t, err)
	require.Equal(t, res[0].EntityID, contact.String("_parentcustomerid_value"))
	page, err := decodePage(odata.NewDecoder(), res[2].Body)
	require.NoError(t, err)
	require.Len(t, page.Records, 1)

	// A failing change set rolls back whole; continue-on-error runs the rest.
	missing := "00000000-0000-0000-0000-00000000dead"
	res, err = f.c.Batch(ctx, []BatchRequest{
		{Method: http.MethodPost, Path: "accounts", Body: map[string]any{"name": "Rolled back"}, ChangeSet: "a"},
		{Method: http.MethodPatch, Path: "accounts(" + missing + ")", Body: map[string]any{"name": "x"}, Header: http.Header{"If-Match": {"*"}}, ChangeSet: "a"},
		{Method: http.MethodDelete, Path: "accounts(" + missing + ")"},
		{Method: http.MethodPost, Path: "accounts", Body: map[string]any{"name": "After errors"}},
	}, BatchOptions{ContinueOnError: true})
	require.NoError(t, err)
	require.ErrorIs(t, res[0].Err, ErrRolledBack)
	require.ErrorIs(t, res[1].Err, ErrNotFound)
	require.ErrorIs(t, res[2].Err, ErrNotFound)
	require.NoError(t, res[3].Err)
	n, err := f.c.Count(ctx, "accounts", "accountid", "name eq 'Rolled back'")
	require.NoError(t, err)
	require.Zero(t, n)

	// Without continue-on-error the first failure stops the batch.
	res, err = f.c.Batch(ctx, []BatchRequest{
		{Method: http.MethodDelete, Path: "accounts(" + missing + ")"},
		{Method: http.MethodPost, Path: "accounts", Body: map[string]any{"name": "Never"}},
	}, BatchOptions{})
	require.NoError(t, err)
	require.ErrorIs(t, res[0].Err, ErrNotFound)
	require.ErrorIs(t, res[1].Err, ErrNotExecuted)

	big := make([]BatchRequest, MaxBatchRequests+1)
	for i := range big {
		big[i] = BatchRequest{Method: http.MethodGet, Path: "WhoAmI"}
	}
	_, err = f.c.Batch(ctx, big, BatchOptions{})
	require.ErrorContains(t, err, "at most 1000")
}

func TestSimAssociateAndImpersonate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	who, err := f.c.WhoAmI(ctx)
	require.NoError(t, err)

	held := func() []string {
		user, err := f.c.RetrieveQuery(ctx, "systemusers", ID(who.UserID),
			Query{Select: []string{"systemuserid"}, Expand: "systemuserroles_association($select=roleid)"})
		require.NoError(t, err)
		var ids []string
		roles, _ := user["systemuserroles_association"].([]any)
		for _, r := range roles {
			if m, ok := r.(map[string]any); ok {
				id, _ := m["roleid"].(string)
				ids = append(ids, id)
			}
		}
		return ids
	}
	before := held()
	var roleID string
	for r, err := range f.c.All(ctx, "roles", Query{Select: []string{"roleid", "name"}}) {
		require.NoError(t, err)
		if !slices.Contains(before, r.String("roleid")) {
			roleID = r.String("roleid")
			break
		}
	}
	require.NotEmpty(t, roleID, "a role the user does not hold")
	require.NoError(t, f.c.Associate(ctx, "systemusers", ID(who.UserID), "systemuserroles_association", "roles", ID(roleID)))
	require.Contains(t, held(), roleID)
	err = f.c.Associate(ctx, "systemusers", ID(who.UserID), "systemuserroles_association", "roles", ID(roleID))
	require.Error(t, err, "associating twice is refused")
	require.NoError(t, f.c.Disassociate(ctx, "systemusers", ID(who.UserID), "systemuserroles_association", ID(roleID)))
	require.NotContains(t, held(), roleID)

	// Impersonate another user: WhoAmI and modifiedby follow the caller.
	var other string
	require.NoError(t, f.c.List(ctx, "systemusers", Query{Select: []string{"systemuserid"}, Filter: "systemuserid ne " + who.UserID, Top: 1},
		func(p Page) error {
			require.NotEmpty(t, p.Records)
			other = p.Records[0].String("systemuserid")
			return nil
		}))
	ictx := WithCaller(ctx, Caller{SystemUserID: other})
	iw, err := f.c.WhoAmI(ictx)
	require.NoError(t, err)
	require.Equal(t, other, iw.UserID)
	id, err := f.c.Create(ictx, "accounts", map[string]any{"name": "On behalf"})
	require.NoError(t, err)
	rec, err := f.c.Retrieve(ctx, "accounts", ID(id), "_modifiedby_value")
	require.NoError(t, err)
	require.Equal(t, other, rec.String("_modifiedby_value"))
}

func TestSimUnauthorized(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c, err := New(context.Background(), Config{URL: f.url, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "not-a-token"}),
		MaxAttempts: 3, BaseBackoff: time.Millisecond})
	require.NoError(t, err)
	_, err = c.WhoAmI(context.Background())
	require.ErrorIs(t, err, ErrUnauthorized)
	require.Equal(t, int64(2), c.Stats().Count(http.MethodGet, http.StatusUnauthorized), "one retry with a fresh token, then stop")

	bad, err := ParseConnectionString("AuthType=ClientSecret;Url=" + f.url + ";ClientId=" + f.creds.ClientID + ";ClientSecret=wrong")
	require.NoError(t, err)
	c, err = New(context.Background(), Config{Conn: &bad, TokenURL: f.tokenURL})
	require.NoError(t, err)
	_, err = c.WhoAmI(context.Background())
	require.ErrorIs(t, err, ErrUnauthorized)
	require.ErrorContains(t, err, "AADSTS")
}

func TestSimAlternateKeyUpsertAndCallerObjectID(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	// Define the key the way an administrator (or coupler's setup) would.
	_, err := f.c.Do(ctx, Request{Method: http.MethodPost, Path: "EntityDefinitions(LogicalName='account')/Keys",
		Body: []byte(`{"SchemaName":"cpl_accountnumber","DisplayName":{"LocalizedLabels":[{"Label":"Account number","LanguageCode":1033}]},"KeyAttributes":["accountnumber"]}`)})
	require.NoError(t, err)

	key := AlternateKey(map[string]any{"accountnumber": "CPL-0'1"})
	up, err := f.c.Upsert(ctx, "accounts", key, map[string]any{"name": "Keyed"})
	require.NoError(t, err)
	rec, err := f.c.Retrieve(ctx, "accounts", key, "name", "accountnumber")
	require.NoError(t, err)
	require.Equal(t, "Keyed", rec.String("name"))
	require.Equal(t, "CPL-0'1", rec.String("accountnumber"))
	if up.ID != "" {
		require.Equal(t, up.ID, rec.String("accountid"))
	}
	_, err = f.c.Upsert(ctx, "accounts", key, map[string]any{"name": "Keyed again"})
	require.NoError(t, err)
	n, err := f.c.Count(ctx, "accounts", "accountid", "accountnumber eq 'CPL-0''1'")
	require.NoError(t, err)
	require.Equal(t, 1, n, "the second upsert updated, not inserted")

	// CallerObjectId impersonates by the user's Microsoft Entra object id.
	var target Record
	for r, err := range f.c.All(ctx, "systemusers", Query{Select: []string{"systemuserid", "azureactivedirectoryobjectid"}, Filter: "azureactivedirectoryobjectid ne null"}) {
		require.NoError(t, err)
		target = r
		break
	}
	require.NotNil(t, target, "a user with an Entra object id")
	who, err := f.c.WhoAmI(WithCaller(ctx, Caller{ObjectID: target.String("azureactivedirectoryobjectid")}))
	require.NoError(t, err)
	require.Equal(t, target.String("systemuserid"), who.UserID)
	_, err = f.c.WhoAmI(WithCaller(ctx, Caller{ObjectID: "00000000-0000-0000-0000-0000000000ff"}))
	require.ErrorIs(t, err, ErrNotFound)
}

func TestSimAnnotationsAndDeltaPaging(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	var rec Record
	for r, err := range f.c.All(ctx, "accounts", Query{Select: []string{"name", "statecode"}, Top: 1, Annotations: "OData.Community.Display.V1.FormattedValue"}) {
		require.NoError(t, err)
		rec = r
	}
	require.NotNil(t, rec)
	require.Equal(t, "Active", rec.String("statecode@OData.Community.Display.V1.FormattedValue"))

	rows := 0
	pages := 0
	delta, err := f.c.Changes(ctx, "contacts", Query{Select: []string{"fullname"}, PageSize: 2}, "", func(p Page) error {
		pages++
		rows += len(p.Records)
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, delta)
	require.Greater(t, pages, 1, "the initial delta read pages with maxpagesize")
	total, err := f.c.Count(ctx, "contacts", "contactid", "")
	require.NoError(t, err)
	require.Equal(t, total, rows)
}

func TestSimBatchContentIDsNeverCollide(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	res, err := f.c.Batch(ctx, []BatchRequest{
		{Method: http.MethodPost, Path: "accounts", Body: map[string]any{"name": "Auto id"}, ChangeSet: "cs"},
		{Method: http.MethodPost, Path: "accounts", Body: map[string]any{"name": "Caller id"}, ChangeSet: "cs", ContentID: "1"},
		{Method: http.MethodPost, Path: "contacts", ChangeSet: "cs",
			Body: map[string]any{"lastname": "Bound", "parentcustomerid_account@odata.bind": "$1"}},
	}, BatchOptions{})
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err, "request %d", i)
	}
	require.NotEqual(t, res[0].EntityID, res[1].EntityID)
	auto, err := f.c.Retrieve(ctx, "accounts", ID(res[0].EntityID), "name")
	require.NoError(t, err)
	require.Equal(t, "Auto id", auto.String("name"), "results map back to their own requests")
	c, err := f.c.Retrieve(ctx, "contacts", ID(res[2].EntityID), "_parentcustomerid_value")
	require.NoError(t, err)
	require.Equal(t, res[1].EntityID, c.String("_parentcustomerid_value"), "$1 is the caller's Content-ID")
}

// TestSimListReadsAhead: the next page is asked for while the caller still
// handles the current one, and a reader that stops early leaves no error.
func TestSimListReadsAhead(t *testing.T) {
	t.Parallel()
	var gets atomic.Int32
	f := setupWrapped(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/accounts") {
				gets.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	reqs := make([]BatchRequest, 30)
	for i := range reqs {
		reqs[i] = BatchRequest{Method: http.MethodPost, Path: "accounts", Body: map[string]any{"name": fmt.Sprintf("Ahead %02d", i)}}
	}
	_, err := f.c.Batch(ctx, reqs, BatchOptions{})
	require.NoError(t, err)
	q := Query{Select: []string{"name"}, Filter: "startswith(name,'Ahead ')", PageSize: 10}
	var names []string
	pages := 0
	require.NoError(t, f.c.List(ctx, "accounts", q, func(p Page) error {
		pages++
		if pages < 3 {
			// The service gets the next page's request before this page is done.
			require.Eventually(t, func() bool { return gets.Load() == int32(pages+1) }, 5*time.Second, time.Millisecond, "page %d", pages)
		}
		for _, r := range p.Records {
			names = append(names, r.String("name"))
		}
		return nil
	}))
	require.Equal(t, 3, pages)
	require.Len(t, names, 30)
	require.Len(t, slices.Compact(slices.Sorted(slices.Values(names))), 30, "each row once")

	err = f.c.List(ctx, "accounts", q, func(p Page) error { return ErrStop })
	require.NoError(t, err, "stopped after the first page; the page asked for ahead is dropped")
}
