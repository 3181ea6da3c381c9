package availability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/availability"
	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
)

type env struct {
	sb  *sandbox.Sandbox
	crm *dataverse.Client
	erp *bc.Client
	st  store.Store
	log *slog.Logger
	srv *httptest.Server
	key string
}

// setup starts the demo sandbox, couples products to items by number and
// serves the availability service on 127.0.0.1 with one issued key.
func setup(t *testing.T, o availability.Options) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	r := sb.Ready()
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	crm, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: log})
	require.NoError(t, err)
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	require.NoError(t, err)
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	itemByNo := map[string]string{}
	require.NoError(t, bc.ListAs(ctx, erp, bc.SetItems, bc.Query{}, func(is []bc.Item) error {
		for _, i := range is {
			itemByNo[i.Number] = i.ID
		}
		return nil
	}))
	for p, err := range crm.All(ctx, "products", dataverse.Query{Select: []string{"productid", "productnumber"}}) {
		require.NoError(t, err)
		if id := itemByNo[p.String("productnumber")]; id != "" {
			_, err := st.PutCoupling(ctx, syncer.Coupling{Mapping: mapping.ItemProduct, ERPID: id, CRMID: p.String("productid"), LastResult: "Success"})
			require.NoError(t, err)
		}
	}
	o.ERP = func(context.Context) (*bc.Client, error) { return erp, nil }
	o.Store, o.Logger = st, log
	svc, err := availability.New(o)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/odata/v4/", svc.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	key, _, err := availability.CreateKey(ctx, st, r.ERPUser)
	require.NoError(t, err)
	return &env{sb: sb, crm: crm, erp: erp, st: st, log: log, srv: srv, key: key}
}

func (e *env) get(t *testing.T, path, user, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestService(t *testing.T) {
	t.Parallel()
	e := setup(t, availability.Options{})
	user := e.sb.Ready().ERPUser
	item, err := itemNo(e, "1996-S")
	require.NoError(t, err)

	for _, tc := range []struct {
		name, path, user, key string
		status                int
		contains              []string
	}{
		{"metadata", "/odata/v4/$metadata", user, e.key, 200, []string{`EntitySet Name="ProductItemAvailability"`, `Name="AvailableQty"`}},
		{"service document", "/odata/v4/", user, e.key, 200, []string{`"url":"ProductItemAvailability"`}},
		{"filter by item", "/odata/v4/ProductItemAvailability?$filter=ItemNo%20eq%20'1996-S'", user, e.key, 200,
			[]string{`"ItemNo":"1996-S"`, fmt.Sprintf(`"Inventory":%v`, item.Inventory), `"UOM":"PCS"`}},
		{"select", "/odata/v4/ProductItemAvailability?$filter=ItemNo%20eq%20'1996-S'&$select=ItemNo,Inventory", user, e.key, 200,
			[]string{`#ProductItemAvailability(ItemNo,Inventory)`}},
		{"by key", "/odata/v4/ProductItemAvailability('1996-S')", user, e.key, 200, []string{`"ItemNo":"1996-S"`}},
		{"unknown property", "/odata/v4/ProductItemAvailability?$filter=Price%20gt%201", user, e.key, 400, []string{"unknown property Price"}},
		{"wrong key", "/odata/v4/ProductItemAvailability", user, "wrong", 401, []string{"coupler keys create"}},
		{"wrong user", "/odata/v4/ProductItemAvailability", "SOMEONE", e.key, 401, nil},
		{"no credentials", "/odata/v4/ProductItemAvailability", "", "", 401, nil},
		{"unknown item", "/odata/v4/ProductItemAvailability('NOPE')", user, e.key, 404, []string{"NOPE"}},
	} {
		status, body := e.get(t, tc.path, tc.user, tc.key)
		require.Equal(t, tc.status, status, "%s: %s", tc.name, body)
		for _, c := range tc.contains {
			require.Contains(t, string(body), c, tc.name)
		}
		if tc.name == "select" {
			require.NotContains(t, string(body), "UOM")
		}
	}

	// A revoked key is refused.
	ks, err := e.st.ListServiceKeys(context.Background())
	require.NoError(t, err)
	require.NoError(t, availability.RevokeKey(context.Background(), e.st, ks[0].ID))
	status, _ := e.get(t, "/odata/v4/ProductItemAvailability", user, e.key)
	require.Equal(t, http.StatusUnauthorized, status)
}

func TestRepeatedFailuresAreSlowed(t *testing.T) {
	t.Parallel()
	e := setup(t, availability.Options{FreeFailures: 2})
	user := e.sb.Ready().ERPUser
	for range 2 {
		start := time.Now()
		status, _ := e.get(t, "/odata/v4/", user, "bad")
		require.Equal(t, 401, status)
		require.Less(t, time.Since(start), time.Second)
	}
	start := time.Now()
	status, _ := e.get(t, "/odata/v4/", user, "bad")
	require.Equal(t, 401, status)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "the third failure waits")
	// A good key still works from that address, and resets the count.
	status, _ = e.get(t, "/odata/v4/", user, e.key)
	require.Equal(t, 200, status)
}

func TestCacheMaxAge(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	e := setup(t, availability.Options{MaxAge: time.Minute, Now: clock})
	user := e.sb.Ready().ERPUser
	path := "/odata/v4/ProductItemAvailability('1928-S')?$select=Inventory"
	_, before := e.get(t, path, user, e.key)
	adjust(t, e, "1928-S", 5)
	_, cached := e.get(t, path, user, e.key)
	require.JSONEq(t, string(before), string(cached), "within max age the cached figure is served")
	now = now.Add(time.Minute)
	_, after := e.get(t, path, user, e.key)
	require.NotEqual(t, string(before), string(after), "past max age the ERP is read again")
}

func TestStockRefresh(t *testing.T) {
	t.Parallel()
	e := setup(t, availability.Options{})
	ctx := context.Background()
	res, err := availability.RefreshStock(ctx, e.erp, e.crm, e.st, e.log)
	require.NoError(t, err)
	require.Positive(t, res.Updated)
	item, err := itemNo(e, "1928-S")
	require.NoError(t, err)
	require.Equal(t, item.Inventory, qoh(t, e, "1928-S"))

	// Nothing moved: at most the entries of the cursor's own millisecond
	// are read again (BC's overlap; the demo seeds every entry at one time).
	first := res.Moved
	res, err = availability.RefreshStock(ctx, e.erp, e.crm, e.st, e.log)
	require.NoError(t, err)
	require.LessOrEqual(t, res.Moved, first)

	// An ERP shipment moves the item: the next run writes the new inventory.
	cust := firstCustomer(t, e)
	so, err := bc.CreateAs(ctx, e.erp, bc.SetSalesOrders, bc.SalesDocument{CustomerID: cust,
		SalesOrderLines: []bc.SalesDocumentLine{{LineType: "Item", LineObjectNumber: "1928-S", Quantity: 3}}})
	require.NoError(t, err)
	ctl(t, e, "salesOrders/"+so.Number+"/ship")
	res, err = availability.RefreshStock(ctx, e.erp, e.crm, e.st, e.log)
	require.NoError(t, err)
	require.GreaterOrEqual(t, res.Updated, 1)
	require.Equal(t, item.Inventory-3, qoh(t, e, "1928-S"))
}

func itemNo(e *env, no string) (bc.Item, error) {
	var out bc.Item
	err := bc.ListAs(context.Background(), e.erp, bc.SetItems, bc.Query{Filter: "number eq '" + no + "'"}, func(is []bc.Item) error {
		out = is[0]
		return nil
	})
	return out, err
}

func firstCustomer(t *testing.T, e *env) string {
	var id string
	require.NoError(t, bc.ListAs(context.Background(), e.erp, bc.SetCustomers, bc.Query{Top: 1}, func(cs []bc.Customer) error {
		id = cs[0].ID
		return nil
	}))
	return id
}

func qoh(t *testing.T, e *env, no string) float64 {
	for p, err := range e.crm.All(context.Background(), "products", dataverse.Query{Select: []string{"quantityonhand"}, Filter: "productnumber eq '" + no + "'"}) {
		require.NoError(t, err)
		f, err := p["quantityonhand"].(json.Number).Float64()
		require.NoError(t, err)
		return f
	}
	t.Fatalf("no CRM product %s", no)
	return 0
}

func ctl(t *testing.T, e *env, path string) {
	t.Helper()
	ctlBody(t, e, path, "")
}

func ctlBody(t *testing.T, e *env, path, body string) {
	t.Helper()
	u := e.sb.Ready().ERPURL
	u = u[:strings.Index(u, "/v2.0")] + "/_sandbox/" + path
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", u, b)
}

func adjust(t *testing.T, e *env, no string, qty float64) {
	ctlBody(t, e, "items/"+no+"/adjust", fmt.Sprintf(`{"quantity": %v}`, qty))
}
