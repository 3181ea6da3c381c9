// Package limits reproduces the per-user request limits of Dataverse
// (service protection) and Business Central (operational limits): a
// sliding window of requests and a cap on concurrent requests with an
// optional queue, so that coupler's throttling behaviour can be tested
// offline. TimeScale compresses the window for tests and benchmarks.
package limits

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets the limits applied to each user separately.
type Config struct {
	Requests   int           // per Window; 0 = unlimited
	Window     time.Duration // sliding
	Concurrent int           // requests running at once; 0 = unlimited
	Queue      int           // requests that may wait for a concurrency slot; beyond, throttled
	// ExecutionTime caps the combined duration (acquire to release) of a
	// user's requests that ended within the window; 0 = unlimited.
	// Dataverse allows 1,200,000 ms per 5 minutes. Scaled like Window.
	ExecutionTime time.Duration
	// QueueTimeout bounds a wait in the queue (BC answers 503 after 8
	// minutes); 0 = until the request's context ends. Scaled like Window.
	QueueTimeout time.Duration
	// TimeScale divides Window and QueueTimeout: 1 = real time; 60 = the
	// 5-minute window lasts 5 seconds. 0 means 1.
	TimeScale float64
}

// DataverseDefaults are Dataverse's service protection limits: 6,000
// requests per user in a sliding 5-minute window, 20 minutes (1,200,000 ms)
// of combined execution time in that window, and 52 concurrent requests,
// with no queue.
func DataverseDefaults() Config {
	return Config{Requests: 6000, Window: 5 * time.Minute, ExecutionTime: 20 * time.Minute, Concurrent: 52, Queue: 0, TimeScale: 1}
}

// BCDefaults are Business Central online's operational limits: 6,000
// requests per user per 5 minutes, 5 running at once and 95 waiting, a
// queued request failing after 8 minutes.
func BCDefaults() Config {
	return Config{Requests: 6000, Window: 5 * time.Minute, Concurrent: 5, Queue: 95, QueueTimeout: 8 * time.Minute, TimeScale: 1}
}

// Throttled is the refusal of a request over a limit.
type Throttled struct {
	RetryAfter time.Duration
	Reason     string // "requests", "concurrency" or "time" (execution time)
}

func (t *Throttled) Error() string {
	return fmt.Sprintf("throttled (%s limit); retry after %s", t.Reason, t.RetryAfter)
}

// ErrQueueTimeout is returned when a request waited in the queue longer
// than Config.QueueTimeout (Business Central then answers 503).
var ErrQueueTimeout = errors.New("limits: request waited too long in the queue")

// Stats counts decisions since the Limiter was made.
type Stats struct {
	Admitted  int64
	Throttled int64 // both reasons
	Queued    int64 // admitted after waiting in the queue
	TimedOut  int64 // gave up in the queue (ErrQueueTimeout)
}

// Limiter applies a Config per user. Its zero value is not usable; use New.
type Limiter struct {
	cfg          Config
	window       time.Duration // scaled
	queueTimeout time.Duration // scaled
	execTime     time.Duration // scaled
	clock        func() time.Time

	mu    sync.Mutex
	users map[string]*userState

	admitted, throttled, queued, timedOut atomic.Int64
}

type userState struct {
	// stamps is a ring of the admission times (unix nanos) inside the
	// window, oldest at head.
	stamps   []int64
	head, n  int
	inflight int
	waiters  []*waiter
	// runs are the durations of requests that ended, oldest first, and
	// ran their sum, for the execution-time limit.
	runs []run
	ran  int64
}

type run struct{ end, dur int64 } // unix nanos, nanos

type waiter struct {
	granted chan struct{} // closed when a slot is handed over
	done    bool          // granted or abandoned, under Limiter.mu
}

// New returns a Limiter; clock defaults to time.Now.
func New(cfg Config, clock func() time.Time) *Limiter {
	if clock == nil {
		clock = time.Now
	}
	scale := cfg.TimeScale
	if scale <= 0 {
		scale = 1
	}
	return &Limiter{
		cfg:          cfg,
		window:       time.Duration(float64(cfg.Window) / scale),
		queueTimeout: time.Duration(float64(cfg.QueueTimeout) / scale),
		execTime:     time.Duration(float64(cfg.ExecutionTime) / scale),
		clock:        clock,
		users:        map[string]*userState{},
	}
}

// Window is the effective (scaled) sliding window.
func (l *Limiter) Window() time.Duration { return l.window }

// Config returns the configuration the Limiter was made with.
func (l *Limiter) Config() Config { return l.cfg }

// Acquire admits one request of user, waiting in the queue when the
// concurrency limit is reached and a queue place is free. The returned
// release must be called when the request ends. Refusals are *Throttled;
// a wait may also end with ErrQueueTimeout or the context's error. A nil
// Limiter admits everything.
func (l *Limiter) Acquire(ctx context.Context, user string) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	l.mu.Lock()
	u := l.users[user]
	if u == nil {
		u = &userState{}
		if l.cfg.Requests > 0 {
			u.stamps = make([]int64, l.cfg.Requests)
		}
		l.users[user] = u
	}
	now := l.clock().UnixNano()
	if l.cfg.Requests > 0 {
		// Drop admissions that left the window.
		for u.n > 0 && u.stamps[u.head] <= now-int64(l.window) {
			u.head = (u.head + 1) % len(u.stamps)
			u.n--
		}
		if u.n >= l.cfg.Requests {
			wait := time.Duration(u.stamps[u.head] + int64(l.window) - now)
			l.mu.Unlock()
			l.throttled.Add(1)
			return nil, &Throttled{RetryAfter: wait, Reason: "requests"}
		}
	}
	if l.execTime > 0 {
		for len(u.runs) > 0 && u.runs[0].end <= now-int64(l.window) {
			u.ran -= u.runs[0].dur
			u.runs = u.runs[1:]
		}
		if u.ran >= int64(l.execTime) {
			// Wait until enough runs leave the window to fall under the cap.
			over, wait := u.ran-int64(l.execTime), time.Duration(0)
			for _, r := range u.runs {
				over -= r.dur
				wait = time.Duration(r.end + int64(l.window) - now)
				if over < 0 {
					break
				}
			}
			l.mu.Unlock()
			l.throttled.Add(1)
			return nil, &Throttled{RetryAfter: wait, Reason: "time"}
		}
	}
	if l.cfg.Concurrent > 0 && u.inflight >= l.cfg.Concurrent {
		if len(u.waiters) >= l.cfg.Queue {
			l.mu.Unlock()
			l.throttled.Add(1)
			// A slot frees when a running request ends; with no better
			// estimate, ask for a second of real time (scaled).
			return nil, &Throttled{RetryAfter: l.scaled(time.Second), Reason: "concurrency"}
		}
		l.record(u, now)
		w := &waiter{granted: make(chan struct{})}
		u.waiters = append(u.waiters, w)
		l.mu.Unlock()
		return l.wait(ctx, u, w)
	}
	l.record(u, now)
	u.inflight++
	l.mu.Unlock()
	l.admitted.Add(1)
	return l.releaser(u, now), nil
}

// record counts an admission in the user's window.
func (l *Limiter) record(u *userState, now int64) {
	if l.cfg.Requests <= 0 {
		return
	}
	u.stamps[(u.head+u.n)%len(u.stamps)] = now
	u.n++
}

func (l *Limiter) scaled(d time.Duration) time.Duration {
	if l.cfg.TimeScale > 0 {
		return time.Duration(float64(d) / l.cfg.TimeScale)
	}
	return d
}

func (l *Limiter) wait(ctx context.Context, u *userState, w *waiter) (func(), error) {
	var timeout <-chan time.Time
	if l.queueTimeout > 0 {
		t := time.NewTimer(l.queueTimeout)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-w.granted:
		l.admitted.Add(1)
		l.queued.Add(1)
		return l.releaser(u, l.clock().UnixNano()), nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		err = ErrQueueTimeout
	}
	l.mu.Lock()
	if w.done {
		// Granted while we were giving up: pass the slot on.
		l.mu.Unlock()
		l.releaser(u, l.clock().UnixNano())()
	} else {
		w.done = true
		for i, x := range u.waiters {
			if x == w {
				u.waiters = append(u.waiters[:i], u.waiters[i+1:]...)
				break
			}
		}
		l.mu.Unlock()
	}
	if errors.Is(err, ErrQueueTimeout) {
		l.timedOut.Add(1)
	}
	return nil, err
}

// releaser returns the idempotent release function of one admitted request
// that started running at start (unix nanos).
func (l *Limiter) releaser(u *userState, start int64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.execTime > 0 {
				end := l.clock().UnixNano()
				d := max(end-start, 0)
				u.runs = append(u.runs, run{end: end, dur: d})
				u.ran += d
			}
			for len(u.waiters) > 0 {
				w := u.waiters[0]
				u.waiters = u.waiters[1:]
				if !w.done {
					w.done = true
					close(w.granted) // the slot passes to the waiter: inflight unchanged
					return
				}
			}
			u.inflight--
		})
	}
}

// Stats returns the counters.
func (l *Limiter) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	return Stats{Admitted: l.admitted.Load(), Throttled: l.throttled.Load(), Queued: l.queued.Load(), TimedOut: l.timedOut.Load()}
}
