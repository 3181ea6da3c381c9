package dataverse

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/sandbox/limits"
	"github.com/stretchr/testify/require"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name, token string
		wantDesc    bool
	}{
		{"no token", "", false},
		{"garbage token", "abc.def.ghi", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.doAs(t, tt.token, "GET", "WhoAmI", nil)
			require.Equal(t, http.StatusUnauthorized, r.status)
			wa := r.header.Get("WWW-Authenticate")
			require.True(t, strings.HasPrefix(wa, "Bearer authorization_uri="+e.base+"/"+e.issuer.Tenant()+"/oauth2/authorize"), wa)
			require.Contains(t, wa, "resource_id="+e.base+"/")
			require.Equal(t, tt.wantDesc, strings.Contains(wa, `error="invalid_token"`), wa)
		})
	}
	t.Run("token for another resource", func(t *testing.T) {
		other := setup(t)
		r := e.doAs(t, other.token, "GET", "WhoAmI", nil)
		require.Equal(t, http.StatusUnauthorized, r.status)
	})
}

func TestWhoAmIAndImpersonation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.srv.Credentials()
	integ := e.userToken(t, c.IntegrationUser, c.IntegrationPassword)
	r := e.doAs(t, integ, "GET", "WhoAmI", nil)
	require.Equal(t, 200, r.status, string(r.body))
	who := r.json(t)
	require.Equal(t, e.srv.ids.integrationUser.String(), who["UserId"])
	require.Equal(t, e.srv.ids.org.String(), who["OrganizationId"])
	require.Equal(t, e.srv.ids.rootBU.String(), who["BusinessUnitId"])
	require.Contains(t, who["@odata.context"], "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")

	// The app creates a record on behalf of the integration user.
	r = e.do(t, "POST", "accounts", map[string]any{"name": "Impersonated"}, "MSCRMCallerID: "+e.srv.ids.integrationUser.String(), "Prefer: return=representation")
	require.Equal(t, 201, r.status, string(r.body))
	acc := r.json(t)
	require.Equal(t, e.srv.ids.integrationUser.String(), acc["_modifiedby_value"])
	require.Equal(t, e.srv.ids.integrationUser.String(), acc["_createdby_value"])
	require.Equal(t, e.srv.ids.appUser.String(), acc["_createdonbehalfby_value"])
	require.Equal(t, e.srv.ids.integrationUser.String(), acc["_ownerid_value"])

	r = e.do(t, "GET", "WhoAmI", nil, "CallerObjectId: "+integrationUserObjectID.String())
	require.Equal(t, e.srv.ids.integrationUser.String(), r.json(t)["UserId"])
	r = e.do(t, "GET", "WhoAmI", nil, "MSCRMCallerID: 00000000-0000-0000-0000-000000000001")
	require.Equal(t, 404, r.status)
	require.Equal(t, codeObjectDoesNotExist, r.errorCode(t))
}

func TestRoutingAndVersions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, v := range []string{"v9.0", "v9.1", "v9.2"} {
		r := e.do(t, "GET", e.base+"/api/data/"+v+"/RetrieveVersion()", nil)
		require.Equal(t, 200, r.status, v)
		require.Equal(t, crmVersion, r.json(t)["Version"])
	}
	r := e.do(t, "GET", e.base+"/api/data/v8.2/accounts", nil)
	require.Equal(t, 404, r.status)
	r = e.do(t, "GET", "Account", nil)
	require.Equal(t, 404, r.status)
	require.Equal(t, codeResourceNotFound, r.errorCode(t))
	require.Contains(t, string(r.body), "Resource not found for the segment 'Account'.")
	r = e.do(t, "GET", "", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, string(r.body), `"name":"salesorders"`)
	r = e.do(t, "GET", "$metadata", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, string(r.body), `<EntitySet Name="accounts" EntityType="mscrm.account"/>`)
	require.Contains(t, string(r.body), `<NavigationProperty Name="customerid_account" Type="mscrm.account">`)
}

func TestServiceProtectionLimits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cfg := limits.DataverseDefaults()
	cfg.Requests, cfg.Window = 3, time.Minute
	e.srv.opts.Limiter = limits.New(cfg, nil)
	for i := 0; i < 3; i++ {
		require.Equal(t, 200, e.do(t, "GET", "WhoAmI", nil).status)
	}
	r := e.do(t, "GET", "WhoAmI", nil)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Equal(t, codeRequestsExceeded, r.errorCode(t))
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.Contains(t, string(r.body), "Number of requests exceeded the limit of 6000 over time window of 300 seconds.")
	stats := e.do(t, "GET", e.base+"/_sandbox/stats", nil).json(t)
	require.EqualValues(t, 1, stats["limits"].(map[string]any)["Throttled"])
	require.EqualValues(t, 1, stats["rows"].(map[string]any)["organization"])
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec   string
		status int
		code   string
	}{
		{"5xx=1,seed=1", 0, codeUnexpected},
		{"429=1,seed=1", http.StatusTooManyRequests, codeRequestsExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			spec, err := faults.Parse(tt.spec)
			require.NoError(t, err)
			e.srv.opts.Faults = faults.New(spec)
			r := e.do(t, "GET", "WhoAmI", nil)
			if tt.status != 0 {
				require.Equal(t, tt.status, r.status)
				require.NotEmpty(t, r.header.Get("Retry-After"))
			} else {
				require.GreaterOrEqual(t, r.status, 500)
			}
			require.Equal(t, tt.code, r.errorCode(t))
		})
	}
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		spec, err := faults.Parse("drop=1,seed=1")
		require.NoError(t, err)
		e.srv.opts.Faults = faults.New(spec)
		req, _ := http.NewRequest("GET", e.api+"WhoAmI", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		_, err = http.DefaultClient.Do(req)
		require.Error(t, err)
	})
}
