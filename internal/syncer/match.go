package syncer

import (
	"context"
	"fmt"
	"strings"

	"github.com/coupler/coupler/internal/mapping"
)

// MatchPair is one pair match-based coupling found.
type MatchPair struct {
	ERPID, CRMID string
	On           string // "field=value, …" that matched
}

// MatchResult is what match-based coupling found (and did, unless dry).
type MatchResult struct {
	Mapping     string
	Pairs       []MatchPair
	Ambiguous   []string // ERP ids with several CRM candidates: left alone
	UnmatchedER int      // uncoupled ERP records without a candidate
	DryRun      bool
}

// Match couples uncoupled records of a mapping whose match fields (by
// priority, lowest first) are equal on both sides. With dryRun nothing is
// written: the result lists what would be coupled.
func (e *Engine) Match(ctx context.Context, name string, dryRun bool) (MatchResult, error) {
	m, err := e.mapping(ctx, name)
	if err != nil {
		return MatchResult{}, err
	}
	return e.match(ctx, &m, dryRun, nil, nil)
}

func (e *Engine) mapping(ctx context.Context, name string) (mapping.TableMapping, error) {
	all, err := e.opts.Mappings(ctx)
	if err != nil {
		return mapping.TableMapping{}, err
	}
	for _, m := range all {
		if strings.EqualFold(m.Name, name) {
			return m, nil
		}
	}
	return mapping.TableMapping{}, fmt.Errorf("mapping %q: %w (see coupler mappings list)", name, ErrUnknownMapping)
}

// match couples by match fields. crmRows, when not nil, are the CRM rows a
// full run has just read (all of them): they are used instead of reading
// the CRM table a second time.
func (e *Engine) match(ctx context.Context, m *mapping.TableMapping, dryRun bool, r *run, crmRows *[]Record) (MatchResult, error) {
	res := MatchResult{Mapping: m.Name, DryRun: dryRun}
	groups := m.MatchFields()
	if len(groups) == 0 {
		return res, fmt.Errorf("mapping %s has no field marked for match-based coupling (match_priority)", m.Name)
	}
	st := e.opts.Store
	// Only the match fields are read: matching needs nothing else, and
	// whole rows of whole tables cost decoding time and memory.
	var erpSel, crmSel []string
	for _, g := range groups {
		for _, f := range g {
			erpSel = append(erpSel, f.ERPField)
			crmSel = append(crmSel, f.CRMField)
		}
	}
	var erp []Record
	if m.Kind == mapping.KindStatic {
		for _, rec := range m.Records {
			id, _ := rec["id"].(string)
			erp = append(erp, Record{ID: id, Fields: rec})
		}
	} else {
		err := e.opts.ERP.Read(ctx, ReadQuery{Entity: m.ERPEntity, Key: "id", Modified: m.ERPModifiedField(), Filter: m.ERPFilter, Select: erpSel}, func(page []Record) error {
			erp = append(erp, page...)
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("read ERP %s: %w", m.ERPEntity, err)
		}
	}
	var crm []Record
	if crmRows != nil {
		crm = *crmRows
	} else {
		err := e.opts.CRM.Read(ctx, ReadQuery{Entity: m.CRMEntitySet, Key: m.CRMKey, Modified: m.CRMModifiedField(), Filter: m.CRMFilter, Select: crmSel}, func(page []Record) error {
			crm = append(crm, page...)
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("read CRM %s: %w", m.CRMEntitySet, err)
		}
	}
	erpFree, err := uncoupled(ctx, st, m.Name, SideERP, erp)
	if err != nil {
		return res, err
	}
	crmFree, err := uncoupled(ctx, st, m.Name, SideCRM, crm)
	if err != nil {
		return res, err
	}
	ambiguous := map[string]bool{}
	for _, group := range groups {
		index := map[string][]string{}
		for _, id := range sortedKeys(crmFree) {
			if k, ok := matchKey(group, crmFree[id].Fields, false); ok {
				index[k] = append(index[k], id)
			}
		}
		for _, id := range sortedKeys(erpFree) {
			k, ok := matchKey(group, erpFree[id].Fields, true)
			if !ok {
				continue
			}
			cands := index[k]
			switch {
			case len(cands) == 1:
				if _, free := crmFree[cands[0]]; !free {
					continue
				}
				res.Pairs = append(res.Pairs, MatchPair{ERPID: id, CRMID: cands[0], On: describe(group, erpFree[id].Fields)})
				delete(erpFree, id)
				delete(crmFree, cands[0])
				delete(ambiguous, id)
			case len(cands) > 1:
				ambiguous[id] = true
			}
		}
	}
	res.Ambiguous = sortedKeys(ambiguous)
	res.UnmatchedER = len(erpFree)
	if dryRun || len(res.Pairs) == 0 {
		return res, nil
	}
	cs := make([]Coupling, len(res.Pairs))
	for i, p := range res.Pairs {
		var jobID int64
		if r != nil {
			jobID = r.job.ID
		}
		cs[i] = Coupling{Mapping: m.Name, ERPID: p.ERPID, CRMID: p.CRMID, LastResult: ResultSuccess, LastJobID: jobID}
	}
	if err := st.PutCouplings(ctx, cs); err != nil {
		return res, fmt.Errorf("couple %d matched pair(s): %w", len(cs), err)
	}
	if r != nil {
		r.add(func(c *Counts) { c.Coupled += len(cs) })
		if len(res.Ambiguous) > 0 {
			r.note("%d ERP record(s) match several CRM records and were not coupled: %v", len(res.Ambiguous), res.Ambiguous)
		}
	}
	return res, nil
}

// uncoupled keeps the records of one side that no coupling of the mapping
// holds, looked up a thousand at a time.
func uncoupled(ctx context.Context, st Store, mappingName, side string, recs []Record) (map[string]Record, error) {
	free := make(map[string]Record, len(recs))
	const chunk = 1000
	for i := 0; i < len(recs); i += chunk {
		part := recs[i:min(i+chunk, len(recs))]
		ids := make([]string, len(part))
		for k, rec := range part {
			ids[k] = rec.ID
			free[rec.ID] = rec
		}
		cs, err := st.GetCouplings(ctx, mappingName, side, ids)
		if err != nil {
			return nil, fmt.Errorf("look up the couplings of %d %s record(s): %w", len(ids), side, err)
		}
		for _, c := range cs {
			if side == SideERP {
				delete(free, c.ERPID)
			} else {
				delete(free, c.CRMID)
			}
		}
	}
	return free, nil
}

// matchKey is the normalised value of a group of match fields.
func matchKey(group []mapping.FieldMapping, rec map[string]any, erpSide bool) (string, bool) {
	parts := make([]string, 0, len(group))
	for _, f := range group {
		var v any
		if erpSide {
			v = rec[f.ERPField]
		} else {
			v = rec[f.CRMField]
		}
		s := strings.ToLower(strings.TrimSpace(fmt.Sprint(v)))
		if v == nil || s == "" {
			return "", false
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\x00"), true
}

func describe(group []mapping.FieldMapping, rec map[string]any) string {
	parts := make([]string, 0, len(group))
	for _, f := range group {
		parts = append(parts, fmt.Sprintf("%s=%v", f.ERPField, rec[f.ERPField]))
	}
	return strings.Join(parts, ", ")
}
