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
// sync. As in BC, only bidirectional fields can conflict, and only when
// both sides changed the same field to different values; other changes
// merge (each side's changed fields go to the other). The mapping's rule
// decides the clashing fields: Fail (and Merge) leave both records as
// they are and record the failure, ERPWins / CRMWins take one side's
// value. Every clash is recorded with both values.
//
// It returns whether to write to the CRM and which ERP fields to send
// (only), and the CRM record when fields must flow back to the ERP.
func (r *run) conflict(ctx context.Context, c Coupling, erpRec, crmRec Record) (send bool, only map[string]bool, back *Record) {
	m := r.m
	var snap map[string]any
	if c.Snapshot != "" {
		if err := json.Unmarshal([]byte(c.Snapshot), &snap); err != nil {
			snap = nil
		}
	}
	when := fmt.Sprintf("ERP modified %s, CRM modified %s", stamp(erpRec.ModifiedAt), stamp(crmRec.ModifiedAt))
	if snap != nil {
		when += fmt.Sprintf(", last synchronised ERP %s / CRM %s", stamp(c.ERPModifiedAt), stamp(c.CRMModifiedAt))
	} else {
		when += ", never synchronised since they were coupled"
	}
	se := SyncError{Mapping: m.Name, Direction: string(mapping.Bidirectional), ERPID: c.ERPID, CRMID: c.CRMID,
		Payload: compactJSON(map[string]any{"erp": erpValues(m, erpRec.Fields), "crm": crmValues(m, crmRec.Fields)})}
	erpNow := erpValues(m, erpRec.Fields)
	crmNow, err := mapping.TransformToERP(ctx, m, crmRec.Fields, r.res, false)
	if err != nil {
		se.Code, se.Message = CodeConflict, "changed on both sides ("+when+"); the CRM values cannot be compared: "+err.Error()
		r.fail(ctx, se, c, true)
		return false, nil, nil
	}
	toCRM, toERP := map[string]bool{}, map[string]bool{}
	var clash, initial []string
	for _, f := range m.Fields {
		if f.ERPField == "" || f.CRMField == "" || f.Constant != nil {
			continue
		}
		switch f.Direction {
		case mapping.ToCRM:
			toCRM[f.ERPField] = true // owned by the ERP
			continue
		case mapping.FromCRM:
			toERP[f.ERPField] = true // owned by the CRM
			continue
		}
		e, k := erpNow[f.ERPField], crmNow[f.ERPField]
		if same(e, k) {
			continue
		}
		// Never synchronised since coupling: the ERP values are written, as
		// BC's synchronisation after coupling does by default; the
		// differences are recorded below.
		erpChanged, crmChanged := true, false
		if snap == nil {
			initial = append(initial, fmt.Sprintf("%s↔%s (ERP %s, CRM %s)", f.ERPField, f.CRMField, show(e), show(k)))
		} else {
			erpChanged, crmChanged = !same(e, snap[f.ERPField]), !same(k, snap[f.ERPField])
		}
		switch {
		case erpChanged && crmChanged:
			clash = append(clash, fmt.Sprintf("%s↔%s (ERP %s, CRM %s)", f.ERPField, f.CRMField, show(e), show(k)))
			switch m.Conflict {
			case mapping.ConflictERP:
				toCRM[f.ERPField] = true
			case mapping.ConflictCRM:
				toERP[f.ERPField] = true
			}
		case erpChanged:
			toCRM[f.ERPField] = true
		case crmChanged:
			toERP[f.ERPField] = true
		}
	}
	sort.Strings(clash)
	if len(initial) > 0 {
		se.Code, se.CreatedAt = CodeConflictResolved, r.e.now().UTC()
		se.ResolvedAt = se.CreatedAt
		se.Message = fmt.Sprintf("first synchronisation since coupling (%s): the records differed in %s; the ERP values were written to the CRM", when, strings.Join(initial, ", "))
		r.recordErrors(ctx, []SyncError{se})
	}
	if len(clash) > 0 {
		se.CreatedAt = r.e.now().UTC()
		switch m.Conflict {
		case mapping.ConflictERP, mapping.ConflictCRM:
			winner := "ERP"
			if m.Conflict == mapping.ConflictCRM {
				winner = "CRM"
			}
			se.Code = CodeConflictResolved
			se.Message = fmt.Sprintf("changed on both sides (%s): %s; the %s values were kept (conflict rule %s)", when, strings.Join(clash, ", "), winner, m.Conflict)
			se.ResolvedAt = se.CreatedAt
			r.recordErrors(ctx, []SyncError{se})
		default:
			se.Code = CodeConflict
			se.Message = fmt.Sprintf("changed differently on both sides (%s): %s; conflict rule %s leaves both records as they are: make them agree on one side, or set the conflict rule to ERPWins or CRMWins (coupler mappings edit %q --set conflict=ERPWins)", when, strings.Join(clash, ", "), m.Conflict, m.Name)
			r.fail(ctx, se, c, true)
			return false, nil, nil
		}
	}
	if len(toERP) > 0 && m.Direction.FromCRMAllowed() {
		r.mu.Lock()
		if r.mergeOnly == nil {
			r.mergeOnly = map[string]map[string]bool{}
		}
		r.mergeOnly[crmRec.ID] = toERP
		r.mu.Unlock()
		back = &crmRec
	}
	return true, toCRM, back
}

func stamp(t interface{ Format(string) string }) string {
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}

func show(v any) string {
	if isNilish(v) {
		return "empty"
	}
	b, _ := json.Marshal(v)
	return string(b)
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

// same compares JSON-like values, treating nil and "" alike and numbers
// by value (json.Number "649.40" equals float64 649.4).
func same(a, b any) bool {
	if isNilish(a) && isNilish(b) {
		return true
	}
	if reflect.DeepEqual(a, b) {
		return true
	}
	if fa, ok := num(a); ok {
		if fb, ok := num(b); ok {
			return fa == fb
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func isNilish(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && s == ""
}
