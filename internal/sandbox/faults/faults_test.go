package faults

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Parallel()
	spec, err := Parse("5xx=0.1, 429=0.2,slow=0.05,slow-delay=250ms,drop=1%,retry-after=3s,seed=42")
	require.NoError(t, err)
	require.Equal(t, Spec{ServerError: 0.1, Throttle: 0.2, Slow: 0.05, Drop: 0.01, SlowDelay: 250 * time.Millisecond, RetryAfter: 3 * time.Second, Seed: 42}, spec)
	again, err := Parse(spec.String())
	require.NoError(t, err)
	require.Equal(t, spec, again, "String round-trips")

	none, err := Parse("")
	require.NoError(t, err)
	require.False(t, none.Enabled())
	require.Equal(t, Fault{Kind: None}, New(none).Next())
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"5xx":              "not key=value",
		"5xx=abc":          "between 0 and 1",
		"429=1.5":          "between 0 and 1",
		"slow=-0.1":        "between 0 and 1",
		"drop=NaN":         "between 0 and 1",
		"slow-delay=fast":  "duration",
		"slow-delay=-1s":   "duration",
		"seed=x":           "not an integer",
		"boom=0.1":         "unknown key",
		"5xx=0.1,5xx=0.2":  "twice",
		"5xx=0.6,429=0.6":  "add up to 1.2",
		"5xx=0.1,,429=0.1": "not key=value",
	}
	for in, want := range tests {
		_, err := Parse(in)
		require.ErrorContains(t, err, want, in)
	}
}

func TestSameSeedSameSequence(t *testing.T) {
	t.Parallel()
	spec := Spec{ServerError: 0.1, Throttle: 0.1, Slow: 0.1, Drop: 0.1, Seed: 7}
	a, b := New(spec), New(spec)
	var seqA, seqB []Fault
	for range 1000 {
		seqA = append(seqA, a.Next())
		seqB = append(seqB, b.Next())
	}
	require.Equal(t, seqA, seqB)
	spec.Seed = 8
	c := New(spec)
	var seqC []Fault
	for range 1000 {
		seqC = append(seqC, c.Next())
	}
	require.NotEqual(t, seqA, seqC)
}

func TestRatesAndCounts(t *testing.T) {
	t.Parallel()
	in := New(Spec{ServerError: 0.1, Throttle: 0.2, Slow: 0.05, Drop: 0.01, SlowDelay: time.Second, Seed: 42})
	const n = 100000
	statuses := map[int]int{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 4 {
				f := in.Next()
				switch f.Kind {
				case ServerError:
					mu.Lock()
					statuses[f.Status]++
					mu.Unlock()
				case Throttle:
					if f.RetryAfter != DefaultRetryAfter {
						t.Errorf("retry after %s", f.RetryAfter)
					}
				case Slow:
					if f.Delay != time.Second {
						t.Errorf("delay %s", f.Delay)
					}
				}
			}
		}()
	}
	wg.Wait()
	c := in.Counts()
	var total int64
	for _, v := range c {
		total += v
	}
	require.Equal(t, int64(n), total)
	within := func(key string, rate float64) {
		got := float64(c[key]) / n
		require.InDelta(t, rate, got, 0.01, "%s: %v", key, c)
	}
	within("5xx", 0.1)
	within("429", 0.2)
	within("slow", 0.05)
	within("drop", 0.01)
	within("none", 0.64)
	require.Len(t, statuses, 2, "both 500 and 503 appear")
	require.Equal(t, int(c["5xx"]), statuses[500]+statuses[503])
}

func TestNilInjector(t *testing.T) {
	t.Parallel()
	var in *Injector
	require.Equal(t, Fault{Kind: None}, in.Next())
	require.Empty(t, in.Counts())
	require.Equal(t, "429", Throttle.String())
}
