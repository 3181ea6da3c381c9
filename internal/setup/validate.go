package setup

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// FieldError is one bad value: which field, what is wrong, how to fix it.
// Value is empty for secret fields so that no secret reaches an error.
type FieldError struct {
	Field   string // the answer's key, e.g. "crm.url" (flag --crm-url)
	Value   string
	Problem string
	Fix     string
	Err     error // a sentinel such as ErrInsecureURL, for errors.Is
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

// ErrInsecureURL marks an http:// URL given without allow-insecure, so the
// interactive guide can offer to allow it.
var ErrInsecureURL = errors.New("plain http not allowed")

// SupportedAPIVersions are the Dataverse Web API versions coupler speaks;
// SupportedSDKVersions the "Dynamics 365 SDK (proxy) versions" of the seed.
var (
	SupportedAPIVersions = []string{"9.0", "9.1", "9.2"}
	SupportedSDKVersions = []string{"9", "91", "100"}
)

// AuthTypes lists every CRM authentication type, in the order shown.
var AuthTypes = []AuthType{AuthOAuth, AuthClientSecret, AuthCertificate, AuthOffice365, AuthAD, AuthIFD}

// NormalizeCRMURL does what Business Central does with the "Dynamics 365
// Sales URL" field, and refuses what it lets through: trims, adds https://
// when there is no scheme, refuses anything but https (http only with
// allowInsecure), credentials in the URL and hosts that cannot exist, and
// cuts the rest to scheme://host[:port].
func NormalizeCRMURL(field, raw string, allowInsecure bool) (string, error) {
	return normalizeBaseURL(field, raw, allowInsecure, "https://contoso.crm.dynamics.com", true)
}

func normalizeBaseURL(field, raw string, allowInsecure bool, example string, cut bool) (string, error) {
	v := strings.TrimSpace(raw)
	fe := func(problem, fix string) *FieldError {
		return &FieldError{Field: field, Value: v, Problem: problem, Fix: fix}
	}
	if v == "" {
		return "", fe("is required", "give the address, for example "+example)
	}
	if !strings.Contains(v, "://") {
		if i := strings.Index(v, ":"); i > 0 && !strings.ContainsAny(v[:i], "./") && !isPort(v[i+1:]) {
			return "", fe(fmt.Sprintf("scheme %q is not supported", strings.ToLower(v[:i])), "use an https:// address, for example "+example)
		}
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		var ue *url.Error
		problem := "is not a valid URL"
		if errors.As(err, &ue) {
			problem = "is not a valid URL (" + ue.Err.Error() + ")"
		}
		return "", fe(problem, "give the address, for example "+example)
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "https":
	case "http":
		if !allowInsecure {
			return "", &FieldError{Field: field, Value: v, Problem: "plain http would send credentials unencrypted",
				Fix: "use https://, or set allow-insecure (--allow-insecure) for a local sandbox only", Err: ErrInsecureURL}
		}
	default:
		return "", fe(fmt.Sprintf("scheme %q is not supported", scheme), "use an https:// address, for example "+example)
	}
	if u.User != nil {
		return "", fe("contains a user name or password", "remove it from the URL; credentials go in their own fields")
	}
	host := u.Hostname()
	if host == "" {
		return "", fe("has no host name", "give the address, for example "+example)
	}
	if !validHost(host) {
		return "", fe(fmt.Sprintf("host %q is not a valid host name", host), "check for typos; give the address, for example "+example)
	}
	if p := u.Port(); p != "" && !isPort(p) {
		return "", fe(fmt.Sprintf("port %q is not a number between 1 and 65535", p), "fix or remove the port")
	}
	hostport := strings.ToLower(u.Host)
	if !cut {
		return scheme + "://" + hostport + strings.TrimRight(u.EscapedPath(), "/"), nil
	}
	return scheme + "://" + hostport, nil
}

var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n >= 1 && n <= 65535
}

// ParseAuthType accepts an authentication type in any case.
func ParseAuthType(field, raw string) (AuthType, error) {
	v := strings.TrimSpace(raw)
	for _, a := range AuthTypes {
		if strings.EqualFold(v, string(a)) {
			return a, nil
		}
	}
	names := make([]string, len(AuthTypes))
	for i, a := range AuthTypes {
		names[i] = string(a)
	}
	return "", &FieldError{Field: field, Value: v, Problem: "is not an authentication type",
		Fix: "use one of " + strings.Join(names, ", ")}
}

// UsesPassword says whether the auth type signs in as a user.
func (a AuthType) UsesPassword() bool {
	return a == AuthOffice365 || a == AuthOAuth || a == AuthAD || a == AuthIFD
}

// UsesOAuth says whether a token endpoint is involved.
func (a AuthType) UsesOAuth() bool { return a != AuthAD && a != AuthIFD }

// Placeholder is the connection-string placeholder the secret replaces.
func (a AuthType) Placeholder() string {
	switch a {
	case AuthClientSecret:
		return "{CLIENTSECRET}"
	case AuthCertificate:
		return "{CERTIFICATE}"
	}
	return "{PASSWORD}"
}

var domainUser = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,62}\\[^\\/\s"\[\]:;|=,+*?<>@]{1,104}$`)

// ValidateUserName checks the user name's format for the auth type:
// DOMAIN\user for AD, DOMAIN\user or an e-mail for IFD, an e-mail for
// OAuth and Office365 (Entra ID sign-in names).
func ValidateUserName(field string, auth AuthType, raw string) (string, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", &FieldError{Field: field, Problem: "is required for authentication type " + string(auth),
			Fix: "give the integration user's " + userFormat(auth)}
	}
	ok := false
	switch auth {
	case AuthAD:
		ok = domainUser.MatchString(v)
	case AuthIFD:
		ok = domainUser.MatchString(v) || isEmail(v)
	default:
		ok = isEmail(v)
	}
	if !ok {
		return "", &FieldError{Field: field, Value: v, Problem: "is not a valid user name for authentication type " + string(auth),
			Fix: "write it as " + userFormat(auth)}
	}
	return v, nil
}

func userFormat(a AuthType) string {
	switch a {
	case AuthAD:
		return `DOMAIN\user (for example CONTOSO\crmintegration)`
	case AuthIFD:
		return `DOMAIN\user or user@domain (for example CONTOSO\crmintegration)`
	}
	return "sign-in e-mail (for example integration@contoso.onmicrosoft.com)"
}

func isEmail(v string) bool {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	return at > 0 && validHost(v[at+1:]) && strings.Contains(v[at+1:], ".")
}

// ValidateVersion refuses a version coupler does not support, listing the
// supported ones.
func ValidateVersion(field, raw string, supported []string) (string, error) {
	v := strings.TrimSpace(raw)
	if slices.Contains(supported, v) {
		return v, nil
	}
	return "", &FieldError{Field: field, Value: v, Problem: "is not a supported version",
		Fix: "use one of " + strings.Join(supported, ", ")}
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidateGUID accepts a GUID with or without braces.
func ValidateGUID(field, raw, what string) (string, error) {
	v := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(raw), "{"), "}")
	if !guidRE.MatchString(v) {
		return "", &FieldError{Field: field, Value: strings.TrimSpace(raw), Problem: "is not a GUID",
			Fix: "give the " + what + " as 8-4-4-4-12 hexadecimal digits, for example 5106c77d-44e3-ea11-bb43-000d3a2feca1"}
	}
	return strings.ToLower(v), nil
}

// ValidateTokenURL checks an OAuth 2.0 token endpoint address.
func ValidateTokenURL(field, raw string, allowInsecure bool) (string, error) {
	v, err := normalizeBaseURL(field, raw, allowInsecure, "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token", false)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(v, "/token") {
		return "", &FieldError{Field: field, Value: strings.TrimSpace(raw), Problem: "is not an OAuth 2.0 token endpoint",
			Fix: "it ends in /oauth2/v2.0/token, for example https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"}
	}
	return v, nil
}

// NormalizeERPURL checks the Business Central API root: companies are at
// {url}/companies, so it ends in /api/v2.0.
func NormalizeERPURL(field, raw string, allowInsecure bool) (string, error) {
	const example = "https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}/api/v2.0"
	v, err := normalizeBaseURL(field, raw, allowInsecure, example, false)
	if err != nil {
		return "", err
	}
	v = strings.TrimSuffix(v, "/companies")
	if !strings.HasSuffix(v, "/api/v2.0") {
		return "", &FieldError{Field: field, Value: strings.TrimSpace(raw), Problem: "is not a Business Central API v2.0 root",
			Fix: "the address ends in /api/v2.0, for example " + example}
	}
	return v, nil
}

// DefaultWebClientURL derives the ERP web client's address from the API
// root ("reset to default"): the online API host api.businesscentral.
// dynamics.com/v2.0/{tenant}/{env}/api/v2.0 opens at businesscentral.
// dynamics.com/{tenant}/{env}/; elsewhere the same host with the path
// before /api/v2.0 (without a leading /v2.0).
func DefaultWebClientURL(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return ""
	}
	p := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v2.0")
	p = strings.TrimPrefix(p, "/v2.0")
	host := u.Host
	if strings.EqualFold(u.Hostname(), "api.businesscentral.dynamics.com") {
		host = "businesscentral.dynamics.com"
	}
	return u.Scheme + "://" + host + strings.TrimSuffix(p, "/") + "/"
}

// ValidateWebClientURL checks a user-given ERP web client URL.
func ValidateWebClientURL(field, raw string, allowInsecure bool) (string, error) {
	v, err := normalizeBaseURL(field, raw, allowInsecure, "https://businesscentral.dynamics.com/{tenant}/{environment}/", false)
	if err != nil {
		return "", err
	}
	return v + "/", nil
}
