package dataverse

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/odata"
	"github.com/google/uuid"
)

// Paging limits of the Web API.
const (
	maxPageSize = 5000
	maxCount    = 5000
	// indexThreshold: an equality index is used when it narrows the scan to at most this
	// many rows (beyond it, sorting the candidates costs more than scanning in order).
	indexThreshold = 50000
)

// plan is a validated collection query.
type plan struct {
	t        *Table
	q        odata.Query
	props    []string // properties the filter reads
	cols     []*Column
	expand   []expandPlan
	ann      annotations
	pageSize int
	fixed    *fixedEq // an equality the URL imposes (navigation collections)
	mode     byte     // 's' creation order, 'v' modifiedon/version order, 'o' sorted
}

type fixedEq struct {
	col *Column
	val any // stored form (ref for lookups)
}

// cursor is the decoded $skiptoken.
type cursor struct {
	page     int
	mode     byte
	pos      int64 // last seq (s), last version (v) or offset (o)
	tracking bool
	since    int64 // tracking: the version the read started at
}

var cookieRe = regexp.MustCompile(`pagenumber="(\d+)".*istracking="(True|False)"(?:.*pos="([svo]):(\d+)")?(?:.*since="(\d+)")?`)

func (c cursor) token(t *Table, first, last uuid.UUID) string {
	inner := fmt.Sprintf(`<cookie page="%d"><%s last="{%s}" first="{%s}" /></cookie>`, c.page-1, t.Key,
		strings.ToUpper(last.String()), strings.ToUpper(first.String()))
	tracking := "False"
	if c.tracking {
		tracking = "True"
	}
	return fmt.Sprintf(`<cookie pagenumber="%d" pagingcookie="%s" istracking="%s" pos="%c:%d" since="%d" />`,
		c.page, url.QueryEscape(url.QueryEscape(inner)), tracking, c.mode, c.pos, c.since)
}

func parseCursor(tok string) (cursor, error) {
	m := cookieRe.FindStringSubmatch(tok)
	if m == nil || m[3] == "" {
		return cursor{}, errors.New("the $skiptoken is not a paging cookie issued by this organisation; follow @odata.nextLink unedited")
	}
	page, _ := strconv.Atoi(m[1])
	pos, _ := strconv.ParseInt(m[4], 10, 64)
	since, _ := strconv.ParseInt(m[5], 10, 64)
	return cursor{page: page, mode: m[3][0], pos: pos, tracking: m[2] == "True", since: since}, nil
}

// buildPlan validates the query options against the table.
func (s *Server) buildPlan(t *Table, rawQuery string, h http.Header) (*plan, odata.Prefer, error) {
	pref := odata.ParsePrefer(h)
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, pref, badRequest(codeODataGeneric, "The query string is not valid: %v.", err)
	}
	for k := range vals {
		switch k {
		case "fetchXml", "savedQuery", "userQuery":
			return nil, pref, badRequest(codeODataGeneric, "The query parameter %s is not supported by this simulator; use $select/$filter/$orderby.", k)
		}
		if strings.HasPrefix(k, "$") && (k == "$skip" || k == "$search" || k == "$apply" || k == "$format") {
			if k == "$apply" {
				return nil, pref, badRequest(codeODataGeneric, "The query parameter $apply is not supported by this simulator.")
			}
			return nil, pref, badRequest(codeODataGeneric, "The query parameter %s is not supported", k)
		}
	}
	q, err := odata.ParseQuery(vals)
	if err != nil {
		var qe *odata.QueryError
		if errors.As(err, &qe) {
			return nil, pref, badRequest(codeODataGeneric, "Invalid %s: %s", qe.Option, qe.Message)
		}
		return nil, pref, badRequest(codeODataGeneric, "%v", err)
	}
	p := &plan{t: t, q: q, ann: parseAnnotations(pref.IncludeAnnotations), mode: 's'}
	if q.Select != nil {
		p.cols, err = selectColumns(t, q.Select)
		if err != nil {
			return nil, pref, err
		}
	}
	if q.Filter != nil {
		q.Filter.IgnoreCase = true
		for _, prop := range q.Filter.Properties() {
			if err := checkPath(t, prop); err != nil {
				return nil, pref, err
			}
			p.props = append(p.props, prop)
		}
	}
	for _, o := range q.OrderBy {
		if err := checkPath(t, o.Property); err != nil {
			return nil, pref, err
		}
	}
	for _, e := range q.Expand {
		ep, err := s.planExpand(t, e)
		if err != nil {
			return nil, pref, err
		}
		p.expand = append(p.expand, ep)
	}
	p.pageSize = maxPageSize
	if pref.MaxPageSize > 0 && pref.MaxPageSize < maxPageSize {
		p.pageSize = pref.MaxPageSize
	}
	if q.Top >= 0 && q.Top < p.pageSize {
		p.pageSize = q.Top
	}
	switch {
	case len(q.OrderBy) == 0 || len(q.OrderBy) == 1 && q.OrderBy[0].Property == t.Key && !q.OrderBy[0].Desc:
		p.mode = 's'
	case q.OrderBy[0].Property == "modifiedon" && !q.OrderBy[0].Desc &&
		(len(q.OrderBy) == 1 || len(q.OrderBy) == 2 && q.OrderBy[1].Property == t.Key):
		p.mode = 'v'
	default:
		p.mode = 'o'
	}
	return p, pref, nil
}

// selectColumns resolves $select; the primary key is always returned (after the selected
// columns, as the service writes it).
func selectColumns(t *Table, names []string) ([]*Column, error) {
	var cols []*Column
	seen := map[*Column]bool{}
	for _, n := range names {
		c := t.columnForRead(n)
		if c == nil {
			return nil, badProperty(t, n)
		}
		if !seen[c] {
			seen[c] = true
			cols = append(cols, c)
		}
	}
	if key := t.col(t.Key); !seen[key] {
		cols = append(cols, key)
	}
	return cols, nil
}

func checkPath(t *Table, prop string) error {
	if nav, _, ok := strings.Cut(prop, "/"); ok {
		if _, found := t.nav[nav]; !found {
			return badProperty(t, nav)
		}
		return nil
	}
	if t.columnForRead(prop) == nil {
		return badProperty(t, prop)
	}
	return nil
}

func (s *Server) planExpand(t *Table, e odata.ExpandItem) (expandPlan, error) {
	ep := expandPlan{name: e.Property}
	if n, ok := t.nav[e.Property]; ok {
		target := n.Target
		if target == "" {
			target = n.Col.Targets[0]
		}
		ep.single, ep.target = &n, s.schema.table(target)
	} else if cn, ok := t.Collections[e.Property]; ok {
		ep.coll, ep.target = &cn, s.schema.table(cn.Child)
	} else if e.Property == "systemuserroles_association" && (t.Logical == "systemuser" || t.Logical == "role") {
		ep.n2n = true
		ep.target = s.schema.table(map[string]string{"systemuser": "role", "role": "systemuser"}[t.Logical])
	} else {
		return ep, badProperty(t, e.Property)
	}
	if ep.target == nil {
		return ep, noSegment(e.Property)
	}
	if e.Select != nil {
		cols, err := selectColumns(ep.target, e.Select)
		if err != nil {
			return ep, err
		}
		ep.cols = cols
	}
	return ep, nil
}

// match evaluates the filter (and the fixed equality) on one row.
func (s *Server) match(p *plan, r *row) (bool, error) {
	if p.fixed != nil {
		v, _ := r.get(p.fixed.col.idx).(ref)
		if want, _ := p.fixed.val.(ref); v.ID != want.ID {
			return false, nil
		}
	}
	if p.q.Filter == nil {
		return true, nil
	}
	ok, err := p.q.Filter.Match(s.record(p.t, r, p.props))
	if err != nil {
		return false, badRequest(codeODataGeneric, "Invalid $filter: %v", err)
	}
	return ok, nil
}

// candidates returns a narrowed, seq-ordered row list when an equality index applies.
func (s *Server) candidates(p *plan, ts *tableStore) ([]*row, bool) {
	if p.fixed != nil {
		ids, ok := ts.lookupEq(p.fixed.col.idx, p.fixed.val)
		if ok {
			return rowsBySeq(ts, ids), true
		}
	}
	if p.q.Filter == nil {
		return nil, false
	}
	var best []uuid.UUID
	found := false
	for prop, v := range p.q.Filter.Equalities() {
		c := p.t.columnForRead(prop)
		if c == nil || v == nil {
			continue
		}
		key, valid := eqKey(p.t, c, v)
		if c.Name == p.t.Key {
			if !valid {
				return nil, true
			}
			best, found = []uuid.UUID{key.(uuid.UUID)}, true
			break
		}
		if !valid {
			continue
		}
		ids, ok := ts.lookupEq(c.idx, key)
		if ok && (!found || len(ids) < len(best)) {
			best, found = ids, true
		}
	}
	if !found {
		best, found = oneOf(p, ts)
	}
	if !found || len(best) > indexThreshold {
		return nil, false
	}
	return rowsBySeq(ts, best), true
}

// oneOf is, from the indexes, the ids of the rows a read by ids can
// return ("accountid eq … or accountid eq …", or the same on an indexed
// column): Dataverse answers one from an index, not by a scan of the table.
func oneOf(p *plan, ts *tableStore) ([]uuid.UUID, bool) {
	prop, vals, ok := p.q.Filter.OneOf()
	if !ok {
		return nil, false
	}
	c := p.t.columnForRead(prop)
	if c == nil {
		return nil, false
	}
	seen := make(map[uuid.UUID]bool, len(vals))
	var out []uuid.UUID
	add := func(ids ...uuid.UUID) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	for _, v := range vals {
		if v == nil {
			return nil, false
		}
		key, valid := eqKey(p.t, c, v)
		if !valid {
			continue // no row holds it
		}
		if c.Name == p.t.Key {
			add(key.(uuid.UUID))
			continue
		}
		ids, ok := ts.lookupEq(c.idx, key)
		if !ok {
			return nil, false
		}
		add(ids...)
	}
	return out, true
}

// eqKey is v as column c's index (or the table's key) holds it: a GUID
// for the key, lookups and GUID columns; false for a value that is not a
// GUID there, which no row holds.
func eqKey(t *Table, c *Column, v any) (any, bool) {
	if c.Name != t.Key && c.Type != tLookup && c.Type != tGUID {
		return v, true
	}
	id, err := uuid.Parse(fmt.Sprint(v))
	return id, err == nil
}

func sortRowsBySeq(rs []*row) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].seq < rs[j].seq })
}

// page is the outcome of one read.
type page struct {
	rows  []*row
	tombs []*row // delta reads: deleted rows
	more  bool
	next  cursor
	count int
}

// runPlan executes p from cursor cur. Callers hold the read lock.
func (s *Server) runPlan(p *plan, cur cursor, wantCount bool) (page, error) {
	ts := s.db.store(p.t.Logical)
	var pg page
	limit := p.pageSize
	if wantCount {
		n, err := s.count(p, ts)
		if err != nil {
			return pg, err
		}
		pg.count = n
	}
	switch p.mode {
	case 's':
		rows, indexed := s.candidates(p, ts)
		visit := func(r *row) (bool, error) {
			if r == nil || int64(r.seq) <= cur.pos && cur.page > 0 {
				return true, nil
			}
			ok, err := s.match(p, r)
			if err != nil || !ok {
				return err == nil, err
			}
			if len(pg.rows) == limit {
				pg.more = true
				return false, nil
			}
			pg.rows = append(pg.rows, r)
			return true, nil
		}
		if indexed {
			for _, r := range rows {
				if cont, err := visit(r); err != nil || !cont {
					if err != nil {
						return pg, err
					}
					break
				}
			}
		} else {
			start := 0
			if cur.page > 0 {
				start = int(cur.pos) + 1
			}
			for i := start; i < len(ts.seqs); i++ {
				if cont, err := visit(ts.seqs[i]); err != nil || !cont {
					if err != nil {
						return pg, err
					}
					break
				}
			}
		}
		if len(pg.rows) > 0 {
			pg.next = cursor{page: max(cur.page, 1) + 1, mode: 's', pos: int64(pg.rows[len(pg.rows)-1].seq)}
		}
	case 'v':
		lower := s.modifiedLower(p)
		i := sort.Search(len(ts.changes), func(i int) bool {
			c := ts.changes[i]
			if cur.page > 0 {
				return c.version > cur.pos
			}
			return c.modified >= lower
		})
		for ; i < len(ts.changes); i++ {
			r := ts.changes[i]
			if r.deleted || !ts.current(r) {
				continue
			}
			ok, err := s.match(p, r)
			if err != nil {
				return pg, err
			}
			if !ok {
				continue
			}
			if len(pg.rows) == limit {
				pg.more = true
				break
			}
			pg.rows = append(pg.rows, r)
		}
		if len(pg.rows) > 0 {
			pg.next = cursor{page: max(cur.page, 1) + 1, mode: 'v', pos: pg.rows[len(pg.rows)-1].version}
		}
	default:
		var all []*row
		var recs []odata.Record
		props := append([]string{}, p.props...)
		for _, o := range p.q.OrderBy {
			props = append(props, o.Property)
		}
		rows, indexed := s.candidates(p, ts)
		if !indexed {
			rows = make([]*row, 0, len(ts.byID))
			for _, r := range ts.seqs {
				if r != nil {
					rows = append(rows, r)
				}
			}
		}
		for _, r := range rows {
			ok, err := s.match(p, r)
			if err != nil {
				return pg, err
			}
			if ok {
				rec := s.record(p.t, r, props)
				rec["\x00seq"] = int64(len(all))
				all = append(all, r)
				recs = append(recs, rec)
			}
		}
		odata.SortRecords(recs, p.q.OrderBy)
		off := 0
		if cur.page > 0 {
			off = int(cur.pos)
		}
		for i := off; i < len(recs); i++ {
			if len(pg.rows) == limit {
				pg.more = true
				break
			}
			pg.rows = append(pg.rows, all[recs[i]["\x00seq"].(int64)])
		}
		pg.next = cursor{page: max(cur.page, 1) + 1, mode: 'o', pos: int64(off + len(pg.rows))}
	}
	return pg, nil
}

// modifiedLower is the modifiedon lower bound of the filter (unix ns), or the minimum.
func (s *Server) modifiedLower(p *plan) int64 {
	if p.q.Filter == nil {
		return -1 << 63
	}
	v, _, ok := p.q.Filter.Lower("modifiedon")
	if !ok {
		return -1 << 63
	}
	var tm time.Time
	switch x := v.(type) {
	case time.Time:
		tm = x
	case string:
		t2, err := parseTime(x)
		if err != nil {
			return -1 << 63
		}
		tm = t2
	default:
		return -1 << 63
	}
	// Inclusive or not, start at the bound; Match drops the equal ones for gt.
	return tm.UnixNano()
}

// count counts matches, stopping at the Web API's cap.
func (s *Server) count(p *plan, ts *tableStore) (int, error) {
	if p.q.Filter == nil && p.fixed == nil {
		return min(len(ts.byID), maxCount), nil
	}
	n := 0
	check := func(r *row) (bool, error) {
		if r == nil {
			return true, nil
		}
		ok, err := s.match(p, r)
		if ok {
			n++
		}
		return n < maxCount, err
	}
	if rows, indexed := s.candidates(p, ts); indexed {
		for _, r := range rows {
			if cont, err := check(r); err != nil || !cont {
				return n, err
			}
		}
		return n, nil
	}
	for _, r := range ts.seqs {
		if cont, err := check(r); err != nil || !cont {
			return n, err
		}
	}
	return n, nil
}
