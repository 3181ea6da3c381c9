package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/coupler/coupler/internal/mapping"
)

// conflict handles a coupled record changed on both sides since the last
// sync, by the mapping's rule, and always records both values. It says
// whether to send the ERP values to the CRM (only: restricted to these ERP
// fields; nil = all) and returns the CRM record when it must still be
// brought to the ERP.
func (r *run) conflict(ctx context.Context, c Coupling, erpRec, crmRec Record) (send bool, only map[string]bool, back *Record) {
	both := compactJSON(map[string]any{"erp": erpValues(r.m, erpRec.Fields), "crm": crmValues(r.m, crmRec.Fields)})
	se := SyncError{Mapping: r.m.Name, Direction: string(mapping.Bidirectional), ERPID: c.ERPID, CRMID: c.CRMID, Payload: both}
	when := fmt.Sprintf("ERP modified %s, CRM modified %s, last synchronised ERP %s / CRM %s",
		erpRec.ModifiedAt.UTC().Format("2006-01-02T15:04:05Z"), crmRec.ModifiedAt.UTC().Format("2006-01-02T15:04:05Z"),
		c.ERPModifiedAt.UTC().Format("2006-01-02T15:04:05Z"), c.CRMModifiedAt.UTC().Format("2006-01-02T15:04:05Z"))
	resolved := func(msg string) {
		se.Code, se.Message = CodeConflictResolved, msg
		se.CreatedAt = r.e.now().UTC()
		se.ResolvedAt = se.CreatedAt
		r.recordErrors(ctx, []SyncError{se})
	}
	fail := func(msg string) {
		se.Code, se.Message = CodeConflict, msg
		r.fail(ctx, se, c, true)
	}
	switch r.m.Conflict {
	case mapping.ConflictERP:
		resolved("changed on both sides (" + when + "); the ERP values were kept (conflict rule ERPWins)")
		return true, nil, nil
	case mapping.ConflictCRM:
		resolved("changed on both sides (" + when + "); the CRM values were kept (conflict rule CRMWins)")
		return false, nil, &crmRec
	case mapping.ConflictMerge:
		snap := map[string]any{}
		if c.Snapshot == "" || json.Unmarshal([]byte(c.Snapshot), &snap) != nil {
			fail("changed on both sides (" + when + ") and no values of the last sync are kept to merge against; conflict rule Merge needs one successful sync first: resolve by editing one side or setting ERPWins/CRMWins")
			return false, nil, nil
		}
		erpNow := erpValues(r.m, erpRec.Fields)
		crmNow, err := mapping.TransformToERP(ctx, r.m, crmRec.Fields, r.res, false)
		if err != nil {
			fail("changed on both sides (" + when + "); the CRM values cannot be read back to merge: " + err.Error())
			return false, nil, nil
		}
		erpChanged, crmChanged := map[string]bool{}, map[string]bool{}
		for f, v := range erpNow {
			if !same(v, snap[f]) {
				erpChanged[f] = true
			}
		}
		for f, v := range crmNow {
			if !same(v, snap[f]) {
				crmChanged[f] = true
			}
		}
		var clash []string
		for f := range erpChanged {
			if crmChanged[f] && !same(erpNow[f], crmNow[f]) {
				clash = append(clash, fmt.Sprintf("%s (ERP %v, CRM %v)", f, erpNow[f], crmNow[f]))
			}
		}
		if len(clash) > 0 {
			sort.Strings(clash)
			fail("the same field changed differently on both sides (" + when + "): " + strings.Join(clash, ", ") + "; conflict rule Merge cannot choose: edit one side, or set ERPWins/CRMWins")
			return false, nil, nil
		}
		resolved(fmt.Sprintf("changed on both sides (%s); merged field by field: to the CRM %s, to the ERP %s (conflict rule Merge)", when, list(erpChanged), list(crmChanged)))
		r.mu.Lock()
		if r.mergeOnly == nil {
			r.mergeOnly = map[string]map[string]bool{}
		}
		r.mergeOnly[crmRec.ID] = crmChanged
		r.mu.Unlock()
		if len(crmChanged) > 0 {
			back = &crmRec
		}
		return len(erpChanged) > 0, erpChanged, back
	default:
		fail("changed on both sides since the last sync (" + when + "); conflict rule Fail leaves both unchanged: edit one side so they agree, or set the mapping's conflict rule to ERPWins, CRMWins or Merge (coupler mappings edit " + r.m.Name + ")")
		return false, nil, nil
	}
}

// crmValues keeps the CRM values of the mapped columns (for the record of
// a conflict).
func crmValues(m *mapping.TableMapping, rec map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range m.Fields {
		if f.CRMField == "" || f.Constant != nil {
			continue
		}
		if f.Lookup != nil {
			if v, ok := rec[mapping.LookupColumn(f.CRMField)]; ok {
				out[f.CRMField] = v
				continue
			}
		}
		out[f.CRMField] = rec[f.CRMField]
	}
	return out
}

// same compares JSON-like values, treating nil and "" alike.
func same(a, b any) bool {
	if isNilish(a) && isNilish(b) {
		return true
	}
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func isNilish(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && s == ""
}

func list(m map[string]bool) string {
	if len(m) == 0 {
		return "nothing"
	}
	return strings.Join(sortedKeys(m), ", ")
}
