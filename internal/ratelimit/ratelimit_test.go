package ratelimit_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/postgres"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/store/storetest"
)

func logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestBadInput(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), store.Options{DataDir: t.TempDir(), Logger: logger()})
	require.NoError(t, err)
	defer st.Close()
	l, err := ratelimit.New(st, logger())
	require.NoError(t, err)
	require.False(t, l.Shared(), "SQLite keeps buckets in memory")
	for _, tc := range []struct {
		name string
		key  ratelimit.Key
		b    ratelimit.Budget
		want string
	}{
		{"no user", ratelimit.Key{Connection: "c", Service: "bc"}, ratelimit.DefaultBudget(), "user empty"},
		{"nothing", ratelimit.Key{}, ratelimit.DefaultBudget(), "connection, service, user empty"},
		{"no requests", ratelimit.Key{Connection: "c", Service: "bc", User: "u"}, ratelimit.Budget{Window: time.Second}, "must be positive"},
		{"burst too big", ratelimit.Key{Connection: "c", Service: "bc", User: "u"}, ratelimit.Budget{Requests: 10, Window: time.Second, Burst: 10}, "burst 10 must be below"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Bucket(tc.key, tc.b)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err = ratelimit.New(nil, logger())
	require.Error(t, err)
}

// grants runs callers goroutines on each bucket until d has passed and
// returns the time of every granted turn.
func grants(t *testing.T, buckets []*ratelimit.Bucket, callers int, d time.Duration) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var (
		mu  sync.Mutex
		out []time.Time
		wg  sync.WaitGroup
	)
	for _, b := range buckets {
		for range callers {
			wg.Go(func() {
				for ctx.Err() == nil {
					if err := b.Wait(ctx); err != nil {
						return
					}
					now := time.Now()
					mu.Lock()
					out = append(out, now)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// maxInWindow is the most grants inside any sliding window w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// TestSharedBudget: three limiters, each on its own pool (three instances)
// over one PostgreSQL schema, never grant more than the budget in any
// window together, and use nearly all of it; three in-memory limiters (what
// each instance would do alone) overshoot it about three times.
func TestSharedBudget(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	budget := ratelimit.Budget{Requests: 100, Window: time.Second, Burst: 10}
	key := ratelimit.Key{Connection: "default", Service: ratelimit.ServiceDataverse, User: "integration"}
	const run = 3 * time.Second

	first, err := store.Open(t.Context(), store.Options{DatabaseURL: url, Logger: logger()}) // migrates
	require.NoError(t, err)
	defer first.Close()
	var shared []*ratelimit.Bucket
	for range 3 {
		pool, err := pgxpool.New(t.Context(), url)
		require.NoError(t, err)
		defer pool.Close()
		l, err := ratelimit.NewShared(pool, logger())
		require.NoError(t, err)
		require.True(t, l.Shared())
		b, err := l.Bucket(key, budget)
		require.NoError(t, err)
		shared = append(shared, b)
	}
	got := grants(t, shared, 4, run)
	peak := maxInWindow(got, budget.Window)
	t.Logf("shared: %d grants in %v, at most %d in any %v (budget %d)", len(got), run, peak, budget.Window, budget.Requests)
	// A goroutine scheduled late can carry an earlier turn into the next
	// window; allow a few such stragglers, never a second instance's share.
	require.LessOrEqual(t, peak, budget.Requests+5, "the instances together exceeded the budget")
	allowed := float64(budget.Burst) + float64(budget.Requests-budget.Burst)*run.Seconds()
	require.GreaterOrEqual(t, float64(len(got)), 0.9*allowed, "the shared limiter wasted the budget")

	var alone []*ratelimit.Bucket
	for range 3 {
		sq, err := store.Open(t.Context(), store.Options{DataDir: t.TempDir(), Logger: logger()})
		require.NoError(t, err)
		defer sq.Close()
		l, err := ratelimit.New(sq, logger())
		require.NoError(t, err)
		b, err := l.Bucket(key, budget)
		require.NoError(t, err)
		alone = append(alone, b)
	}
	got = grants(t, alone, 4, run)
	t.Logf("independent: at most %d in any %v", maxInWindow(got, budget.Window), budget.Window)
	require.Greater(t, maxInWindow(got, budget.Window), 2*budget.Requests, "control: independent limiters should overshoot")
}

// TestDeadline: a wait that would outlast the context's deadline fails at
// once and gives its turn back, so the next caller is not delayed by it.
func TestDeadline(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	st, err := store.Open(t.Context(), store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(t, err)
	defer st.Close()
	l, err := ratelimit.New(st, logger())
	require.NoError(t, err)
	require.True(t, l.Shared())
	b, err := l.Bucket(ratelimit.Key{Connection: "c", Service: ratelimit.ServiceBC, User: "u"},
		ratelimit.Budget{Requests: 11, Window: 10 * time.Second, Burst: 1}) // one per second
	require.NoError(t, err)
	require.NoError(t, b.Wait(t.Context()), "the burst token")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = b.Wait(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 90*time.Millisecond, "it did not wait in vain")
	start = time.Now()
	require.NoError(t, b.Wait(t.Context()))
	require.Less(t, time.Since(start), 1500*time.Millisecond, "the refunded turn was given back")
}

// TestInMemory: on SQLite (one instance) the buckets of one key are one
// rate.Limiter in memory, shared by every client of the process.
func TestInMemory(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), store.Options{DataDir: t.TempDir(), Logger: logger()})
	require.NoError(t, err)
	defer st.Close()
	l, err := ratelimit.New(st, logger())
	require.NoError(t, err)
	key := ratelimit.Key{Connection: "c", Service: ratelimit.ServiceDataverse, User: "u"}
	budget := ratelimit.Budget{Requests: 21, Window: time.Second, Burst: 1} // 20 per second after the first
	a, err := l.Bucket(key, budget)
	require.NoError(t, err)
	b, err := l.Bucket(key, budget)
	require.NoError(t, err)
	start := time.Now()
	for range 5 {
		require.NoError(t, a.Wait(t.Context()))
		require.NoError(t, b.Wait(t.Context()))
	}
	// 10 turns: the burst, then 9 at 50 ms each, whichever bucket asks.
	require.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond, "the two buckets of one key did not share the budget")
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	require.Error(t, a.Wait(ctx))
}
