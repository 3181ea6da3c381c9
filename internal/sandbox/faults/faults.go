// Package faults injects failures into the simulators (server errors,
// throttling, slow answers, dropped connections) at configured rates, from
// a seeded generator so that a failing run can be replayed.
package faults

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Spec sets the probability of each fault per request; the rates add up to
// at most 1.
type Spec struct {
	ServerError float64 // 500 or 503
	Throttle    float64 // 429 with Retry-After
	Slow        float64 // answer after SlowDelay
	Drop        float64 // close the connection without an answer
	SlowDelay   time.Duration
	RetryAfter  time.Duration // for Throttle; default 1s
	Seed        int64
}

// Default delays when the spec does not give them.
const (
	DefaultSlowDelay  = 2 * time.Second
	DefaultRetryAfter = time.Second
)

// Enabled reports whether any fault can happen.
func (s Spec) Enabled() bool { return s.ServerError+s.Throttle+s.Slow+s.Drop > 0 }

// String renders the spec in Parse's syntax.
func (s Spec) String() string {
	if !s.Enabled() {
		return ""
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return fmt.Sprintf("5xx=%s,429=%s,slow=%s,slow-delay=%s,drop=%s,retry-after=%s,seed=%d",
		f(s.ServerError), f(s.Throttle), f(s.Slow), s.SlowDelay, f(s.Drop), s.RetryAfter, s.Seed)
}

// Parse reads a spec such as
// "5xx=0.1,429=0.2,slow=0.05,slow-delay=2s,drop=0.01,retry-after=3s,seed=42".
// The empty string means no faults.
func Parse(s string) (Spec, error) {
	spec := Spec{SlowDelay: DefaultSlowDelay, RetryAfter: DefaultRetryAfter, Seed: 1}
	if strings.TrimSpace(s) == "" {
		return spec, nil
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			return Spec{}, fmt.Errorf("faults %q: %q is not key=value (keys: 5xx, 429, slow, slow-delay, drop, retry-after, seed)", s, item)
		}
		if seen[key] {
			return Spec{}, fmt.Errorf("faults %q: %s is given twice", s, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "5xx":
			spec.ServerError, err = parseRate(key, val)
		case "429":
			spec.Throttle, err = parseRate(key, val)
		case "slow":
			spec.Slow, err = parseRate(key, val)
		case "drop":
			spec.Drop, err = parseRate(key, val)
		case "slow-delay":
			spec.SlowDelay, err = parseDelay(key, val)
		case "retry-after":
			spec.RetryAfter, err = parseDelay(key, val)
		case "seed":
			spec.Seed, err = strconv.ParseInt(val, 10, 64)
			if err != nil {
				err = fmt.Errorf("seed %q is not an integer", val)
			}
		default:
			err = fmt.Errorf("unknown key %q (keys: 5xx, 429, slow, slow-delay, drop, retry-after, seed)", key)
		}
		if err != nil {
			return Spec{}, fmt.Errorf("faults %q: %w", s, err)
		}
	}
	if sum := spec.ServerError + spec.Throttle + spec.Slow + spec.Drop; sum > 1+1e-9 {
		return Spec{}, fmt.Errorf("faults %q: the rates add up to %g; at most 1 is possible", s, sum)
	}
	return spec, nil
}

func parseRate(key, val string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 64)
	if err == nil && strings.HasSuffix(val, "%") {
		x /= 100
	}
	if err != nil || x < 0 || x > 1 || x != x {
		return 0, fmt.Errorf("%s=%s: the rate must be a number between 0 and 1 (or a percentage such as 5%%)", key, val)
	}
	return x, nil
}

func parseDelay(key, val string) (time.Duration, error) {
	d, err := time.ParseDuration(val)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%s: give a non-negative duration such as 500ms or 2s", key, val)
	}
	return d, nil
}

// Kind is the kind of an injected fault.
type Kind int

// Kinds of faults.
const (
	None Kind = iota
	ServerError
	Throttle
	Slow
	Drop
)

var kindNames = [...]string{"none", "5xx", "429", "slow", "drop"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Fault is what to do to one request.
type Fault struct {
	Kind       Kind
	Status     int           // ServerError: 500 or 503
	Delay      time.Duration // Slow
	RetryAfter time.Duration // Throttle
}

// Injector draws faults from a seeded generator; it is safe for concurrent
// use, and the sequence of faults it returns depends only on the seed.
type Injector struct {
	spec Spec

	mu     sync.Mutex
	rng    *rand.Rand
	counts [len(kindNames)]int64
}

// New returns an Injector for spec; a spec with no rates gives an Injector
// that never injects.
func New(spec Spec) *Injector {
	if spec.SlowDelay == 0 {
		spec.SlowDelay = DefaultSlowDelay
	}
	if spec.RetryAfter == 0 {
		spec.RetryAfter = DefaultRetryAfter
	}
	seed := uint64(spec.Seed)
	return &Injector{spec: spec, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Spec returns the injector's spec.
func (in *Injector) Spec() Spec {
	if in == nil {
		return Spec{}
	}
	return in.spec
}

// Next decides the fault of the next request. A nil Injector never injects.
func (in *Injector) Next() Fault {
	if in == nil || !in.spec.Enabled() {
		return Fault{Kind: None}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	u := in.rng.Float64()
	s := in.spec
	var f Fault
	switch {
	case u < s.ServerError:
		f = Fault{Kind: ServerError, Status: 500}
		if in.rng.IntN(2) == 1 {
			f.Status = 503
		}
	case u < s.ServerError+s.Throttle:
		f = Fault{Kind: Throttle, RetryAfter: s.RetryAfter}
	case u < s.ServerError+s.Throttle+s.Slow:
		f = Fault{Kind: Slow, Delay: s.SlowDelay}
	case u < s.ServerError+s.Throttle+s.Slow+s.Drop:
		f = Fault{Kind: Drop}
	}
	in.counts[f.Kind]++
	return f
}

// Counts returns how many times each kind was drawn, keyed "none", "5xx",
// "429", "slow", "drop".
func (in *Injector) Counts() map[string]int64 {
	out := map[string]int64{}
	if in == nil {
		return out
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for k, n := range in.counts {
		out[kindNames[k]] = n
	}
	return out
}
