package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/coupler/coupler/internal/sandbox"
)

const (
	defaultLimitsRecords = 20_000
	// defaultLimitsTimeScale doubles the budget's pace (40 requests/s): more
	// and the run is bound by this 2-core machine's CPU, not by the limits.
	defaultLimitsTimeScale = 2
	// limitsBatch makes the run request-bound: with the APIs' largest
	// batches a full run needs far fewer requests than the budget allows,
	// which measures nothing about how the budget is used.
	limitsBatch   = 10
	budgetPerUser = 6000
)

// runLimits runs the full synchronisation of the customers against a sandbox
// that enforces both services' request limits in compressed time, with
// clients pacing themselves to the same budget, and reports the share of the
// CRM's allowed requests (the side the run is bound by) that the sandbox
// admitted, the 429s and the failed records.
func runLimits(ctx context.Context, o Options) (Result, error) {
	n := o.Records
	if n == 0 {
		n = defaultLimitsRecords
	}
	ts := float64(defaultLimitsTimeScale)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Scale: n, Logger: o.Logger, TimeScale: ts,
		Limits: []string{sandbox.LimitsDataverse, sandbox.LimitsBC}})
	if err != nil {
		return Result{}, err
	}
	defer sb.Close()
	e, err := connect(ctx, sb.Ready(), o.Logger, clientPace{timeScale: ts, batchSize: limitsBatch})
	if err != nil {
		return Result{}, err
	}
	defer e.close()
	if _, err := e.syncRun(ctx, true, customerDeps...); err != nil {
		return Result{}, err
	}
	st0 := sb.Stats()
	res, err := coupleFull(ctx, e)
	if err != nil {
		return Result{}, err
	}
	st1 := sb.Stats()
	if st0.CRM.Limits == nil || st1.CRM.Limits == nil || st1.ERP.Limits == nil {
		return Result{}, fmt.Errorf("the sandbox reported no limit counters: are its limits on?")
	}
	window := time.Duration(float64(5*time.Minute) / ts)
	res.Scenario = "limits"
	res.TimeScale = ts
	res.BudgetSide = "crm"
	res.Budget = round(budgetPerUser*res.WallSeconds/window.Seconds(), 0)
	res.Admitted = st1.CRM.Limits.Admitted - st0.CRM.Limits.Admitted
	res.Throttled = (st1.CRM.Limits.Throttled - st0.CRM.Limits.Throttled) + (st1.ERP.Limits.Throttled - st0.ERP.Limits.Throttled)
	if res.Budget > 0 {
		res.BudgetUsed = round(float64(res.Admitted)/res.Budget, 3)
	}
	res.Note = fmt.Sprintf("limits of both services on, window %s (5 min / %g), engine batches of %d so that the run is request-bound; allowed = 6,000 × wall time / window",
		window, ts, limitsBatch)
	return res, nil
}
