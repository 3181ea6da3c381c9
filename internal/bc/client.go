package bc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/time/rate"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// statusLocal marks a failure before anything was sent; it is never retried.
const statusLocal = -1

// Client talks to one company of one Business Central API root. It is safe
// for concurrent use; its limiter and concurrency bound are shared by all
// calls, because BC counts requests per user, not per caller.
type Client struct {
	cfg      Config
	root     APIRoot
	company  string
	http     *http.Client
	tokenURL string
	limiter  *rate.Limiter // in-process budget, unless Config.Pacer
	turns    Pacer         // Config.Pacer or limiter
	sem      chan struct{}
	log      *slog.Logger

	pauseMu    sync.Mutex
	pauseUntil time.Time // set by a 429 so every caller waits, not only the one that was refused

	requests, retries, throttled, serverErrors, transportErrors, batchOps atomic.Int64
}

// New validates cfg and returns a Client. It does no I/O: the first call
// fetches the OAuth token.
func New(cfg Config) (*Client, error) {
	root, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	cfg.withDefaults()
	c := &Client{
		cfg:     cfg,
		root:    root,
		company: strings.ToLower(cfg.CompanyID),
		sem:     make(chan struct{}, cfg.MaxConcurrent),
		log:     cfg.Logger,
	}
	c.turns = cfg.Pacer
	if c.turns == nil {
		// A token bucket that can never exceed RequestsPerWindow in any
		// sliding Window: burst b plus refill (N-b)/W over W adds up to N.
		burst := max(1, cfg.RequestsPerWindow/200)
		perSec := float64(cfg.RequestsPerWindow-burst) / cfg.Window.Seconds()
		if perSec <= 0 {
			perSec = float64(cfg.RequestsPerWindow) / cfg.Window.Seconds()
		}
		c.limiter = rate.NewLimiter(rate.Limit(perSec), burst)
		c.turns = c.limiter
	}

	var base http.RoundTripper
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	} else {
		// Keep one idle connection per allowed in-flight request; the
		// default of 2 would reopen connections under a concurrency of 5.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.MaxConcurrent
		base = t
	}
	switch {
	case cfg.OAuth != nil:
		c.tokenURL = cfg.OAuth.TokenURL
		if c.tokenURL == "" {
			c.tokenURL = "https://login.microsoftonline.com/" + url.PathEscape(root.Tenant) + "/oauth2/v2.0/token"
		}
		scopes := cfg.OAuth.Scopes
		if len(scopes) == 0 {
			scopes = []string{DefaultScope}
		}
		cc := clientcredentials.Config{
			ClientID:     cfg.OAuth.ClientID,
			ClientSecret: cfg.OAuth.ClientSecret,
			TokenURL:     c.tokenURL,
			Scopes:       scopes,
			AuthStyle:    oauth2.AuthStyleInParams, // Entra ID documents the secret in the form body
		}
		// The token source outlives any one call, so it gets its own
		// context carrying only the transport to use.
		tctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: base, Timeout: cfg.Timeout})
		c.http = &http.Client{Transport: &oauth2.Transport{Source: cc.TokenSource(tctx), Base: base}}
	case cfg.Basic != nil:
		c.http = &http.Client{Transport: &basicTransport{user: cfg.Basic.User, key: cfg.Basic.WebServiceKey, base: base}}
	}
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, nil
}

// Root returns the parsed API root.
func (c *Client) Root() APIRoot { return c.root }

// Pacer is Config.Pacer: nil when the client keeps to its own in-process
// limiter.
func (c *Client) Pacer() Pacer { return c.cfg.Pacer }

// CompanyID returns the company the client is bound to.
func (c *Client) CompanyID() string { return c.company }

type basicTransport struct {
	user, key string
	base      http.RoundTripper
}

func (t *basicTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.SetBasicAuth(t.user, t.key)
	return t.base.RoundTrip(r2)
}

// Stats are the client's counters since New, for metrics.
type Stats struct {
	Requests        int64 // HTTP attempts sent
	Retries         int64 // attempts that were retries
	Throttled       int64 // 429 answers
	ServerErrors    int64 // 5xx answers
	TransportErrors int64 // no answer (network, timeout)
	BatchOperations int64 // operations sent inside $batch requests
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests: c.requests.Load(), Retries: c.retries.Load(), Throttled: c.throttled.Load(),
		ServerErrors: c.serverErrors.Load(), TransportErrors: c.transportErrors.Load(),
		BatchOperations: c.batchOps.Load(),
	}
}

// request is one logical call; do retries it.
type request struct {
	method     string
	url        string // absolute
	set        string // for metrics
	header     http.Header
	body       []byte
	idempotent bool // safe to resend after an answer we did not see
	// accept is called with a 2xx response inside the attempt (its body is
	// closed afterwards). Nil discards the body.
	accept func(*http.Response) error
}

// do sends r, honouring the limiter, the concurrency bound, per-attempt
// timeouts, Retry-After and jittered exponential backoff. It returns the
// status of the accepted answer or the final error.
func (c *Client) do(ctx context.Context, r request) (int, error) {
	for attempt := 1; ; attempt++ {
		status, retryAfter, err := c.attempt(ctx, r, attempt)
		if err == nil {
			return status, nil
		}
		if ctx.Err() != nil {
			return status, fmt.Errorf("bc: %s %s: %w", r.method, r.set, errors.Join(ctx.Err(), err))
		}
		wait, retry := c.retryable(r, status, attempt, retryAfter)
		if tokenRefused(err) {
			retry = false // wrong credentials stay wrong; an unreachable endpoint is retried
		}
		throttled := status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && retryAfter > 0)
		if throttled && retryAfter > c.cfg.MaxRetryAfter {
			retry = false
		}
		if !retry {
			var apiErr *APIError
			if throttled && errors.As(err, &apiErr) {
				return status, &ThrottledError{RetryAfter: max(retryAfter, wait), Err: apiErr}
			}
			return status, err
		}
		if status == http.StatusTooManyRequests {
			c.pause(wait)
		}
		c.retries.Add(1)
		c.log.LogAttrs(ctx, slog.LevelDebug, "bc: retrying", slog.String("method", r.method),
			slog.String("set", r.set), slog.Int("status", status), slog.Int("attempt", attempt),
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		if err := c.sleep(ctx, wait); err != nil {
			return status, fmt.Errorf("bc: %s %s: waiting to retry: %w", r.method, r.set, err)
		}
	}
}

// retryable decides whether and how long to wait before the next attempt.
// 429 and 503 mean BC did not run the request, so even a POST is resent;
// other failures are resent only when the request is idempotent.
func (c *Client) retryable(r request, status, attempt int, retryAfter time.Duration) (time.Duration, bool) {
	if attempt > c.cfg.MaxRetries {
		return 0, false
	}
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
	case 0, http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		if !r.idempotent {
			return 0, false
		}
	default:
		return 0, false
	}
	if retryAfter > 0 {
		// Never earlier than asked; a little jitter spreads the herd.
		return retryAfter + time.Duration(rand.Int64N(int64(min(retryAfter/10, time.Second))+1)), true
	}
	d := min(c.cfg.MaxBackoff, 250*time.Millisecond<<min(attempt-1, 16))
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1)), true
}

// attempt performs one HTTP exchange. On failure it returns the status (0
// without an answer), the Retry-After asked for and the error.
func (c *Client) attempt(ctx context.Context, r request, n int) (int, time.Duration, error) {
	if err := c.waitPause(ctx); err != nil {
		return statusLocal, 0, err
	}
	if err := c.turns.Wait(ctx); err != nil {
		// Also when the wait would outlast ctx's deadline: retrying cannot help.
		return statusLocal, 0, fmt.Errorf("bc: %s %s: waiting for the request budget: %w", r.method, r.set, err)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return statusLocal, 0, ctx.Err()
	}
	defer func() { <-c.sem }()

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, r.url, body)
	if err != nil {
		return statusLocal, 0, fmt.Errorf("bc: building %s %s: %w", r.method, pathOnly(r.url), err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if r.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	c.requests.Add(1)
	resp, err := c.http.Do(req)
	info := RequestInfo{Method: r.method, EntitySet: r.set, Attempt: n}
	defer func() {
		if c.cfg.Observe != nil {
			info.Duration = time.Since(start)
			c.cfg.Observe(info)
		}
	}()
	if err != nil {
		c.transportErrors.Add(1)
		info.Err = c.transportError(r, err)
		return 0, 0, info.Err
	}
	defer resp.Body.Close()
	info.Status = resp.StatusCode
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if r.accept != nil {
			if err := r.accept(resp); err != nil {
				// A body cut off mid-way is a transport failure (retryable
				// when idempotent); a malformed one is not.
				info.Err = err
				if actx.Err() != nil || errors.Is(err, io.ErrUnexpectedEOF) {
					return 0, 0, err
				}
				return resp.StatusCode, 0, err
			}
		}
		return resp.StatusCode, 0, nil
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	apiErr := decodeError(resp.StatusCode, raw, r.method, pathOnly(r.url))
	info.Err = apiErr
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		c.throttled.Add(1)
	case resp.StatusCode >= 500:
		c.serverErrors.Add(1)
	}
	ra, _ := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return resp.StatusCode, ra, apiErr
}

// transportError names the failure without leaking the query string, and
// turns token endpoint refusals into ErrUnauthorized.
func (c *Client) transportError(r request, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := re.ErrorCode
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("%w: token endpoint %s answered %d %s: %w", ErrUnauthorized, c.tokenURL, status, msg, re)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("bc: %s %s: %w", r.method, pathOnly(r.url), err)
}

func tokenRefused(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && (re.Response == nil || re.Response.StatusCode < 500)
}

func pathOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
}

func (c *Client) pause(d time.Duration) {
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	if until := time.Now().Add(d); until.After(c.pauseUntil) {
		c.pauseUntil = until
	}
}

func (c *Client) waitPause(ctx context.Context) error {
	c.pauseMu.Lock()
	d := time.Until(c.pauseUntil)
	c.pauseMu.Unlock()
	if d <= 0 {
		return nil
	}
	return c.sleep(ctx, d)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.cfg.Sleep != nil {
		return c.cfg.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
