package limits

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func setup(t *testing.T, cfg Config) (*Limiter, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(cfg, clock.Now), clock
}

func TestSlidingWindow(t *testing.T) {
	t.Parallel()
	l, clock := setup(t, Config{Requests: 3, Window: 5 * time.Minute})
	ctx := context.Background()
	// Three requests at t=0, 1m, 2m.
	for i := range 3 {
		release, err := l.Acquire(ctx, "alice")
		require.NoError(t, err, "request %d", i)
		release()
		clock.Advance(time.Minute)
	}
	// t=3m: the fourth is refused until the first leaves the window at t=5m.
	_, err := l.Acquire(ctx, "alice")
	var th *Throttled
	require.ErrorAs(t, err, &th)
	require.Equal(t, "requests", th.Reason)
	require.Equal(t, 2*time.Minute, th.RetryAfter)

	// Another user has their own window.
	release, err := l.Acquire(ctx, "bob")
	require.NoError(t, err)
	release()

	clock.Advance(2*time.Minute - time.Nanosecond)
	_, err = l.Acquire(ctx, "alice")
	require.ErrorAs(t, err, &th)
	require.Equal(t, time.Nanosecond, th.RetryAfter)

	clock.Advance(time.Nanosecond)
	release, err = l.Acquire(ctx, "alice")
	require.NoError(t, err, "the window slid")
	release()
	require.Equal(t, Stats{Admitted: 5, Throttled: 2}, l.Stats())
}

func TestTimeScaleCompressesWindow(t *testing.T) {
	t.Parallel()
	cfg := DataverseDefaults()
	cfg.Requests = 2
	cfg.TimeScale = 60
	l, clock := setup(t, cfg)
	require.Equal(t, 5*time.Second, l.Window())
	for range 2 {
		release, err := l.Acquire(context.Background(), "u")
		require.NoError(t, err)
		release()
	}
	_, err := l.Acquire(context.Background(), "u")
	var th *Throttled
	require.ErrorAs(t, err, &th)
	require.Equal(t, 5*time.Second, th.RetryAfter)
	clock.Advance(5 * time.Second)
	_, err = l.Acquire(context.Background(), "u")
	require.NoError(t, err)
}

func TestConcurrencyWithoutQueue(t *testing.T) {
	t.Parallel()
	l, _ := setup(t, Config{Concurrent: 2})
	ctx := context.Background()
	r1, err := l.Acquire(ctx, "u")
	require.NoError(t, err)
	r2, err := l.Acquire(ctx, "u")
	require.NoError(t, err)
	_, err = l.Acquire(ctx, "u")
	var th *Throttled
	require.ErrorAs(t, err, &th)
	require.Equal(t, "concurrency", th.Reason)
	require.Positive(t, th.RetryAfter)

	r1()
	r1() // release is idempotent: it must not free a second slot
	r3, err := l.Acquire(ctx, "u")
	require.NoError(t, err)
	_, err = l.Acquire(ctx, "u")
	require.ErrorAs(t, err, &th)
	r2()
	r3()
}

func TestQueueHandsSlotsOverInOrder(t *testing.T) {
	t.Parallel()
	l, _ := setup(t, Config{Concurrent: 1, Queue: 2})
	ctx := context.Background()
	running, err := l.Acquire(ctx, "u")
	require.NoError(t, err)

	order := make(chan int, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.Acquire(ctx, "u")
			if err != nil {
				order <- -1
				return
			}
			order <- i
			release()
		}()
		require.Eventually(t, func() bool { return queueLen(l, "u") == i+1 }, 5*time.Second, time.Millisecond)
	}
	// Queue full: the next is refused at once.
	_, err = l.Acquire(ctx, "u")
	var th *Throttled
	require.ErrorAs(t, err, &th)
	require.Equal(t, "concurrency", th.Reason)

	running()
	wg.Wait()
	close(order)
	var got []int
	for i := range order {
		got = append(got, i)
	}
	require.Equal(t, []int{0, 1}, got)
	require.Equal(t, Stats{Admitted: 3, Throttled: 1, Queued: 2}, l.Stats())
	require.Equal(t, 0, inflight(l, "u"))
}

func TestQueueWaitEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"context cancelled", Config{Concurrent: 1, Queue: 1},
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
			context.DeadlineExceeded},
		{"queue timeout, scaled", Config{Concurrent: 1, Queue: 1, QueueTimeout: 8 * time.Minute, TimeScale: 8 * 60 * 50},
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			ErrQueueTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _ := setup(t, tt.cfg)
			running, err := l.Acquire(context.Background(), "u")
			require.NoError(t, err)
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err = l.Acquire(ctx, "u")
			require.True(t, errors.Is(err, tt.want), "got %v", err)
			require.Equal(t, 0, queueLen(l, "u"), "the abandoned waiter left the queue")
			running()
			require.Equal(t, 0, inflight(l, "u"))
			release, err := l.Acquire(context.Background(), "u")
			require.NoError(t, err)
			release()
		})
	}
}

// TestConcurrentStress checks the invariants under contention: never more
// than Concurrent running, every admitted request released, nothing lost.
func TestConcurrentStress(t *testing.T) {
	t.Parallel()
	l, _ := setup(t, Config{Concurrent: 3, Queue: 5})
	var mu sync.Mutex
	running, peak := 0, 0
	var wg sync.WaitGroup
	var admitted, refused int
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			release, err := l.Acquire(ctx, "u")
			mu.Lock()
			if err != nil {
				refused++
				mu.Unlock()
				return
			}
			admitted++
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(100 * time.Microsecond)
			mu.Lock()
			running--
			mu.Unlock()
			release()
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, peak, 3)
	require.Equal(t, 200, admitted+refused)
	s := l.Stats()
	require.Equal(t, int64(admitted), s.Admitted)
	require.Equal(t, int64(refused), s.Throttled)
	require.Equal(t, 0, inflight(l, "u"))
}

func TestExecutionTime(t *testing.T) {
	t.Parallel()
	l, clock := setup(t, Config{Window: 5 * time.Minute, ExecutionTime: 3 * time.Minute, TimeScale: 1})
	ctx := context.Background()
	// t=0..2m: one request of 2 minutes; t=2m..3m: one of 1 minute.
	for _, d := range []time.Duration{2 * time.Minute, time.Minute} {
		release, err := l.Acquire(ctx, "u")
		require.NoError(t, err)
		clock.Advance(d)
		release()
	}
	// t=3m: 3 minutes ran within the window: refused until the first run
	// (ended at 2m) leaves the window at 7m.
	_, err := l.Acquire(ctx, "u")
	var th *Throttled
	require.ErrorAs(t, err, &th)
	require.Equal(t, "time", th.Reason)
	require.Equal(t, 4*time.Minute, th.RetryAfter)

	release, err := l.Acquire(ctx, "other")
	require.NoError(t, err, "another user has their own budget")
	release()

	clock.Advance(4 * time.Minute)
	release, err = l.Acquire(ctx, "u")
	require.NoError(t, err)
	release()
}

func TestNilLimiterAdmits(t *testing.T) {
	t.Parallel()
	var l *Limiter
	release, err := l.Acquire(context.Background(), "u")
	require.NoError(t, err)
	release()
	require.Equal(t, Stats{}, l.Stats())
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	require.Equal(t, Config{Requests: 6000, Window: 5 * time.Minute, ExecutionTime: 20 * time.Minute, Concurrent: 52, TimeScale: 1}, DataverseDefaults())
	require.Equal(t, Config{Requests: 6000, Window: 5 * time.Minute, Concurrent: 5, Queue: 95, QueueTimeout: 8 * time.Minute, TimeScale: 1}, BCDefaults())
}

func queueLen(l *Limiter, user string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u := l.users[user]; u != nil {
		return len(u.waiters)
	}
	return 0
}

func inflight(l *Limiter, user string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u := l.users[user]; u != nil {
		return u.inflight
	}
	return 0
}

func BenchmarkAcquire(b *testing.B) {
	l := New(DataverseDefaults(), nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			release, err := l.Acquire(ctx, "u")
			if err == nil {
				release()
			}
		}
	})
}
