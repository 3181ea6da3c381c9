package dataverse

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseConnectionStringAliases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want ConnectionString
	}{
		{"client secret doc example", "AuthType=ClientSecret;url=https://x.crm.dynamics.com;ClientId=abc;ClientSecret=s3cr3t",
			ConnectionString{AuthType: AuthClientSecret, URL: "https://x.crm.dynamics.com", ClientID: "abc", ClientSecret: "s3cr3t"}},
		{"oauth doc example", `AuthType=OAuth;Username=jsmith@contoso.onmicrosoft.com;Password=passcode;Url=https://contosotest.crm.dynamics.com;AppId=51f81489-12ee-4a9e-aaae-a2591f45987d;RedirectUri=app://58145B91-0C36-4500-8554-080854F2AC97;TokenCacheStorePath=c:\MyTokenCache;LoginPrompt=Auto`,
			ConnectionString{AuthType: AuthOAuth, UserName: "jsmith@contoso.onmicrosoft.com", Password: "passcode", URL: "https://contosotest.crm.dynamics.com",
				ClientID: "51f81489-12ee-4a9e-aaae-a2591f45987d", RedirectURI: "app://58145B91-0C36-4500-8554-080854F2AC97", TokenCacheStorePath: `c:\MyTokenCache`, LoginPrompt: LoginPromptAuto}},
		{"aliases with spaces and case", "authenticationtype=office365; Service Uri = https://o.crm4.dynamics.com ; User Id=u@x.com;PASSWORD=p;RequireNewInstance=True;SkipDiscovery=false",
			ConnectionString{AuthType: AuthOffice365, URL: "https://o.crm4.dynamics.com", UserName: "u@x.com", Password: "p", RequireNewInstance: true}},
		{"ServiceUri Server UserName User Name", "ServiceUri=https://a.example;User Name=bob;AuthType=IFD;Domain=CONTOSO;Home Realm Uri=https://adfs.contoso.com/adfs/services/trust/mex/",
			ConnectionString{AuthType: AuthIFD, URL: "https://a.example", UserName: "bob", Domain: "CONTOSO", HomeRealmURI: "https://adfs.contoso.com/adfs/services/trust/mex/"}},
		{"Server alias, AD, Integrated Security", "Server=http://contoso:8080/Test;AuthType=AD;Integrated Security=true",
			ConnectionString{AuthType: AuthAD, URL: "http://contoso:8080/Test", IntegratedSecurity: true}},
		{"certificate aliases", "AuthType=Certificate;Url=https://x.crm.dynamics.com;ApplicationId=a;CertificateThumbPrint=DE:AD;CertificateStoreName=My",
			ConnectionString{AuthType: AuthCertificate, URL: "https://x.crm.dynamics.com", ClientID: "a", Thumbprint: "DE:AD", StoreName: "My"}},
		{"CertThumbprint, Secret, ReplyUrl, UserId", "AuthType=ClientSecret;Url=https://x.crm.dynamics.com;ClientId=a;Secret=s;CertThumbprint=t;ReplyUrl=app://r;UserId=u",
			ConnectionString{AuthType: AuthClientSecret, URL: "https://x.crm.dynamics.com", ClientID: "a", ClientSecret: "s", Thumbprint: "t", RedirectURI: "app://r", UserName: "u"}},
		{"quoted values with ; and doubled quotes", `AuthType=ClientSecret;Url=https://x.crm.dynamics.com;ClientId=a;ClientSecret="a;b""c";Password='it''s'`,
			ConnectionString{AuthType: AuthClientSecret, URL: "https://x.crm.dynamics.com", ClientID: "a", ClientSecret: `a;b"c`, Password: "it's"}},
		{"BC template with placeholders", "AuthType=ClientSecret;Url=https://x.crm.dynamics.com;ClientId=a;ClientSecret={CLIENTSECRET};ProxyVersion=100",
			ConnectionString{AuthType: AuthClientSecret, URL: "https://x.crm.dynamics.com", ClientID: "a", ClientSecret: "{CLIENTSECRET}", ProxyVersion: "100"}},
		{"empty segments and trailing semicolon", ";;AuthType=AD;;Url=https://h/;", ConnectionString{AuthType: AuthAD, URL: "https://h/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseConnectionString(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			// Format round-trips.
			again, err := ParseConnectionString(got.Format())
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}
}

func TestParseConnectionStringErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, key, contains string
	}{
		{"unknown key", "AuthType=AD;Url=https://h;Colour=blue", "Colour", "unknown key"},
		{"unknown auth type", "AuthType=Kerberos;Url=https://h", "AuthType", "unknown authentication type"},
		{"no equals", "AuthType=AD;Url", "", "has no '='"},
		{"bad url", "AuthType=AD;Url=contoso", "Url", "not an absolute http(s) URL"},
		{"ftp url", "AuthType=AD;Url=ftp://h", "Url", "not an absolute"},
		{"unclosed quote", `AuthType=AD;Password="abc`, "Password", "no closing quote"},
		{"conflicting aliases", "Url=https://a;ServiceUri=https://b", "Url", "given twice"},
		{"bad bool", "RequireNewInstance=maybe", "RequireNewInstance", "not a boolean"},
		{"bad login prompt", "LoginPrompt=Sometimes", "LoginPrompt", "unknown value"},
		{"empty key", "=x", "", "empty key"},
		{"text after quote", `Password="a"b;AuthType=AD`, "Password", "after the closing quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConnectionString(tt.in)
			var ce *ConnStringError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.key, ce.Key)
			require.Contains(t, err.Error(), tt.contains)
		})
	}
}

func TestValidatePerAuthType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, key string // key "" = valid
	}{
		{"client secret ok", "AuthType=ClientSecret;Url=https://h;ClientId=a;ClientSecret=s", ""},
		{"client secret missing secret", "AuthType=ClientSecret;Url=https://h;ClientId=a", "ClientSecret"},
		{"client secret missing id", "AuthType=ClientSecret;Url=https://h;ClientSecret=s", "ClientId"},
		{"no auth type", "Url=https://h;ClientId=a", "AuthType"},
		{"no url", "AuthType=ClientSecret;ClientId=a;ClientSecret=s", "Url"},
		{"certificate needs cert or thumbprint", "AuthType=Certificate;Url=https://h;ClientId=a", "Certificate"},
		{"certificate with thumbprint", "AuthType=Certificate;Url=https://h;ClientId=a;Thumbprint=ab", ""},
		{"oauth needs redirect", "AuthType=OAuth;Url=https://h;AppId=a;UserName=u;Password=p", "RedirectUri"},
		{"oauth needs password", "AuthType=OAuth;Url=https://h;AppId=a;RedirectUri=app://x;UserName=u", "Password"},
		{"oauth login prompt always", "AuthType=OAuth;Url=https://h;AppId=a;RedirectUri=app://x;UserName=u;Password=p;LoginPrompt=Always", "LoginPrompt"},
		{"office365 needs user", "AuthType=Office365;Url=https://h;Password=p", "UserName"},
		{"ifd ok", "AuthType=IFD;Url=https://h;UserName=u;Password=p;Domain=D", ""},
		{"ad integrated ok", "AuthType=AD;Url=https://h", ""},
		{"ad user without password", "AuthType=AD;Url=https://h;UserName=u", "Password"},
		{"unfilled placeholder", "AuthType=ClientSecret;Url=https://h;ClientId=a;ClientSecret={CLIENTSECRET}", "ClientSecret"},
		{"unknown placeholder", "AuthType=ClientSecret;Url=https://h;ClientId=a;ClientSecret={SECRET}", "ClientSecret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseConnectionString(tt.in)
			require.NoError(t, err)
			err = c.Validate()
			if tt.key == "" {
				require.NoError(t, err)
				return
			}
			var ce *ConnStringError
			require.ErrorAs(t, err, &ce, "want an error on %s", tt.key)
			require.Equal(t, tt.key, ce.Key, err.Error())
			require.NotEmpty(t, ce.Fix)
		})
	}
}

func TestFillAndTemplate(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseConnectionString("AuthType=Office365;Url=https://h;UserName=u@x.com;Password={PASSWORD}")
	require.NoError(t, err)
	require.NoError(t, tmpl.ValidateTemplate())
	require.Equal(t, []string{PlaceholderPassword}, tmpl.Placeholders())

	_, err = tmpl.Fill(Secrets{})
	var ce *ConnStringError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "Password", ce.Key)
	require.Contains(t, err.Error(), "{PASSWORD}")

	filled, err := tmpl.Fill(Secrets{Password: `p;w"d`})
	require.NoError(t, err)
	require.Equal(t, `p;w"d`, filled.Password)
	require.NoError(t, filled.Validate())
	require.NotContains(t, filled.String(), "p;w")
	require.Contains(t, filled.String(), "Password=***")
	again, err := ParseConnectionString(filled.Format())
	require.NoError(t, err)
	require.Equal(t, filled, again)

	// A template holding the secret itself is refused: no secret in clear.
	plain, err := ParseConnectionString("AuthType=ClientSecret;Url=https://h;ClientId=a;ClientSecret=literal")
	require.NoError(t, err)
	require.ErrorAs(t, plain.ValidateTemplate(), &ce)
	require.Equal(t, "ClientSecret", ce.Key)

	// A template missing its placeholder entirely names the key and the placeholder.
	none, err := ParseConnectionString("AuthType=ClientSecret;Url=https://h;ClientId=a")
	require.NoError(t, err)
	err = none.ValidateTemplate()
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "ClientSecret", ce.Key)
	require.Contains(t, err.Error(), "{CLIENTSECRET}")

	cert, err := ParseConnectionString("AuthType=Certificate;Url=https://h;ClientId=a;Certificate={CERTIFICATE}")
	require.NoError(t, err)
	require.NoError(t, cert.ValidateTemplate())
	filledCert, err := cert.Fill(Secrets{Certificate: "PEMDATA"})
	require.NoError(t, err)
	require.Equal(t, "PEMDATA", filledCert.Certificate)
}

func FuzzParseConnectionString(f *testing.F) {
	for _, s := range []string{
		"AuthType=ClientSecret;url=https://x.crm.dynamics.com;ClientId=a;ClientSecret=b",
		`AuthType=OAuth;Username=j@c.com;Password="a;b""c";Url=https://c.crm.dynamics.com;AppId=1;RedirectUri=app://2;LoginPrompt=Auto`,
		"Url;UserName;Password={PASSWORD};ProxyVersion;AuthType=AD;Domain=",
		"AuthType=Certificate;Url=https://h;ClientId=a;Certificate={CERTIFICATE};Thumbprint=ab",
		"'", `"`, "=", ";;;", "a=b=c", "Password='x''y';", "Url={URL}", "ClientSecret={CLIENTSECRET}{FOO}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConnectionString(s)
		if err != nil {
			var ce *ConnStringError
			if !errors.As(err, &ce) {
				t.Fatalf("error is not a *ConnStringError: %v", err)
			}
			return
		}
		_ = c.Validate()
		_ = c.ValidateTemplate()
		_, _ = c.Fill(Secrets{Password: "p", ClientSecret: "s", Certificate: "c"})
		if c.Password != "" && c.Password != PlaceholderPassword &&
			strings.Contains(c.String(), "Password="+quoteValue(c.Password)) {
			t.Fatalf("String() leaks the password: %s", c.String())
		}
		again, err := ParseConnectionString(c.Format())
		if err != nil {
			t.Fatalf("Format() %q does not parse: %v", c.Format(), err)
		}
		if again != c {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", c, again)
		}
	})
}
