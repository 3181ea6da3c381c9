package syncer

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// txRecorder is a Store whose transactions record which requests wrote in
// them; a transaction commits what its requests wrote only when all of
// them succeed.
type txRecorder struct {
	Store // nil: only Atomically is used
	mu    sync.Mutex
	calls int
	txs   [][]string // committed transactions, the names written in each
	gate  chan struct{}
}

type recTx struct {
	Store
	names []string
}

func (s *txRecorder) Atomically(ctx context.Context, fn func(ctx context.Context, tx Store) error) error {
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first && s.gate != nil {
		<-s.gate // the first transaction stays open until the test says
	}
	tx := &recTx{}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	s.mu.Lock()
	s.txs = append(s.txs, tx.names)
	s.mu.Unlock()
	return nil
}

func writes(name string, err error) func(ctx context.Context, tx Store) error {
	return func(_ context.Context, tx Store) error {
		if err != nil {
			return err
		}
		tx.(*recTx).names = append(tx.(*recTx).names, name)
		return nil
	}
}

func TestCommitterGroups(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		later   map[string]error // requests made while the first transaction is open
		wantTxs [][]string
		wantErr map[string]error
		calls   int
	}{
		{
			name:    "requests made during a commit share the next",
			later:   map[string]error{"b": nil, "c": nil},
			wantTxs: [][]string{{"a"}, {"b", "c"}},
			calls:   2,
		},
		{
			name:    "a failing request fails alone",
			later:   map[string]error{"b": boom, "c": nil},
			wantTxs: [][]string{{"a"}, {"c"}},
			wantErr: map[string]error{"b": boom},
			calls:   4, // a; b+c rolled back; b alone; c alone
		},
		{
			name:    "a lone failing request is not retried",
			later:   map[string]error{"b": boom},
			wantTxs: [][]string{{"a"}},
			wantErr: map[string]error{"b": boom},
			calls:   2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := &txRecorder{gate: make(chan struct{})}
			c := &committer{st: st}
			ctx := context.Background()
			errs := map[string]error{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			call := func(name string, fail error) {
				defer wg.Done()
				err := c.do(ctx, writes(name, fail))
				mu.Lock()
				errs[name] = err
				mu.Unlock()
			}
			wg.Add(1)
			go call("a", nil)
			waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return st.calls == 1 })
			for name, fail := range tc.later {
				wg.Add(1)
				go call(name, fail)
			}
			waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.queue) == len(tc.later) })
			close(st.gate)
			wg.Wait()

			if st.calls != tc.calls {
				t.Errorf("transactions begun = %d, want %d", st.calls, tc.calls)
			}
			if len(st.txs) != len(tc.wantTxs) {
				t.Fatalf("committed %v, want %v", st.txs, tc.wantTxs)
			}
			for i, want := range tc.wantTxs {
				if !sameNames(st.txs[i], want) {
					t.Errorf("transaction %d wrote %v, want %v", i, st.txs[i], want)
				}
			}
			for name, err := range errs {
				if !errors.Is(err, tc.wantErr[name]) {
					t.Errorf("request %s: error %v, want %v", name, err, tc.wantErr[name])
				}
			}
			if c.running || len(c.queue) != 0 {
				t.Errorf("committer left running=%v with %d queued", c.running, len(c.queue))
			}
		})
	}
}

// TestCommitterManyCallers checks that concurrent callers all get their
// own result and that nothing is left queued, however they interleave.
func TestCommitterManyCallers(t *testing.T) {
	t.Parallel()
	st := &txRecorder{}
	c := &committer{st: st}
	boom := errors.New("boom")
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var fail error
			if i%17 == 0 {
				fail = boom
			}
			errs[i] = c.do(context.Background(), writes(string(rune('A'+i%26))+string(rune('0'+i/26)), fail))
		}()
	}
	wg.Wait()
	written := 0
	for _, tx := range st.txs {
		written += len(tx)
	}
	failing := 0
	for i, err := range errs {
		if (i%17 == 0) != errors.Is(err, boom) {
			t.Errorf("request %d: error %v", i, err)
		}
		if i%17 == 0 {
			failing++
		}
	}
	if written != n-failing {
		t.Errorf("%d requests committed, want %d", written, n-failing)
	}
	if c.running || len(c.queue) != 0 {
		t.Errorf("committer left running=%v with %d queued", c.running, len(c.queue))
	}
}

func sameNames(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		seen[w]--
	}
	for _, v := range seen {
		if v != 0 {
			return false
		}
	}
	return true
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
