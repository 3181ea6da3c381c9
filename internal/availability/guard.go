package availability

import (
	"sync"
	"time"
)

// maxDelay bounds the wait of a refused sign-in.
const maxDelay = 8 * time.Second

// guard slows down repeated failed sign-ins from one address: after free
// failures within window, each further one waits twice as long as the one
// before (100 ms, 200 ms, … up to maxDelay).
type guard struct {
	free   int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	fail map[string]*failures
}

type failures struct {
	n     int
	first time.Time
}

func newGuard(free int, window time.Duration, now func() time.Time) *guard {
	return &guard{free: free, window: window, now: now, fail: map[string]*failures{}}
}

// failure records a failed sign-in and returns how long to wait before
// answering, and the count of failures in the window.
func (g *guard) failure(ip string) (time.Duration, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.now()
	if len(g.fail) > 10000 { // bound memory under a spray of addresses
		for k, f := range g.fail {
			if t.Sub(f.first) > g.window {
				delete(g.fail, k)
			}
		}
	}
	f := g.fail[ip]
	if f == nil || t.Sub(f.first) > g.window {
		f = &failures{first: t}
		g.fail[ip] = f
	}
	f.n++
	if f.n <= g.free {
		return 0, f.n
	}
	d := 100 * time.Millisecond << min(f.n-g.free-1, 10)
	return min(d, maxDelay), f.n
}

func (g *guard) success(ip string) {
	g.mu.Lock()
	delete(g.fail, ip)
	g.mu.Unlock()
}
