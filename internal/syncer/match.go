package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

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
	return find(all, name)
}

// find is the mapping of all named name (case-insensitively).
func find(all []mapping.TableMapping, name string) (mapping.TableMapping, error) {
	for _, m := range all {
		if strings.EqualFold(m.Name, name) {
			return m, nil
		}
	}
	return mapping.TableMapping{}, fmt.Errorf("mapping %q: %w (see coupler mappings list)", name, ErrUnknownMapping)
}

// match couples by match fields. idx, when not nil, is the index of the
// CRM side a full run built while it read the CRM table anyway; otherwise
// the CRM table is read here (match fields only). Memory follows the
// uncoupled CRM records and the ERP records that have a candidate, not
// the size of either table: the ERP side is checked page by page.
func (e *Engine) match(ctx context.Context, m *mapping.TableMapping, dryRun bool, r *run, idx *matchIndex) (MatchResult, error) {
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
	if idx == nil {
		idx = newMatchIndex(st, m.Name, groups)
		err := e.opts.CRM.Read(ctx, ReadQuery{Entity: m.CRMEntitySet, Key: m.CRMKey, Modified: m.CRMModifiedField(), Filter: m.CRMFilter, Select: crmSel}, func(page []Record) error {
			return idx.addCRM(ctx, page, nil, nil)
		})
		if err != nil {
			return res, fmt.Errorf("read CRM %s: %w", m.CRMEntitySet, err)
		}
	}
	// Nothing uncoupled on the CRM side: nothing can match. A run needs no
	// count of unmatched ERP records, so it skips the ERP read.
	if r != nil && idx.empty() {
		return res, nil
	}
	if m.Kind == mapping.KindStatic {
		page := make([]Record, 0, len(m.Records))
		for _, rec := range m.Records {
			id, _ := rec["id"].(string)
			page = append(page, Record{ID: id, Fields: rec})
		}
		if err := idx.addERP(ctx, page); err != nil {
			return res, err
		}
	} else {
		err := e.opts.ERP.Read(ctx, ReadQuery{Entity: m.ERPEntity, Key: "id", Modified: m.ERPModifiedField(), Filter: m.ERPFilter, Select: erpSel}, func(page []Record) error {
			return idx.addERP(ctx, page)
		})
		if err != nil {
			return res, fmt.Errorf("read ERP %s: %w", m.ERPEntity, err)
		}
	}
	return e.couple(ctx, m, idx, dryRun, r)
}

// couple decides the pairs of an index whose ERP side is checked, and
// records them unless dry.
func (e *Engine) couple(ctx context.Context, m *mapping.TableMapping, idx *matchIndex, dryRun bool, r *run) (MatchResult, error) {
	res := MatchResult{Mapping: m.Name, DryRun: dryRun}
	res.Pairs, res.Ambiguous = idx.pairs()
	res.UnmatchedER = idx.erpFree - len(res.Pairs)
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
	if err := e.opts.Store.PutCouplings(ctx, cs); err != nil {
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

// matchKey is the hash of the normalised value of a group of match
// fields: each value trimmed and lower-cased, joined by NUL. It is built
// in a buffer on the stack: a full run computes one per group for every
// record of both tables.
func matchKey(group []mapping.FieldMapping, rec map[string]any, erpSide bool) (keyHash, bool) {
	var buf [256]byte
	b := buf[:0]
	for i, f := range group {
		var v any
		if erpSide {
			v = rec[f.ERPField]
		} else {
			v = rec[f.CRMField]
		}
		var s string
		switch x := v.(type) {
		case nil:
			return keyHash{}, false
		case string:
			s = x
		case json.Number:
			s = string(x)
		default:
			s = fmt.Sprint(v)
		}
		if s = strings.TrimSpace(s); s == "" {
			return keyHash{}, false
		}
		if i > 0 {
			b = append(b, 0)
		}
		b = appendLower(b, s)
	}
	return hashKey(b), true
}

// appendLower appends strings.ToLower(s), without a copy of s when it is
// ASCII.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(b, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func describe(group []mapping.FieldMapping, rec map[string]any) string {
	parts := make([]string, 0, len(group))
	for _, f := range group {
		parts = append(parts, fmt.Sprintf("%s=%v", f.ERPField, rec[f.ERPField]))
	}
	return strings.Join(parts, ", ")
}
