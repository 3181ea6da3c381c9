package syncer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/coupler/coupler/internal/mapping"
)

// write sends items through the destination's $batch, at most
// Concurrency batches at a time, and records every outcome.
func (r *run) write(ctx context.Context, toCRM bool, items []item) error {
	if len(items) == 0 {
		return nil
	}
	_, dst := r.e.sides(toCRM)
	size := r.e.batchSize(dst)
	sem := make(chan struct{}, r.e.opts.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := 0; i < len(items); i += size {
		chunk := items[i:min(i+size, len(items))]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.writeChunk(ctx, toCRM, chunk, false); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// outcome is what one result changes in the store.
type outcome struct {
	put      []Coupling
	del      []string // ERP ids of couplings to delete
	errs     []SyncError
	resolve  [][2]string // (erp id, crm id) whose open errors are fixed
	restores []item
}

// writeChunk writes one batch and records its outcome: at once, or with
// later queued for the flow's next flush (see committer.later) when it
// deletes no coupling and restores nothing.
func (r *run) writeChunk(ctx context.Context, toCRM bool, items []item, later bool) error {
	if r.e.opts.Hold != nil {
		if err := r.e.opts.Hold(ctx); err != nil {
			return fmt.Errorf("stopped before writing %d more record(s): %w", len(items), err)
		}
	}
	_, dst := r.e.sides(toCRM)
	entity, key := r.m.CRMEntitySet, r.m.CRMKey
	if !toCRM {
		entity, key = r.m.ERPEntity, "id"
	}
	// Announce creates before sending them: a crash between the write and
	// its coupling is reconciled on restart instead of creating twice.
	var (
		intents []Intent
		pairs   [][2]string
	)
	for _, it := range items {
		if it.op.Kind != OpCreate {
			continue
		}
		if toCRM {
			// A CRM create is found by its deterministic id: the chunk's
			// pairs share one intent.
			pairs = append(pairs, [2]string{it.srcID, it.op.ID})
			continue
		}
		// An ERP create needs its payload to be reconciled (found by number).
		intents = append(intents, Intent{Mapping: r.m.Name, Direction: dirName(toCRM), SourceID: it.srcID, TargetID: it.op.ID,
			Op: "create", Payload: compactJSON(it.op.Payload)})
	}
	if len(pairs) > 0 {
		intents = append(intents, createsIntent(r.m.Name, pairs))
	}
	var stored []Intent
	if len(intents) > 0 {
		err := r.commits.do(ctx, func(ctx context.Context, tx Store) error {
			var err error
			stored, err = tx.AddIntents(ctx, intents)
			return err
		})
		if err != nil {
			return fmt.Errorf("record write intents: %w", err)
		}
	}
	ops := make([]Op, len(items))
	for i, it := range items {
		ops[i] = it.op
	}
	results, err := dst.Write(ctx, entity, key, ops)
	if err != nil {
		return fmt.Errorf("write %d record(s) to %s %s: %w", len(ops), dst.Name(), entity, err)
	}
	if len(results) != len(ops) {
		return fmt.Errorf("write to %s %s: %d results for %d operations", dst.Name(), entity, len(results), len(ops))
	}
	var o outcome
	for i, it := range items {
		r.outcome(&o, it, results[i])
	}
	ids := make([]int64, len(stored))
	for i, in := range stored {
		ids[i] = in.ID
	}
	now := r.e.now().UTC()
	resolve, err := r.withOpenErrors(ctx, o.resolve)
	if err != nil {
		return err
	}
	record := func(ctx context.Context, tx Store) error {
		// Deletions first: a record restored under a new ERP id keeps its
		// CRM id, which the old coupling still holds until then.
		for _, id := range o.del {
			if err := tx.DeleteCoupling(ctx, r.m.Name, id); err != nil && !errors.Is(err, ErrNoRow) {
				return err
			}
		}
		// One statement for the chunk's couplings instead of one per record.
		if err := tx.PutCouplings(ctx, o.put); err != nil {
			return fmt.Errorf("couple %d record(s): %w", len(o.put), err)
		}
		for _, p := range resolve {
			if err := tx.ResolveErrors(ctx, r.m.Name, p[0], p[1], now); err != nil {
				return err
			}
		}
		if len(o.errs) > 0 {
			if err := tx.AddErrors(ctx, o.errs); err != nil {
				return err
			}
		}
		if len(ids) > 0 {
			return tx.DeleteIntents(ctx, ids)
		}
		return nil
	}
	if later && len(o.del) == 0 && len(o.restores) == 0 {
		r.noteErrors(o.errs)
		if r.commits.later(record) >= laterMax {
			return r.commits.flush(ctx)
		}
		return nil
	}
	if err := r.commits.do(ctx, record); err != nil {
		return fmt.Errorf("record the outcome of %d write(s): %w", len(items), err)
	}
	r.noteErrors(o.errs)
	if len(o.restores) > 0 {
		return r.write(ctx, toCRM, o.restores)
	}
	return nil
}

// withOpenErrors keeps the (ERP id, CRM id) pairs that have open errors to
// close, so that a clean run does not issue one UPDATE per record written.
// The open errors are listed once per run; errors recorded since are added
// by noteErrors.
func (r *run) withOpenErrors(ctx context.Context, pairs [][2]string) ([][2]string, error) {
	if err := r.loadOpen(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][2]string
	for _, p := range pairs {
		if r.open[SideERP+":"+p[0]] || r.open[SideCRM+":"+p[1]] {
			out = append(out, p)
		}
	}
	return out, nil
}

// hasOpenErrors says whether a record of side may have open errors
// (loadOpen has run).
func (r *run) hasOpenErrors(side, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open[side+":"+id]
}

// loadOpen lists, once per run, the mapping's errors left open by earlier
// runs: which records may have errors to close, and the failure history of
// records that are not coupled (the skip rule counts it).
func (r *run) loadOpen(ctx context.Context) error {
	r.openOnce.Do(func() {
		es, err := r.e.opts.Store.ListErrors(ctx, ErrorQuery{Mapping: r.m.Name, OpenOnly: true})
		if err != nil {
			r.openErr = fmt.Errorf("list the open errors of %s: %w", r.m.Name, err)
			return
		}
		r.noteErrors(es)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.history = map[string][]SyncError{}
		for _, e := range es {
			if k := sourceKey(e); k != "" {
				r.history[k] = append(r.history[k], e)
			}
		}
	})
	return r.openErr
}

// sourceKey names the source record of an error ("erp:id" or "crm:id").
func sourceKey(e SyncError) string {
	switch {
	case e.Direction == string(mapping.ToCRM) && e.ERPID != "":
		return SideERP + ":" + e.ERPID
	case e.Direction == string(mapping.FromCRM) && e.CRMID != "":
		return SideCRM + ":" + e.CRMID
	}
	return ""
}

// skippedUncoupled says whether a record that is not coupled was skipped
// by an earlier run (an open Skipped error; restore-skipped closes it).
func (r *run) skippedUncoupled(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.history[key] {
		if e.Code == CodeSkipped {
			return true
		}
	}
	return false
}

// noteErrors remembers the records that have (possibly) open errors.
func (r *run) noteErrors(es []SyncError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open == nil {
		r.open = map[string]bool{}
	}
	for _, e := range es {
		if e.ERPID != "" {
			r.open[SideERP+":"+e.ERPID] = true
		}
		if e.CRMID != "" {
			r.open[SideCRM+":"+e.CRMID] = true
		}
	}
}

// outcome decides what one write's result means.
func (r *run) outcome(o *outcome, it item, res Result) {
	now := r.e.now().UTC()
	var c Coupling
	if it.coupling != nil {
		c = *it.coupling
	} else {
		c = Coupling{Mapping: r.m.Name}
	}
	if res.Err == nil {
		newID := res.ID
		if newID == "" {
			newID = it.op.ID
		}
		if it.toCRM {
			c.ERPID, c.CRMID = it.srcID, newID
			c.ERPModifiedAt, c.CRMModifiedAt = it.srcMod, res.ModifiedAt
			r.mu.Lock()
			if res.ModifiedAt.After(r.crmWrote) {
				r.crmWrote = res.ModifiedAt
			}
			r.mu.Unlock()
		} else {
			if it.coupling != nil && it.coupling.ERPID != newID {
				o.del = append(o.del, it.coupling.ERPID) // restored under a new ERP id
				c.ID = 0
			}
			c.ERPID, c.CRMID = newID, it.srcID
			c.CRMModifiedAt, c.ERPModifiedAt = it.srcMod, res.ModifiedAt
		}
		c.LastResult, c.LastError, c.LastJobID, c.FailCount, c.Skipped = ResultSuccess, "", r.job.ID, 0, false
		if it.snapshot != "" {
			c.Snapshot = it.snapshot
		}
		o.put = append(o.put, c)
		o.resolve = append(o.resolve, [2]string{c.ERPID, c.CRMID})
		if it.op.Kind == OpCreate {
			r.add(func(c *Counts) { c.Inserted++ })
		} else {
			r.add(func(c *Counts) { c.Modified++ })
		}
		if it.header && r.keepHeaders {
			r.mu.Lock()
			r.headers = append(r.headers, c.ERPID)
			r.mu.Unlock()
		}
		return
	}
	se := SyncError{JobID: r.job.ID, Mapping: r.m.Name, Direction: dirName(it.toCRM), Payload: compactJSON(it.op.Payload), CreatedAt: now}
	if it.toCRM {
		se.ERPID, se.CRMID = it.srcID, it.op.ID
	} else {
		se.CRMID, se.ERPID = it.srcID, it.op.ID
	}
	var we *WriteError
	if errors.As(res.Err, &we) {
		se.Code, se.Message, se.Field = we.Code, we.Message, we.Field
		if se.Code == "" {
			se.Code = fmt.Sprintf("HTTP%d", we.Status)
		}
	} else {
		se.Code, se.Message = "Error", res.Err.Error()
	}
	if se.Field == "" {
		se.Field = blamedField(it.op.Payload, se.Message)
	}
	if it.coupling != nil && it.op.Kind == OpUpdate && errors.Is(res.Err, ErrNotFound) {
		r.destinationGone(o, it, c, se)
		return
	}
	r.failure(o, se, c, it.coupling != nil)
}

// destinationGone applies the deletion rule to a coupled record whose
// destination was deleted. Never silent: each case leaves an error row.
func (r *run) destinationGone(o *outcome, it item, c Coupling, se SyncError) {
	dst, src := "CRM", "ERP"
	if !it.toCRM {
		dst, src = "ERP", "CRM"
	}
	se.Code = CodeDestinationDeleted
	switch r.m.Deletion {
	case mapping.DeletionRestore:
		var payload map[string]any
		var err error
		if it.toCRM {
			payload, err = mapping.TransformToCRM(context.Background(), r.m, it.fullRec, r.res, true)
		} else {
			payload, err = mapping.TransformToERP(context.Background(), r.m, it.fullRec, r.res, true)
		}
		if err != nil {
			se.Message = fmt.Sprintf("the %s record %s coupled to %s record %s was deleted and cannot be restored: %v", dst, it.op.ID, src, it.srcID, err)
			r.failure(o, se, c, true)
			return
		}
		se.Message = fmt.Sprintf("the %s record %s coupled to %s record %s was deleted; restored from the %s record (deletion rule Restore)", dst, it.op.ID, src, it.srcID, src)
		se.ResolvedAt = se.CreatedAt
		o.errs = append(o.errs, se)
		restore := it
		restore.op = Op{Kind: OpCreate, Payload: payload}
		if it.toCRM {
			restore.op.ID = it.op.ID // same CRM id: the upsert recreates it
		}
		o.restores = append(o.restores, restore)
	case mapping.DeletionUncouple:
		se.Message = fmt.Sprintf("the %s record %s coupled to %s record %s was deleted; coupling removed (deletion rule RemoveCoupling); the %s record is kept", dst, it.op.ID, src, it.srcID, src)
		se.ResolvedAt = se.CreatedAt
		o.errs = append(o.errs, se)
		o.del = append(o.del, c.ERPID)
		r.add(func(c *Counts) { c.Uncoupled++ })
	default:
		se.Message = fmt.Sprintf("the %s record %s coupled to %s record %s was deleted; deletion rule Fail leaves both as they are: set the mapping's deletion rule to Restore or RemoveCoupling, or run coupler decouple %q %s", dst, it.op.ID, src, it.srcID, r.m.Name, c.ERPID)
		r.failure(o, se, c, true)
	}
}

// failure records a failed record and counts toward skipping it.
func (r *run) failure(o *outcome, se SyncError, c Coupling, coupled bool) {
	r.add(func(c *Counts) { c.Failed++ })
	o.errs = append(o.errs, se)
	if !coupled {
		r.failureUncoupled(o, se)
		return
	}
	sig := se.Code + ": " + se.Message
	if c.LastResult == ResultFailure && c.LastError == sig {
		c.FailCount++
	} else {
		c.FailCount = 1
	}
	c.LastResult, c.LastError, c.LastJobID = ResultFailure, sig, r.job.ID
	if r.m.SkipAfter > 0 && c.FailCount >= r.m.SkipAfter {
		c.Skipped = true
		r.add(func(c *Counts) { c.Skipped++ })
		o.errs = append(o.errs, SyncError{
			JobID: r.job.ID, Mapping: r.m.Name, Direction: se.Direction, ERPID: c.ERPID, CRMID: c.CRMID,
			Code: CodeSkipped, CreatedAt: se.CreatedAt,
			Message: fmt.Sprintf("skipped after %d identical failures (mapping rule skip_after=%d): fix the cause, then run coupler sync restore-skipped --mapping %q", c.FailCount, r.m.SkipAfter, r.m.Name),
		})
	}
	o.put = append(o.put, c)
}

// failureUncoupled applies the skip rule to a record that has no coupling
// to count its failures on: its open errors of earlier runs with the same
// code and message are its identical failures since it last succeeded.
func (r *run) failureUncoupled(o *outcome, se SyncError) {
	key := sourceKey(se)
	if r.m.SkipAfter <= 0 || key == "" {
		return
	}
	r.mu.Lock()
	n := 1
	jobs := map[int64]bool{r.job.ID: true}
	for _, e := range r.history[key] {
		if e.Code == se.Code && e.Message == se.Message && !jobs[e.JobID] {
			jobs[e.JobID] = true
			n++
		}
	}
	r.mu.Unlock()
	if n < r.m.SkipAfter {
		return
	}
	r.add(func(c *Counts) { c.Skipped++ })
	o.errs = append(o.errs, SyncError{
		JobID: r.job.ID, Mapping: r.m.Name, Direction: se.Direction, ERPID: se.ERPID, CRMID: se.CRMID,
		Code: CodeSkipped, CreatedAt: se.CreatedAt,
		Message: fmt.Sprintf("not coupled yet and skipped after %d identical failures (mapping rule skip_after=%d): fix the cause, then run coupler sync restore-skipped --mapping %q", n, r.m.SkipAfter, r.m.Name),
	})
}

// blamedField finds the payload field an API message is about when the
// message quotes the value but not the field (BC's "…Value: <value>").
func blamedField(payload map[string]any, msg string) string {
	best, bestLen := "", 0
	for k, v := range payload {
		s, ok := v.(string)
		if !ok || len(s) < 3 || len(s) <= bestLen {
			continue
		}
		if strings.Contains(msg, s) || (len(s) > 40 && strings.Contains(msg, s[:40])) {
			best, bestLen = k, len(s)
		}
	}
	return best
}
