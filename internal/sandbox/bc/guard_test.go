package bc

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/sandbox/limits"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		spec   faults.Spec
		status int
		code   string
	}{
		{"server error", faults.Spec{ServerError: 1, Seed: 1}, 0, "Internal_ServerError"},
		{"throttle", faults.Spec{Throttle: 1, RetryAfter: 3 * time.Second}, 429, "Application_TooManyRequests"},
		{"slow", faults.Spec{Slow: 1, SlowDelay: 30 * time.Millisecond}, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, func(o *Options) { o.Faults = faults.New(tc.spec) })
			start := time.Now()
			r := e.do("GET", "currencies?$top=1", "")
			switch {
			case tc.status == 0:
				require.Contains(t, []int{500, 503}, r.status)
			default:
				require.Equal(t, tc.status, r.status)
			}
			if tc.code != "" {
				require.Equal(t, tc.code, r.errCode(t))
			}
			if tc.name == "throttle" {
				require.Equal(t, "3", r.header.Get("Retry-After"))
			}
			if tc.name == "slow" {
				require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
			}
		})
	}
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		e := setup(t, func(o *Options) { o.Faults = faults.New(faults.Spec{Drop: 1}) })
		req, _ := http.NewRequest("GET", e.comp+"/currencies", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		require.Error(t, err, "the connection must be dropped")
	})
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	// 1 running + 1 queued; slow requests keep the slot busy
	lim := limits.New(limits.Config{Concurrent: 1, Queue: 1}, nil)
	e := setup(t, func(o *Options) {
		o.Limiter = lim
		o.Faults = faults.New(faults.Spec{Slow: 1, SlowDelay: 300 * time.Millisecond})
	})
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", e.comp+"/currencies?$top=1", nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		}()
	}
	wg.Wait()
	n429 := 0
	for _, s := range statuses {
		if s == http.StatusTooManyRequests {
			n429++
		}
	}
	require.Equal(t, 2, n429, "%v", statuses)
}
