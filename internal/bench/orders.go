package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/orders"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

const (
	defaultOrders = 200
	orderLines    = 5
)

// runOrders couples the demo data (full run of every default mapping,
// untimed), submits N CRM orders of 5 product lines each for a coupled
// account, and times the sales order integration turning them into ERP
// sales orders (read order and lines, resolve couplings, claim, POST with
// the lines, record, write back to the CRM).
func runOrders(ctx context.Context, o Options) (Result, error) {
	n := o.Records
	if n == 0 {
		n = defaultOrders
	}
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Logger: o.Logger})
	if err != nil {
		return Result{}, err
	}
	defer sb.Close()
	e, err := connect(ctx, sb.Ready(), o.Logger, clientPace{})
	if err != nil {
		return Result{}, err
	}
	defer e.close()
	if _, err := e.syncRun(ctx, true); err != nil {
		return Result{}, fmt.Errorf("coupling the demo data first: %w", err)
	}
	if err := submitOrders(ctx, e, n); err != nil {
		return Result{}, err
	}
	svc, err := orders.New(orders.Options{CRM: e.dv, ERP: e.erp, Store: e.db, Logger: o.Logger})
	if err != nil {
		return Result{}, err
	}
	before := e.requests()
	start := time.Now()
	out, err := svc.CreateOrders(ctx, "")
	d := time.Since(start)
	if err != nil {
		return Result{}, err
	}
	after := e.requests()
	res := Result{Scenario: "orders", Lines: orderLines, WallSeconds: round(d.Seconds(), 3),
		Requests: Requests{CRM: after.CRM - before.CRM, ERP: after.ERP - before.ERP}}
	for _, oc := range out {
		if !strings.HasPrefix(oc.CRMNumber, "BENCH-") {
			continue
		}
		if oc.Result == "created" {
			res.Records++
		} else {
			res.Failed++
		}
	}
	res.OrdersPS = perSec(res.Records, d)
	res.RecordsPS = res.OrdersPS
	return res, nil
}

// submitOrders creates n submitted CRM orders of orderLines lines for the
// first coupled account and coupled products, as a salesperson (the CRM
// administrator) would: coupler's own request budget is left to the run.
func submitOrders(ctx context.Context, e *env, n int) error {
	st := syncstore.New(e.db)
	accs, err := st.ListCouplings(ctx, syncer.CouplingQuery{Mapping: mapping.Customer, Limit: 1})
	if err != nil || len(accs) == 0 {
		return fmt.Errorf("no coupled customer to order for (%d): %v", len(accs), err)
	}
	prods, err := st.ListCouplings(ctx, syncer.CouplingQuery{Mapping: mapping.ItemProduct, Limit: orderLines})
	if err != nil || len(prods) < orderLines {
		return fmt.Errorf("need %d coupled products, have %d: %v", orderLines, len(prods), err)
	}
	for i := range n {
		id, err := e.admin.Create(ctx, "salesorders", map[string]any{"name": fmt.Sprintf("BENCH-%d", i), "ordernumber": fmt.Sprintf("BENCH-%05d", i),
			"customerid_account@odata.bind": "/accounts(" + accs[0].CRMID + ")"})
		if err != nil {
			return fmt.Errorf("creating CRM order %d: %w", i, err)
		}
		reqs := make([]dataverse.BatchRequest, 0, orderLines)
		for j, p := range prods {
			reqs = append(reqs, dataverse.BatchRequest{Method: "POST", Path: "salesorderdetails", Body: map[string]any{
				"salesorderid@odata.bind": "/salesorders(" + id + ")", "productid@odata.bind": "/products(" + p.CRMID + ")",
				"quantity": j + 1, "priceperunit": 10.5, "sequencenumber": j + 1}})
		}
		res, err := e.admin.Batch(ctx, reqs, dataverse.BatchOptions{})
		if err != nil {
			return fmt.Errorf("creating the lines of CRM order %d: %w", i, err)
		}
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("creating a line of CRM order %d: %w", i, r.Err)
			}
		}
		if err := e.admin.Update(ctx, "salesorders", dataverse.ID(id), map[string]any{"statecode": 1, "statuscode": 3}, ""); err != nil {
			return fmt.Errorf("submitting CRM order %d: %w", i, err)
		}
	}
	return nil
}
