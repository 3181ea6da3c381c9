package bc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAPIRoot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in                   string
		layout                     Layout
		tenant, env, instance, url string
		wantErr                    string
	}{
		{name: "online", in: "https://api.businesscentral.dynamics.com/v2.0/contoso.onmicrosoft.com/Production/api/v2.0",
			layout: LayoutOnline, tenant: "contoso.onmicrosoft.com", env: "Production",
			url: "https://api.businesscentral.dynamics.com/v2.0/contoso.onmicrosoft.com/Production/api/v2.0"},
		{name: "online trailing slash and spaces", in: "  https://api.businesscentral.dynamics.com/v2.0/t/sandbox/api/v2.0/ ",
			layout: LayoutOnline, tenant: "t", env: "sandbox", url: "https://api.businesscentral.dynamics.com/v2.0/t/sandbox/api/v2.0"},
		{name: "online without tenant", in: "https://api.businesscentral.dynamics.com/v2.0/Production/api/v2.0",
			layout: LayoutOnline, env: "Production", url: "https://api.businesscentral.dynamics.com/v2.0/Production/api/v2.0"},
		{name: "sandbox loopback", in: "http://127.0.0.1:5556/v2.0/3f5c1a2e-7b9d-4e61-8c0f-2a4b6d8e0c17/sandbox/api/v2.0",
			layout: LayoutOnline, tenant: "3f5c1a2e-7b9d-4e61-8c0f-2a4b6d8e0c17", env: "sandbox",
			url: "http://127.0.0.1:5556/v2.0/3f5c1a2e-7b9d-4e61-8c0f-2a4b6d8e0c17/sandbox/api/v2.0"},
		{name: "on-premises", in: "https://bc.example.com:7048/BC250/api/v2.0",
			layout: LayoutOnPremises, instance: "BC250", url: "https://bc.example.com:7048/BC250/api/v2.0"},
		{name: "empty", in: " ", wantErr: "API URL is empty"},
		{name: "no scheme", in: "bc.example.com/BC/api/v2.0", wantErr: "must start with https://"},
		{name: "ftp", in: "ftp://bc.example.com/BC/api/v2.0", wantErr: "must start with https://"},
		{name: "no host", in: "https:///BC/api/v2.0", wantErr: "has no host"},
		{name: "query", in: "https://h/BC/api/v2.0?company=x", wantErr: "must not have a query"},
		{name: "credentials", in: "https://u:p@h/BC/api/v2.0", wantErr: "must not carry credentials"},
		{name: "v1.0", in: "https://h/BC/api/v1.0", wantErr: "must end with /api/v2.0"},
		{name: "companies appended", in: "https://h/BC/api/v2.0/companies", wantErr: "must end with /api/v2.0"},
		{name: "no instance", in: "https://h/api/v2.0", wantErr: "must end with /api/v2.0"},
		{name: "two instance segments", in: "https://h/a/b/api/v2.0", wantErr: "exactly one server instance segment"},
		{name: "online too deep", in: "https://api.businesscentral.dynamics.com/v2.0/a/b/c/api/v2.0", wantErr: "online URLs have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseAPIRoot(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.layout, r.Layout)
			require.Equal(t, tt.tenant, r.Tenant)
			require.Equal(t, tt.env, r.Environment)
			require.Equal(t, tt.instance, r.Instance)
			require.Equal(t, tt.url, r.String())
		})
	}
}

func FuzzParseAPIRoot(f *testing.F) {
	for _, s := range []string{
		"https://api.businesscentral.dynamics.com/v2.0/t/e/api/v2.0",
		"http://127.0.0.1:1/BC/api/v2.0", "", "::", "https://h/%zz/api/v2.0", "https://h//api//v2.0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseAPIRoot(s)
		if err != nil {
			return
		}
		// A parsed root parses again to itself.
		r2, err := ParseAPIRoot(r.String())
		require.NoError(t, err)
		require.Equal(t, r.String(), r2.String())
		require.Equal(t, r.Layout, r2.Layout)
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	const api = "https://api.businesscentral.dynamics.com/v2.0/tenant/Production/api/v2.0"
	const company = "7c8b5b6e-0000-4000-8000-000000000001"
	oauth := &OAuth{ClientID: "id", ClientSecret: "secret"}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "oauth ok", cfg: Config{APIURL: api, CompanyID: company, OAuth: oauth}},
		{name: "basic ok", cfg: Config{APIURL: "https://h:7048/BC/api/v2.0", CompanyID: company, Basic: &Basic{User: "ADMIN", WebServiceKey: "k"}}},
		{name: "no company", cfg: Config{APIURL: api, OAuth: oauth}, wantErr: "company id is empty"},
		{name: "company not guid", cfg: Config{APIURL: api, CompanyID: "CRONUS", OAuth: oauth}, wantErr: `company id "CRONUS" is not a GUID`},
		{name: "no auth", cfg: Config{APIURL: api, CompanyID: company}, wantErr: "no authentication"},
		{name: "both auth", cfg: Config{APIURL: api, CompanyID: company, OAuth: oauth, Basic: &Basic{User: "u", WebServiceKey: "k"}}, wantErr: "choose one"},
		{name: "oauth no secret", cfg: Config{APIURL: api, CompanyID: company, OAuth: &OAuth{ClientID: "id"}}, wantErr: "client secret are both required"},
		{name: "oauth no tenant no token url", cfg: Config{APIURL: "https://h/BC/api/v2.0", CompanyID: company, OAuth: oauth}, wantErr: "token URL is empty"},
		{name: "oauth bad token url", cfg: Config{APIURL: api, CompanyID: company, OAuth: &OAuth{ClientID: "a", ClientSecret: "b", TokenURL: "login"}}, wantErr: "not an http(s) URL"},
		{name: "basic no key", cfg: Config{APIURL: api, CompanyID: company, Basic: &Basic{User: "u"}}, wantErr: "web service access key"},
		{name: "negative", cfg: Config{APIURL: api, CompanyID: company, OAuth: oauth, MaxConcurrent: -1}, wantErr: "must not be negative"},
		{name: "bad url", cfg: Config{APIURL: "nope", CompanyID: company, OAuth: oauth}, wantErr: "must start with https://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, c)
				return
			}
			require.NoError(t, err)
			require.Equal(t, company, c.CompanyID())
		})
	}
}

func TestDefaultTokenURLUsesTenant(t *testing.T) {
	t.Parallel()
	c, err := New(Config{APIURL: "https://api.businesscentral.dynamics.com/v2.0/contoso.onmicrosoft.com/Production/api/v2.0",
		CompanyID: "7c8b5b6e-0000-4000-8000-000000000001", OAuth: &OAuth{ClientID: "a", ClientSecret: "b"}})
	require.NoError(t, err)
	require.Equal(t, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", c.tokenURL)
}
