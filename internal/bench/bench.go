// Package bench measures coupler against the sandbox: full-synchronisation
// throughput next to a bare-client floor, incremental cost against table size,
// use of the APIs' request budget under their limits, peak memory on a million
// records and order throughput. Goals are reported, never asserted: the
// figures go into docs/benchmarks.md.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Scenarios in the order "all" runs them.
var Scenarios = []string{"full", "incremental", "limits", "memory", "orders"}

// Options say what to measure.
type Options struct {
	Scenario string // one of Scenarios or "all"
	// Records is N (0 = each scenario's default). For incremental it caps
	// the table sizes measured (10,000, 100,000, 1,000,000).
	Records int
	// Changes is K of the incremental scenario (default 1,000 per side).
	Changes int
	JSON    bool      // one JSON object per scenario on Out, table on Table
	Out     io.Writer // results
	Table   io.Writer // readable table (nil = Out when !JSON, else none)
	Logger  *slog.Logger
	// Exe is the coupler binary the memory scenario starts as child
	// processes (the sandbox, and the synchronising process it measures).
	Exe string
	// Deadline bounds each scenario (default 30 minutes).
	Deadline time.Duration
	// HeapProfile, when set, receives a heap profile taken at the highest
	// live heap of the process that synchronises (the worker for memory).
	HeapProfile string
	// SandboxProcess runs the full scenario's sandbox as a child process
	// (`coupler sandbox`), as the memory scenario does: the simulators'
	// 1.6 GB heap (at 100,000) is then not marked by every garbage
	// collection that coupler's or the floor's allocations start.
	SandboxProcess bool
}

// Requests counts HTTP attempts per service.
type Requests struct {
	CRM int64 `json:"crm"`
	ERP int64 `json:"erp"`
}

// Result is one scenario's figures; fields that do not apply are omitted.
type Result struct {
	Scenario    string   `json:"scenario"`
	Available   *bool    `json:"available,omitempty"`
	Note        string   `json:"note,omitempty"`
	Records     int      `json:"records,omitempty"`
	WallSeconds float64  `json:"wall_seconds,omitempty"`
	RecordsPS   float64  `json:"records_per_sec,omitempty"`
	Requests    Requests `json:"requests"`
	PeakRSSMB   float64  `json:"peak_rss_mb,omitempty"`
	Failed      int      `json:"failed"`

	// full
	FloorRecordsPS   float64   `json:"floor_records_per_sec,omitempty"`
	FloorWallSeconds float64   `json:"floor_wall_seconds,omitempty"`
	FloorRequests    *Requests `json:"floor_requests,omitempty"`
	Ratio            float64   `json:"ratio,omitempty"`
	// CPU seconds this process used in coupler's timed run and in the
	// floor's: with the sandbox in its own process, each side's own cost,
	// which the machine's other load moves far less than wall time.
	CPUSeconds      float64 `json:"cpu_seconds,omitempty"`
	FloorCPUSeconds float64 `json:"floor_cpu_seconds,omitempty"`

	// incremental
	Changes    int               `json:"changes_per_side,omitempty"`
	Sizes      []IncrementalSize `json:"sizes,omitempty"`
	TimeRatio  float64           `json:"time_ratio_largest_smallest,omitempty"`
	ReadsRatio float64           `json:"reads_ratio_largest_smallest,omitempty"`

	// limits
	TimeScale  float64 `json:"time_scale,omitempty"`
	BudgetSide string  `json:"budget_side,omitempty"`
	Budget     float64 `json:"allowed_requests,omitempty"`
	Admitted   int64   `json:"admitted_requests,omitempty"`
	Throttled  int64   `json:"throttled_requests"`
	BudgetUsed float64 `json:"budget_used,omitempty"`

	// memory, and full with SandboxProcess
	SandboxRSSMB   float64 `json:"sandbox_peak_rss_mb,omitempty"`
	SandboxProcess bool    `json:"sandbox_process,omitempty"`

	// orders
	Lines    int     `json:"lines_per_order,omitempty"`
	OrdersPS float64 `json:"orders_per_sec,omitempty"`
}

// IncrementalSize is one table size of the incremental scenario.
type IncrementalSize struct {
	Records     int      `json:"records"`
	Seconds     float64  `json:"seconds"`
	Requests    Requests `json:"requests"`
	ReadCalls   int64    `json:"read_calls"`
	ReadRecords int64    `json:"read_records"`
	Modified    int      `json:"modified"`
	Failed      int      `json:"failed"`
	// The first incremental run after the full one, without changes.
	FirstRunSeconds     float64 `json:"first_run_after_full_seconds"`
	FirstRunReadRecords int64   `json:"first_run_after_full_read_records"`
}

// Run measures the chosen scenarios one after another, printing each result
// as soon as it is known; it stops at the first scenario that cannot run.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Deadline <= 0 {
		o.Deadline = 30 * time.Minute
	}
	if o.Changes <= 0 {
		o.Changes = 1000
	}
	if o.Records < 0 {
		return nil, fmt.Errorf("bench: --records %d is negative: give a number of records, e.g. 100000", o.Records)
	}
	if o.Table == nil && !o.JSON {
		o.Table = o.Out
	}
	names := []string{o.Scenario}
	if o.Scenario == "" || o.Scenario == "all" {
		names = Scenarios
	} else if !slices.Contains(Scenarios, o.Scenario) {
		return nil, fmt.Errorf("bench: scenario %q is unknown: use %s or all", o.Scenario, strings.Join(Scenarios, ", "))
	}
	if o.HeapProfile != "" {
		if len(names) > 1 {
			return nil, errors.New("bench: --heapprofile profiles one scenario: give --scenario too")
		}
		if names[0] != "memory" { // the memory scenario's worker takes the profile
			stop, err := watchHeap(o.HeapProfile)
			if err != nil {
				return nil, err
			}
			defer func() {
				if err := stop(); err != nil {
					o.Logger.Error("heap profile", "err", err)
				}
			}()
		}
	}
	var out []Result
	for _, name := range names {
		sctx, cancel := context.WithTimeout(ctx, o.Deadline)
		r, err := runOne(sctx, name, o)
		cancel()
		if err != nil {
			return out, fmt.Errorf("bench %s: %w", name, err)
		}
		out = append(out, r)
		if o.JSON {
			b, err := json.Marshal(r)
			if err != nil {
				return out, err
			}
			if _, err := fmt.Fprintf(o.Out, "%s\n", b); err != nil {
				return out, err
			}
		}
		if o.Table != nil {
			printTable(o.Table, r)
		}
	}
	return out, nil
}

func runOne(ctx context.Context, name string, o Options) (Result, error) {
	switch name {
	case "full":
		return runFull(ctx, o)
	case "incremental":
		return runIncremental(ctx, o)
	case "limits":
		return runLimits(ctx, o)
	case "memory":
		return runMemory(ctx, o)
	case "orders":
		return runOrders(ctx, o)
	}
	return Result{}, errors.New("unknown scenario")
}

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round(float64(n)/d.Seconds(), 1)
}

func round(f float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(f*p+0.5)) / p
}

func printTable(w io.Writer, r Result) {
	p := func(k string, v any) { fmt.Fprintf(w, "  %-28s %v\n", k, v) }
	fmt.Fprintf(w, "%s\n", r.Scenario)
	if r.Available != nil && !*r.Available {
		p("available", "no: "+r.Note)
		return
	}
	if r.Records > 0 {
		p("records", r.Records)
	}
	if r.WallSeconds > 0 {
		p("wall time (s)", r.WallSeconds)
	}
	if r.RecordsPS > 0 {
		p("records/s", r.RecordsPS)
	}
	if r.FloorRecordsPS > 0 {
		p("floor records/s", r.FloorRecordsPS)
		p("ratio coupler/floor", r.Ratio)
	}
	p("requests CRM / ERP", fmt.Sprintf("%d / %d", r.Requests.CRM, r.Requests.ERP))
	if r.FloorRequests != nil {
		p("floor requests CRM / ERP", fmt.Sprintf("%d / %d", r.FloorRequests.CRM, r.FloorRequests.ERP))
	}
	if r.CPUSeconds > 0 {
		p("CPU s coupler / floor", fmt.Sprintf("%.2f / %.2f", r.CPUSeconds, r.FloorCPUSeconds))
	}
	for _, s := range r.Sizes {
		p(fmt.Sprintf("N=%d", s.Records), fmt.Sprintf("%.2f s, %d modified, reads %d calls / %d records, requests %d/%d, failed %d (first run after full: %.2f s, %d records read)",
			s.Seconds, s.Modified, s.ReadCalls, s.ReadRecords, s.Requests.CRM, s.Requests.ERP, s.Failed, s.FirstRunSeconds, s.FirstRunReadRecords))
	}
	if len(r.Sizes) > 1 {
		p("time ratio largest/smallest", r.TimeRatio)
		p("reads ratio largest/smallest", r.ReadsRatio)
	}
	if r.BudgetSide != "" {
		p("time scale", r.TimeScale)
		p("budget side", r.BudgetSide)
		p("allowed / admitted", fmt.Sprintf("%.0f / %d", r.Budget, r.Admitted))
		p("throttled (429)", r.Throttled)
		p("budget used", fmt.Sprintf("%.1f %%", 100*r.BudgetUsed))
	}
	if r.OrdersPS > 0 {
		p("orders/s", r.OrdersPS)
	}
	if r.PeakRSSMB > 0 {
		p("peak RSS (MB)", r.PeakRSSMB)
	}
	if r.SandboxRSSMB > 0 {
		p("sandbox peak RSS (MB)", r.SandboxRSSMB)
	}
	p("failed records", r.Failed)
	if r.Note != "" {
		p("note", r.Note)
	}
}
