package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

var incrementalSizes = []int{10_000, 100_000, 1_000_000}

// runIncremental couples N customers (untimed full run), changes K of them
// in the ERP and K others in the CRM, and times the incremental run that
// carries the changes across, for each table size N.
func runIncremental(ctx context.Context, o Options) (Result, error) {
	var sizes []int
	for _, n := range incrementalSizes {
		if o.Records == 0 || n <= o.Records {
			sizes = append(sizes, n)
		}
	}
	if o.Records > 0 && (len(sizes) == 0 || sizes[len(sizes)-1] < o.Records) {
		sizes = append(sizes, o.Records) // the cap itself, so that two sizes compare
	}
	res := Result{Scenario: "incremental", Changes: o.Changes}
	for _, n := range sizes {
		s, err := incrementalOnce(ctx, o, n)
		if err != nil {
			return res, fmt.Errorf("N=%d: %w", n, err)
		}
		res.Sizes = append(res.Sizes, s)
		res.Requests.CRM += s.Requests.CRM
		res.Requests.ERP += s.Requests.ERP
		res.Failed += s.Failed
	}
	first, last := res.Sizes[0], res.Sizes[len(res.Sizes)-1]
	if first.Seconds > 0 {
		res.TimeRatio = round(last.Seconds/first.Seconds, 2)
	}
	if first.ReadRecords > 0 {
		res.ReadsRatio = round(float64(last.ReadRecords)/float64(first.ReadRecords), 2)
	}
	res.Changes = min(o.Changes, sizes[0]/4)
	res.Note = "changes_per_side ERP customers and as many other CRM accounts are modified, then one incremental CUSTOMER run is timed"
	return res, nil
}

func incrementalOnce(ctx context.Context, o Options, n int) (IncrementalSize, error) {
	k := min(o.Changes, n/4)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Scale: n, Logger: o.Logger})
	if err != nil {
		return IncrementalSize{}, err
	}
	defer sb.Close()
	e, err := connect(ctx, sb.Ready(), o.Logger, clientPace{})
	if err != nil {
		return IncrementalSize{}, err
	}
	defer e.close()
	if _, err := e.syncRun(ctx, true, append(customerDeps, mapping.Customer)...); err != nil {
		return IncrementalSize{}, fmt.Errorf("coupling the customers first: %w", err)
	}
	// Filters compare modification times to the second: let the clock
	// leave the second of the full run before changing anything.
	if err := sleep(ctx, 1100*time.Millisecond); err != nil {
		return IncrementalSize{}, err
	}
	// The first incremental run after a full one reads back what the full
	// run wrote (its cursor is capped at the job's start): measured apart,
	// as the steady state is the run after it.
	e.crm.take()
	e.erpS.take()
	settleStart := time.Now()
	if _, err := e.syncRun(ctx, false, mapping.Customer); err != nil {
		return IncrementalSize{}, fmt.Errorf("first incremental run: %w", err)
	}
	settle := time.Since(settleStart)
	sc, se := e.crm.take(), e.erpS.take()
	if err := sleep(ctx, 1100*time.Millisecond); err != nil {
		return IncrementalSize{}, err
	}
	if err := change(ctx, e, k); err != nil {
		return IncrementalSize{}, err
	}
	e.crm.take()
	e.erpS.take()
	before := e.requests()
	start := time.Now()
	jobs, err := e.syncRun(ctx, false, mapping.Customer)
	d := time.Since(start)
	if err != nil {
		return IncrementalSize{}, err
	}
	after := e.requests()
	cr, er := e.crm.take(), e.erpS.take()
	s := IncrementalSize{Records: n, Seconds: round(d.Seconds(), 3),
		Requests:  Requests{CRM: after.CRM - before.CRM, ERP: after.ERP - before.ERP},
		ReadCalls: cr.Calls + er.Calls, ReadRecords: cr.Records + er.Records,
		FirstRunSeconds: round(settle.Seconds(), 3), FirstRunReadRecords: sc.Records + se.Records}
	for _, j := range jobs {
		if j.Mapping == mapping.Customer {
			s.Modified, s.Failed = j.Counts.Modified, j.Counts.Failed
		}
	}
	if s.Modified < 2*k {
		return s, fmt.Errorf("the incremental run modified %d records, expected %d (%d per side): the changes were not all seen", s.Modified, 2*k, k)
	}
	return s, nil
}

// change modifies the phone number of k coupled customers in the ERP and of
// the accounts coupled to k other customers in the CRM (as the CRM
// administrator, so that coupler does not take it for its own echo).
func change(ctx context.Context, e *env, k int) error {
	var ids []string
	err := e.erp.List(ctx, "customers", bc.Query{Select: []string{"id", "number"}, Filter: "startswith(number,'S')", Top: 2 * k}, func(page []json.RawMessage) error {
		for _, r := range page {
			ids = append(ids, bc.ID(r))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing customers to change: %w", err)
	}
	if len(ids) < 2*k {
		return fmt.Errorf("only %d synthetic customers to change, need %d", len(ids), 2*k)
	}
	ops := make([]bc.BatchOp, 0, k)
	for i, id := range ids[:k] {
		ops = append(ops, bc.UpdateOp("customers", id, "*", map[string]any{"phoneNumber": fmt.Sprintf("+44 20 7000 %04d", i)}))
	}
	res, err := e.erp.Batch(ctx, ops, bc.BatchOptions{})
	if err != nil {
		return fmt.Errorf("changing ERP customers: %w", err)
	}
	for i, r := range res {
		if r.Err != nil {
			return fmt.Errorf("changing ERP customer %s: %w", ids[i], r.Err)
		}
	}
	st := syncstore.New(e.db)
	reqs := make([]dataverse.BatchRequest, 0, k)
	for i, id := range ids[k:] {
		c, err := st.GetCouplingByERP(ctx, mapping.Customer, id)
		if err != nil {
			return fmt.Errorf("customer %s is not coupled after the full run: %w", id, err)
		}
		reqs = append(reqs, dataverse.BatchRequest{Method: http.MethodPatch, Path: "accounts(" + c.CRMID + ")",
			Header: http.Header{"If-Match": {"*"}}, Body: map[string]any{"telephone1": fmt.Sprintf("+44 20 7111 %04d", i)}})
	}
	for start := 0; start < len(reqs); start += 1000 {
		part := reqs[start:min(start+1000, len(reqs))]
		out, err := e.admin.Batch(ctx, part, dataverse.BatchOptions{})
		if err != nil {
			return fmt.Errorf("changing CRM accounts: %w", err)
		}
		for i, r := range out {
			if r.Err != nil {
				return fmt.Errorf("changing CRM account %s: %w", part[i].Path, r.Err)
			}
		}
	}
	return nil
}

var _ syncer.Store = (*syncstore.Store)(nil)

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
