package dataverse

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

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
