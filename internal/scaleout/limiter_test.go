package scaleout_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
)

// gated sends each API request only when the shared bucket allows it, in
// the transport of a client whose own limiter is off: the bucket alone,
// without coupler's wiring (TestInstancesClientsShareBudget goes through
// the clients as coupler dials them).
type gated struct {
	bucket *ratelimit.Bucket
	base   http.RoundTripper
	sent   *atomic.Int64
}

func (g gated) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := g.bucket.Wait(r.Context()); err != nil {
		return nil, err
	}
	g.sent.Add(1)
	return g.base.RoundTrip(r)
}

// TestSharedLimiterAgainstSandbox: three Dataverse clients, each the client
// of a different instance (own pool, own limiter, no local cap), call the
// sandbox with its service protection limits on and its window compressed
// 30 times (6,000 requests per 10 s). Through the shared bucket they get
// no 429 at all while still using nearly all of the budget.
func TestSharedLimiterAgainstSandbox(t *testing.T) {
	t.Parallel()
	url := setup(t)
	ctx := t.Context()
	const timeScale = 30
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "none", Limits: []string{sandbox.LimitsDataverse}, TimeScale: timeScale, Logger: logger()})
	require.NoError(t, err)
	defer sb.Close()
	r := sb.Ready()

	st, err := store.Open(ctx, store.Options{DatabaseURL: url, Logger: logger()}) // migrates
	require.NoError(t, err)
	defer st.Close()
	// 98 % of the service's budget: requests reach the service a little
	// after their turn, and a few late ones must not tip its window over.
	budget := ratelimit.Budget{Requests: 5880, Window: 5 * time.Minute / timeScale}
	key := ratelimit.Key{Connection: "default", Service: ratelimit.ServiceDataverse, User: r.CRMClientID}

	var sent atomic.Int64
	var clients []*dataverse.Client
	for range 3 {
		pool, err := pgxpool.New(ctx, url)
		require.NoError(t, err)
		defer pool.Close()
		l, err := ratelimit.NewShared(pool, logger())
		require.NoError(t, err)
		b, err := l.Bucket(key, budget)
		require.NoError(t, err)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 8
		cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
		c, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: logger(),
			HTTPClient: &http.Client{Transport: gated{bucket: b, base: tr, sent: &sent}}, RequestsPerSecond: -1, MaxConcurrent: 8})
		require.NoError(t, err)
		clients = append(clients, c)
	}

	run := 12 * time.Second // more than one window
	if raceEnabled {
		run = 3 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, run)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, c := range clients {
		for range 8 {
			wg.Go(func() {
				for rctx.Err() == nil {
					// A turn that would come after the run's end fails
					// at once with DeadlineExceeded, as rate.Limiter's.
					if _, err := c.WhoAmI(rctx); err != nil && rctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
						t.Logf("WhoAmI: %v", err)
						failed.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()

	lim := sb.Stats().CRM.Limits
	require.NotNil(t, lim)
	var client429 int64
	for _, c := range clients {
		client429 += c.Stats().Count(http.MethodGet, http.StatusTooManyRequests)
	}
	allowed := float64(max(1, budget.Requests/200)) + float64(budget.Requests-max(1, budget.Requests/200))*run.Seconds()/budget.Window.Seconds()
	t.Logf("sandbox admitted %d, throttled %d; clients saw %d 429s; %d sent of %.0f allowed by the shared budget (%.0f%%)",
		lim.Admitted, lim.Throttled, client429, sent.Load(), allowed, 100*float64(sent.Load())/allowed)
	require.Zero(t, lim.Throttled, "the sandbox throttled the three clients")
	require.Zero(t, client429)
	require.Zero(t, failed.Load())
	if raceEnabled {
		t.Log("race detector on: too slow to reach the budget, which the run without it checks")
		return
	}
	require.GreaterOrEqual(t, float64(sent.Load()), 0.9*allowed, "the clients did not use the budget: the test proves nothing")
}
