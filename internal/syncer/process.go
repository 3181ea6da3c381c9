package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coupler/coupler/internal/mapping"
)

// item is one write on its way, with what is needed to record its outcome.
type item struct {
	toCRM    bool
	op       Op
	srcID    string
	srcMod   time.Time
	coupling *Coupling      // nil when the write creates the destination
	snapshot string         // as the coupling keeps it (JSON); "" leaves the coupling's as it is
	fullRec  map[string]any // source fields, to rebuild a create on Restore
	header   bool           // remember the ERP id for line mappings
	// unbuilt: the payload and snapshot are still to be made from fullRec
	// (see buildToCRM), only the fields in only (nil = all).
	unbuilt bool
	only    map[string]bool
}

// processERP turns ERP records into CRM writes.
func (r *run) processERP(ctx context.Context, page []Record, crmChanged map[string]Record, retry bool) error {
	items, n, err := r.prepareERP(ctx, page, crmChanged, retry)
	if err != nil {
		return err
	}
	err = r.write(ctx, true, r.buildToCRM(ctx, items))
	r.progress(n)
	return err
}

// prepareERP decides which ERP records of a page become CRM writes and
// how; n is the records of the page not handled before in this run. The
// payloads are made later, by buildToCRM, batch by batch: a page's
// records then do not all hold a payload and a snapshot at once.
func (r *run) prepareERP(ctx context.Context, page []Record, crmChanged map[string]Record, retry bool) (items []item, n int, err error) {
	if err := r.loadOpen(ctx); err != nil {
		return nil, 0, err
	}
	page = r.unseen(SideERP, page)
	couplings, err := r.couplings(ctx, SideERP, page)
	if err != nil {
		return nil, 0, err
	}
	return r.planERP(ctx, page, couplings, crmChanged, retry), len(page), nil
}

// planERP is prepareERP once the page's records are marked handled and
// their couplings looked up (keyed by ERP id).
func (r *run) planERP(ctx context.Context, page []Record, couplings map[string]Coupling, crmChanged map[string]Record, retry bool) (items []item) {
	for _, rec := range page {
		c, coupled := couplings[rec.ID]
		if coupled && c.Skipped {
			r.add(func(c *Counts) { c.Skipped++ })
			continue
		}
		if coupled && !retry && c.LastResult != ResultFailure && !rec.ModifiedAt.After(c.ERPModifiedAt) {
			// Already synced at this version: a re-read of the overlap
			// window, or the echo of coupler's own write to the ERP.
			r.add(func(c *Counts) { c.Unchanged++ })
			continue
		}
		if !coupled && r.skippedUncoupled(SideERP+":"+rec.ID) {
			r.add(func(c *Counts) { c.Skipped++ })
			continue
		}
		if !coupled && r.m.OnlyCoupled && !r.ro.Full && len(r.ro.ERPIDs) == 0 { // a named record is created on request
			r.mu.Lock()
			r.outOfScope++
			r.mu.Unlock()
			continue
		}
		var only map[string]bool // fields to send (merge); nil = all
		if coupled {
			if crmRec, both := crmChanged[c.CRMID]; both {
				delete(crmChanged, c.CRMID)
				send, fields, back := r.conflict(ctx, c, rec, crmRec)
				if back != nil {
					crmChanged[c.CRMID] = *back
					r.mu.Lock()
					if r.force == nil {
						r.force = map[string]bool{}
					}
					r.force[c.CRMID] = true
					r.mu.Unlock()
				} else {
					r.markSeen(SideCRM, c.CRMID) // settled here: not brought back
				}
				if !send {
					continue
				}
				only = fields
			}
		}
		it := item{toCRM: true, srcID: rec.ID, srcMod: rec.ModifiedAt, fullRec: rec.Fields, header: true, unbuilt: true, only: only}
		if coupled {
			cc := c
			it.coupling = &cc
			it.op = Op{Kind: OpUpdate, ID: c.CRMID}
		} else {
			it.op = Op{Kind: OpCreate, ID: DeterministicID(r.m.Name, rec.ID)}
		}
		items = append(items, it)
	}
	return items
}

// buildToCRM makes the payload and snapshot of the items prepareERP left
// unbuilt; a record whose fields cannot be transformed is recorded as
// failed and left out.
func (r *run) buildToCRM(ctx context.Context, items []item) []item {
	out := items[:0]
	keys := snapshotKeys(r.m)
	for _, it := range items {
		if !it.unbuilt {
			out = append(out, it)
			continue
		}
		payload, err := mapping.TransformToCRM(ctx, r.m, it.fullRec, r.res, it.coupling == nil)
		if err != nil {
			var c Coupling
			if it.coupling != nil {
				c = *it.coupling
			}
			r.transformFailed(ctx, true, Record{ID: it.srcID, ModifiedAt: it.srcMod, Fields: it.fullRec}, c, it.coupling != nil, err)
			continue
		}
		if it.only != nil {
			payload = restrictToCRM(r.m, payload, it.only)
		}
		it.op.Payload, it.snapshot = payload, erpSnapshot(keys, it.fullRec)
		it.unbuilt, it.only = false, nil
		out = append(out, it)
	}
	return out
}

// processCRM turns CRM records into ERP writes.
func (r *run) processCRM(ctx context.Context, page []Record, retry bool) error {
	var items []item
	if err := r.loadOpen(ctx); err != nil {
		return err
	}
	page = r.unseen(SideCRM, page)
	couplings, err := r.couplings(ctx, SideCRM, page)
	if err != nil {
		return err
	}
	for _, rec := range page {
		c, coupled := couplings[rec.ID]
		if coupled && c.Skipped {
			r.add(func(c *Counts) { c.Skipped++ })
			continue
		}
		r.mu.Lock()
		forced := r.force[rec.ID]
		r.mu.Unlock()
		if coupled && !retry && !forced && c.LastResult != ResultFailure && !rec.ModifiedAt.After(c.CRMModifiedAt) {
			r.add(func(c *Counts) { c.Unchanged++ })
			continue
		}
		if !coupled && r.skippedUncoupled(SideCRM+":"+rec.ID) {
			r.add(func(c *Counts) { c.Skipped++ })
			continue
		}
		if !coupled && r.m.OnlyCoupled {
			r.mu.Lock()
			r.outOfScope++
			r.mu.Unlock()
			continue
		}
		payload, err := mapping.TransformToERP(ctx, r.m, rec.Fields, r.res, !coupled)
		if err != nil {
			r.transformFailed(ctx, false, rec, c, coupled, err)
			continue
		}
		r.mu.Lock()
		only, merged := r.mergeOnly[rec.ID]
		r.mu.Unlock()
		if merged {
			for k := range payload {
				if !only[k] {
					delete(payload, k)
				}
			}
		}
		if len(payload) == 0 {
			r.add(func(c *Counts) { c.Unchanged++ })
			continue
		}
		snap := map[string]any{}
		if coupled && c.Snapshot != "" {
			_ = json.Unmarshal([]byte(c.Snapshot), &snap)
		}
		for k, v := range payload {
			snap[k] = v
		}
		it := item{toCRM: false, srcID: rec.ID, srcMod: rec.ModifiedAt, snapshot: marshalSnapshot(snap), fullRec: rec.Fields}
		if coupled {
			cc := c
			it.coupling = &cc
			it.op = Op{Kind: OpUpdate, ID: c.ERPID, Payload: payload}
		} else {
			it.op = Op{Kind: OpCreate, Payload: payload}
		}
		items = append(items, it)
	}
	err = r.write(ctx, false, items)
	r.progress(len(page))
	return err
}

// unseen keeps the records of a page not yet handled in this run (and
// marks them handled).
func (r *run) unseen(side string, page []Record) []Record {
	out := make([]Record, 0, len(page))
	for _, rec := range page {
		if r.markSeen(side, rec.ID) {
			out = append(out, rec)
		}
	}
	return out
}

// couplings looks up the couplings of a page of records in one store round
// trip per few hundred ids (not one per record), keyed by the page's ids.
func (r *run) couplings(ctx context.Context, side string, page []Record) (map[string]Coupling, error) {
	ids := make([]string, len(page))
	for i, rec := range page {
		ids[i] = rec.ID
	}
	cs, err := r.lookup(ctx, side, ids)
	if err != nil {
		return nil, fmt.Errorf("look up the couplings of %d %s record(s): %w", len(ids), side, err)
	}
	out := make(map[string]Coupling, len(cs))
	for _, c := range cs {
		if side == SideERP {
			out[c.ERPID] = c
		} else {
			out[c.CRMID] = c
		}
	}
	return out, nil
}

// transformFailed records a record whose values cannot be written (invalid
// value, unresolved reference): it fails alone, with the field named.
func (r *run) transformFailed(ctx context.Context, toCRM bool, rec Record, c Coupling, coupled bool, err error) {
	se := SyncError{Mapping: r.m.Name, Direction: dirName(toCRM), Code: CodeTransform, Message: err.Error()}
	var fe *mapping.FieldError
	if errors.As(err, &fe) {
		se.Field = fe.Field
	}
	if toCRM {
		se.ERPID, se.CRMID = rec.ID, c.CRMID
	} else {
		se.CRMID, se.ERPID = rec.ID, c.ERPID
	}
	se.Payload = compactJSON(rec.Fields)
	r.fail(ctx, se, c, coupled)
}

// fail records one failed record found before any write (its error, and
// on its coupling the failure count that may make it skipped).
func (r *run) fail(ctx context.Context, se SyncError, c Coupling, coupled bool) {
	se.JobID = r.job.ID
	se.CreatedAt = r.e.now().UTC()
	var o outcome
	r.failure(&o, se, c, coupled)
	for _, cp := range o.put {
		if _, err := r.e.opts.Store.PutCoupling(ctx, cp); err != nil {
			r.e.log.Error("could not record a failure on its coupling", "mapping", r.m.Name, "erp", cp.ERPID, "err", err)
		}
	}
	r.recordErrors(ctx, o.errs)
}

func (r *run) recordErrors(ctx context.Context, es []SyncError) {
	for i := range es {
		if es[i].JobID == 0 {
			es[i].JobID = r.job.ID
		}
		if es[i].CreatedAt.IsZero() {
			es[i].CreatedAt = r.e.now().UTC()
		}
	}
	r.noteErrors(es)
	if err := r.e.opts.Store.AddErrors(ctx, es); err != nil {
		r.e.log.Error("could not record sync errors", "mapping", r.m.Name, "count", len(es), "err", err)
	}
}

// erpValues keeps the ERP values of the mapped fields (the snapshot that
// field-level merge compares with).
func erpValues(m *mapping.TableMapping, rec map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range snapshotKeys(m) {
		out[k] = rec[k]
	}
	return out
}

// restrictToCRM keeps only the CRM payload entries that come from the
// given ERP fields (field-level merge).
func restrictToCRM(m *mapping.TableMapping, payload map[string]any, erpFields map[string]bool) map[string]any {
	out := map[string]any{}
	for _, f := range m.Fields {
		if f.ERPField == "" || !erpFields[f.ERPField] {
			continue
		}
		for _, k := range []string{f.CRMField, mapping.Bind(f.CRMField)} {
			if v, ok := payload[k]; ok {
				out[k] = v
			}
		}
		if f.Lookup != nil && f.Lookup.NavProperty != "" {
			if v, ok := payload[mapping.Bind(f.Lookup.NavProperty)]; ok {
				out[mapping.Bind(f.Lookup.NavProperty)] = v
			}
		}
	}
	return out
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	const max = 8000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
