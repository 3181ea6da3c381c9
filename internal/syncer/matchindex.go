package syncer

import (
	"context"
	"fmt"

	"github.com/coupler/coupler/internal/mapping"
)

// ambiguousCRM marks a match key that several uncoupled CRM records share.
const ambiguousCRM = "\x00ambiguous"

// matchIndex holds what match-based coupling needs and nothing more: the
// normalised match keys of uncoupled CRM records (key → CRM id, per match
// group) and the uncoupled ERP records that have at least one candidate.
// ERP records without a candidate are only counted, so memory does not
// follow the size of the ERP table.
type matchIndex struct {
	st      Store
	mapping string
	groups  [][]mapping.FieldMapping
	crm     []map[string]string // per group: key → CRM id or ambiguousCRM
	erp     map[string]*erpCandidate
	erpFree int // uncoupled ERP records seen
}

// erpCandidate is an uncoupled ERP record with a candidate in some group.
type erpCandidate struct {
	crm []string // per group: CRM id, ambiguousCRM, or "" (no candidate)
	on  []string // per group: "field=value, …" for the result
}

func newMatchIndex(st Store, mappingName string, groups [][]mapping.FieldMapping) *matchIndex {
	ix := &matchIndex{st: st, mapping: mappingName, groups: groups, erp: map[string]*erpCandidate{}}
	for range groups {
		ix.crm = append(ix.crm, map[string]string{})
	}
	return ix
}

// empty is true when no uncoupled CRM record has a match key.
func (ix *matchIndex) empty() bool {
	for _, g := range ix.crm {
		if len(g) > 0 {
			return false
		}
	}
	return true
}

// addCRM indexes the uncoupled records of a page of CRM rows; free, when
// not nil, is told each of them too.
func (ix *matchIndex) addCRM(ctx context.Context, page []Record, free func(Record)) error {
	return ix.free(ctx, SideCRM, page, func(rec Record) {
		if free != nil {
			free(rec)
		}
		for g, group := range ix.groups {
			k, ok := matchKey(group, rec.Fields, false)
			if !ok {
				continue
			}
			if id, dup := ix.crm[g][k]; dup && id != rec.ID {
				ix.crm[g][k] = ambiguousCRM
			} else {
				ix.crm[g][k] = rec.ID
			}
		}
	})
}

// addERP checks a page of ERP rows against the CRM index and keeps the
// uncoupled ones that have a candidate.
func (ix *matchIndex) addERP(ctx context.Context, page []Record) error {
	return ix.free(ctx, SideERP, page, func(rec Record) {
		ix.erpFree++
		var c *erpCandidate
		for g, group := range ix.groups {
			k, ok := matchKey(group, rec.Fields, true)
			if !ok {
				continue
			}
			id, hit := ix.crm[g][k]
			if !hit {
				continue
			}
			if c == nil {
				c = &erpCandidate{crm: make([]string, len(ix.groups)), on: make([]string, len(ix.groups))}
				ix.erp[rec.ID] = c
			}
			c.crm[g] = id
			c.on[g] = describe(group, rec.Fields)
		}
	})
}

// free calls fn for each record of the page that no coupling of the
// mapping holds, looking the couplings up a thousand at a time.
func (ix *matchIndex) free(ctx context.Context, side string, page []Record, fn func(Record)) error {
	const chunk = 1000
	for i := 0; i < len(page); i += chunk {
		part := page[i:min(i+chunk, len(page))]
		ids := make([]string, len(part))
		for k, rec := range part {
			ids[k] = rec.ID
		}
		cs, err := ix.st.GetCouplings(ctx, ix.mapping, side, ids)
		if err != nil {
			return fmt.Errorf("look up the couplings of %d %s record(s): %w", len(ids), side, err)
		}
		coupled := make(map[string]bool, len(cs))
		for _, c := range cs {
			if side == SideERP {
				coupled[c.ERPID] = true
			} else {
				coupled[c.CRMID] = true
			}
		}
		for _, rec := range part {
			if !coupled[rec.ID] {
				fn(rec)
			}
		}
	}
	return nil
}

// pairs decides the couplings: group by group in priority order, ERP ids
// in order, a key with exactly one free CRM record couples it; a key
// shared by several CRM records leaves the ERP record ambiguous unless a
// later group couples it.
func (ix *matchIndex) pairs() ([]MatchPair, []string) {
	ids := sortedKeys(ix.erp)
	paired := map[string]bool{}
	taken := map[string]bool{}
	ambiguous := map[string]bool{}
	var out []MatchPair
	for g := range ix.groups {
		for _, id := range ids {
			if paired[id] {
				continue
			}
			c := ix.erp[id]
			switch crmID := c.crm[g]; crmID {
			case "":
			case ambiguousCRM:
				ambiguous[id] = true
			default:
				if taken[crmID] {
					continue
				}
				out = append(out, MatchPair{ERPID: id, CRMID: crmID, On: c.on[g]})
				paired[id], taken[crmID] = true, true
				delete(ambiguous, id)
			}
		}
	}
	return out, sortedKeys(ambiguous)
}
