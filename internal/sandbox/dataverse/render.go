package dataverse

import (
	"strconv"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/odata"
	"github.com/google/uuid"
)

// Annotation names Dataverse writes when odata.include-annotations asks for them.
const (
	annFormatted = "OData.Community.Display.V1.FormattedValue"
	annLogical   = "Microsoft.Dynamics.CRM.lookuplogicalname"
	annNav       = "Microsoft.Dynamics.CRM.associatednavigationproperty"
)

// annotations says which instance annotations a response carries.
type annotations struct{ formatted, logical, nav bool }

// parseAnnotations reads the include-annotations preference: "*", or a comma-separated list
// of names or "Namespace.*" patterns.
func parseAnnotations(pref string) annotations {
	var a annotations
	for _, p := range strings.Split(pref, ",") {
		p = strings.TrimSpace(p)
		match := func(name string) bool {
			if p == "*" || p == name {
				return true
			}
			if strings.HasSuffix(p, ".*") {
				return strings.HasPrefix(name, strings.TrimSuffix(p, "*"))
			}
			return false
		}
		a.formatted = a.formatted || match(annFormatted)
		a.logical = a.logical || match(annLogical)
		a.nav = a.nav || match(annNav)
	}
	return a
}

func (a annotations) any() bool { return a.formatted || a.logical || a.nav }

// expandPlan is one resolved $expand item.
type expandPlan struct {
	name   string
	single *navRef        // single-valued: lookup column on this table
	coll   *collectionNav // collection-valued: child table + its lookup column
	n2n    bool           // systemuserroles_association
	target *Table
	cols   []*Column // nil = all
}

// renderer writes rows of one table as JSON objects. Callers hold the read lock.
type renderer struct {
	s      *Server
	t      *Table
	cols   []*Column // columns to write (nil = all)
	ann    annotations
	expand []expandPlan
}

func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

func (rd *renderer) columns() []*Column {
	if rd.cols != nil {
		return rd.cols
	}
	return rd.t.cols
}

// appendRow appends one record object.
func (rd *renderer) appendRow(b []byte, r *row) []byte {
	b = append(b, `{"@odata.etag":`...)
	b = appendString(b, etag(r.version))
	for _, c := range rd.columns() {
		v := r.value(c)
		name := c.readName()
		if v != nil && rd.ann.any() {
			b = rd.appendAnnotations(b, c, name, v)
		}
		b = append(b, ',')
		b = appendString(b, name)
		b = append(b, ':')
		b = appendJSON(b, c, v)
	}
	for _, e := range rd.expand {
		b = append(b, ',')
		b = appendString(b, e.name)
		b = append(b, ':')
		b = rd.appendExpanded(b, r, e)
	}
	return append(b, '}')
}

func (rd *renderer) appendAnnotations(b []byte, c *Column, name string, v any) []byte {
	if rd.ann.formatted {
		if f, ok := rd.s.formatted(c, v); ok {
			b = append(b, ',')
			b = appendString(b, name+"@"+annFormatted)
			b = append(b, ':')
			b = appendString(b, f)
		}
	}
	if lv, ok := v.(ref); ok && c.Type == tLookup {
		if rd.ann.nav {
			b = append(b, ',')
			b = appendString(b, name+"@"+annNav)
			b = append(b, ':')
			b = appendString(b, c.navFor(lv.Table))
		}
		if rd.ann.logical {
			b = append(b, ',')
			b = appendString(b, name+"@"+annLogical)
			b = append(b, ':')
			b = appendString(b, lv.Table)
		}
	}
	return b
}

func (rd *renderer) appendExpanded(b []byte, r *row, e expandPlan) []byte {
	sub := &renderer{s: rd.s, t: e.target, cols: e.cols, ann: rd.ann}
	switch {
	case e.single != nil:
		v, _ := r.get(e.single.Col.idx).(ref)
		if v.ID == uuid.Nil || (e.single.Target != "" && v.Table != e.single.Target) {
			return append(b, "null"...)
		}
		ts := rd.s.db.stores[v.Table]
		if ts == nil || ts.byID[v.ID] == nil {
			return append(b, "null"...)
		}
		return sub.appendRow(b, ts.byID[v.ID])
	case e.coll != nil:
		ts := rd.s.db.stores[e.coll.Child]
		b = append(b, '[')
		if ts != nil {
			ids, _ := ts.lookupEq(ts.t.col(e.coll.Column).idx, ref{ID: r.id})
			rows := rowsBySeq(ts, ids)
			for i, cr := range rows {
				if i > 0 {
					b = append(b, ',')
				}
				b = sub.appendRow(b, cr)
			}
		}
		return append(b, ']')
	case e.n2n:
		b = append(b, '[')
		ts := rd.s.db.stores[e.target.Logical]
		var set map[uuid.UUID]bool
		if rd.t.Logical == "systemuser" {
			set = rd.s.db.userRoles[r.id]
		} else {
			set = rd.s.db.roleUsers[r.id]
		}
		ids := make([]uuid.UUID, 0, len(set))
		for id := range set {
			ids = append(ids, id)
		}
		for i, cr := range rowsBySeq(ts, ids) {
			if i > 0 {
				b = append(b, ',')
			}
			b = sub.appendRow(b, cr)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

// formatted is the FormattedValue annotation of a value, when the type has one.
func (s *Server) formatted(c *Column, v any) (string, bool) {
	switch c.Type {
	case tPicklist, tState, tStatus:
		i, _ := v.(int64)
		l, ok := c.Options[int(i)]
		return l, ok
	case tBool:
		if b, _ := v.(bool); b {
			return "Yes", true
		}
		return "No", true
	case tMoney:
		f, _ := v.(float64)
		return "£" + groupThousands(strconv.FormatFloat(f, 'f', 2, 64)), true
	case tDecimal, tDouble:
		f, _ := v.(float64)
		return groupThousands(strconv.FormatFloat(f, 'f', 2, 64)), true
	case tInt:
		i, _ := v.(int64)
		return groupThousands(strconv.FormatInt(i, 10)), true
	case tDateTime:
		tm, _ := v.(time.Time)
		return tm.UTC().Format("1/2/2006 3:04 PM"), true
	case tDateOnly:
		tm, _ := v.(time.Time)
		return tm.UTC().Format("1/2/2006"), true
	case tLookup:
		lv, _ := v.(ref)
		ts := s.db.stores[lv.Table]
		if ts == nil {
			return "", false
		}
		r := ts.byID[lv.ID]
		if r == nil {
			return "", false
		}
		pc := ts.t.col(ts.t.PrimaryName)
		if pc == nil {
			return "", false
		}
		name, ok := r.get(pc.idx).(string)
		return name, ok
	}
	return "", false
}

// groupThousands inserts commas into the integer part of a plain decimal number.
func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var out []byte
	for i := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, intPart[i])
	}
	res := string(out)
	if hasFrac {
		res += "." + frac
	}
	if neg {
		res = "-" + res
	}
	return res
}

// record builds the odata.Record the filter evaluator sees, holding only props (read names,
// possibly "nav/column" paths). Callers hold the read lock.
func (s *Server) record(t *Table, r *row, props []string) odata.Record {
	rec := make(odata.Record, len(props))
	for _, p := range props {
		if nav, sub, ok := strings.Cut(p, "/"); ok {
			n, found := t.nav[nav]
			if !found {
				continue
			}
			v, _ := r.get(n.Col.idx).(ref)
			var nested odata.Record
			if ts := s.db.stores[v.Table]; v.ID != uuid.Nil && ts != nil && (n.Target == "" || n.Target == v.Table) {
				if tr := ts.byID[v.ID]; tr != nil {
					nested = s.record(ts.t, tr, []string{sub})
				}
			}
			if prev, ok := rec[nav].(odata.Record); ok && nested != nil {
				for k, x := range nested {
					prev[k] = x
				}
			} else if nested != nil {
				rec[nav] = nested
			}
			continue
		}
		if c := t.columnForRead(p); c != nil {
			rec[p] = recordValue(r.value(c))
		}
	}
	return rec
}

// rowsBySeq resolves ids to live rows in creation order.
func rowsBySeq(ts *tableStore, ids []uuid.UUID) []*row {
	out := make([]*row, 0, len(ids))
	for _, id := range ids {
		if r := ts.byID[id]; r != nil {
			out = append(out, r)
		}
	}
	sortRowsBySeq(out)
	return out
}
