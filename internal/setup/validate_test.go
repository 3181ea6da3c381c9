package setup_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/setup"
)

func goodAnswers() setup.Answers {
	return setup.Answers{
		"crm.url":           "https://contoso.crm4.dynamics.com",
		"crm.user":          "integration@contoso.onmicrosoft.com",
		"crm.password":      "pw",
		"erp.url":           "https://api.businesscentral.dynamics.com/v2.0/3f5c1a2e-7b9d-4e61-8c0f-2a4b6d8e0c17/production/api/v2.0",
		"erp.company-id":    "5106c77d-44e3-ea11-bb43-000d3a2feca1",
		"erp.client-id":     "9d2b2f0e-1111-4222-8333-944455556666",
		"erp.client-secret": "s3cret",
	}
}

func build(t *testing.T, a setup.Answers) (*setup.Draft, error) {
	t.Helper()
	return setup.Build(a, setup.NewDraft("", "https://coupler.contoso.com", nil))
}

func TestBuildGood(t *testing.T) {
	t.Parallel()
	a := goodAnswers()
	a["crm.url"] = "  Contoso.CRM4.dynamics.com/main.aspx?appid=1#x  "
	d, err := build(t, a)
	require.NoError(t, err)
	c := d.Setup
	require.Equal(t, "https://contoso.crm4.dynamics.com", c.CRM.URL)
	require.Equal(t, setup.AuthOAuth, c.CRM.AuthType)
	require.Equal(t, "9.2", c.CRM.APIVersion)
	require.Equal(t, "AuthType=OAuth;Url=https://contoso.crm4.dynamics.com;UserName=integration@contoso.onmicrosoft.com;Password={PASSWORD};ClientId=51f81489-12ee-4a9e-aaae-a2591f45987d;RedirectUri=app://58145B91-0C36-4500-8554-080854F2AC97;LoginPrompt=Never", c.CRM.ConnectionString)
	require.Equal(t, "https://businesscentral.dynamics.com/3f5c1a2e-7b9d-4e61-8c0f-2a4b6d8e0c17/production/", c.ERP.WebClientURL)
	require.Equal(t, "oauth", c.ERP.AuthType)
	require.True(t, c.CRM.ImportSolution)
	require.True(t, d.Enable)
	require.Equal(t, map[string]string{setup.SecretCRMPassword: "pw", setup.SecretERPClientSecret: "s3cret"}, d.Secrets)
	require.NotContains(t, c.CRM.ConnectionString, "pw;")
}

func TestDefaultWebClientURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://api.businesscentral.dynamics.com/v2.0/t1/production/api/v2.0": "https://businesscentral.dynamics.com/t1/production/",
		"http://127.0.0.1:5556/v2.0/tenant/sandbox/api/v2.0":                   "http://127.0.0.1:5556/tenant/sandbox/",
		"https://bc.contoso.local:7048/BC230/api/v2.0":                         "https://bc.contoso.local:7048/BC230/",
	} {
		require.Equal(t, want, setup.DefaultWebClientURL(in), in)
	}
}

// TestBadInputs: every bad value gets one message naming the field, the
// problem and the fix.
func TestBadInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  setup.Answers
		want string
	}{
		{"empty CRM URL", setup.Answers{"crm.url": "  "}, `crm.url: is required; give the address, for example https://contoso.crm.dynamics.com`},
		{"ftp scheme", setup.Answers{"crm.url": "ftp://contoso.crm.dynamics.com"}, `crm.url "ftp://contoso.crm.dynamics.com": scheme "ftp" is not supported; use an https:// address, for example https://contoso.crm.dynamics.com`},
		{"mailto scheme", setup.Answers{"crm.url": "mailto:admin@contoso.com"}, `crm.url "mailto:admin@contoso.com": scheme "mailto" is not supported; use an https:// address, for example https://contoso.crm.dynamics.com`},
		{"space in host", setup.Answers{"crm.url": "https://con toso.crm.dynamics.com"}, `crm.url "https://con toso.crm.dynamics.com": is not a valid URL (invalid character " " in host name); give the address, for example https://contoso.crm.dynamics.com`},
		{"bad host label", setup.Answers{"crm.url": "https://contoso..crm.dynamics.com"}, `crm.url "https://contoso..crm.dynamics.com": host "contoso..crm.dynamics.com" is not a valid host name; check for typos; give the address, for example https://contoso.crm.dynamics.com`},
		{"no host", setup.Answers{"crm.url": "https:///main.aspx"}, `crm.url "https:///main.aspx": has no host name; give the address, for example https://contoso.crm.dynamics.com`},
		{"credentials in URL", setup.Answers{"crm.url": "https://admin:pw@contoso.crm.dynamics.com"}, `crm.url "https://admin:pw@contoso.crm.dynamics.com": contains a user name or password; remove it from the URL; credentials go in their own fields`},
		{"bad port", setup.Answers{"crm.url": "https://contoso.crm.dynamics.com:99999"}, `crm.url "https://contoso.crm.dynamics.com:99999": port "99999" is not a number between 1 and 65535; fix or remove the port`},
		{"http without allow-insecure", setup.Answers{"crm.url": "http://127.0.0.1:5555"}, `crm.url "http://127.0.0.1:5555": plain http would send credentials unencrypted; use https://, or set allow-insecure (--allow-insecure) for a local sandbox only`},
		{"unknown auth type", setup.Answers{"crm.auth-type": "Kerberos"}, `crm.auth-type "Kerberos": is not an authentication type; use one of OAuth, ClientSecret, Certificate, Office365, AD, IFD`},
		{"OAuth user not an e-mail", setup.Answers{"crm.user": `CONTOSO\integration`}, `crm.user "CONTOSO\\integration": is not a valid user name for authentication type OAuth; write it as sign-in e-mail (for example integration@contoso.onmicrosoft.com)`},
		{"AD user not DOMAIN\\user", setup.Answers{"crm.auth-type": "AD", "crm.user": "integration@contoso.com"}, `crm.user "integration@contoso.com": is not a valid user name for authentication type AD; write it as DOMAIN\user (for example CONTOSO\crmintegration)`},
		{"missing user", setup.Answers{"crm.user": ""}, `crm.user: is required for authentication type OAuth; give the integration user's sign-in e-mail (for example integration@contoso.onmicrosoft.com)`},
		{"missing password", setup.Answers{"crm.password": ""}, `crm.password: is required; give the integration user's password`},
		{"client secret without client id", setup.Answers{"crm.auth-type": "ClientSecret", "crm.client-secret": "x"}, `crm.client-id: is required; give the application (client) id of the app registration`},
		{"missing client secret", setup.Answers{"crm.auth-type": "ClientSecret", "crm.client-id": "abc"}, `crm.client-secret: is required; give the application's client secret`},
		{"token URL not a token endpoint", setup.Answers{"crm.token-url": "https://login.microsoftonline.com/contoso"}, `crm.token-url "https://login.microsoftonline.com/contoso": is not an OAuth 2.0 token endpoint; it ends in /oauth2/v2.0/token, for example https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`},
		{"connection string missing placeholder", setup.Answers{"crm.connection-string": "AuthType=OAuth;Url=https://contoso.crm4.dynamics.com;UserName=integration@contoso.onmicrosoft.com"}, `crm.connection-string "AuthType=OAuth;Url=https://contoso.crm4.dynamics.com;UserName=integration@contoso.onmicrosoft.com": has no {PASSWORD} placeholder; write Password={PASSWORD} in the template; the secret itself is stored encrypted`},
		{"connection string unknown key", setup.Answers{"crm.connection-string": "AuthType=OAuth;Password=hunter2;Foo={PASSWORD}"}, `crm.connection-string: Foo: unknown key; remove it or use one of AuthType, Url, UserName, Password, Domain, HomeRealmUri, ClientId, ClientSecret, RedirectUri, TokenCacheStorePath, LoginPrompt, StoreName, Thumbprint, Certificate, ProxyVersion, RequireNewInstance, SkipDiscovery, Integrated Security`},
		{"connection string secret instead of placeholder", setup.Answers{"crm.auth-type": "ClientSecret", "crm.client-id": "abc", "crm.client-secret": "x", "crm.connection-string": "AuthType=ClientSecret;ClientId=abc;ClientSecret=hunter2"}, `crm.connection-string "AuthType=ClientSecret;ClientId=abc;ClientSecret=***": ClientSecret holds a secret instead of the placeholder {CLIENTSECRET}; write ClientSecret={CLIENTSECRET} and give the secret separately (--crm-client-secret); it is stored encrypted`},
		{"connection string with clear password", setup.Answers{"crm.connection-string": "AuthType=OAuth;Password=hunter2"}, `crm.connection-string "AuthType=OAuth;Password=***": Password holds a secret instead of the placeholder {PASSWORD}; write Password={PASSWORD} and give the secret separately (--crm-password); it is stored encrypted`},
		{"connection string other AuthType", setup.Answers{"crm.connection-string": "AuthType=ClientSecret;ClientId=abc;ClientSecret={CLIENTSECRET}"}, `crm.connection-string "AuthType=ClientSecret;ClientId=abc;ClientSecret={CLIENTSECRET}": says AuthType=ClientSecret but crm.auth-type is OAuth; make them the same`},
		{"connection string other URL", setup.Answers{"crm.connection-string": "AuthType=OAuth;Url=https://fabrikam.crm.dynamics.com;Password={PASSWORD}"}, `crm.connection-string "AuthType=OAuth;Url=https://fabrikam.crm.dynamics.com;Password={PASSWORD}": has Url=https://fabrikam.crm.dynamics.com but crm.url is https://contoso.crm4.dynamics.com; remove Url from the template or make it the same`},
		{"connection string syntax", setup.Answers{"crm.connection-string": "AuthType=OAuth;Password={PASSWORD};garbage"}, `crm.connection-string: "garbage" has no '='; write every setting as key=value, separated by ';'`},
		{"unsupported API version", setup.Answers{"crm.api-version": "8.2"}, `crm.api-version "8.2": is not a supported version; use one of 9.0, 9.1, 9.2`},
		{"unsupported SDK version", setup.Answers{"crm.sdk-version": "8"}, `crm.sdk-version "8": is not a supported version; use one of 9, 91, 100`},
		{"old SDK online", setup.Answers{"crm.sdk-version": "91"}, `crm.sdk-version "91": is too old for Dynamics 365 online; use 100`},
		{"ERP URL not API root", setup.Answers{"erp.url": "https://businesscentral.dynamics.com/tenant/production"}, `erp.url "https://businesscentral.dynamics.com/tenant/production": is not a Business Central API v2.0 root; the address ends in /api/v2.0, for example https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}/api/v2.0`},
		{"ERP http", setup.Answers{"erp.url": "http://bc.contoso.local:7048/BC/api/v2.0"}, `erp.url "http://bc.contoso.local:7048/BC/api/v2.0": plain http would send credentials unencrypted; use https://, or set allow-insecure (--allow-insecure) for a local sandbox only`},
		{"ERP company not a GUID", setup.Answers{"erp.company-id": "CRONUS UK Ltd."}, `erp.company-id "CRONUS UK Ltd.": is not a GUID; give the company id (from GET {erp url}/companies) as 8-4-4-4-12 hexadecimal digits, for example 5106c77d-44e3-ea11-bb43-000d3a2feca1`},
		{"ERP auth type", setup.Answers{"erp.auth-type": "ntlm"}, `erp.auth-type "ntlm": is not an ERP authentication type; use oauth or basic`},
		{"ERP basic without key", setup.Answers{"erp.auth-type": "basic", "erp.user": "ADMIN"}, `erp.web-service-key: is required; give the user's web service access key`},
		{"ERP token URL needed", setup.Answers{"erp.url": "https://api.businesscentral.dynamics.com/v2.0/production/api/v2.0"}, `erp.token-url: is required because the ERP URL names no tenant; give https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`},
		{"availability without user", setup.Answers{"availability.enabled": "yes", "availability.access-key": "k"}, `availability.user: is required; give the user name the CRM uses to call the item availability web service`},
		{"bidirectional and legacy orders", setup.Answers{"sales-orders.enabled": "yes", "sales-orders.bidirectional": "yes"}, `sales-orders.bidirectional "yes": cannot be combined with sales-orders.enabled; choose one: the sales order integration or bidirectional synchronisation`},
		{"not yes or no", setup.Answers{"enable": "perhaps"}, `enable "perhaps": is not yes or no; answer yes or no`},
		{"unknown field", setup.Answers{"crm.pasword": "x"}, `crm.pasword: is not a setup field; use one of allow-insecure, availability.access-key, availability.enabled, availability.job, availability.odata-url, availability.user, crm.api-version, crm.auth-type, crm.certificate, crm.client-id, crm.client-secret, crm.connection-string, crm.password, crm.sdk-version, crm.token-url, crm.url, crm.user, enable, erp.auth-type, erp.client-id, erp.client-secret, erp.company-id, erp.scope, erp.token-url, erp.url, erp.user, erp.web-client-url, erp.web-service-key, import-solution, sales-orders.auto-create, sales-orders.auto-process-quotes, sales-orders.bidirectional, sales-orders.enabled, users-must-map`},
	}
	require.GreaterOrEqual(t, len(tests), 25)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := goodAnswers()
			for k, v := range tt.set {
				a[k] = v
			}
			_, err := build(t, a)
			require.Error(t, err)
			require.Equal(t, tt.want, err.Error())
			var fe *setup.FieldError
			require.True(t, errors.As(err, &fe))
			require.NotContains(t, err.Error(), "s3cret")
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestInsecureAllowed(t *testing.T) {
	t.Parallel()
	a := goodAnswers()
	a["allow-insecure"] = "yes"
	a["crm.url"] = "http://127.0.0.1:5555/"
	a["crm.sdk-version"] = "9"
	d, err := build(t, a)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:5555", d.Setup.CRM.URL)

	_, err = setup.NormalizeCRMURL("crm.url", "http://127.0.0.1", false)
	require.ErrorIs(t, err, setup.ErrInsecureURL)
}

func FuzzNormalizeCRMURL(f *testing.F) {
	for _, s := range []string{"contoso.crm.dynamics.com", "https://x/y?z", "http://[::1]:80", "ftp:x", " ", "https://a:b@c", "%zz", "localhost:8080"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := setup.NormalizeCRMURL("crm.url", s, true)
		if err != nil {
			var fe *setup.FieldError
			require.True(t, errors.As(err, &fe))
			return
		}
		again, err := setup.NormalizeCRMURL("crm.url", u, true)
		require.NoError(t, err, "normalised %q to %q", s, u)
		require.Equal(t, u, again)
	})
}

func FuzzConnectionTemplate(f *testing.F) {
	for _, s := range []string{"", "AuthType=OAuth;Password={PASSWORD}", "Url='x;y';Password=\"{PASSWORD}\"", "a=b;;c", "AuthType=ClientSecret;ClientSecret={CLIENTSECRET}", "{PASSWORD}"} {
		f.Add(s)
	}
	crm := setup.CRMSettings{URL: "https://contoso.crm.dynamics.com", AuthType: setup.AuthOAuth, UserName: "a@contoso.com", ClientID: "c"}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := setup.ConnectionTemplate("crm.connection-string", crm, s)
		if err != nil {
			var fe *setup.FieldError
			require.True(t, errors.As(err, &fe), "%T %v", err, err)
			return
		}
		// A stored template always carries the placeholder, never a secret.
		require.Contains(t, tpl, "{PASSWORD}")
		again, err := setup.ConnectionTemplate("crm.connection-string", crm, tpl)
		require.NoError(t, err)
		require.Equal(t, tpl, again)
	})
}

// TestAnswersFromRoundTrip: re-running the setup with the stored values
// and no secrets gives the same setup and keeps the stored secrets.
func TestAnswersFromRoundTrip(t *testing.T) {
	t.Parallel()
	a := goodAnswers()
	a["availability.enabled"], a["availability.user"], a["availability.access-key"] = "yes", "WEBUSER", "k"
	a["sales-orders.enabled"], a["sales-orders.auto-create"] = "yes", "yes"
	first, err := build(t, a)
	require.NoError(t, err)
	existing := map[string]bool{}
	for k := range first.Secrets {
		existing[k] = true
	}
	again, err := setup.Build(setup.AnswersFrom(first.Setup), setup.NewDraft("", "https://coupler.contoso.com", existing))
	require.NoError(t, err)
	require.Equal(t, first.Setup, again.Setup)
	require.Empty(t, again.Secrets, "no secret is re-entered")
}

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	tests := []struct{ server, api, reason, fix string }{
		{"9.2.25113.00171", "9.2", "", ""},
		{"9.2.25113.00171", "9.0", "", ""},
		{"9.1.0.14134", "9.2", "the CRM runs version 9.1.0.14134, which does not serve Web API v9.2", "set crm.api-version to 9.0 or 9.1 (run `coupler setup`)"},
		{"8.2.2.112", "9.2", "the CRM runs version 8.2.2.112, which does not serve Web API v9.2", "this CRM version is not supported by coupler (supported Web API versions: 9.0, 9.1, 9.2)"},
		{"banana", "9.2", `the CRM reports version "banana", which is not major.minor`, "check that crm.url is a Dynamics 365 / Dataverse organisation"},
	}
	for _, tt := range tests {
		reason, fix := setup.CheckVersion(tt.server, tt.api)
		require.Equal(t, tt.reason, reason, tt.server)
		require.Equal(t, tt.fix, fix, tt.server)
	}
}

func TestCertificateFromFile(t *testing.T) {
	t.Parallel()
	pem := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	path := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(path, []byte(pem), 0o600))
	a := goodAnswers()
	delete(a, "crm.user")
	delete(a, "crm.password")
	a["crm.auth-type"], a["crm.client-id"], a["crm.certificate"] = "Certificate", "9d2b2f0e-1111-4222-8333-944455556666", "@"+path
	d, err := build(t, a)
	require.NoError(t, err)
	require.Equal(t, pem, d.Secrets[setup.SecretCRMCertificate])
	require.Contains(t, d.Setup.CRM.ConnectionString, "Certificate={CERTIFICATE}")

	a["crm.certificate"] = "@/nonexistent/app.pem"
	_, err = build(t, a)
	require.EqualError(t, err, `crm.certificate "@/nonexistent/app.pem": cannot be read (no such file or directory); give @/path/to/certificate.pem (with its private key) or the base64 PKCS#12`)
}
