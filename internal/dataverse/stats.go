package dataverse

import (
	"sort"
	"sync"
	"sync/atomic"
)

// RequestCount is the number of answers with one method and status
// (status 0 = no answer: connection error or timeout).
type RequestCount struct {
	Method string
	Status int
	Count  int64
}

// Stats is a snapshot of a client's counters, for metrics.
type Stats struct {
	Requests []RequestCount // sorted by method, then status
	Retries  int64
}

// Total is the number of requests sent.
func (s Stats) Total() int64 {
	var n int64
	for _, r := range s.Requests {
		n += r.Count
	}
	return n
}

// Count is the number of answers with the given method and status.
func (s Stats) Count(method string, status int) int64 {
	for _, r := range s.Requests {
		if r.Method == method && r.Status == status {
			return r.Count
		}
	}
	return 0
}

type statKey struct {
	method string
	status int
}

type stats struct {
	mu      sync.Mutex
	counts  map[statKey]int64
	retries atomic.Int64
}

func newStats() *stats { return &stats{counts: map[statKey]int64{}} }

func (s *stats) count(method string, status int) {
	s.mu.Lock()
	s.counts[statKey{method, status}]++
	s.mu.Unlock()
}

func (s *stats) retry() { s.retries.Add(1) }

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	out := Stats{Requests: make([]RequestCount, 0, len(s.counts)), Retries: s.retries.Load()}
	for k, n := range s.counts {
		out.Requests = append(out.Requests, RequestCount{Method: k.method, Status: k.status, Count: n})
	}
	s.mu.Unlock()
	sort.Slice(out.Requests, func(i, j int) bool {
		a, b := out.Requests[i], out.Requests[j]
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Status < b.Status
	})
	return out
}
