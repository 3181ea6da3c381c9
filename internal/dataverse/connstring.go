package dataverse

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
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

// Secrets fills a template's placeholders.
type Secrets struct {
	Password     string
	ClientSecret string
	Certificate  string
}

var placeholders = []string{PlaceholderPassword, PlaceholderClientSecret, PlaceholderCertificate}

var placeholderRE = regexp.MustCompile(`\{[A-Za-z_]+\}`)

func hasPlaceholder(v string) bool { return placeholderRE.MatchString(v) }

// checkPlaceholders rejects unknown {TOKENS}; with filled it also rejects
// known placeholders that were never replaced.
func (c ConnectionString) checkPlaceholders(filled bool) error {
	for _, k := range connKeys {
		for _, tok := range placeholderRE.FindAllString(k.get(&c), -1) {
			known := slices.Contains(placeholders, tok)
			switch {
			case !known:
				return &ConnStringError{Key: k.name, Problem: "unknown placeholder " + tok, Fix: "use {PASSWORD}, {CLIENTSECRET} or {CERTIFICATE}"}
			case filled:
				return &ConnStringError{Key: k.name, Problem: "placeholder " + tok + " is not filled", Fix: "fill it with the stored secret before connecting"}
			}
		}
	}
	return nil
}

// ValidateTemplate checks a connection string meant for storage: it must be
// valid apart from its placeholders, and carry the placeholder of its
// authentication type's secret instead of the secret itself, so that no
// secret is stored in clear.
func (c ConnectionString) ValidateTemplate() error {
	if err := c.checkPlaceholders(false); err != nil {
		return err
	}
	filled, err := c.Fill(Secrets{Password: "x", ClientSecret: "x", Certificate: "x"})
	if err != nil {
		return err
	}
	if err := filled.Validate(); err != nil {
		return err
	}
	need := func(key, v, ph string) error {
		if v != "" && !strings.Contains(v, ph) {
			return &ConnStringError{Key: key, Problem: "holds a secret instead of the placeholder " + ph,
				Fix: "write " + key + "=" + ph + " and store the secret separately"}
		}
		return nil
	}
	for _, e := range []error{need("Password", c.Password, PlaceholderPassword),
		need("ClientSecret", c.ClientSecret, PlaceholderClientSecret),
		need("Certificate", c.Certificate, PlaceholderCertificate)} {
		if e != nil {
			return e
		}
	}
	return nil
}

// Placeholders lists the placeholders the connection string still holds.
func (c ConnectionString) Placeholders() []string {
	var out []string
	for _, k := range connKeys {
		v := k.get(&c)
		for _, p := range placeholders {
			if strings.Contains(v, p) && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Fill replaces {PASSWORD}, {CLIENTSECRET} and {CERTIFICATE} with the given
// secrets. A placeholder whose secret is empty, or any other {…} token, is an
// error naming the key.
func (c ConnectionString) Fill(s Secrets) (ConnectionString, error) {
	repl := map[string]string{PlaceholderPassword: s.Password, PlaceholderClientSecret: s.ClientSecret, PlaceholderCertificate: s.Certificate}
	fixes := map[string]string{PlaceholderPassword: "enter the integration user's password",
		PlaceholderClientSecret: "enter the application's client secret", PlaceholderCertificate: "upload the application's certificate"}
	for _, k := range connKeys {
		if k.name == "AuthType" || k.name == "LoginPrompt" {
			continue
		}
		v := k.get(&c)
		if !strings.Contains(v, "{") {
			continue
		}
		for _, p := range placeholders {
			if strings.Contains(v, p) {
				if repl[p] == "" {
					return c, &ConnStringError{Key: k.name, Problem: "needs " + p + " but no value was given", Fix: fixes[p]}
				}
				v = strings.ReplaceAll(v, p, repl[p])
			}
		}
		if err := k.set(&c, v); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Validate checks that the connection string is complete for its
// authentication type and holds no unfilled or unknown placeholder.
func (c ConnectionString) Validate() error {
	if err := c.checkPlaceholders(true); err != nil {
		return err
	}
	req := func(key, v, fix string) error {
		if strings.TrimSpace(v) == "" {
			return &ConnStringError{Key: key, Problem: fmt.Sprintf("is required for AuthType=%s", c.AuthType), Fix: fix}
		}
		return nil
	}
	if c.AuthType == "" {
		return &ConnStringError{Key: "AuthType", Problem: "is missing", Fix: "add AuthType=ClientSecret (or OAuth, Certificate, Office365, AD, IFD)"}
	}
	if c.URL == "" {
		return &ConnStringError{Key: "Url", Problem: "is missing", Fix: "add Url=https://<org>.crm.dynamics.com"}
	}
	var errs []error
	switch c.AuthType {
	case AuthClientSecret:
		errs = append(errs, req("ClientId", c.ClientID, "add ClientId=<application (client) id>"),
			req("ClientSecret", c.ClientSecret, "add ClientSecret={CLIENTSECRET} and store the secret"))
	case AuthCertificate:
		errs = append(errs, req("ClientId", c.ClientID, "add ClientId=<application (client) id>"))
		if c.Certificate == "" && c.Thumbprint == "" {
			errs = append(errs, &ConnStringError{Key: "Certificate", Problem: "is required for AuthType=Certificate (or Thumbprint)",
				Fix: "add Certificate={CERTIFICATE} and upload the certificate with its private key"})
		}
	case AuthOAuth:
		errs = append(errs, req("ClientId", c.ClientID, "add AppId=<application (client) id>"),
			req("RedirectUri", c.RedirectURI, "add RedirectUri=<the application's redirect URI>"),
			req("UserName", c.UserName, "add UserName=<user e-mail>; coupler cannot prompt for a login"),
			req("Password", c.Password, "add Password={PASSWORD} and store the password"))
	case AuthOffice365, AuthIFD:
		errs = append(errs, req("UserName", c.UserName, "add UserName=<user e-mail>"),
			req("Password", c.Password, "add Password={PASSWORD} and store the password"))
	case AuthAD:
		if c.UserName != "" {
			errs = append(errs, req("Password", c.Password, "add Password={PASSWORD} or remove UserName to use the service's Windows identity"))
		}
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	if c.LoginPrompt == LoginPromptAlways {
		return &ConnStringError{Key: "LoginPrompt", Problem: "Always asks for an interactive login, which a service cannot show", Fix: "use LoginPrompt=Never or Auto"}
	}
	return nil
}

// Format writes the connection string back in canonical key order, quoting
// values that need it. Secrets are included: use String for logs.
func (c ConnectionString) Format() string { return c.format(false) }

// String is Format with every secret replaced by "***".
func (c ConnectionString) String() string { return c.format(true) }

func (c ConnectionString) format(redact bool) string {
	var parts []string
	for _, k := range connKeys {
		v := k.get(&c)
		if v == "" {
			continue
		}
		if redact && k.secret && !slices.Contains(placeholders, v) {
			v = "***"
		}
		parts = append(parts, k.name+"="+quoteValue(v))
	}
	return strings.Join(parts, ";")
}

func quoteValue(v string) string {
	if !strings.ContainsAny(v, ";'\"") && strings.TrimSpace(v) == v {
		return v
	}
	return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
}
