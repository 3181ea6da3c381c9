package syncer

import "github.com/coupler/coupler/internal/mapping"

// erpColumns and crmColumns are the fields a table run reads on each side: the mapped
// fields (what the transforms, the snapshots, the conflict check and the
// match index use) and the ERP code field. Whole rows cost decoding time
// and memory for columns nothing looks at: an account has some sixty.
//
// A side gets nil (every field, as before) when the built-in catalog does
// not know its entity or one of the mapping's fields, so that a custom
// table or column is never asked for under a name the service refuses. A
// CRM lookup is asked for as _<column>_value, the only name Dataverse
// reads it by.
func erpColumns(m *mapping.TableMapping) []string {
	known, ok := mapping.Catalog.ERPFields(m.ERPEntity)
	if !ok {
		return nil
	}
	var out []string
	add := func(f string) bool {
		if !known[f] {
			return false
		}
		out = appendNew(out, f)
		return true
	}
	if m.ERPCodeField != "" && !add(m.ERPCodeField) {
		return nil
	}
	for _, f := range m.Fields {
		if f.ERPField == "" || f.Constant != nil {
			continue
		}
		if !add(f.ERPField) {
			return nil
		}
	}
	for _, f := range m.Fields {
		// The "symbol" transform falls back on the record's code.
		if f.Transform == "symbol" && !add("code") {
			return nil
		}
	}
	return out
}

func crmColumns(m *mapping.TableMapping) []string {
	known, ok := mapping.Catalog.CRMFields(m.CRMEntity)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range m.Fields {
		if f.CRMField == "" || f.Constant != nil {
			continue
		}
		switch {
		case known[mapping.LookupColumn(f.CRMField)]:
			out = appendNew(out, mapping.LookupColumn(f.CRMField))
		case known[f.CRMField]:
			out = appendNew(out, f.CRMField)
		default:
			return nil
		}
	}
	return out
}

// crmMatchColumns are the CRM fields of the match groups only: what a
// full run reads of CRM rows it keeps as ids (see syncTable). nil when
// crmColumns is nil.
func crmMatchColumns(m *mapping.TableMapping) []string {
	if crmColumns(m) == nil {
		return nil
	}
	known, _ := mapping.Catalog.CRMFields(m.CRMEntity)
	var out []string
	for _, g := range m.MatchFields() {
		for _, f := range g {
			if known[mapping.LookupColumn(f.CRMField)] {
				out = appendNew(out, mapping.LookupColumn(f.CRMField))
			} else {
				out = appendNew(out, f.CRMField)
			}
		}
	}
	return out
}

func appendNew(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
