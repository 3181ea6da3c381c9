package syncer

import (
	"context"
	"errors"
	"strings"
	"time"
)

// A full run that couples by match fields reads the ERP table once. Its
// ERP phase checks each uncoupled record against the CRM match index: a
// record without a candidate cannot be coupled by matching, so it is
// written at once (created on the CRM side); a record with one is held
// back, by id only. Once the table is read, the pairs are decided as a
// separate matching pass would decide them (group by group, ERP ids in
// order) and the held records are read again and written, coupled or
// not. Reading the table's match fields first, then the table, cost a
// second read of every record; now only the candidates are read twice.
// The index is kept through the phase only while it is small (see
// holdIndexMax).

// holdIndexMax bounds the match index a run keeps through its ERP phase:
// about 400,000 uncoupled CRM rows with two match keys each. A larger one
// is decided before the phase, by a read of the ERP side's match fields,
// so that memory does not grow with the CRM table: kept through the
// phase at 1,000,000 rows, its 63 MB raised the process's peak from 207
// to 310 MB.
const holdIndexMax = 24 << 20

// sendMatching is the ERP phase of a full run that couples by match
// fields, the CRM side indexed in ix: the first pass, the matching, the
// CRM changes out of scope dropped (see dropOutOfScope; free are the
// uncoupled CRM rows kept as ids), the second pass. It returns the CRM
// changes left to bring to the ERP.
func (r *run) sendMatching(ctx context.Context, q ReadQuery, crmChanged map[string]Record, free *idList, ix *matchIndex, fresh bool) (map[string]Record, error) {
	start := time.Now()
	if fresh {
		r.fresh = newFreshCouplings(nil) // nothing is coupled until matching
	}
	if err := r.sendERP(ctx, q, crmChanged, ix); err != nil {
		return nil, err
	}
	held := ix.held()
	r.phase("ERP to CRM", start, "held", len(held))
	start = time.Now()
	if err := r.matchNow(ctx, ix, fresh, true); err != nil {
		return nil, err
	}
	r.phase("match", start) // ix is not used below: the index goes before the second pass
	if r.m.Direction.FromCRMAllowed() {
		start = time.Now()
		var err error
		if crmChanged, err = r.dropOutOfScope(ctx, crmChanged, free); err != nil {
			return nil, err
		}
		r.phase("drop out of scope", start)
	}
	start = time.Now()
	if err := r.sendHeld(ctx, q, held, crmChanged); err != nil {
		return nil, err
	}
	r.phase("held ERP to CRM", start, "records", len(held))
	return crmChanged, nil
}

// sendERP is the ERP phase of a table run: the ERP records q reads become
// CRM writes, up to the engine's concurrency in flight. With hold, the
// uncoupled records that have a match candidate in it are held back (see
// above) instead.
func (r *run) sendERP(ctx context.Context, q ReadQuery, crmChanged map[string]Record, hold *matchIndex) error {
	fl := newFlow(r, true)
	return fl.finish(ctx, r.e.opts.ERP.Read(ctx, q, r.erpPages(ctx, fl, crmChanged, hold)))
}

// erpPages is what a read of ERP pages calls for each page: its records
// (without those hold keeps, when hold is not nil) go through fl, and the
// page's latest modification is its checkpoint once they are written.
func (r *run) erpPages(ctx context.Context, fl *flow, crmChanged map[string]Record, hold *matchIndex) func([]Record) error {
	return func(page []Record) error {
		if fl.failed() != nil {
			return errFlowStopped
		}
		var items []item
		var n int
		var err error
		if hold != nil {
			page, items, n, err = r.prepareHolding(ctx, page, crmChanged, hold)
		} else {
			items, n, err = r.prepareERP(ctx, page, crmChanged, false)
		}
		if err != nil {
			return err
		}
		var pageMax time.Time
		for _, rec := range page {
			if rec.ModifiedAt.After(pageMax) {
				pageMax = rec.ModifiedAt
			}
		}
		if err := fl.send(ctx, items, n, pageMax); err != nil {
			return err
		}
		return fl.settle(ctx) // checkpoint every page once written
	}
}

// prepareHolding is prepareERP for the first pass of a matching run: the
// uncoupled records that have a candidate in ix are left out, unmarked,
// so that the second pass handles them. page is returned without them.
func (r *run) prepareHolding(ctx context.Context, page []Record, crmChanged map[string]Record, ix *matchIndex) ([]Record, []item, int, error) {
	if err := r.loadOpen(ctx); err != nil {
		return nil, nil, 0, err
	}
	todo := make([]Record, 0, len(page))
	for _, rec := range page {
		if !r.isSeen(SideERP, rec.ID) {
			todo = append(todo, rec)
		}
	}
	couplings, err := r.couplings(ctx, SideERP, todo)
	if err != nil {
		return nil, nil, 0, err
	}
	kept := todo[:0]
	for _, rec := range todo {
		if _, coupled := couplings[rec.ID]; !coupled && ix.candidate(rec) {
			continue
		}
		kept = append(kept, rec)
	}
	kept = r.unseen(SideERP, kept)
	return kept, r.planERP(ctx, kept, couplings, crmChanged, false), len(kept), nil
}

// sendHeld is the second pass: the held ERP records, read again (by id
// when they are few, else by one more read of the table that keeps only
// them), are written now that matching has coupled those it could. A
// held record deleted since is not marked handled: the search for deleted
// ERP records applies the deletion rule to its new coupling.
func (r *run) sendHeld(ctx context.Context, q ReadQuery, held []string, crmChanged map[string]Record) error {
	if len(held) == 0 {
		return nil
	}
	fl := newFlow(r, true)
	write := r.erpPages(ctx, fl, crmChanged, nil)
	var err error
	if len(held) <= rereadByGet {
		var recs []Record
		if recs, err = r.getHeld(ctx, q, held); err == nil {
			err = write(recs)
		}
	} else {
		want := make(map[string]bool, len(held))
		for _, id := range held {
			want[id] = true
		}
		err = r.e.opts.ERP.Read(ctx, q, func(page []Record) error {
			mine := page[:0:0]
			for _, rec := range page {
				if want[rec.ID] {
					mine = append(mine, rec)
				}
			}
			return write(mine)
		})
	}
	return fl.finish(ctx, err)
}

// getHeld reads the held records by id. Under the mapping's ERP filter
// they are read with it, so that a record changed since the first pass
// so as to leave the filter is left out, as the first pass would have
// left it out.
func (r *run) getHeld(ctx context.Context, q ReadQuery, held []string) ([]Record, error) {
	if strings.TrimSpace(q.Filter) == "" {
		return r.e.opts.ERP.Get(ctx, r.m.ERPEntity, "id", held)
	}
	var out []Record
	for i := 0; i < len(held); i += 50 {
		ors := make([]string, 0, 50)
		for _, id := range held[i:min(i+50, len(held))] {
			ors = append(ors, "id eq "+erpIDLiteral(id))
		}
		recs, err := r.e.opts.ERP.Find(ctx, r.m.ERPEntity, "id", "("+strings.Join(ors, " or ")+") and ("+q.Filter+")")
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// erpIDLiteral is an ERP id in a filter: BC's ids are GUIDs, written bare.
func erpIDLiteral(id string) string {
	if _, ok := packGUID(id); ok {
		return id
	}
	return quote(id)
}

// finish waits for the batches in flight after a read that ended with
// err, records the outcomes they queued (those of the batches that went
// through, even when another failed) and checkpoints the pages left; the
// error is the read's, the batches', or both.
func (f *flow) finish(ctx context.Context, err error) error {
	switch werr := f.wait(); {
	case errors.Is(err, errFlowStopped):
		err = werr
	case werr != nil:
		err = errors.Join(err, werr)
	}
	if f.flush != nil {
		if ferr := f.flush(ctx); ferr != nil {
			err = errors.Join(err, ferr)
		}
	}
	if err == nil {
		err = f.settle(ctx)
	}
	return err
}
