package dataverse

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/sandbox/dataverse"
	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/sandbox/limits"
	"github.com/stretchr/testify/require"
)

// Under the service protection limits every call still succeeds: the client
// waits Retry-After and pauses its other calls instead of failing records.
func TestSimThrottlingIsAbsorbed(t *testing.T) {
	t.Parallel()
	f := setup(t, func(o *dataverse.Options, c *Config) {
		// 15 requests per 5 minutes, time-compressed 300×: a 1-second window.
		o.Limiter = limits.New(limits.Config{Requests: 15, Window: 5 * time.Minute, Concurrent: 52, TimeScale: 300}, nil)
		c.MaxAttempts = 10
		c.MaxConcurrent = 4
	})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 4 {
		wg.Go(func() {
			for range 10 {
				if _, err := f.c.WhoAmI(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st := f.c.Stats()
	require.Equal(t, int64(40), st.Count(http.MethodGet, http.StatusOK))
	require.Positive(t, st.Count(http.MethodGet, http.StatusTooManyRequests), "the limit was hit")
	require.Positive(t, st.Retries)
}

func TestSimThrottledErrorWhenWaitingIsTooLong(t *testing.T) {
	t.Parallel()
	f := setup(t, func(o *dataverse.Options, c *Config) {
		o.Limiter = limits.New(limits.Config{Requests: 1, Window: 5 * time.Minute, TimeScale: 1}, nil)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := f.c.WhoAmI(ctx)
	require.NoError(t, err)
	start := time.Now()
	_, err = f.c.WhoAmI(ctx)
	var te *ThrottledError
	require.ErrorAs(t, err, &te)
	require.ErrorIs(t, err, ErrThrottled)
	require.Greater(t, te.RetryAfter, 10*time.Second, "Retry-After reaches past the deadline")
	require.Less(t, time.Since(start), 5*time.Second, "no pointless wait")
	require.Contains(t, []string{CodeRequestLimit, CodeConcurrencyLimit, CodeExecutionTime}, te.Code)
}

// Injected 500/503s, 429s and dropped connections are retried for calls
// that are safe to repeat.
func TestSimFaultsAreRetried(t *testing.T) {
	t.Parallel()
	f := setup(t, func(o *dataverse.Options, c *Config) {
		o.Faults = faults.New(faults.Spec{ServerError: 0.2, Throttle: 0.05, Drop: 0.1, RetryAfter: 10 * time.Millisecond, Seed: 7})
		c.MaxAttempts = 12
	})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	for i := range 30 {
		_, err := f.c.Upsert(ctx, "accounts", ID("6b1d0a52-3c4e-4f71-8a90-0000000000"+twoDigits(i)), map[string]any{"name": "Faulty"})
		require.NoError(t, err, "upsert %d", i)
	}
	n, err := f.c.Count(ctx, "accounts", "accountid", "name eq 'Faulty'")
	require.NoError(t, err)
	require.Equal(t, 30, n)
	st := f.c.Stats()
	require.Positive(t, st.Retries)
	require.Positive(t, st.Count(http.MethodPatch, http.StatusInternalServerError)+st.Count(http.MethodPatch, http.StatusServiceUnavailable))
}

// A create (POST) is not repeated after a server error: the service may have
// run it, and a second run would duplicate the record.
func TestSimCreateIsNotRetriedAfterServerError(t *testing.T) {
	t.Parallel()
	f := setup(t, func(o *dataverse.Options, c *Config) {
		o.Faults = faults.New(faults.Spec{ServerError: 1, Seed: 1})
	})
	_, err := f.c.Create(context.Background(), "accounts", map[string]any{"name": "Once"})
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.GreaterOrEqual(t, ae.Status, 500)
	require.Zero(t, f.c.Stats().Retries)
	require.False(t, errors.Is(err, ErrThrottled))
}

func twoDigits(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

// MaxConcurrent keeps the client inside the service's concurrency limit: with
// long reads and 2 slots on both sides nothing is refused; with 8 client
// slots the service refuses the excess (which shows the test can fail).
func TestSimBoundedConcurrency(t *testing.T) {
	t.Parallel()
	run := func(clientSlots, attempts int) (ok int, throttled int64) {
		// Every answer takes at least 100 ms inside its service slot, as
		// a real service's do: without it a loaded machine running one
		// goroutine at a time can serve the reads one after another.
		f := setupWrapped(t, slowAnswers(100*time.Millisecond), func(o *dataverse.Options, c *Config) {
			o.Limiter = limits.New(limits.Config{Concurrent: 2, Queue: 0, TimeScale: 1}, nil)
			o.Scale = 3000 // reads of 3,000 rows keep a slot busy for a while
			c.MaxConcurrent = clientSlots
			c.MaxAttempts = attempts
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				err := f.c.List(ctx, "accounts", Query{Select: []string{"name", "accountnumber", "telephone1"}}, func(Page) error { return nil })
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return ok, f.c.Stats().Count(http.MethodGet, http.StatusTooManyRequests)
	}
	// The service frees a slot just after answering, so a client that starts
	// its next call at once can still meet a 429 now and then: allow a retry.
	ok, throttled := run(2, 3)
	require.Equal(t, 16, ok)
	require.LessOrEqual(t, throttled, int64(3))
	// The control: eight calls held 100 ms each overlap on the service.
	ok, throttled = run(8, 1)
	require.Positive(t, throttled)
	require.Less(t, ok, 16)
}

// slowAnswers delays the start of every Web API answer by d. The handler is
// writing when the delay runs, so the request keeps its service slot.
func slowAnswers(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/data/") {
				w = &slowWriter{ResponseWriter: w, delay: d}
			}
			next.ServeHTTP(w, r)
		})
	}
}

type slowWriter struct {
	http.ResponseWriter
	delay time.Duration
	once  sync.Once
}

func (s *slowWriter) wait() { s.once.Do(func() { time.Sleep(s.delay) }) }

func (s *slowWriter) WriteHeader(code int) { s.wait(); s.ResponseWriter.WriteHeader(code) }

func (s *slowWriter) Write(b []byte) (int, error) { s.wait(); return s.ResponseWriter.Write(b) }
