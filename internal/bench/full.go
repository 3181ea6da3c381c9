package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/syncer"
)

const defaultFullRecords = 100_000

// floorConcurrency matches the engine's default batches in flight per
// mapping, so that the floor and coupler get the same parallelism.
const floorConcurrency = 4

// runFull measures the floor, then coupler's full synchronisation of the
// customers, on one in-process sandbox. The floor runs first: coupler then
// works on a CRM table that already holds the floor's rows, which can only
// slow it down.
func runFull(ctx context.Context, o Options) (Result, error) {
	n := o.Records
	if n == 0 {
		n = defaultFullRecords
	}
	var ready sandbox.Ready
	var child *sandboxProcess
	if o.SandboxProcess {
		var err error
		if child, err = startSandboxProcess(ctx, o.Exe, n); err != nil {
			return Result{}, err
		}
		defer child.stop()
		ready = child.ready
	} else {
		sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Scale: n, Logger: o.Logger})
		if err != nil {
			return Result{}, err
		}
		defer sb.Close()
		ready = sb.Ready()
	}
	e, err := connect(ctx, ready, o.Logger, clientPace{})
	if err != nil {
		return Result{}, err
	}
	defer e.close()

	cpu := selfCPUSeconds()
	floorN, floorD, floorReq, floorFailed, err := floor(ctx, e)
	if err != nil {
		return Result{}, fmt.Errorf("floor: %w", err)
	}
	floorCPU := selfCPUSeconds() - cpu
	res, err := coupleFull(ctx, e)
	if err != nil {
		return Result{}, err
	}
	res.Scenario = "full"
	res.FloorRecordsPS = perSec(floorN, floorD)
	res.FloorWallSeconds = round(floorD.Seconds(), 3)
	res.FloorRequests = &floorReq
	res.FloorCPUSeconds = round(floorCPU, 2)
	res.Failed += floorFailed
	if res.FloorRecordsPS > 0 {
		res.Ratio = round(res.RecordsPS/res.FloorRecordsPS, 3)
	}
	res.PeakRSSMB = selfPeakRSSMB()
	res.Note = "peak_rss_mb is this process with the sandbox in it (both simulators' data); the memory scenario measures coupler alone"
	if child != nil {
		res.SandboxProcess = true
		res.SandboxRSSMB = child.stop()
		res.Note = "the sandbox ran in its own process (sandbox_peak_rss_mb); peak_rss_mb is this process: coupler and the floor's client"
	}
	return res, nil
}

// coupleFull synchronises the lookup mappings CUSTOMER depends on (untimed),
// then times the full synchronisation of CUSTOMER with all its default field
// mappings: match-based coupling first, then every customer written.
func coupleFull(ctx context.Context, e *env) (Result, error) {
	if _, err := e.syncRun(ctx, true, customerDeps...); err != nil {
		return Result{}, err
	}
	before := e.requests()
	cpu := selfCPUSeconds()
	start := time.Now()
	jobs, err := e.syncRun(ctx, true, mapping.Customer)
	d := time.Since(start)
	cpu = selfCPUSeconds() - cpu
	if err != nil {
		return Result{}, err
	}
	after := e.requests()
	var c syncer.Counts
	for _, j := range jobs {
		if j.Mapping == mapping.Customer {
			c = j.Counts
		}
	}
	done := c.Inserted + c.Modified + c.Unchanged + c.Skipped + c.Failed
	return Result{Records: done, WallSeconds: round(d.Seconds(), 3), RecordsPS: perSec(done, d), Failed: c.Failed, CPUSeconds: round(cpu, 2),
		Requests: Requests{CRM: after.CRM - before.CRM, ERP: after.ERP - before.ERP}}, nil
}

// floorColumns are the account columns the floor writes, straight from the
// customer's fields of the same meaning: the payload coupler's default
// mapping produces, without lookups, transforms, coupling or storage.
var floorColumns = [][2]string{
	{"displayName", "name"}, {"number", "accountnumber"}, {"addressLine1", "address1_line1"},
	{"addressLine2", "address1_line2"}, {"city", "address1_city"}, {"state", "address1_stateorprovince"},
	{"postalCode", "address1_postalcode"}, {"country", "address1_country"}, {"phoneNumber", "telephone1"},
	{"email", "emailaddress1"}, {"website", "websiteurl"}, {"creditLimit", "creditlimit"},
}

// floor is the bare client: page every customer from the ERP and upsert an
// account per customer in $batch requests of 1,000, four in flight. Its
// accounts are of another type (1, competitor) so that coupler's
// match-based coupling, run next, does not read them as candidates.
func floor(ctx context.Context, e *env) (int, time.Duration, Requests, int, error) {
	before := e.requests()
	start := time.Now()
	g, gctx := newGroup(ctx)
	batches := make(chan []dataverse.BatchRequest, floorConcurrency)
	var (
		mu     sync.Mutex
		failed int
		n      int
	)
	for range floorConcurrency {
		g.Go(func() error {
			for reqs := range batches {
				res, err := e.dv.Batch(gctx, reqs, dataverse.BatchOptions{ContinueOnError: true})
				if err != nil {
					return err
				}
				bad := 0
				for _, r := range res {
					if r.Err != nil {
						bad++
					}
				}
				mu.Lock()
				failed += bad
				mu.Unlock()
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(batches)
		var cur []dataverse.BatchRequest
		send := func() error {
			if len(cur) == 0 {
				return nil
			}
			select {
			case batches <- cur:
			case <-gctx.Done():
				return gctx.Err()
			}
			cur = nil
			return nil
		}
		// The customers are decoded as coupler's ERP side decodes them
		// (bc.ListFields: one pass, the next page asked for ahead), so that
		// the ratio measures what coupler adds, not a slower decoder.
		err := e.erp.ListFields(gctx, "customers", bc.Query{}, func(page []map[string]any) error {
			for _, src := range page {
				body := map[string]any{"customertypecode": 1}
				for _, c := range floorColumns {
					if v, ok := src[c[0]]; ok && v != "" {
						body[c[1]] = v
					}
				}
				id := syncer.DeterministicID("BENCH-FLOOR", fmt.Sprint(src["id"]))
				cur = append(cur, dataverse.BatchRequest{Method: http.MethodPatch, Path: "accounts(" + id + ")", Body: body})
				n++
				if len(cur) == 1000 {
					if err := send(); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return send()
	})
	err := g.Wait()
	d := time.Since(start)
	after := e.requests()
	return n, d, Requests{CRM: after.CRM - before.CRM, ERP: after.ERP - before.ERP}, failed, err
}
