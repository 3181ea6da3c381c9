package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/availability"
	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/logging"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/secret"
	connsetup "github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/users"
)

// configure saves, imports, assigns and enables the connection to the
// sandbox with extra answers, as the assisted setup's Finish does.
func (e *e2e) configure(t *testing.T, extra connsetup.Answers) {
	t.Helper()
	ctx := t.Context()
	r := e.r
	box, err := secret.New(secret.Options{Store: e.d.Store(), DataDir: e.dir, Logger: logging.Discard()})
	require.NoError(t, err)
	_, err = box.Enable(ctx)
	require.NoError(t, err)
	svc := &connsetup.Service{Conns: e.d.Store(), Secrets: box, NotFound: store.ErrNotFound, Log: logging.Discard(),
		Options: connsetup.DialOptions{Logger: logging.Discard()}}
	a := connsetup.Answers{
		"allow-insecure": "yes", "crm.url": r.CRMURL, "crm.auth-type": string(connsetup.AuthOAuth),
		"crm.user": r.IntegrationUser, "crm.password": r.IntegrationPassword, "crm.token-url": r.TokenURL,
		"erp.url": r.ERPURL, "erp.company-id": r.ERPCompanyID, "erp.auth-type": "oauth",
		"erp.client-id": r.ERPClientID, "erp.client-secret": r.ERPClientSecret, "erp.token-url": r.TokenURL,
		"erp.web-client-url": r.ERPWebClientURL,
	}
	for k, v := range extra {
		a[k] = v
	}
	d := connsetup.NewDraft(connsetup.DefaultName, "", map[string]bool{})
	_, err = connsetup.Build(a, d)
	require.NoError(t, err)
	require.NoError(t, svc.Save(ctx, d))
	require.NoError(t, svc.ImportSolution(ctx, connsetup.DefaultName, &connsetup.AdminCredentials{User: r.CRMAdminUser, Password: r.CRMAdminPassword}))
	_, err = svc.AssignRoles(ctx, connsetup.DefaultName)
	require.NoError(t, err)
	list, err := svc.Enable(ctx, connsetup.DefaultName)
	require.NoError(t, err, "%+v", list)
}

// coupleDemo couples accounts↔customers by name and products↔items by
// number, as the default synchronisation would, and returns the clients.
func (e *e2e) coupleDemo(t *testing.T) (*bc.Client, *dataverse.Client) {
	t.Helper()
	ctx := context.Background()
	r, st := e.r, e.d.Store()
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	crm, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: logging.Discard()})
	require.NoError(t, err)
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: logging.Discard(),
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	require.NoError(t, err)
	byName := map[string]string{}
	require.NoError(t, bc.ListAs(ctx, erp, bc.SetCustomers, bc.Query{}, func(cs []bc.Customer) error {
		for _, c := range cs {
			byName[c.DisplayName] = c.ID
		}
		return nil
	}))
	for a, err := range crm.All(ctx, "accounts", dataverse.Query{Select: []string{"accountid", "name"}}) {
		require.NoError(t, err)
		if id := byName[a.String("name")]; id != "" {
			_, err := st.PutCoupling(ctx, syncer.Coupling{Mapping: mapping.Customer, ERPID: id, CRMID: a.String("accountid"), LastResult: "Success"})
			require.NoError(t, err)
		}
	}
	byNo := map[string]string{}
	require.NoError(t, bc.ListAs(ctx, erp, bc.SetItems, bc.Query{}, func(is []bc.Item) error {
		for _, i := range is {
			byNo[i.Number] = i.ID
		}
		return nil
	}))
	for p, err := range crm.All(ctx, "products", dataverse.Query{Select: []string{"productid", "productnumber"}}) {
		require.NoError(t, err)
		if id := byNo[p.String("productnumber")]; id != "" {
			_, err := st.PutCoupling(ctx, syncer.Coupling{Mapping: mapping.ItemProduct, ERPID: id, CRMID: p.String("productid"), LastResult: "Success"})
			require.NoError(t, err)
		}
	}
	return erp, crm
}

// as signs in to the daemon and returns the client and a CSRF token.
func (e *e2e) as(t *testing.T, email string) (*http.Client, string) {
	t.Helper()
	c := client(t)
	tok := csrfFrom(t, c, e.base+"/signin")
	resp, err := c.PostForm(e.base+"/signin", url.Values{"email": {email}, "password": {"correct horse battery"}, "csrf_token": {tok}, "next": {"/"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, email)
	return c, csrfFrom(t, c, e.base+"/connection")
}

func post(t *testing.T, c *http.Client, u, csrf string, form url.Values) (int, string) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", csrf)
	resp, err := c.PostForm(u, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func getPage(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var erpNumberRe = regexp.MustCompile(`data-number="ORD-01001-DEMO01"><td>ORD-01001-DEMO01</td><td>[^<]*</td><td><span class="badge ok">created</span></td><td class="erp-number">([^<]+)</td>`)

// TestSalesOrdersAvailabilityAndUserMapping runs the features wired into
// the daemon against the sandbox: users mapped to CRM users (and an
// unmapped one refused with the reason), the pending CRM orders and their
// creation in the ERP by role, and the item availability service with a
// key issued by coupler.
func TestSalesOrdersAvailabilityAndUserMapping(t *testing.T) {
	t.Parallel()
	e := startE2E(t)
	ctx := t.Context()
	e.configure(t, connsetup.Answers{"sales-orders.enabled": "yes", "users-must-map": "yes",
		"availability.enabled": "yes", "availability.user": e.r.ERPUser, "availability.odata-url": e.base + "/odata/v4/ProductItemAvailability", "availability.access-key": e.r.ERPWebServiceKey})
	erp, crm := e.coupleDemo(t)
	us := users.NewService(e.d.Store(), logging.Discard(), cheapKDF)
	for _, u := range []struct {
		email string
		role  users.Role
	}{{"jo@contoso.com", users.RoleOperator}, {"viewer@example.com", users.RoleViewer}, {"nobody@example.com", users.RoleOperator}} {
		_, err := us.Create(ctx, u.email, "", u.role, "correct horse battery")
		require.NoError(t, err)
	}

	// Map users (admin): Jim matches his CRM user, nobody@ does not.
	admin, csrf := e.as(t, "admin@example.com")
	status, body := post(t, admin, e.base+"/users/map", csrf, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "user(s) mapped to CRM users")
	require.Contains(t, body, "no CRM user has the primary e-mail nobody@example.com")
	jo, joCSRF := e.as(t, "jo@contoso.com")
	_, body = getPage(t, jo, e.base+"/connection")
	require.Regexp(t, `id="current-user-mapped"><span class="badge ok">yes</span> CRM user [0-9a-f-]{36}`, body)
	nobody, nobodyCSRF := e.as(t, "nobody@example.com")
	_, body = getPage(t, nobody, e.base+"/connection")
	require.Contains(t, body, "no CRM user is mapped to nobody@example.com")

	// Coupled records link both ways: the ERP card filtered on the
	// customer's number (as the links written to the CRM) and the CRM form.
	_, body = getPage(t, jo, e.base+"/couplings?mapping=CUSTOMER")
	require.Regexp(t, `href="`+regexp.QuoteMeta(e.r.ERPWebClientURL)+`[^"]*page=21[^"]*filter=`, body)
	require.Contains(t, body, "main.aspx?etn=account")

	// An unmapped user is refused a manual sync of one record, with the reason.
	cs, err := e.d.Store().ListCouplings(ctx, store.CouplingFilter{Mapping: mapping.Customer, Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, cs)
	tok := createTokenAt(t, e.base, nobody, nobodyCSRF)
	code, apiBody := apiCallAt(t, e.base, tok, "POST", "/api/v1/sync", `{"mappings":["CUSTOMER"],"records":["`+cs[0].ERPID+`"]}`)
	require.Equal(t, http.StatusForbidden, code, apiBody)
	require.Contains(t, apiBody["message"], "no CRM user is mapped to nobody@example.com")
	// … and the same on the page: order creation refused with the reason.
	status, body = post(t, nobody, e.base+"/orders/create", nobodyCSRF, nil)
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, "cannot make changes in the CRM")

	// … and a manual couple, on the coupled records page.
	status, body = post(t, nobody, e.base+"/couplings/couple", nobodyCSRF, url.Values{"mapping": {"CUSTOMER"}, "erp_id": {cs[0].ERPID}, "crm_id": {cs[0].CRMID}})
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, "no CRM user is mapped to nobody@example.com")

	// A mapped user's one-record sync runs now, as that user.
	_, err = erp.Update(ctx, bc.SetCustomers, cs[0].ERPID, "*", map[string]any{"phoneNumber": "+44 20 7946 0999"})
	require.NoError(t, err)
	joTok := createTokenAt(t, e.base, jo, joCSRF)
	// The customer's salesperson must be coupled for its owner to resolve.
	code, apiBody = apiCallAt(t, e.base, joTok, "POST", "/api/v1/couplings/match", `{"mapping":"SALESPEOPLE","dry_run":false}`)
	require.Equal(t, http.StatusOK, code, apiBody)
	code, apiBody = apiCallAt(t, e.base, joTok, "POST", "/api/v1/sync", `{"mappings":["CUSTOMER"],"records":["`+cs[0].ERPID+`"]}`)
	require.Equal(t, http.StatusOK, code, apiBody)
	require.Positive(t, apiBody["job_id"])
	joUser, err := e.d.Store().GetUserByEmail(ctx, "jo@contoso.com")
	require.NoError(t, err)
	require.NotEmpty(t, joUser.CRMUserID)
	rec, err := crm.Retrieve(ctx, "accounts", dataverse.ID(cs[0].CRMID), "telephone1", "_modifiedby_value")
	require.NoError(t, err)
	require.Equal(t, "+44 20 7946 0999", rec.String("telephone1"))
	require.Equal(t, joUser.CRMUserID, strings.ToLower(rec.String("_modifiedby_value")), "the CRM records the change as Jim's")

	// The demo's submitted orders are pending; a viewer sees but may not create.
	viewerC, viewerCSRF := e.as(t, "viewer@example.com")
	status, body = getPage(t, viewerC, e.base+"/orders")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `data-number="ORD-01001-DEMO01"`)
	require.NotContains(t, body, `id="create-orders"`)
	status, body = post(t, viewerC, e.base+"/orders/create", viewerCSRF, nil)
	require.Equal(t, http.StatusForbidden, status, body)

	// The operator creates them: ORD-01001-DEMO01 becomes an ERP order, the
	// write-in order fails with its reason, the page says both.
	status, body = post(t, jo, e.base+"/orders/create", joCSRF, nil)
	require.Equal(t, http.StatusOK, status, body)
	m := erpNumberRe.FindStringSubmatch(body)
	require.NotNil(t, m, body)
	var docs []bc.SalesDocument
	require.NoError(t, bc.ListAs(ctx, erp, bc.SetSalesOrders, bc.Query{Filter: "number eq '" + m[1] + "'"},
		func(ds []bc.SalesDocument) error { docs = append(docs, ds...); return nil }))
	require.Len(t, docs, 1, "the ERP holds order %s", m[1])
	require.Contains(t, body, `class="result failed"`)
	require.Contains(t, body, "write-in")
	_, body = getPage(t, jo, e.base+"/orders")
	require.NotContains(t, body, `class="pending" data-number="ORD-01001-DEMO01"`, "a created order is no longer pending")

	// Item availability: a key issued by coupler opens the OData service,
	// served by the daemon beside the UI; no key or a wrong one is refused.
	key, _, err := availability.CreateKey(ctx, e.d.Store(), e.r.ERPUser)
	require.NoError(t, err)
	odata := func(user, pass string) (int, []byte, http.Header) {
		req, err := http.NewRequest(http.MethodGet, e.base+"/odata/v4/ProductItemAvailability?$top=3", nil)
		require.NoError(t, err)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	code, raw, hdr := odata(e.r.ERPUser, key)
	require.Equal(t, http.StatusOK, code, string(raw))
	var doc struct {
		Value []map[string]any `json:"value"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.NotEmpty(t, doc.Value)
	require.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"), "the UI's security headers apply")
	code, _, hdr = odata("", "")
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, hdr.Get("WWW-Authenticate"), "Basic")
	code, _, _ = odata(e.r.ERPUser, key+"x")
	require.Equal(t, http.StatusUnauthorized, code)

	// The availability page shows the service URL and the keys; an admin
	// creates one (shown once) and revokes it.
	_, body = getPage(t, viewerC, e.base+"/availability")
	require.Contains(t, body, "/odata/v4/ProductItemAvailability")
	require.NotContains(t, body, key)
	status, body = post(t, admin, e.base+"/availability/keys", csrf, url.Values{"user_name": {e.r.ERPUser}})
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `id="new-key"`)
	keys, err := e.d.Store().ListServiceKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	status, body = post(t, admin, e.base+"/availability/keys/"+jsonID(keys[0].ID)+"/revoke", csrf, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "revoked")

	// Reset of the web client URL queues the rewrite of the CRM's ERP links.
	status, body = post(t, admin, e.base+"/connection/reset-web-client-url", csrf, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "The ERP links of coupled CRM records are being rewritten.")
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

func createTokenAt(t *testing.T, base string, c *http.Client, csrf string) string {
	t.Helper()
	status, s := post(t, c, base+"/tokens", csrf, url.Values{"name": {"test"}})
	require.Equal(t, http.StatusOK, status, s)
	i := strings.Index(s, `id="new-token">`)
	require.Positive(t, i, "the new token is shown once")
	s = s[i+len(`id="new-token">`):]
	return s[:strings.Index(s, "<")]
}

func apiCallAt(t *testing.T, base, tok, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
