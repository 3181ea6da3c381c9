// Package bc is coupler's client of the Business Central API v2.0, online
// (OAuth client credentials) or on-premises (Basic with a web service access
// key). It pages with @odata.nextLink, writes with ETag-guarded PATCH and JSON
// $batch, and keeps within BC's request limits on its own.
package bc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultScope is the OAuth scope of the Business Central API for the
// client-credentials grant.
const DefaultScope = "https://api.businesscentral.dynamics.com/.default"

// Layout tells which deployment an API root URL belongs to.
type Layout int

const (
	// LayoutOnline is https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}/api/v2.0.
	LayoutOnline Layout = iota + 1
	// LayoutOnPremises is https://host:port/{instance}/api/v2.0.
	LayoutOnPremises
)

func (l Layout) String() string {
	switch l {
	case LayoutOnline:
		return "online"
	case LayoutOnPremises:
		return "on-premises"
	}
	return "unknown"
}

// APIRoot is a parsed API root URL (the URL under which `companies` lives).
type APIRoot struct {
	URL         *url.URL // normalised: no query, no trailing slash
	Layout      Layout
	Tenant      string // online only; may be empty when the URL omits it
	Environment string // online only
	Instance    string // on-premises only
}

// String returns the API root without a trailing slash.
func (r APIRoot) String() string { return r.URL.String() }

// ParseAPIRoot parses and validates an API root URL of either layout. The
// errors say what is wrong and show the expected shapes, because this value
// is typed by a person during setup.
func ParseAPIRoot(raw string) (APIRoot, error) {
	const shapes = "expected https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}/api/v2.0 " +
		"or https://host:port/{instance}/api/v2.0"
	s := strings.TrimSpace(raw)
	if s == "" {
		return APIRoot{}, fmt.Errorf("bc: API URL is empty; %s", shapes)
	}
	u, err := url.Parse(s)
	if err != nil {
		return APIRoot{}, fmt.Errorf("bc: API URL %q is not a URL (%v); %s", raw, err, shapes)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return APIRoot{}, fmt.Errorf("bc: API URL %q must start with https:// (or http:// for a local server); %s", raw, shapes)
	}
	if u.Host == "" {
		return APIRoot{}, fmt.Errorf("bc: API URL %q has no host; %s", raw, shapes)
	}
	if u.User != nil {
		return APIRoot{}, fmt.Errorf("bc: API URL %q must not carry credentials; give the user name and key separately", redact(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return APIRoot{}, fmt.Errorf("bc: API URL %q must not have a query or fragment; %s", raw, shapes)
	}
	segs := splitPath(u.Path)
	n := len(segs)
	if n < 3 || !strings.EqualFold(segs[n-2], "api") || segs[n-1] != "v2.0" {
		return APIRoot{}, fmt.Errorf("bc: API URL %q must end with /api/v2.0; %s", raw, shapes)
	}
	root := APIRoot{URL: &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/" + strings.Join(segs, "/")}}
	prefix := segs[:n-2]
	switch {
	case prefix[0] == "v2.0":
		// Online: v2.0/{tenant}/{environment} or v2.0/{environment} (tenant
		// taken from the token then).
		switch len(prefix) {
		case 2:
			root.Environment = prefix[1]
		case 3:
			root.Tenant, root.Environment = prefix[1], prefix[2]
		default:
			return APIRoot{}, fmt.Errorf("bc: API URL %q: online URLs have /v2.0/{tenant}/{environment}/api/v2.0 (got %d segments before /api/v2.0); %s", raw, len(prefix), shapes)
		}
		root.Layout = LayoutOnline
	case len(prefix) == 1:
		root.Layout = LayoutOnPremises
		root.Instance = prefix[0]
	default:
		return APIRoot{}, fmt.Errorf("bc: API URL %q: on-premises URLs have exactly one server instance segment before /api/v2.0 (got %q); %s", raw, strings.Join(prefix, "/"), shapes)
	}
	return root, nil
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidGUID reports whether s is a GUID in BC's 8-4-4-4-12 form (SystemId).
func ValidGUID(s string) bool { return guidRE.MatchString(s) }

// OAuth is client-credentials authentication (BC online, service-to-service).
type OAuth struct {
	ClientID     string
	ClientSecret string
	// TokenURL defaults to https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token
	// with the tenant of the API URL.
	TokenURL string
	// Scopes defaults to [DefaultScope].
	Scopes []string
}

// Basic is user name + web service access key (on-premises only: BC online
// stopped accepting keys on 1 October 2022).
type Basic struct {
	User          string
	WebServiceKey string
}

// Config configures a Client. APIURL, CompanyID and exactly one of OAuth or
// Basic are required; everything else has defaults that respect BC online's
// limits (6,000 requests per 5 minutes, 5 concurrent per user).
type Config struct {
	APIURL    string // the API root, as the sandbox's erp_url
	CompanyID string // GUID of companies(…)
	OAuth     *OAuth
	Basic     *Basic

	// HTTPClient supplies the transport (TLS, proxies); its Timeout is ignored
	// in favour of Timeout. Nil means http.DefaultTransport.
	HTTPClient *http.Client
	Logger     *slog.Logger

	// RequestsPerWindow/Window is the client-side budget (default 6000 per 5
	// minutes); the limiter never lets more through in any Window.
	RequestsPerWindow int
	Window            time.Duration
	// Pacer, when set, hands out the request turns instead of that
	// in-process limiter: BC counts requests per user, so instances sharing
	// a user share one budget (internal/ratelimit).
	Pacer Pacer

	MaxConcurrent  int           // in-flight requests (default 5)
	Timeout        time.Duration // per attempt (default 2 minutes)
	MaxRetries     int           // per call, after the first attempt (default 6; <0 = none)
	MaxBackoff     time.Duration // cap of one wait between attempts (default 30 s)
	MaxRetryAfter  time.Duration // longest Retry-After honoured before giving up (default 5 minutes)
	UpdateAttempts int           // refetch-and-reapply rounds of UpdateFunc on 409 (default 3)
	CursorOverlap  time.Duration // how far ListModifiedSince reads back before its cursor (default 1 ms; <0 = none)

	// Observe, when set, is called after every HTTP attempt (for metrics).
	Observe func(RequestInfo)
	// Sleep waits between retries; tests replace it. Nil = real timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Pacer takes one request turn, waiting as long as the budget demands.
// *rate.Limiter and *ratelimit.Bucket both fit.
type Pacer interface {
	Wait(ctx context.Context) error
}

// RequestInfo describes one HTTP attempt for metrics.
type RequestInfo struct {
	Method    string
	EntitySet string // first path segment after the company, "" for root calls
	Status    int    // 0 when no response came back
	Attempt   int    // 1 for the first try
	Duration  time.Duration
	Err       error
}

func (c *Config) validate() (APIRoot, error) {
	root, err := ParseAPIRoot(c.APIURL)
	if err != nil {
		return APIRoot{}, err
	}
	if strings.TrimSpace(c.CompanyID) == "" {
		return APIRoot{}, errors.New("bc: company id is empty; give the id (GUID) of the company from GET {api}/companies")
	}
	if !ValidGUID(c.CompanyID) {
		return APIRoot{}, fmt.Errorf("bc: company id %q is not a GUID (like 7c8b5b6e-0000-4000-8000-000000000001); take the id from GET {api}/companies", c.CompanyID)
	}
	switch {
	case c.OAuth != nil && c.Basic != nil:
		return APIRoot{}, errors.New("bc: both OAuth and Basic authentication are set; choose one")
	case c.OAuth == nil && c.Basic == nil:
		return APIRoot{}, errors.New("bc: no authentication: set OAuth (client id + secret) or Basic (user + web service access key)")
	case c.OAuth != nil:
		if c.OAuth.ClientID == "" || c.OAuth.ClientSecret == "" {
			return APIRoot{}, errors.New("bc: OAuth client id and client secret are both required")
		}
		if c.OAuth.TokenURL == "" && root.Tenant == "" {
			return APIRoot{}, errors.New("bc: OAuth token URL is empty and the API URL names no tenant; give the token URL (https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token)")
		}
		if c.OAuth.TokenURL != "" {
			if u, err := url.Parse(c.OAuth.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return APIRoot{}, fmt.Errorf("bc: OAuth token URL %q is not an http(s) URL", c.OAuth.TokenURL)
			}
		}
	case c.Basic != nil:
		if c.Basic.User == "" {
			return APIRoot{}, errors.New("bc: Basic authentication needs a user name")
		}
		if c.Basic.WebServiceKey == "" {
			return APIRoot{}, errors.New("bc: Basic authentication needs the user's web service access key (BC user card, Web Service Access Key)")
		}
	}
	if c.RequestsPerWindow < 0 || c.Window < 0 || c.MaxConcurrent < 0 || c.Timeout < 0 {
		return APIRoot{}, errors.New("bc: RequestsPerWindow, Window, MaxConcurrent and Timeout must not be negative")
	}
	return root, nil
}

func (c *Config) withDefaults() {
	if c.RequestsPerWindow == 0 {
		c.RequestsPerWindow = 6000
	}
	if c.Window == 0 {
		c.Window = 5 * time.Minute
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = 5
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 6
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = 5 * time.Minute
	}
	switch {
	case c.CursorOverlap == 0:
		c.CursorOverlap = time.Millisecond
	case c.CursorOverlap < 0:
		c.CursorOverlap = 0
	}
	if c.UpdateAttempts == 0 {
		c.UpdateAttempts = 3
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
