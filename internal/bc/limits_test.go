package bc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/bc"
	simbc "github.com/coupler/coupler/internal/sandbox/bc"
	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/sandbox/limits"
	"github.com/stretchr/testify/require"
)

func withLimits(cfg limits.Config) setupOpt {
	return setupOpt{sim: func(o *simbc.Options) { o.Limiter = limits.New(cfg, time.Now) }}
}

func withFaults(spec faults.Spec) setupOpt {
	return setupOpt{sim: func(o *simbc.Options) { o.Faults = faults.New(spec) }}
}

// The server allows 15 requests per 2 s; a client with no budget of its own
// is refused with 429 + Retry-After, waits, and gets everything through.
func TestThrottledRequestsAreRetried(t *testing.T) {
	t.Parallel()
	b := setup(t,
		withLimits(limits.Config{Requests: 15, Window: 2 * time.Second, Concurrent: 5, Queue: 95}),
		setupOpt{cfg: func(c *bc.Config) { c.RequestsPerWindow, c.Window = 1_000_000, time.Second }})
	id := mustCustomerID(t, b, "10000")
	for i := range 30 {
		_, err := b.client.Get(t.Context(), bc.SetCustomers, id, bc.Query{})
		require.NoError(t, err, "request %d", i)
	}
	st := b.client.Stats()
	require.Positive(t, st.Throttled, "the server throttled")
	require.Equal(t, st.Throttled, st.Retries, "every 429 was retried")
}

// With its budget set to the server's, the client paces itself and is never
// refused.
func TestClientBudgetAvoidsThrottling(t *testing.T) {
	t.Parallel()
	b := setup(t,
		withLimits(limits.Config{Requests: 15, Window: 2 * time.Second, Concurrent: 5, Queue: 95}),
		setupOpt{cfg: func(c *bc.Config) { c.RequestsPerWindow, c.Window = 14, 2*time.Second }})
	id := mustCustomerID(t, b, "10000")
	start := time.Now()
	for range 20 {
		_, err := b.client.Get(t.Context(), bc.SetCustomers, id, bc.Query{})
		require.NoError(t, err)
	}
	require.Zero(t, b.client.Stats().Throttled)
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "21 requests at 14 per 2 s take over 2 s")
}

// Throttling that outlasts the retries surfaces as *ThrottledError; a
// Retry-After longer than MaxRetryAfter is not waited for at all.
func TestThrottledErrorAfterRetries(t *testing.T) {
	t.Parallel()
	var slept []time.Duration
	var mu sync.Mutex
	noSleep := func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		return nil
	}
	b := setup(t,
		withFaults(faults.Spec{Throttle: 1, RetryAfter: 3 * time.Second, Seed: 1}),
		setupOpt{cfg: func(c *bc.Config) { c.MaxRetries = 2; c.Sleep = noSleep }})
	_, err := b.client.ListCompanies(t.Context())
	var th *bc.ThrottledError
	require.ErrorAs(t, err, &th)
	require.ErrorIs(t, err, bc.ErrThrottled)
	require.GreaterOrEqual(t, th.RetryAfter, 3*time.Second)
	require.Equal(t, 429, th.Err.Status)
	require.Equal(t, int64(3), b.client.Stats().Requests)
	mu.Lock()
	for _, d := range slept {
		require.GreaterOrEqual(t, d, 3*time.Second-time.Second, "waits honour Retry-After (less time already paused)")
	}
	mu.Unlock()

	long := setup(t,
		withFaults(faults.Spec{Throttle: 1, RetryAfter: time.Minute, Seed: 1}),
		setupOpt{cfg: func(c *bc.Config) { c.MaxRetryAfter = 10 * time.Second; c.Sleep = noSleep }})
	_, err = long.client.ListCompanies(t.Context())
	require.ErrorAs(t, err, &th)
	require.Equal(t, int64(1), long.client.Stats().Requests, "a 1-minute Retry-After beyond MaxRetryAfter is not waited for")
}

// Injected 5xx and dropped connections: reads are retried until they
// succeed; a create is resent only after 503 (not run), never after 500 or a
// lost answer, so no record is ever created twice.
func TestFaultsRetriedOnlyWhereSafe(t *testing.T) {
	t.Parallel()
	b := setup(t,
		withFaults(faults.Spec{ServerError: 0.25, Drop: 0.1, Seed: 11}),
		setupOpt{cfg: func(c *bc.Config) { c.MaxBackoff = 20 * time.Millisecond; c.MaxRetries = 10 }})
	ctx := t.Context()
	n := 0
	require.NoError(t, b.client.List(ctx, bc.SetItems, bc.Query{MaxPageSize: 2}, func(p []json.RawMessage) error { n += len(p); return nil }))
	require.GreaterOrEqual(t, n, 20)

	created, failed := 0, 0
	for i := range 30 {
		_, err := b.client.Create(ctx, bc.SetCustomers, map[string]any{"displayName": fmt.Sprintf("Fault Test %02d", i)})
		if err != nil {
			failed++
			var apiErr *bc.APIError
			if errors.As(err, &apiErr) {
				require.Equal(t, 500, apiErr.Status, "only a 500 stops a create; 503 is resent")
			}
			continue
		}
		created++
	}
	require.Positive(t, failed, "some creates met a 500 or a dropped connection")
	st := b.client.Stats()
	require.Positive(t, st.ServerErrors)
	require.Positive(t, st.TransportErrors)

	// Faults are drawn per request, so count with retries until it answers.
	kept := 0
	require.NoError(t, b.client.List(ctx, bc.SetCustomers, bc.Query{Filter: "startswith(displayName,'Fault Test')"}, func(p []json.RawMessage) error { kept += len(p); return nil }))
	require.Equal(t, created, kept, "every create that succeeded exists once; none that failed exists")
}

// A slow answer is cut at the per-call timeout and a read is tried again.
func TestPerCallTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t,
		withFaults(faults.Spec{Slow: 0.5, SlowDelay: 5 * time.Second, Seed: 5}),
		setupOpt{cfg: func(c *bc.Config) {
			c.Timeout = 300 * time.Millisecond
			c.MaxBackoff = 20 * time.Millisecond
			c.MaxRetries = 10
		}})
	start := time.Now()
	id := mustCustomerID(t, b, "10000")
	for range 5 {
		_, err := b.client.Get(t.Context(), bc.SetCustomers, id, bc.Query{})
		require.NoError(t, err)
	}
	require.Positive(t, b.client.Stats().TransportErrors, "some attempts timed out")
	require.Less(t, time.Since(start), 5*time.Second, "no call waited for a 5 s answer")
}
