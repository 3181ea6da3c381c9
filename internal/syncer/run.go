package syncer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/mapping"
)

// run is one job of one mapping.
type run struct {
	e       *Engine
	m       *mapping.TableMapping
	ro      RunOptions
	res     *resolver
	job     Job
	started time.Time

	mu           sync.Mutex
	counts       Counts
	outOfScope   int
	notes        []string
	headers      []string // ERP ids written (for line mappings), when keepHeaders
	keepHeaders  bool
	seenERP      idSet                      // ERP ids handled in this run
	seenCRM      idSet                      // CRM ids handled in this run
	mergeOnly    map[string]map[string]bool // CRM id → ERP fields to write (field-level merge)
	force        map[string]bool            // CRM ids to write although not newer (conflict won by the CRM)
	done         int
	crmWrote     time.Time       // latest CRM modifiedon of coupler's own writes in this run
	fresh        *freshCouplings // set from matching to the end of the ERP phase, see freshCouplings
	freshMatched []string        // the ERP ids matching coupled, when the run began without couplings
	commits      committer       // the chunks' store transactions, grouped

	openOnce sync.Once
	openErr  error
	open     map[string]bool        // "erp:id" / "crm:id" that may have open errors (see withOpenErrors)
	history  map[string][]SyncError // open errors of earlier runs by source record (see loadOpen)
}

func (r *run) add(fn func(c *Counts)) {
	r.mu.Lock()
	fn(&r.counts)
	r.mu.Unlock()
}

func (r *run) note(format string, a ...any) {
	r.mu.Lock()
	r.notes = append(r.notes, fmt.Sprintf(format, a...))
	r.mu.Unlock()
}

func (r *run) progress(n int) {
	r.mu.Lock()
	r.done += n
	d := r.done
	r.mu.Unlock()
	if r.ro.Progress != nil {
		r.ro.Progress(r.m.Name, d)
	}
}

// phase logs at debug level how long a step of a run took, and what it
// handled (attrs): where a slow run spends its time, without a profiler.
func (r *run) phase(name string, start time.Time, attrs ...any) {
	r.e.log.Debug("sync phase", append([]any{"mapping", r.m.Name, "job", r.job.ID, "phase", name, "duration", time.Since(start)}, attrs...)...)
}

func (r *run) execute(ctx context.Context, headers []string) error {
	if r.ro.Chunk != nil {
		return r.syncChunk(ctx)
	}
	if err := r.reconcile(ctx); err != nil {
		return fmt.Errorf("reconcile interrupted writes: %w", err)
	}
	switch r.m.Kind {
	case mapping.KindOption:
		return r.syncOptions(ctx)
	case mapping.KindStatic:
		return r.syncStatic(ctx)
	}
	if r.m.Parent != "" {
		return r.syncLines(ctx, headers)
	}
	if len(r.ro.ERPIDs) > 0 {
		return r.syncRecords(ctx, r.ro.ERPIDs)
	}
	return r.syncTable(ctx)
}

// cursor returns where an incremental read starts (zero: read all).
func (r *run) cursor(ctx context.Context, side string) (time.Time, error) {
	if r.ro.Full {
		return time.Time{}, nil
	}
	c, err := r.e.opts.Store.GetCursor(ctx, r.m.Name, side)
	if errors.Is(err, ErrNoRow) || (err == nil && c.Value == "") {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, c.Value)
	if err != nil {
		return time.Time{}, fmt.Errorf("cursor of %s on the %s side is %q, not a time: reset it with a full synchronisation: %w", r.m.Name, side, c.Value, err)
	}
	return t.Add(-r.e.opts.Overlap), nil
}

// advance moves the high-water mark to the latest modification seen,
// capped at the job start (a row modified later is read again next time).
func (r *run) advance(ctx context.Context, side string, seen time.Time) error {
	if seen.IsZero() {
		return nil
	}
	if seen.After(r.started) {
		seen = r.started
	}
	old, err := r.e.opts.Store.GetCursor(ctx, r.m.Name, side)
	if err == nil && old.Value != "" {
		if t, perr := time.Parse(time.RFC3339Nano, old.Value); perr == nil && !seen.After(t) {
			return nil
		}
	}
	return r.e.opts.Store.PutCursor(ctx, Cursor{Mapping: r.m.Name, Side: side, Value: seen.UTC().Format(time.RFC3339Nano)})
}

// markSeen marks a record of side handled in this run; false when it
// was already.
func (r *run) markSeen(side, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seenSet(side).add(id)
}

func (r *run) isSeen(side, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seenSet(side).has(id)
}

// seenSet is the set of side; r.mu is held.
func (r *run) seenSet(side string) *idSet {
	if side == SideERP {
		return &r.seenERP
	}
	return &r.seenCRM
}

// syncTable is the incremental (or full) run of a table mapping: CRM
// changes are read first so that conflicts are seen, then ERP changes page
// by page, then retries of open failures, then the CRM changes left.
func (r *run) syncTable(ctx context.Context) error {
	m := r.m
	crmChanged := map[string]Record{}
	free := &idList{} // uncoupled CRM rows read, when only their ids are kept
	var crmMax time.Time
	// A full run couples by match fields first; it indexes the match keys
	// of the CRM rows it reads anyway instead of reading the CRM table
	// twice, and keeps no copy of the rows for it.
	matchFirst := r.ro.Full && !r.ro.Closing && len(m.MatchFields()) > 0
	var crmIdx *matchIndex
	fresh := false
	if matchFirst {
		var err error
		if fresh, err = r.startFresh(ctx); err != nil {
			return fmt.Errorf("count the couplings of %s: %w", m.Name, err)
		}
	}
	if m.Direction.FromCRMAllowed() {
		since, err := r.cursor(ctx, SideCRM)
		if err != nil {
			return err
		}
		self, err := r.e.self(ctx)
		if err != nil {
			return fmt.Errorf("who is the integration user on the CRM: %w", err)
		}
		q := ReadQuery{Entity: m.CRMEntitySet, Key: m.CRMKey, Modified: m.CRMModifiedField(), Filter: m.CRMFilter, Since: since, Select: crmColumns(m)}
		// Coupler's own writes are echoes (skipped below): the CRM leaves
		// them out, so the run after a big run does not read back every row
		// it wrote. The cursor then moves on what was read and on the
		// latest own write of an earlier run: that write was done before
		// this read began, in the CRM's clock, so every change someone
		// else made before it is returned by this read (the overlap window
		// covers late commits as before). A full run that matches reads
		// every row: the match index needs coupler's rows too.
		echoMark := r.e.echoMark(m.Name)
		if !matchFirst {
			q.SkipModifiedBy = self
		}
		if fresh && m.OnlyCoupled {
			// Every row is uncoupled and kept as its id only (see keep):
			// matching needs its match fields and nothing else, and the
			// rows it couples are read again whole (dropOutOfScope). An
			// account's 17 mapped columns were most of the read's cost.
			q.Select = crmMatchColumns(m)
		}
		if matchFirst {
			crmIdx = newMatchIndex(r.e.opts.Store, m.Name, m.MatchFields())
			crmIdx.none = fresh
		}
		// When only coupled records are synchronised, an uncoupled row read
		// here matters only if matching couples it: only its id is kept,
		// and dropOutOfScope reads again the rows matching couples (a full
		// run over a CRM table of 1,000,000 uncoupled rows held them all).
		var keep func(Record) bool
		var freed map[string]bool // of the page being read: the ids keep kept
		if matchFirst && m.OnlyCoupled {
			keep = func(rec Record) bool {
				if self == "" || rec.ModifiedBy != self {
					freed[rec.ID] = true
					return true
				}
				return false
			}
		}
		start := time.Now()
		rows := 0
		err = r.e.opts.CRM.Read(ctx, q, func(page []Record) error {
			rows += len(page)
			if keep != nil {
				freed = make(map[string]bool, len(page))
			}
			if crmIdx != nil {
				if err := crmIdx.addCRM(ctx, page, keep, free); err != nil {
					return err
				}
			}
			for _, rec := range page {
				if rec.ModifiedAt.After(crmMax) {
					crmMax = rec.ModifiedAt
				}
				if self != "" && rec.ModifiedBy == self {
					continue // coupler's own write: not a change to bring back
				}
				if freed[rec.ID] {
					continue // its id only: see keep
				}
				crmChanged[rec.ID] = rec
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read CRM %s: %w", m.CRMEntitySet, err)
		}
		if echoMark.After(crmMax) {
			crmMax = echoMark
		}
		r.phase("read CRM", start, "rows", rows, "changed", len(crmChanged), "ids_only", free.len())
	}
	// The ERP phase checks the ERP records against the index as it reads
	// them (see sendMatching) when the index is small enough to keep
	// through it; else matching reads the ERP side's match fields first.
	hold := matchFirst && m.Direction.ToCRMAllowed() && crmIdx != nil && !crmIdx.empty() && crmIdx.bytes() <= r.e.holdMax
	if matchFirst && !hold {
		start := time.Now()
		if err := r.matchNow(ctx, crmIdx, fresh, false); err != nil {
			return err
		}
		crmIdx = nil
		r.phase("match", start)
	}
	if m.Direction.FromCRMAllowed() && !hold {
		var err error
		start := time.Now()
		if crmChanged, err = r.dropOutOfScope(ctx, crmChanged, free); err != nil {
			return err
		}
		r.phase("drop out of scope", start)
		free = nil // the ids go before the ERP phase
	}
	if m.Direction.ToCRMAllowed() {
		since, err := r.cursor(ctx, SideERP)
		if err != nil {
			return err
		}
		q := ReadQuery{Entity: m.ERPEntity, Key: "id", Modified: m.ERPModifiedField(), Filter: m.ERPFilter, Since: since, Select: erpColumns(m)}
		start := time.Now()
		if hold {
			ix, ids := crmIdx, free
			crmIdx, free = nil, nil // held by sendMatching only, which lets them go
			crmChanged, err = r.sendMatching(ctx, q, crmChanged, ids, ix, fresh)
		} else {
			err = r.sendERP(ctx, q, crmChanged, nil)
			r.phase("ERP to CRM", start)
		}
		r.fresh = nil // what follows creates ERP records and their couplings
		if err != nil {
			return fmt.Errorf("ERP %s: %w", m.ERPEntity, err)
		}
		if r.ro.Full {
			start = time.Now()
			if err := r.erpDeletions(ctx); err != nil {
				return fmt.Errorf("look for deleted ERP %s: %w", m.ERPEntity, err)
			}
			r.phase("ERP deletions", start)
		}
		start = time.Now()
		if err := r.retryFailed(ctx, true, crmChanged); err != nil {
			return err
		}
		r.phase("retry ERP failures", start)
	}
	if m.Direction.FromCRMAllowed() {
		start := time.Now()
		ids := sortedKeys(crmChanged)
		size := r.e.batchSize(r.e.opts.ERP)
		for i := 0; i < len(ids); i += size {
			page := make([]Record, 0, size)
			for _, id := range ids[i:min(i+size, len(ids))] {
				page = append(page, crmChanged[id])
			}
			if err := r.processCRM(ctx, page, false); err != nil {
				return err
			}
		}
		if err := r.retryFailed(ctx, false, nil); err != nil {
			return err
		}
		if err := r.advance(ctx, SideCRM, crmMax); err != nil {
			return err
		}
		r.phase("CRM to ERP", start)
	}
	r.e.setEchoMark(m.Name, r.crmWrote)
	return nil
}

// matchNow couples by match fields with the CRM side indexed in idx (nil:
// matching reads it); an index whose ERP side the run has checked
// (checked) is only decided. A run that began without couplings then knows them all.
func (r *run) matchNow(ctx context.Context, idx *matchIndex, fresh, checked bool) error {
	var res MatchResult
	var err error
	if checked {
		res, err = r.e.couple(ctx, r.m, idx, false, r)
	} else {
		res, err = r.e.match(ctx, r.m, false, r, idx)
	}
	if err != nil {
		return fmt.Errorf("match-based coupling before the full synchronisation: %w", err)
	}
	if fresh {
		r.fresh = newFreshCouplings(res.Pairs)
		r.freshMatched = make([]string, len(res.Pairs))
		for i, p := range res.Pairs {
			r.freshMatched[i] = p.ERPID
		}
	}
	return nil
}

// reread reads the CRM rows of which the read kept only the id (see
// keep in syncTable) and that matching has coupled since, into into.
// A row deleted since is left out: the ERP side settles its coupling.
func (r *run) reread(ctx context.Context, ids []string, into map[string]Record) error {
	if len(ids) == 0 {
		return nil
	}
	m := r.m
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	keep := func(page []Record) error {
		for _, rec := range page {
			if want[rec.ID] {
				into[rec.ID] = rec
			}
		}
		return nil
	}
	// Get asks for 50 rows a request: when matching coupled much of the
	// table (a first synchronisation of data both sides already hold),
	// one more paged read of the table costs fewer requests.
	if len(ids) > rereadByGet {
		q := ReadQuery{Entity: m.CRMEntitySet, Key: m.CRMKey, Modified: m.CRMModifiedField(), Filter: m.CRMFilter, Select: crmColumns(m)}
		if err := r.e.opts.CRM.Read(ctx, q, keep); err != nil {
			return fmt.Errorf("read again the %d CRM %s matching coupled: %w", len(ids), m.CRMEntitySet, err)
		}
		return nil
	}
	recs, err := r.e.opts.CRM.Get(ctx, m.CRMEntitySet, m.CRMKey, ids)
	if err != nil {
		return fmt.Errorf("read again the %d CRM %s matching coupled: %w", len(ids), m.CRMEntitySet, err)
	}
	return keep(recs)
}

// rereadByGet is how many rows reread fetches by id (40 requests) before
// it reads the table again instead.
const rereadByGet = 2000

// dropOutOfScope settles now, as processCRM would at the end, the CRM
// changes that are not coupled when the mapping synchronises coupled
// records only (after match-based coupling, which may couple some): they
// are counted (skipped or left alone) and marked handled, and the rest is
// returned. A full run reads every CRM row: the uncoupled ones, often
// most of the table, are no longer held through the ERP phase. free are
// uncoupled rows of which the read kept only the id: those matching has
// coupled since are read again and returned too.
func (r *run) dropOutOfScope(ctx context.Context, crmChanged map[string]Record, free *idList) (map[string]Record, error) {
	if !r.m.OnlyCoupled || len(crmChanged)+free.len() == 0 {
		return crmChanged, nil
	}
	if err := r.loadOpen(ctx); err != nil {
		return nil, err
	}
	kept := map[string]Record{}
	var matched []string // in free, coupled by matching since the read
	const chunk = 5000
	// settle looks up the couplings of part: a coupled row is kept (or,
	// from free, read again), an uncoupled one is counted and marked
	// handled. Of free, only the rows with open errors are marked: no
	// other path of the run meets an uncoupled CRM row again (retries
	// start from open errors), and a set of every id of a large table
	// would stay through the ERP phase.
	settle := func(part []string, fromFree bool) error {
		if len(part) == 0 {
			return nil
		}
		cs, err := r.lookup(ctx, SideCRM, part)
		if err != nil {
			return fmt.Errorf("look up the couplings of %d CRM record(s): %w", len(part), err)
		}
		coupled := make(map[string]bool, len(cs))
		for _, c := range cs {
			coupled[c.CRMID] = true
		}
		n := 0
		for _, id := range part {
			if coupled[id] {
				if rec, ok := crmChanged[id]; ok {
					kept[id] = rec
				} else {
					matched = append(matched, id)
				}
				continue
			}
			if fromFree && r.hasOpenErrors(SideCRM, id) || !fromFree {
				if !r.markSeen(SideCRM, id) {
					continue
				}
			}
			n++
			if r.skippedUncoupled(SideCRM + ":" + id) {
				r.add(func(c *Counts) { c.Skipped++ })
				continue
			}
			r.mu.Lock()
			r.outOfScope++
			r.mu.Unlock()
		}
		r.progress(n)
		return nil
	}
	ids := sortedKeys(crmChanged)
	for i := 0; i < len(ids); i += chunk {
		if err := settle(ids[i:min(i+chunk, len(ids))], false); err != nil {
			return nil, err
		}
	}
	// free may hold every row of a large table: it is walked, not copied.
	part := make([]string, 0, chunk)
	for id := range free.all() {
		if part = append(part, id); len(part) == chunk {
			if err := settle(part, true); err != nil {
				return nil, err
			}
			part = part[:0]
		}
	}
	if err := settle(part, true); err != nil {
		return nil, err
	}
	if err := r.reread(ctx, matched, kept); err != nil {
		return nil, err
	}
	return kept, nil
}

// retryFailed re-reads the source records of open errors (and failed,
// non-skipped couplings) that this run has not handled yet, and syncs them.
func (r *run) retryFailed(ctx context.Context, toCRM bool, crmChanged map[string]Record) error {
	errs, err := r.e.opts.Store.ListErrors(ctx, ErrorQuery{Mapping: r.m.Name, OpenOnly: true})
	if err != nil {
		return err
	}
	want := map[string]bool{}
	skipped := map[string]bool{} // records skipped before being coupled: not retried
	for _, se := range errs {
		if se.Code == CodeSkipped {
			skipped[sourceKey(se)] = true
		}
	}
	for _, se := range errs {
		if se.Direction != dirName(toCRM) || se.JobID == r.job.ID || skipped[sourceKey(se)] {
			continue
		}
		id := se.ERPID
		if !toCRM {
			id = se.CRMID
		}
		if id != "" {
			want[id] = true
		}
	}
	failed, err := r.e.opts.Store.ListCouplings(ctx, CouplingQuery{Mapping: r.m.Name, FailedOnly: true})
	if err != nil {
		return err
	}
	for _, c := range failed {
		if c.Skipped || c.LastJobID == r.job.ID {
			continue // skipped, or already handled (and failed) in this run
		}
		if toCRM {
			want[c.ERPID] = true
		} else {
			want[c.CRMID] = true
		}
	}
	side := SideERP
	if !toCRM {
		side = SideCRM
	}
	var ids []string
	for _, id := range sortedKeys(want) {
		if !r.isSeen(side, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	src, _ := r.e.sides(toCRM)
	entity, key := r.m.ERPEntity, "id"
	if !toCRM {
		entity, key = r.m.CRMEntitySet, r.m.CRMKey
	}
	const chunk = 50
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		recs, err := src.Get(ctx, entity, key, part)
		if err != nil {
			return fmt.Errorf("re-read %d failed record(s) to retry: %w", len(part), err)
		}
		found := map[string]bool{}
		for _, rec := range recs {
			found[rec.ID] = true
		}
		for _, id := range part {
			if !found[id] {
				r.sourceGone(ctx, toCRM, id)
			}
		}
		if toCRM {
			if err := r.changedOnCRM(ctx, recs, crmChanged); err != nil {
				return err
			}
			err = r.processERP(ctx, recs, crmChanged, true)
		} else {
			err = r.processCRM(ctx, recs, true)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// erpDeletions finds coupled ERP records that a full read did not return
// and that no longer exist (BC's API has no feed of deletions), and applies
// the mapping's deletion rule to each, visibly. A record only outside the
// mapping's filter still exists and is left alone.
func (r *run) erpDeletions(ctx context.Context) error {
	st := r.e.opts.Store
	var missing []string
	var after int64
	if r.freshMatched != nil {
		// A run that began without couplings made all but the matched
		// pairs' by writing ids it saw: only those pairs can be unseen.
		for _, id := range r.freshMatched {
			if !r.isSeen(SideERP, id) {
				missing = append(missing, id)
			}
		}
		after = -1
	}
	for after >= 0 {
		cs, err := st.ListCouplings(ctx, CouplingQuery{Mapping: r.m.Name, AfterID: after, Limit: 5000, IDsOnly: true})
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			break
		}
		r.mu.Lock()
		for _, c := range cs {
			if !r.seenERP.has(c.ERPID) {
				missing = append(missing, c.ERPID)
			}
		}
		r.mu.Unlock()
		after = cs[len(cs)-1].ID
	}
	const chunk = 50
	for i := 0; i < len(missing); i += chunk {
		part := missing[i:min(i+chunk, len(missing))]
		recs, err := r.e.opts.ERP.Get(ctx, r.m.ERPEntity, "id", part)
		if err != nil {
			return err
		}
		exists := map[string]bool{}
		for _, rec := range recs {
			exists[rec.ID] = true
		}
		for _, id := range part {
			if !exists[id] && r.markSeen(SideERP, id) {
				r.sourceGone(ctx, true, id)
			}
		}
	}
	return nil
}

// sourceGone handles a record that failed before and no longer exists on
// its own side: the error is closed with a note, and a coupling is handled
// by the deletion rule.
func (r *run) sourceGone(ctx context.Context, toCRM bool, id string) {
	st := r.e.opts.Store
	var c Coupling
	var err error
	if toCRM {
		c, err = st.GetCouplingByERP(ctx, r.m.Name, id)
	} else {
		c, err = st.GetCouplingByCRM(ctx, r.m.Name, id)
	}
	erpID, crmID := id, ""
	if !toCRM {
		erpID, crmID = "", id
	}
	if err == nil {
		erpID, crmID = c.ERPID, c.CRMID
	}
	side := "ERP"
	if !toCRM {
		side = "CRM"
	}
	msg := fmt.Sprintf("the %s record %s was deleted since it failed; nothing to retry", side, id)
	if err == nil {
		msg = r.applySourceDeletion(ctx, c, toCRM)
	}
	_ = st.ResolveErrors(ctx, r.m.Name, erpID, crmID, r.e.now().UTC())
	r.recordErrors(ctx, []SyncError{{Mapping: r.m.Name, Direction: dirName(toCRM), ERPID: erpID, CRMID: crmID, Code: CodeSourceDeleted, Message: msg}})
}

// applySourceDeletion applies the deletion rule to a coupling whose source
// record is gone, and says what was done.
func (r *run) applySourceDeletion(ctx context.Context, c Coupling, toCRM bool) string {
	side, other := "ERP", "CRM"
	if !toCRM {
		side, other = "CRM", "ERP"
	}
	switch r.m.Deletion {
	case mapping.DeletionUncouple:
		if err := r.e.opts.Store.DeleteCoupling(ctx, r.m.Name, c.ERPID); err == nil {
			r.add(func(c *Counts) { c.Uncoupled++ })
		}
		return fmt.Sprintf("the %s record was deleted; coupling removed (deletion rule RemoveCoupling); the %s record %s is kept", side, other, pick(toCRM, c.CRMID, c.ERPID))
	default:
		r.add(func(c *Counts) { c.Failed++ })
		return fmt.Sprintf("the %s record was deleted but its coupled %s record %s still exists; deletion rule %s: delete it there or decouple (coupler decouple %q %s)", side, other, pick(toCRM, c.CRMID, c.ERPID), r.m.Deletion, r.m.Name, c.ERPID)
	}
}

func pick(b bool, x, y string) string {
	if b {
		return x
	}
	return y
}

// changedOnCRM adds to crmChanged the CRM records coupled to these ERP
// records that changed since their last sync, so that retrying a record
// (e.g. one that failed in a conflict) sees the conflict again instead of
// overwriting the CRM change.
func (r *run) changedOnCRM(ctx context.Context, erpRecs []Record, crmChanged map[string]Record) error {
	if !r.m.Direction.FromCRMAllowed() || crmChanged == nil {
		return nil
	}
	byCRM := map[string]Coupling{}
	var ids []string
	for _, rec := range erpRecs {
		c, err := r.e.opts.Store.GetCouplingByERP(ctx, r.m.Name, rec.ID)
		if err != nil {
			continue
		}
		if _, known := crmChanged[c.CRMID]; !known {
			byCRM[c.CRMID] = c
			ids = append(ids, c.CRMID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	recs, err := r.e.opts.CRM.Get(ctx, r.m.CRMEntitySet, r.m.CRMKey, ids)
	if err != nil {
		return fmt.Errorf("re-read CRM %s to check for conflicts: %w", r.m.CRMEntitySet, err)
	}
	self, err := r.e.self(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if c := byCRM[rec.ID]; rec.ModifiedAt.After(c.CRMModifiedAt) && (self == "" || rec.ModifiedBy != self) {
			crmChanged[rec.ID] = rec
		}
	}
	return nil
}

// syncRecords synchronises the given ERP records now, whatever their
// modification time (and, for a bidirectional mapping, checks their CRM
// partners for conflicting changes first).
func (r *run) syncRecords(ctx context.Context, ids []string) error {
	if !r.m.Direction.ToCRMAllowed() {
		return fmt.Errorf("mapping %s does not write to the CRM: a record cannot be pushed from the ERP", r.m.Name)
	}
	recs, err := r.e.opts.ERP.Get(ctx, r.m.ERPEntity, "id", ids)
	if err != nil {
		return err
	}
	found := map[string]bool{}
	for _, rec := range recs {
		found[rec.ID] = true
	}
	for _, id := range ids {
		if !found[strings.ToLower(id)] && !found[id] {
			return fmt.Errorf("ERP %s %s does not exist (or is outside the mapping)", r.m.ERPEntity, id)
		}
	}
	crmChanged := map[string]Record{}
	if err := r.changedOnCRM(ctx, recs, crmChanged); err != nil {
		return err
	}
	return r.processERP(ctx, recs, crmChanged, true)
}
