package sandbox

import (
	"encoding/json"
	"net/http"

	"github.com/coupler/coupler/internal/sandbox/limits"
)

// SideStats is what the request limits and the fault injector of one
// simulator decided so far; nil/empty when they are off.
type SideStats struct {
	Limits *limits.Stats    `json:"limits,omitempty"`
	Faults map[string]int64 `json:"faults,omitempty"`
}

// Stats covers both simulators; benchmarks read it to see how much of the
// request budget a run used and how often it was throttled.
type Stats struct {
	CRM SideStats `json:"crm"`
	ERP SideStats `json:"erp"`
}

// StatsPath serves Stats as JSON on both listeners, for runs that drive
// `coupler sandbox` from another process.
const StatsPath = "/_sandbox/protection"

// Stats returns the limits' and faults' counters.
func (s *Sandbox) Stats() Stats {
	side := func(l *limits.Limiter, counts map[string]int64) SideStats {
		var out SideStats
		if l != nil {
			st := l.Stats()
			out.Limits = &st
		}
		if len(counts) > 0 {
			out.Faults = counts
		}
		return out
	}
	var crmFaults, erpFaults map[string]int64
	if s.crmFaults != nil {
		crmFaults = s.crmFaults.Counts()
	}
	if s.erpFaults != nil {
		erpFaults = s.erpFaults.Counts()
	}
	return Stats{CRM: side(s.crmLimiter, crmFaults), ERP: side(s.erpLimiter, erpFaults)}
}

// withStats answers GET StatsPath and passes everything else to next.
func (s *Sandbox) withStats(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != StatsPath {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "only GET is allowed on "+StatsPath, http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
}
