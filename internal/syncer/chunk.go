package syncer

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/coupler/coupler/internal/mapping"
)

// maxHold caps the coupled records a chunked full run leaves to its
// closing run (see PlanFull): above it the table runs as one job.
const maxHold = 5000

// Chunk is one key range of a full synchronisation: the ERP records of
// the mapping whose code field is ≥ From and < To ("" = unbounded). The
// ranges of a plan partition the key space on the ERP's own ordering,
// whatever its collation: a cut that sorts differently there makes two
// ranges overlap, never leaves a record out.
type Chunk struct {
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	Index int    `json:"index"`
	Of    int    `json:"of"`
	// Hold are ERP ids in the range whose CRM row changed since their last
	// synchronisation (or that were never synchronised since they were
	// coupled): they need the conflict rules, which see both rows, so the
	// closing run writes them, not the chunk.
	Hold []string `json:"hold,omitempty"`
}

// filter is the range as an OData condition.
func (c Chunk) filter() string {
	var conds []string
	if c.From != "" {
		conds = append(conds, fmt.Sprintf("%s ge %s", c.Field, quote(c.From)))
	}
	if c.To != "" {
		conds = append(conds, fmt.Sprintf("%s lt %s", c.Field, quote(c.To)))
	}
	return strings.Join(conds, " and ")
}

// String names the range for messages.
func (c Chunk) String() string {
	from, to := "the start", "the end"
	if c.From != "" {
		from = quote(c.From)
	}
	if c.To != "" {
		to = quote(c.To)
	}
	return fmt.Sprintf("part %d of %d (%s from %s to %s)", c.Index+1, c.Of, c.Field, from, to)
}

// FullPlan is how a full synchronisation of one mapping is divided.
type FullPlan struct {
	Mapping string
	Chunks  []Chunk // none: run the mapping as one job (Reason says why)
	Records int     // ERP records in the mapping's filter when planned
	Coupled int     // pairs match-based coupling coupled while planning
	Reason  string
}

// PlanFull prepares a full synchronisation of a large table to run as
// chunk jobs that several instances take at once: it couples by match
// fields first (a chunk that created a CRM row for an ERP record a later
// match would have coupled would make a duplicate), reads the ERP codes
// to cut ranges of Options.ChunkRecords records, and finds the coupled
// records whose CRM row changed, which only the closing run may write.
// The closing run is an ordinary full run of the mapping: it finds the
// chunks' records unchanged and settles the rest (CRM changes, deletions,
// retries, cursors), so a chunk that failed or was never run loses
// nothing. A mapping the rules below exclude gets a plan without chunks.
func (e *Engine) PlanFull(ctx context.Context, name string) (FullPlan, error) {
	all, err := e.opts.Mappings(ctx)
	if err != nil {
		return FullPlan{}, fmt.Errorf("load mappings: %w", err)
	}
	m, err := find(all, name)
	if err != nil {
		return FullPlan{}, err
	}
	p := FullPlan{Mapping: m.Name}
	size := e.opts.ChunkRecords
	switch {
	case size <= 0:
		p.Reason = "full synchronisations are not divided (sync.chunk_records is 0)"
	case m.Kind != mapping.KindTable || m.Parent != "":
		p.Reason = "only table mappings of header records are divided"
	case !m.Direction.ToCRMAllowed():
		p.Reason = "the mapping does not write to the CRM"
	case m.ERPCodeField == "":
		p.Reason = "the mapping names no ERP code field to cut key ranges on"
	case slices.ContainsFunc(all, func(c mapping.TableMapping) bool { return c.Parent == m.Name }):
		p.Reason = "the mapping has line mappings, which run with the headers their run wrote"
	}
	if p.Reason != "" {
		return p, nil
	}
	codes := map[string]string{} // ERP id → code
	q := ReadQuery{Entity: m.ERPEntity, Key: "id", Modified: m.ERPModifiedField(), Filter: m.ERPFilter, Select: []string{m.ERPCodeField}}
	err = e.opts.ERP.Read(ctx, q, func(page []Record) error {
		for _, rec := range page {
			s, _ := rec.Fields[m.ERPCodeField].(string)
			codes[rec.ID] = s
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("read the %s of ERP %s: %w", m.ERPCodeField, m.ERPEntity, err)
	}
	p.Records = len(codes)
	if p.Records < 2*size {
		p.Reason = fmt.Sprintf("%d record(s): fewer than two chunks of %d", p.Records, size)
		return p, nil
	}
	if len(m.MatchFields()) > 0 {
		res, err := e.match(ctx, &m, false, nil, nil)
		if err != nil {
			return p, fmt.Errorf("match-based coupling before the full synchronisation: %w", err)
		}
		p.Coupled = len(res.Pairs)
	}
	hold, err := e.changedOnCRM(ctx, &m)
	if err != nil {
		return p, err
	}
	if len(hold) > maxHold {
		p.Reason = fmt.Sprintf("%d coupled record(s) changed on the CRM since their last synchronisation: the conflict rules need both rows, so the table runs as one job", len(hold))
		return p, nil
	}
	sorted := make([]string, 0, len(codes))
	for _, c := range codes {
		sorted = append(sorted, c)
	}
	slices.Sort(sorted)
	var cuts []string                                   // lower bounds of the chunks after the first
	for i := size; i+size/2 <= len(sorted); i += size { // a short tail joins the last chunk
		if c := sorted[i]; c != "" && (len(cuts) == 0 || c != cuts[len(cuts)-1]) {
			cuts = append(cuts, c)
		}
	}
	if len(cuts) == 0 {
		p.Reason = fmt.Sprintf("the %d record(s) share one %s: no range divides them", p.Records, m.ERPCodeField)
		return p, nil
	}
	p.Chunks = make([]Chunk, len(cuts)+1)
	for i := range p.Chunks {
		ch := Chunk{Field: m.ERPCodeField, Index: i, Of: len(p.Chunks)}
		if i > 0 {
			ch.From = cuts[i-1]
		}
		if i < len(cuts) {
			ch.To = cuts[i]
		}
		p.Chunks[i] = ch
	}
	for _, id := range hold {
		// The chunk whose range holds the code: the number of cuts ≤ it.
		i := sort.Search(len(cuts), func(j int) bool { return cuts[j] > codes[id] })
		p.Chunks[i].Hold = append(p.Chunks[i].Hold, id)
	}
	return p, nil
}

// changedOnCRM lists the ERP ids of coupled records whose CRM row someone
// other than coupler changed after their last synchronisation, or that
// were never synchronised since they were coupled: a full run would send
// them through the conflict rules.
func (e *Engine) changedOnCRM(ctx context.Context, m *mapping.TableMapping) ([]string, error) {
	if !m.Direction.FromCRMAllowed() && len(m.MatchFields()) == 0 {
		return nil, nil
	}
	self, err := e.self(ctx)
	if err != nil {
		return nil, fmt.Errorf("who is the integration user on the CRM: %w", err)
	}
	mod := map[string]Record{}
	q := ReadQuery{Entity: m.CRMEntitySet, Key: m.CRMKey, Modified: m.CRMModifiedField(), Filter: m.CRMFilter, Select: []string{m.CRMKey}, SkipModifiedBy: self}
	err = e.opts.CRM.Read(ctx, q, func(page []Record) error {
		for _, rec := range page {
			if self == "" || rec.ModifiedBy != self {
				mod[rec.ID] = Record{ID: rec.ID, ModifiedAt: rec.ModifiedAt}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read CRM %s: %w", m.CRMEntitySet, err)
	}
	ids := sortedKeys(mod)
	var hold []string
	const step = 5000
	for i := 0; i < len(ids); i += step {
		cs, err := e.opts.Store.GetCouplings(ctx, m.Name, SideCRM, ids[i:min(i+step, len(ids))])
		if err != nil {
			return nil, fmt.Errorf("look up the couplings of %d CRM record(s): %w", min(step, len(ids)-i), err)
		}
		for _, c := range cs {
			if c.Snapshot == "" || mod[c.CRMID].ModifiedAt.After(c.CRMModifiedAt) {
				hold = append(hold, c.ERPID)
			}
		}
	}
	return hold, nil
}

// RunChunk writes one chunk of a full synchronisation to the CRM, as one
// job of the mapping's log: the ERP records of its range, without the CRM
// read, deletions, retries or cursors, which the closing run does. It
// does not reconcile interrupted writes either: the chunks of a mapping
// run at once on several instances, and another chunk's announced writes
// are in flight, not interrupted; the closing run reconciles what a
// crashed chunk left.
func (e *Engine) RunChunk(ctx context.Context, name string, ch Chunk, trigger string) (Job, error) {
	all, err := e.opts.Mappings(ctx)
	if err != nil {
		return Job{}, fmt.Errorf("load mappings: %w", err)
	}
	m, err := find(all, name)
	if err != nil {
		return Job{}, err
	}
	if ch.Field != m.ERPCodeField || ch.Field == "" {
		return Job{}, fmt.Errorf("chunk of %s cut on %q, but the mapping's ERP code field is %q: run the full synchronisation again", m.Name, ch.Field, m.ERPCodeField)
	}
	if trigger == "" {
		trigger = "full"
	}
	job, _ := e.runOne(ctx, &m, RunOptions{Full: true, Trigger: trigger, Chunk: &ch}, newResolver(e, all), nil, false)
	return job, nil
}

// syncChunk is a chunk's run: ERP records of the range → CRM.
func (r *run) syncChunk(ctx context.Context) error {
	m, ch := r.m, r.ro.Chunk
	r.note("%s of a full synchronisation", ch)
	hold := make(map[string]bool, len(ch.Hold))
	for _, id := range ch.Hold {
		hold[id] = true
	}
	filter := ch.filter()
	switch {
	case filter == "":
		filter = m.ERPFilter
	case m.ERPFilter != "":
		filter = "(" + m.ERPFilter + ") and " + filter
	}
	q := ReadQuery{Entity: m.ERPEntity, Key: "id", Modified: m.ERPModifiedField(), Filter: filter, Select: erpColumns(m)}
	err := r.e.opts.ERP.Read(ctx, q, func(page []Record) error {
		if len(hold) > 0 {
			page = slices.DeleteFunc(page, func(rec Record) bool { return hold[rec.ID] })
		}
		return r.processERP(ctx, page, map[string]Record{}, false)
	})
	if err != nil {
		return fmt.Errorf("ERP %s, %s: %w", m.ERPEntity, ch, err)
	}
	return nil
}
