// Package dataverse is coupler's client of the Dataverse (Dynamics 365 Sales)
// Web API: OAuth, typed errors, paging, change tracking, $batch, and the
// throttling discipline the service protection limits demand.
package dataverse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

// Config configures a Client. URL and either Conn or TokenSource are required.
type Config struct {
	// URL is the organisation URL (https://contoso.crm.dynamics.com); the Web
	// API is at {URL}/api/data/v{APIVersion}/. Empty: Conn.URL.
	URL        string
	APIVersion string // default "9.2"
	// Conn is a filled connection string; it selects the OAuth flow.
	Conn *ConnectionString
	// TokenURL is the OAuth token endpoint (the sandbox gives token_url);
	// empty: discovered from the Web API's 401 challenge.
	TokenURL string
	// TokenSource overrides Conn (tests, or flows coupler does not build).
	TokenSource oauth2.TokenSource
	HTTPClient  *http.Client
	Logger      *slog.Logger

	// RequestsPerSecond caps the request rate (default 20 = 6,000 per 5
	// minutes, the per-user service protection limit); negative = no cap.
	RequestsPerSecond float64
	Burst             int // default 50
	// Pacer, when set, hands out the request turns instead of the
	// in-process limiter above (RequestsPerSecond and Burst are then
	// ignored): the service counts requests per user, so instances sharing
	// a user share one budget (internal/ratelimit).
	Pacer Pacer
	// MaxConcurrent bounds requests in flight (default 16; the service allows 52).
	MaxConcurrent int
	// MaxAttempts bounds tries per call, the first included (default 6).
	MaxAttempts int
	// Timeout bounds each attempt, reading the body included (default 2 min).
	Timeout time.Duration
	// BaseBackoff and MaxBackoff shape the jittered exponential backoff
	// (defaults 500 ms and 30 s). Retry-After overrides them.
	BaseBackoff, MaxBackoff time.Duration
}

// Pacer takes one request turn, waiting as long as the budget demands.
// *rate.Limiter and *ratelimit.Bucket both fit.
type Pacer interface {
	Wait(ctx context.Context) error
}

// Client talks to one organisation's Web API. Safe for concurrent use.
type Client struct {
	base     *url.URL // …/api/data/v9.2/
	org      string
	hc       *http.Client
	tokens   *TokenCache
	log      *slog.Logger
	limiter  Pacer // nil: no cap
	pacer    Pacer // Config.Pacer
	sem      chan struct{}
	attempts int
	timeout  time.Duration
	backoff  backoff
	stats    *stats

	pauseMu    sync.Mutex
	pauseUntil time.Time
}

// New builds a client. With Conn and no TokenURL it discovers the token
// endpoint (one anonymous request); it fetches no token until the first call.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URL == "" && cfg.Conn != nil {
		cfg.URL = cfg.Conn.URL
	}
	if cfg.URL == "" {
		return nil, errors.New("dataverse: Config.URL is empty; give the organisation URL (https://<org>.crm.dynamics.com)")
	}
	org, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (org.Scheme != "https" && org.Scheme != "http") || org.Host == "" {
		return nil, fmt.Errorf("dataverse: Config.URL %q is not an absolute http(s) URL", cfg.URL)
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = "9.2"
	}
	cfg.APIVersion = strings.TrimPrefix(cfg.APIVersion, "v")
	base, _ := url.Parse(org.String() + "/api/data/v" + cfg.APIVersion + "/")
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 16
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// Keep one idle connection per allowed concurrent request, so that
		// steady parallel traffic does not churn TCP connections.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.MaxConcurrent
		hc = &http.Client{Transport: tr}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{base: base, org: org.String(), hc: hc, log: log, stats: newStats()}
	switch {
	case cfg.TokenSource != nil:
		c.tokens = StaticTokenSource(cfg.TokenSource)
	case cfg.Conn != nil:
		conn := *cfg.Conn
		conn.URL = org.String()
		if c.tokens, err = NewTokenSource(ctx, AuthConfig{Conn: conn, TokenURL: cfg.TokenURL, HTTPClient: hc}); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("dataverse: Config needs Conn (a connection string) or TokenSource")
	}
	rps := cfg.RequestsPerSecond
	if rps == 0 {
		rps = 6000.0 / 300
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 50
	}
	switch {
	case cfg.Pacer != nil:
		c.limiter, c.pacer = cfg.Pacer, cfg.Pacer
	case rps > 0:
		c.limiter = rate.NewLimiter(rate.Limit(rps), cfg.Burst)
	}
	c.sem = make(chan struct{}, cfg.MaxConcurrent)
	c.attempts = cfg.MaxAttempts
	if c.attempts <= 0 {
		c.attempts = 6
	}
	c.timeout = cfg.Timeout
	if c.timeout <= 0 {
		c.timeout = 2 * time.Minute
	}
	c.backoff = backoff{base: cfg.BaseBackoff, max: cfg.MaxBackoff}
	if c.backoff.base <= 0 {
		c.backoff.base = 500 * time.Millisecond
	}
	if c.backoff.max <= 0 {
		c.backoff.max = 30 * time.Second
	}
	return c, nil
}

// BaseURL is the Web API root, ending in "/".
func (c *Client) BaseURL() string { return c.base.String() }

// Pacer is Config.Pacer: nil when the client keeps to its own in-process
// limiter.
func (c *Client) Pacer() Pacer { return c.pacer }

// OrgURL is the organisation URL.
func (c *Client) OrgURL() string { return c.org }

// Request is one call of the Web API. Path is relative to the API root
// ("accounts(…)") unless it is an absolute URL (a nextLink).
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte // JSON unless Header says otherwise
	// Idempotent allows retrying after a 5xx or a broken connection. GET,
	// PATCH, PUT and DELETE are; a POST that creates is not, because the
	// service may have run it.
	Idempotent bool
}

// Response is a completed call; Body is fully read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

type callerKey struct{}

// Caller identifies the user a call is made on behalf of (impersonation): a
// systemuserid (MSCRMCallerID) or a Microsoft Entra object id (CallerObjectId).
type Caller struct {
	SystemUserID string
	ObjectID     string
}

// WithCaller makes every call under ctx impersonate the given user; the
// application user must hold the prvActOnBehalfOfAnotherUser privilege.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func (c *Client) resolve(p string) string {
	// A literal space (e.g. in a $filter written by hand) would break the
	// request line; every other character is the caller's to encode.
	p = strings.ReplaceAll(p, " ", "%20")
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	return c.base.String() + strings.TrimPrefix(p, "/")
}

// Do sends one request with authentication, rate limiting, bounded
// concurrency, per-attempt timeout and retries. A non-2xx answer is returned
// as a typed error (see errors.go) with the response.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	u := c.resolve(r.Path)
	if len(r.Query) > 0 {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + encodeQuery(r.Query)
	}
	idempotent := r.Idempotent || r.Method != http.MethodPost
	var lastErr error
	reauthed := false
	for attempt := 0; attempt < c.attempts; attempt++ {
		if attempt > 0 {
			c.stats.retry()
			wait := c.backoff.delay(attempt - 1)
			var te *ThrottledError
			if errors.As(lastErr, &te) && te.RetryAfter > 0 {
				wait = te.RetryAfter + c.backoff.jitter(te.RetryAfter/10)
			}
			if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
				// Waiting would outlive the caller: give up now, keeping the cause.
				return nil, fmt.Errorf("dataverse: %s %s: not retrying, the wait of %s exceeds the deadline: %w", r.Method, u, wait.Round(time.Millisecond), lastErr)
			}
			c.log.DebugContext(ctx, "dataverse retry", "method", r.Method, "url", u, "attempt", attempt+1, "wait", wait, "err", lastErr)
			if err := sleepCtx(ctx, wait); err != nil {
				return nil, fmt.Errorf("dataverse: %s %s: giving up while waiting to retry: %w (last error: %w)", r.Method, u, err, lastErr)
			}
		}
		resp, err, retry := c.attempt(ctx, r, u, idempotent)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if errors.Is(err, ErrUnauthorized) {
			// One fresh token is worth a try; a second 401 is final.
			retry = retry && !reauthed
			reauthed = true
		}
		if !retry || ctx.Err() != nil {
			return resp, err
		}
	}
	return nil, fmt.Errorf("dataverse: %s %s failed after %d attempts: %w", r.Method, u, c.attempts, lastErr)
}

// attempt performs one try. retry reports whether trying again may succeed.
func (c *Client) attempt(ctx context.Context, r Request, u string, idempotent bool) (resp *Response, err error, retry bool) {
	if err := c.waitTurn(ctx); err != nil {
		return nil, err, false
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("dataverse: %s %s: %w", r.Method, u, ctx.Err()), false
	}
	defer func() { <-c.sem }()

	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	tok, err := c.tokens.TokenContext(actx)
	if err != nil {
		// Refused credentials are final; an unreachable token endpoint may recover.
		return nil, err, !errors.Is(err, ErrUnauthorized) && ctx.Err() == nil
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(actx, r.Method, u, body)
	if err != nil {
		return nil, fmt.Errorf("dataverse: building %s %s: %w", r.Method, u, err), false
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if r.Method == http.MethodGet {
		req.Header.Set("If-None-Match", "null")
	}
	for k, vs := range r.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if caller, ok := ctx.Value(callerKey{}).(Caller); ok {
		if caller.SystemUserID != "" {
			req.Header.Set("MSCRMCallerID", caller.SystemUserID)
		}
		if caller.ObjectID != "" {
			req.Header.Set("CallerObjectId", caller.ObjectID)
		}
	}
	tok.SetAuthHeader(req)

	hr, err := c.hc.Do(req)
	if err != nil {
		c.stats.count(r.Method, 0)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("dataverse: %s %s: %w", r.Method, u, ctx.Err()), false
		}
		// A refused dial never reached the server: always safe to retry.
		return nil, fmt.Errorf("dataverse: %s %s: %w", r.Method, u, err), idempotent || isDialError(err)
	}
	data, err := readBody(hr.Body)
	_ = hr.Body.Close()
	c.stats.count(r.Method, hr.StatusCode)
	if err != nil {
		return nil, fmt.Errorf("dataverse: %s %s: reading the answer: %w", r.Method, u, err), idempotent
	}
	resp = &Response{Status: hr.StatusCode, Header: hr.Header, Body: data}
	if hr.StatusCode < 300 || hr.StatusCode == http.StatusNotModified {
		return resp, nil, false
	}
	apiErr := decodeAPIError(r.Method, u, hr.StatusCode, hr.Header, data)
	switch {
	case hr.StatusCode == http.StatusTooManyRequests:
		var te *ThrottledError
		if errors.As(apiErr, &te) {
			c.pause(te.RetryAfter)
		}
		return resp, apiErr, true
	case hr.StatusCode == http.StatusUnauthorized:
		// The token may have expired or been revoked early: fetch a new one once.
		c.tokens.Invalidate(tok.AccessToken)
		return resp, apiErr, true
	case hr.StatusCode == http.StatusServiceUnavailable || hr.StatusCode == http.StatusBadGateway || hr.StatusCode == http.StatusGatewayTimeout:
		return resp, apiErr, idempotent
	case hr.StatusCode >= 500:
		return resp, apiErr, idempotent
	}
	return resp, apiErr, false
}

// waitTurn honours a server-wide pause set by a 429 and the rate limiter.
func (c *Client) waitTurn(ctx context.Context) error {
	c.pauseMu.Lock()
	until := c.pauseUntil
	c.pauseMu.Unlock()
	if d := time.Until(until); d > 0 {
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("dataverse: rate limiter: %w", err)
		}
	}
	return nil
}

// pause holds back every caller of this client: a 429 applies to the user,
// not to the one request.
func (c *Client) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	c.pauseMu.Lock()
	if t := time.Now().Add(d); t.After(c.pauseUntil) {
		c.pauseUntil = t
	}
	c.pauseMu.Unlock()
}

// Stats returns the request counters (for metrics).
func (c *Client) Stats() Stats { return c.stats.snapshot() }

func encodeQuery(v url.Values) string {
	// OData options must keep "$" and "," readable; url.Values.Encode would
	// escape them, which the service accepts but logs become unreadable.
	s := v.Encode()
	return strings.NewReplacer("%24", "$", "%2C", ",", "%2F", "/").Replace(s)
}

// bodyBufs are the buffers answers are read into before being copied out
// at their exact size: io.ReadAll grew each answer from 512 bytes by
// doubling, some two and a half times the size of a $batch answer or a
// page in allocations (and as much memory to clear), for every request.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// bodyBufMax is the largest buffer kept for the next answer.
const bodyBufMax = 32 << 20

func readBody(r io.Reader) ([]byte, error) {
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(r)
	data := make([]byte, buf.Len())
	copy(data, buf.Bytes())
	if buf.Cap() <= bodyBufMax {
		bodyBufs.Put(buf)
	}
	return data, err
}
