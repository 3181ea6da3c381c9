package bc

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryable(t *testing.T) {
	t.Parallel()
	c, err := New(Config{APIURL: "http://127.0.0.1:1/BC/api/v2.0", CompanyID: "7c8b5b6e-0000-4000-8000-000000000001",
		Basic: &Basic{User: "u", WebServiceKey: "k"}, MaxRetries: 3, MaxBackoff: 2 * time.Second})
	require.NoError(t, err)
	get := request{method: http.MethodGet, idempotent: true}
	post := request{method: http.MethodPost}
	tests := []struct {
		name       string
		r          request
		status     int
		attempt    int
		retryAfter time.Duration
		retry      bool
		min, max   time.Duration
	}{
		{name: "429 honours Retry-After", r: post, status: 429, attempt: 1, retryAfter: 3 * time.Second, retry: true, min: 3 * time.Second, max: 3300 * time.Millisecond},
		{name: "503 POST retried (not run)", r: post, status: 503, attempt: 1, retry: true, min: 125 * time.Millisecond, max: 250 * time.Millisecond},
		{name: "500 POST not retried", r: post, status: 500, attempt: 1},
		{name: "no answer POST not retried", r: post, status: 0, attempt: 1},
		{name: "500 GET retried", r: get, status: 500, attempt: 2, retry: true, min: 250 * time.Millisecond, max: 500 * time.Millisecond},
		{name: "no answer GET retried", r: get, status: 0, attempt: 1, retry: true, min: 125 * time.Millisecond, max: 250 * time.Millisecond},
		{name: "backoff capped", r: get, status: 502, attempt: 3, retry: true, min: 500 * time.Millisecond, max: time.Second},
		{name: "retries exhausted", r: get, status: 429, attempt: 4},
		{name: "400 never", r: get, status: 400, attempt: 1},
		{name: "409 never", r: get, status: 409, attempt: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 50 { // jitter: every draw stays in bounds
				d, ok := c.retryable(tt.r, tt.status, tt.attempt, tt.retryAfter)
				require.Equal(t, tt.retry, ok)
				if ok {
					require.GreaterOrEqual(t, d, tt.min)
					require.LessOrEqual(t, d, tt.max)
				}
			}
		})
	}
}

func TestLimiterNeverExceedsWindow(t *testing.T) {
	t.Parallel()
	c, err := New(Config{APIURL: "http://127.0.0.1:1/BC/api/v2.0", CompanyID: "7c8b5b6e-0000-4000-8000-000000000001",
		Basic: &Basic{User: "u", WebServiceKey: "k"}})
	require.NoError(t, err)
	// burst + rate × window must not exceed BC's 6,000 per 5 minutes.
	total := float64(c.limiter.Burst()) + float64(c.limiter.Limit())*(5*time.Minute).Seconds()
	require.LessOrEqual(t, total, 6000.0+1e-6)
	require.Greater(t, total, 5990.0)
}

func TestBudgetWaitBeyondDeadlineIsNotRetried(t *testing.T) {
	t.Parallel()
	// One request per hour: the second cannot start before ctx ends, so the
	// call fails at once, without sending and without retrying.
	c, err := New(Config{APIURL: "http://127.0.0.1:1/BC/api/v2.0", CompanyID: "7c8b5b6e-0000-4000-8000-000000000001",
		Basic: &Basic{User: "u", WebServiceKey: "k"}, RequestsPerWindow: 1, Window: time.Hour})
	require.NoError(t, err)
	require.True(t, c.limiter.Allow()) // spend the burst
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = c.Get(ctx, SetCustomers, "7c8b5b6e-0000-4000-8000-000000000002", Query{})
	require.ErrorContains(t, err, "waiting for the request budget")
	require.Less(t, time.Since(start), 500*time.Millisecond)
	require.Zero(t, c.Stats().Requests)
	require.Zero(t, c.Stats().Retries)
}
