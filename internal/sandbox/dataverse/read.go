package dataverse

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// lock takes the read lock unless the operation runs inside a change set (which holds the
// write lock already); it returns the unlock function.
func (s *Server) rlock(op *opRequest) func() {
	if op.tx != nil {
		return func() {}
	}
	s.db.mu.RLock()
	return s.db.mu.RUnlock
}

func contextURL(op *opRequest, set string, cols []*Column, suffix string) string {
	u := op.caller.apiURL + "$metadata#" + set
	if cols != nil {
		// The context lists the selected columns; the key appended by selectColumns is not one.
		names := make([]string, 0, len(cols))
		for i, c := range cols {
			if i == len(cols)-1 && c.idx == 0 && len(cols) > 1 {
				break
			}
			names = append(names, c.readName())
		}
		u += "(" + strings.Join(names, ",") + ")"
	}
	return u + suffix
}

func jsonResult(status int, body []byte) *result {
	r := newResult(status)
	r.header.Set("Content-Type", "application/json; odata.metadata=minimal")
	r.body = body
	return r
}

func (s *Server) readCollection(op *opRequest, t *Table) (*result, error) {
	return s.readSet(op, t, nil, t.Set)
}

// readSet answers a collection GET, optionally constrained by a navigation (fixed).
func (s *Server) readSet(op *opRequest, t *Table, fixed *fixedEq, selfPath string) (*result, error) {
	defer s.rlock(op)()
	p, pref, err := s.buildPlan(t, op.query, op.header)
	if err != nil {
		return nil, err
	}
	p.fixed = fixed
	if p.q.DeltaToken != "" {
		return s.readDelta(op, p, selfPath)
	}
	tracking := pref.TrackChanges
	if tracking && (p.q.Filter != nil || p.q.OrderBy != nil || p.q.Expand != nil || p.q.Top >= 0) {
		return nil, badRequest(codeInvalidArgument, "Change tracking (odata.track-changes) cannot be combined with $filter, $orderby, $expand or $top.")
	}
	var cur cursor
	if p.q.SkipToken != "" {
		cur, err = parseCursor(p.q.SkipToken)
		if err != nil {
			return nil, badRequest(codeInvalidArgument, "%v", err)
		}
		if cur.mode != p.mode {
			return nil, badRequest(codeInvalidArgument, "The $skiptoken does not belong to this query; follow @odata.nextLink unedited.")
		}
		tracking = cur.tracking
	} else if tracking {
		cur.since = s.db.version
	}
	pg, err := s.runPlan(p, cur, p.q.Count)
	if err != nil {
		return nil, err
	}
	rd := &renderer{s: s, t: t, cols: p.cols, ann: p.ann, expand: p.expand}
	b := make([]byte, 0, 256+len(pg.rows)*512)
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, contextURL(op, t.Set, p.cols, ""))
	if p.q.Count {
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(pg.count), 10)
	}
	b = append(b, `,"value":[`...)
	for i, r := range pg.rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = rd.appendRow(b, r)
	}
	b = append(b, ']')
	if pg.more && p.q.Top < 0 {
		next := pg.next
		next.tracking, next.since = tracking, cur.since
		tok := next.token(t, pg.rows[0].id, pg.rows[len(pg.rows)-1].id)
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, op.caller.apiURL+selfPath+"?"+withoutOption(op.query, "$skiptoken", "$skiptoken="+url.QueryEscape(tok)))
	} else if tracking {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendString(b, op.caller.apiURL+selfPath+"?"+withoutOption(op.query, "$skiptoken", "$deltatoken="+url.QueryEscape(s.deltaToken(cur.since))))
	}
	b = append(b, '}')
	res := jsonResult(http.StatusOK, b)
	applied(res, pref.MaxPageSize > 0, "odata.maxpagesize="+strconv.Itoa(pref.MaxPageSize))
	applied(res, p.ann.any(), `odata.include-annotations="`+pref.IncludeAnnotations+`"`)
	applied(res, tracking, "odata.track-changes")
	return res, nil
}

func applied(res *result, ok bool, v string) {
	if ok {
		res.header.Add("Preference-Applied", v)
	}
}

// deltaToken formats a change-tracking token as Dataverse does: "<version>!<date>".
func (s *Server) deltaToken(version int64) string {
	return strconv.FormatInt(version, 10) + "!" + s.clock().UTC().Format("01/02/2006 15:04:05")
}

// withoutOption returns rawQuery without the given option, with extra appended.
func withoutOption(rawQuery, option, extra string) string {
	var parts []string
	for _, p := range strings.Split(rawQuery, "&") {
		if p == "" {
			continue
		}
		name, _, _ := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if name == option || name == "$deltatoken" || name == "$skiptoken" {
			continue
		}
		parts = append(parts, p)
	}
	return strings.Join(append(parts, extra), "&")
}

// readDelta answers a change-tracking read: rows changed since the token and deletions.
func (s *Server) readDelta(op *opRequest, p *plan, selfPath string) (*result, error) {
	if p.q.Filter != nil || p.q.OrderBy != nil || p.q.Expand != nil || p.q.Top >= 0 {
		return nil, badRequest(codeInvalidArgument, "A delta ($deltatoken) request cannot use $filter, $orderby, $expand or $top.")
	}
	vtext, _, _ := strings.Cut(p.q.DeltaToken, "!")
	since, err := strconv.ParseInt(vtext, 10, 64)
	if err != nil || since < 0 || since > s.db.version {
		return nil, badRequest(codeInvalidArgument, "The $deltatoken '%s' is not valid for this organisation; start again with Prefer: odata.track-changes.", p.q.DeltaToken)
	}
	ts := s.db.store(p.t.Logical)
	from := since
	page := 1
	if p.q.SkipToken != "" {
		cur, err := parseCursor(p.q.SkipToken)
		if err != nil || cur.mode != 'v' {
			return nil, badRequest(codeInvalidArgument, "The $skiptoken is not a paging cookie of this delta read; follow @odata.nextLink unedited.")
		}
		from, page = cur.pos, cur.page
	}
	rd := &renderer{s: s, t: p.t, cols: p.cols, ann: p.ann}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, contextURL(op, p.t.Set, p.cols, "/$delta"))
	b = append(b, `,"value":[`...)
	n, last, more := 0, from, false
	i := searchVersion(ts, from)
	for ; i < len(ts.changes); i++ {
		r := ts.changes[i]
		if !ts.current(r) {
			continue
		}
		if n == p.pageSize {
			more = true
			break
		}
		if n > 0 {
			b = append(b, ',')
		}
		if r.deleted {
			b = append(b, `{"@odata.context":`...)
			b = appendString(b, op.caller.apiURL+"$metadata#"+p.t.Set+"/$deletedEntity")
			b = append(b, `,"id":`...)
			b = appendString(b, r.id.String())
			b = append(b, `,"reason":"deleted"}`...)
		} else {
			b = rd.appendRow(b, r)
		}
		n++
		last = r.version
	}
	b = append(b, ']')
	if more {
		tok := cursor{page: page + 1, mode: 'v', pos: last}.token(p.t, uuid.Nil, uuid.Nil)
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, op.caller.apiURL+selfPath+"?"+withoutOption(op.query, "$skiptoken",
			"$deltatoken="+url.QueryEscape(p.q.DeltaToken)+"&$skiptoken="+url.QueryEscape(tok)))
	} else {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendString(b, op.caller.apiURL+selfPath+"?"+withoutOption(op.query, "$deltatoken", "$deltatoken="+url.QueryEscape(s.deltaToken(s.db.version))))
	}
	b = append(b, '}')
	return jsonResult(http.StatusOK, b), nil
}

func searchVersion(ts *tableStore, after int64) int {
	lo, hi := 0, len(ts.changes)
	for lo < hi {
		m := (lo + hi) / 2
		if ts.changes[m].version > after {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// findRow resolves a key to a live row. Callers hold a lock.
func (s *Server) findRow(t *Table, key keyRef) (*row, *apiError) {
	ts := s.db.store(t.Logical)
	if key.alt == nil {
		if r := ts.byID[key.id]; r != nil {
			return r, nil
		}
		return nil, notFound(t, key.id.String())
	}
	r, defined := ts.byAltKey(key.alt)
	if !defined {
		names := make([]string, 0, len(key.alt))
		for n := range key.alt {
			names = append(names, n)
		}
		return nil, badRequest(codeInvalidArgument, "No alternate key is defined on %s for the attribute(s) %s; define one with POST EntityDefinitions(LogicalName='%s')/Keys or use the primary key.",
			t.Logical, strings.Join(names, ","), t.Logical)
	}
	if r == nil {
		return nil, notFound(t, key.raw)
	}
	return r, nil
}

func (s *Server) readOne(op *opRequest, t *Table, key keyRef) (*result, error) {
	defer s.rlock(op)()
	p, pref, err := s.buildPlan(t, op.query, op.header)
	if err != nil {
		return nil, err
	}
	r, aerr := s.findRow(t, key)
	if aerr != nil {
		return nil, aerr
	}
	tag := etag(r.version)
	if inm := op.header.Get("If-None-Match"); inm != "" && inm != "null" && inm == tag && p.expand == nil && !p.ann.any() {
		res := newResult(http.StatusNotModified)
		res.header.Set("ETag", tag)
		return res, nil
	}
	res := jsonResult(http.StatusOK, s.entityBody(op, t, r, p.cols, p.ann, p.expand))
	res.header.Set("ETag", tag)
	applied(res, p.ann.any(), `odata.include-annotations="`+pref.IncludeAnnotations+`"`)
	return res, nil
}

// entityBody is a single record with its $entity context. Callers hold a lock.
func (s *Server) entityBody(op *opRequest, t *Table, r *row, cols []*Column, ann annotations, expand []expandPlan) []byte {
	rd := &renderer{s: s, t: t, cols: cols, ann: ann, expand: expand}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, contextURL(op, t.Set, cols, "/$entity"))
	b = append(b, ',')
	row := rd.appendRow(nil, r)
	return append(b, row[1:]...)
}

// navigate serves paths below a record: navigation properties, $ref and single properties.
func (s *Server) navigate(op *opRequest, t *Table, key keyRef, segs []segment) (*result, error) {
	nav := segs[0]
	rest := segs[1:]
	isRef := len(rest) > 0 && rest[len(rest)-1].name == "$ref"
	if nav.name == "systemuserroles_association" && (t.Logical == "systemuser" || t.Logical == "role") {
		return s.manyToMany(op, t, key, nav, isRef)
	}
	if cn, ok := t.Collections[nav.name]; ok && !nav.hasKey && len(rest) == 0 && op.method == http.MethodGet {
		child := s.schema.table(cn.Child)
		unlock := s.rlock(op)
		r, aerr := s.findRow(t, key)
		unlock()
		if aerr != nil {
			return nil, aerr
		}
		return s.readSet(op, child, &fixedEq{col: child.col(cn.Column), val: ref{ID: r.id, Table: t.Logical}}, t.Set+"("+r.id.String()+")/"+nav.name)
	}
	if n, ok := t.nav[nav.name]; ok {
		if isRef {
			return s.setReference(op, t, key, n)
		}
		if len(rest) == 0 && op.method == http.MethodGet {
			defer s.rlock(op)()
			r, aerr := s.findRow(t, key)
			if aerr != nil {
				return nil, aerr
			}
			v, _ := r.get(n.Col.idx).(ref)
			target := s.schema.table(v.Table)
			if v.ID == uuid.Nil || target == nil || (n.Target != "" && n.Target != v.Table) || s.db.store(v.Table).byID[v.ID] == nil {
				return newResult(http.StatusNoContent), nil
			}
			p, _, err := s.buildPlan(target, op.query, op.header)
			if err != nil {
				return nil, err
			}
			return jsonResult(http.StatusOK, s.entityBody(op, target, s.db.store(v.Table).byID[v.ID], p.cols, p.ann, p.expand)), nil
		}
	}
	if c := t.columnForRead(nav.name); c != nil && !nav.hasKey {
		return s.property(op, t, key, c, rest)
	}
	return nil, noSegment(nav.name)
}

// property reads or writes one column: GET accounts(id)/name, PUT, DELETE.
func (s *Server) property(op *opRequest, t *Table, key keyRef, c *Column, rest []segment) (*result, error) {
	switch op.method {
	case http.MethodGet:
		defer s.rlock(op)()
		r, aerr := s.findRow(t, key)
		if aerr != nil {
			return nil, aerr
		}
		v := r.get(c.idx)
		if len(rest) == 1 && rest[0].name == "$value" {
			res := newResult(http.StatusOK)
			res.header.Set("Content-Type", "text/plain")
			res.body = []byte(formatPlain(v))
			return res, nil
		}
		if v == nil {
			return newResult(http.StatusNoContent), nil
		}
		b := []byte(`{"@odata.context":`)
		b = appendString(b, op.caller.apiURL+"$metadata#"+t.Set+"("+r.id.String()+")/"+c.readName())
		b = append(b, `,"value":`...)
		b = appendJSON(b, c, v)
		return jsonResult(http.StatusOK, append(b, '}')), nil
	case http.MethodPut, http.MethodDelete:
		if c.Type == tLookup {
			return nil, badRequest(codeInvalidArgument, "Set the lookup '%s' through its navigation property ($ref or @odata.bind).", c.Name)
		}
		body := []byte("null")
		if op.method == http.MethodPut {
			var w struct {
				Value jsonRaw `json:"value"`
			}
			if err := unmarshalStrict(op.body, &w); err != nil || w.Value == nil {
				return nil, badRequest(codeInvalidArgument, "The body of a property PUT must be {\"value\": …}.")
			}
			body = w.Value
		}
		patch := fmt.Sprintf(`{%q:%s}`, c.Name, body)
		sub := *op
		sub.method, sub.body = http.MethodPatch, []byte(patch)
		sub.header = op.header.Clone()
		sub.header.Set("If-Match", "*")
		if _, err := s.upsert(&sub, t, key); err != nil {
			return nil, err
		}
		return newResult(http.StatusNoContent), nil
	}
	return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "The HTTP method '%s' is not allowed on a property.", op.method)
}

// countSegment answers GET /set/$count: the number of (filtered) rows as plain text, capped
// at 5,000 as the service caps it.
func (s *Server) countSegment(op *opRequest, t *Table) (*result, error) {
	defer s.rlock(op)()
	p, _, err := s.buildPlan(t, op.query, op.header)
	if err != nil {
		return nil, err
	}
	n, err := s.count(p, s.db.store(t.Logical))
	if err != nil {
		return nil, err
	}
	res := newResult(http.StatusOK)
	res.header.Set("Content-Type", "text/plain")
	res.body = []byte(strconv.Itoa(n))
	return res, nil
}
