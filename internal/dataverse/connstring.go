package dataverse

import (
	"fmt"
	"net/url"
	"strings"
)

// AuthType is the XRM tooling authentication type of a connection string.
type AuthType string

// The authentication types XRM tooling accepts. Online Dataverse accepts only
// OAuth, ClientSecret, Certificate and Office365 (deprecated); AD and IFD are
// for on-premises deployments.
const (
	AuthAD           AuthType = "AD"
	AuthIFD          AuthType = "IFD"
	AuthOAuth        AuthType = "OAuth"
	AuthClientSecret AuthType = "ClientSecret"
	AuthCertificate  AuthType = "Certificate"
	AuthOffice365    AuthType = "Office365"
)

var authTypes = []AuthType{AuthAD, AuthIFD, AuthOAuth, AuthClientSecret, AuthCertificate, AuthOffice365}

// Placeholders a stored connection-string template may carry instead of a
// secret, so the template can be shown and stored without the secret in it
// (the convention of Business Central's CRM Connection Setup).
const (
	PlaceholderPassword     = "{PASSWORD}"
	PlaceholderClientSecret = "{CLIENTSECRET}"
	PlaceholderCertificate  = "{CERTIFICATE}"
)

// LoginPrompt values; coupler never prompts, so only Never and Auto (which
// does not prompt when credentials are complete) are usable.
const (
	LoginPromptAlways = "Always"
	LoginPromptAuto   = "Auto"
	LoginPromptNever  = "Never"
)

// ConnectionString is a parsed XRM tooling connection string. Values may still
// hold placeholders until Fill replaces them.
type ConnectionString struct {
	AuthType            AuthType
	URL                 string // ServiceUri | Service Uri | Url | Server
	UserName            string // UserName | User Name | UserId | User Id
	Password            string
	Domain              string
	HomeRealmURI        string // HomeRealmUri | Home Realm Uri
	ClientID            string // ClientId | AppId | ApplicationId
	ClientSecret        string // ClientSecret | Secret
	RedirectURI         string // RedirectUri | ReplyUrl
	TokenCacheStorePath string
	LoginPrompt         string // Always | Auto | Never
	StoreName           string // StoreName | CertificateStoreName
	Thumbprint          string // Thumbprint | CertThumbprint | CertificateThumbprint
	Certificate         string // PEM or base64 PKCS#12/PEM (Business Central's Certificate={CERTIFICATE})
	ProxyVersion        string // Business Central's SDK proxy version, kept as given
	RequireNewInstance  bool
	SkipDiscovery       bool
	IntegratedSecurity  bool
}

// ConnStringError names the key at fault, what is wrong and how to fix it.
type ConnStringError struct {
	Key     string // canonical key name, "" for syntax errors
	Problem string
	Fix     string
}

func (e *ConnStringError) Error() string {
	var b strings.Builder
	b.WriteString("connection string")
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

type connKey struct {
	name    string // canonical
	aliases []string
	set     func(c *ConnectionString, v string) error
	get     func(c *ConnectionString) string
	secret  bool
}

func strKey(name string, aliases []string, f func(*ConnectionString) *string, secret bool) connKey {
	return connKey{name: name, aliases: aliases, secret: secret,
		set: func(c *ConnectionString, v string) error { *f(c) = v; return nil },
		get: func(c *ConnectionString) string { return *f(c) }}
}

func boolKey(name string, f func(*ConnectionString) *bool) connKey {
	return connKey{name: name,
		set: func(c *ConnectionString, v string) error {
			switch strings.ToLower(v) {
			case "true", "yes", "1":
				*f(c) = true
			case "false", "no", "0", "":
				*f(c) = false
			default:
				return &ConnStringError{Key: name, Problem: fmt.Sprintf("%q is not a boolean", v), Fix: "use true or false"}
			}
			return nil
		},
		get: func(c *ConnectionString) string {
			if *f(c) {
				return "true"
			}
			return ""
		}}
}

// connKeys lists every key XRM tooling documents, with its aliases (compared
// case-insensitively and ignoring spaces, so "Service Uri" = "ServiceUri").
var connKeys = []connKey{
	{name: "AuthType", aliases: []string{"AuthenticationType"},
		set: func(c *ConnectionString, v string) error {
			for _, a := range authTypes {
				if strings.EqualFold(v, string(a)) {
					c.AuthType = a
					return nil
				}
			}
			return &ConnStringError{Key: "AuthType", Problem: fmt.Sprintf("unknown authentication type %q", v),
				Fix: "use one of AD, IFD, OAuth, ClientSecret, Certificate, Office365"}
		},
		get: func(c *ConnectionString) string { return string(c.AuthType) }},
	strKey("Url", []string{"ServiceUri", "Service Uri", "Server"}, func(c *ConnectionString) *string { return &c.URL }, false),
	strKey("UserName", []string{"User Name", "UserId", "User Id"}, func(c *ConnectionString) *string { return &c.UserName }, false),
	strKey("Password", nil, func(c *ConnectionString) *string { return &c.Password }, true),
	strKey("Domain", nil, func(c *ConnectionString) *string { return &c.Domain }, false),
	strKey("HomeRealmUri", []string{"Home Realm Uri"}, func(c *ConnectionString) *string { return &c.HomeRealmURI }, false),
	strKey("ClientId", []string{"AppId", "ApplicationId"}, func(c *ConnectionString) *string { return &c.ClientID }, false),
	strKey("ClientSecret", []string{"Secret"}, func(c *ConnectionString) *string { return &c.ClientSecret }, true),
	strKey("RedirectUri", []string{"ReplyUrl"}, func(c *ConnectionString) *string { return &c.RedirectURI }, false),
	strKey("TokenCacheStorePath", nil, func(c *ConnectionString) *string { return &c.TokenCacheStorePath }, false),
	{name: "LoginPrompt",
		set: func(c *ConnectionString, v string) error {
			for _, p := range []string{LoginPromptAlways, LoginPromptAuto, LoginPromptNever} {
				if strings.EqualFold(v, p) {
					c.LoginPrompt = p
					return nil
				}
			}
			return &ConnStringError{Key: "LoginPrompt", Problem: fmt.Sprintf("unknown value %q", v), Fix: "use Always, Auto or Never"}
		},
		get: func(c *ConnectionString) string { return c.LoginPrompt }},
	strKey("StoreName", []string{"CertificateStoreName"}, func(c *ConnectionString) *string { return &c.StoreName }, false),
	strKey("Thumbprint", []string{"CertThumbprint", "CertificateThumbprint"}, func(c *ConnectionString) *string { return &c.Thumbprint }, false),
	strKey("Certificate", nil, func(c *ConnectionString) *string { return &c.Certificate }, true),
	strKey("ProxyVersion", nil, func(c *ConnectionString) *string { return &c.ProxyVersion }, false),
	boolKey("RequireNewInstance", func(c *ConnectionString) *bool { return &c.RequireNewInstance }),
	boolKey("SkipDiscovery", func(c *ConnectionString) *bool { return &c.SkipDiscovery }),
	boolKey("Integrated Security", func(c *ConnectionString) *bool { return &c.IntegratedSecurity }),
}

func normKey(k string) string { return strings.ToLower(strings.ReplaceAll(k, " ", "")) }

var keyIndex = func() map[string]*connKey {
	m := map[string]*connKey{}
	for i := range connKeys {
		k := &connKeys[i]
		m[normKey(k.name)] = k
		for _, a := range k.aliases {
			m[normKey(a)] = k
		}
	}
	return m
}()

func knownKeys() string {
	names := make([]string, 0, len(connKeys))
	for _, k := range connKeys {
		names = append(names, k.name)
	}
	return strings.Join(names, ", ")
}

// ParseConnectionString parses "key=value;…" (any order, keys case-insensitive,
// values optionally quoted with ' or " and a doubled quote inside). It checks
// syntax, keys and value formats; Validate checks that the keys the
// authentication type needs are present. Placeholders are allowed here.
func ParseConnectionString(s string) (ConnectionString, error) {
	var c ConnectionString
	pairs, err := splitPairs(s)
	if err != nil {
		return c, err
	}
	seen := map[string]string{} // canonical → alias used
	values := map[string]string{}
	for _, p := range pairs {
		k, ok := keyIndex[normKey(p.key)]
		if !ok {
			return c, &ConnStringError{Key: p.key, Problem: "unknown key",
				Fix: "remove it or use one of " + knownKeys()}
		}
		if prev, dup := seen[k.name]; dup && values[k.name] != p.value {
			return c, &ConnStringError{Key: k.name, Problem: fmt.Sprintf("given twice (as %s and %s) with different values", prev, p.key),
				Fix: "keep only one"}
		}
		seen[k.name] = p.key
		values[k.name] = p.value
		if err := k.set(&c, p.value); err != nil {
			return c, err
		}
	}
	if c.URL != "" && !hasPlaceholder(c.URL) {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return c, &ConnStringError{Key: "Url", Problem: fmt.Sprintf("%q is not an absolute http(s) URL", c.URL),
				Fix: "use the organisation URL, e.g. https://contoso.crm.dynamics.com"}
		}
	}
	return c, nil
}

type pair struct{ key, value string }

func splitPairs(s string) ([]pair, error) {
	var out []pair
	i := 0
	for i < len(s) {
		// key: up to '='
		for i < len(s) && (s[i] == ';' || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			break
		}
		eq := strings.IndexByte(s[i:], '=')
		semi := strings.IndexByte(s[i:], ';')
		if eq < 0 || (semi >= 0 && semi < eq) {
			end := len(s)
			if semi >= 0 {
				end = i + semi
			}
			return nil, &ConnStringError{Problem: fmt.Sprintf("%q has no '='", strings.TrimSpace(s[i:end])),
				Fix: "write every setting as key=value, separated by ';'"}
		}
		key := strings.TrimSpace(s[i : i+eq])
		if key == "" {
			return nil, &ConnStringError{Problem: "a setting has an empty key", Fix: "write every setting as key=value"}
		}
		i += eq + 1
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var val string
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				if s[i] == q {
					if i+1 < len(s) && s[i+1] == q {
						b.WriteByte(q)
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, &ConnStringError{Key: key, Problem: "quoted value has no closing quote", Fix: "close the quote (double a quote character inside the value)"}
			}
			val = b.String()
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			if i < len(s) && s[i] != ';' {
				return nil, &ConnStringError{Key: key, Problem: "text after the closing quote", Fix: "put ';' after a quoted value"}
			}
		} else {
			end := strings.IndexByte(s[i:], ';')
			if end < 0 {
				end = len(s) - i
			}
			val = strings.TrimSpace(s[i : i+end])
			i += end
		}
		out = append(out, pair{key: key, value: val})
	}
	return out, nil
}
