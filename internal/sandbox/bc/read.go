package bc

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/coupler/coupler/internal/odata"
)

// DefaultPageSize is BC's server-driven page size.
const DefaultPageSize = 20000

// readPlan is a parsed, validated query against one table.
type readPlan struct {
	q        odata.Query
	sel      []int
	props    []int // fields the filter reads
	expand   bool  // $expand of the document's lines
	lineSel  []int
	lower    int64 // lastModifiedDateTime lower bound (ms), with lowerInc
	lowerInc bool
	hasLower bool
}

func badQuery(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, codeBadRequest, format, args...)
}

func unknownProperty(t *table, name string) *apiError {
	return badQuery("Could not find a property named '%s' on type 'Microsoft.NAV.%s'.", name, t.set.entity)
}

func fieldPositions(t *table, names []string) ([]int, *apiError) {
	if len(names) == 0 {
		return nil, nil
	}
	out := make([]int, 0, len(names))
	for _, n := range names {
		if n == "*" {
			return nil, nil
		}
		i, ok := t.set.index[n]
		if !ok {
			return nil, unknownProperty(t, n)
		}
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	slices.Sort(out) // BC answers in page order whatever the $select order
	return out, nil
}

func (s *Server) plan(r *http.Request, t *table) (readPlan, *apiError) {
	var p readPlan
	q, err := odata.ParseQuery(r.URL.Query())
	if err != nil {
		var qe *odata.QueryError
		if errors.As(err, &qe) {
			return p, badQuery("The query specified in the URI is not valid. %s: %s", qe.Option, qe.Message)
		}
		return p, badQuery("The query specified in the URI is not valid. %v", err)
	}
	p.q = q
	var aerr *apiError
	if p.sel, aerr = fieldPositions(t, q.Select); aerr != nil {
		return p, aerr
	}
	if q.Filter != nil {
		if q.Filter.OrAcrossProperties() {
			return p, badQuery("An error occurred while processing this request. The 'OR' operator is not supported on distinct fields on an OData filter.")
		}
		if p.props, aerr = fieldPositions(t, q.Filter.Properties()); aerr != nil {
			return p, aerr
		}
		if v, inc, ok := q.Filter.Lower("lastModifiedDateTime"); ok {
			if tm, ok := v.(time.Time); ok {
				// a cheap pre-filter on the row's millisecond stamp; Match decides exactly
				p.lower, p.lowerInc, p.hasLower = tm.UnixMilli(), inc, true
			}
		}
	}
	for _, o := range q.OrderBy {
		if _, ok := t.set.index[o.Property]; !ok {
			return p, unknownProperty(t, o.Property)
		}
	}
	for _, e := range q.Expand {
		if t.set.lines == "" || e.Property != t.set.lines {
			return p, unknownProperty(t, e.Property)
		}
		p.expand = true
		if p.lineSel, aerr = fieldPositions(s.company.tables[t.set.lines], e.Select); aerr != nil {
			return p, aerr
		}
	}
	return p, nil
}

// filterRecord builds the record the filter needs: only the fields it references.
func (t *table) filterRecord(r *row, props []int) odata.Record {
	rec := make(odata.Record, len(props))
	for _, i := range props {
		rec[t.set.fields[i].name] = t.filterValue(r, i)
	}
	return rec
}

func (p *readPlan) match(t *table, r *row) (bool, *apiError) {
	if p.hasLower && r.mod < p.lower {
		return false, nil
	}
	if p.q.Filter == nil {
		return true, nil
	}
	ok, err := p.q.Filter.Match(t.filterRecord(r, p.props))
	if err != nil {
		return false, badQuery("The $filter cannot be evaluated: %v", err)
	}
	return ok, nil
}

// candidates narrows the rows to scan using the indexes (key, number/code, documentId).
func (s *Server) candidates(t *table, p *readPlan, docID string) ([]*row, bool) {
	if docID != "" {
		return t.lines(docID), true
	}
	if p.q.Filter == nil {
		return t.sorted(), false
	}
	eq := p.q.Filter.Equalities()
	if v, ok := eq[t.set.keyField].(string); ok {
		if r := t.rows[v]; r != nil {
			return []*row{r}, true
		}
		return nil, true
	}
	if t.byNumber != nil {
		if v, ok := eq[t.set.sortField].(string); ok {
			if r := t.byNumber[v]; r != nil {
				return []*row{r}, true
			}
			return nil, true
		}
	}
	if t.byDoc != nil {
		if v, ok := eq["documentId"].(string); ok {
			return t.lines(v), true
		}
	}
	if rows, ok := oneOf(t, p); ok {
		return rows, true
	}
	return t.sorted(), false
}

// oneOf is, from the key index, the rows a read by ids can return ("id eq
// … or id eq …", as coupler reads records back), in primary-key order as
// a scan would give them: BC answers one without reading the table.
// Lines keep their rule (an Id or a Document Id).
func oneOf(t *table, p *readPlan) ([]*row, bool) {
	prop, vals, ok := p.q.Filter.OneOf()
	if !ok || prop != t.set.keyField || t.set.parent != "" {
		return nil, false
	}
	var out []*row
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		if r := t.rows[s]; r != nil {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, t.less)
	return slices.Compact(out), true // an id asked for twice is one row
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, base, ctxBase string, tg target, tx *txn) {
	c := s.company
	unlock := c.lockFor(tx, false)
	defer unlock()
	t, docID := tg.t, ""
	ctx := ctxBase + t.set.name
	if tg.navSet != nil {
		parent := tg.t.rows[tg.key]
		if parent == nil {
			writeAPIError(w, notFound(tg.t, tg.key))
			return
		}
		t, docID = tg.navSet, parent.id
		ctx = ctxBase + tg.t.set.name + "(" + parent.id + ")/" + t.set.name
	}
	p, aerr := s.plan(r, t)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	rows, indexed := s.candidates(t, &p, docID)
	if t.set.parent != "" && docID == "" && !indexed {
		writeAPIError(w, dialog("You must specify an Id or a Document Id to get the lines."))
		return
	}
	pageSize := DefaultPageSize
	if pref := odata.ParsePrefer(r.Header); pref.MaxPageSize > 0 {
		pageSize = min(pref.MaxPageSize, DefaultPageSize)
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(pageSize))
	}
	var st skipToken
	if p.q.SkipToken != "" {
		if st, aerr = decodeSkip(p.q.SkipToken, t); aerr != nil {
			writeAPIError(w, aerr)
			return
		}
	}
	ordered := len(p.q.OrderBy) > 0
	countAll := -1 // @odata.count covers every match, not only those after the $skiptoken
	if p.q.Count && !ordered && p.q.SkipToken != "" {
		if countAll, aerr = p.count(t, rows); aerr != nil {
			writeAPIError(w, aerr)
			return
		}
	}
	if !ordered && p.q.SkipToken != "" {
		// resume after the last key sent: rows are in primary-key order
		i, _ := slices.BinarySearchFunc(rows, st, func(x *row, k skipToken) int {
			if t.docPos >= 0 {
				if c := compareValues(t.val(x, t.docPos), k.Doc); c != 0 {
					return c
				}
			}
			if c := compareValues(t.val(x, t.sortPos), k.Key); c != 0 {
				return c
			}
			return -1 // equal keys sort before the target: start after them
		})
		rows = rows[i:]
	}
	var matched []*row
	total := 0
	limit := pageSize
	if p.q.Top >= 0 {
		limit = p.q.Top
	}
	skip := max(p.q.Skip, 0)
	more := false
	// An ordered read's next pages reuse its sorted rows while nothing was
	// written (see orderedCache); a change set's reads see its own writes.
	var cacheKey string
	hit := false
	gen := c.mu.gen.Load()
	if ordered && tx == nil {
		qv := r.URL.Query()
		cacheKey = t.set.name + "\x00" + docID + "\x00" + qv.Get("$filter") + "\x00" + qv.Get("$orderby")
		if cached, ok := c.ordered.get(cacheKey, gen); ok {
			matched, total, rows, hit = cached, len(cached), nil, true
		}
	}
	for _, x := range rows {
		if x.deleted {
			continue
		}
		ok, aerr := p.match(t, x)
		if aerr != nil {
			writeAPIError(w, aerr)
			return
		}
		if !ok {
			continue
		}
		total++
		if ordered {
			matched = append(matched, x)
			continue
		}
		if total <= skip {
			continue
		}
		if len(matched) < limit {
			matched = append(matched, x)
			continue
		}
		more = p.q.Top < 0
		if !p.q.Count {
			break
		}
	}
	offset := 0
	if ordered {
		if !hit {
			s.sortRows(t, matched, p.q.OrderBy)
			if cacheKey != "" {
				c.ordered.put(cacheKey, gen, matched)
			}
		}
		offset = st.Offset
		start := min(offset+skip, len(matched))
		if p.q.SkipToken != "" {
			start = min(offset, len(matched))
		}
		matched = matched[start:]
		if len(matched) > limit {
			matched, more = matched[:limit], p.q.Top < 0
		}
		offset = start + len(matched)
	}
	b := getBuffer()
	defer putBuffer(b)
	b.Grow(256 + len(matched)*(64+48*len(t.set.fields)))
	b.WriteString(`{"@odata.context":`)
	appendJSONString(b, ctx)
	if p.q.Count {
		if countAll >= 0 {
			total = countAll
		}
		b.WriteString(`,"@odata.count":` + strconv.Itoa(total))
	}
	b.WriteString(`,"value":[`)
	for i, x := range matched {
		if i > 0 {
			b.WriteByte(',')
		}
		writeRecord(b, t, x, p.sel, "", s.expander(t, x, &p))
	}
	b.WriteByte(']')
	if more && len(matched) > 0 {
		last := matched[len(matched)-1]
		next := skipToken{Offset: offset}
		if !ordered {
			next = skipToken{Key: t.val(last, t.sortPos)}
			if t.docPos >= 0 {
				next.Doc, _ = t.val(last, t.docPos).(string)
			}
		}
		b.WriteString(`,"@odata.nextLink":`)
		appendJSONString(b, nextLink(r, encodeSkip(next)))
	}
	b.WriteByte('}')
	writeJSON(w, http.StatusOK, b.Bytes(), "")
}

func (s *Server) sortRows(t *table, rows []*row, by []odata.OrderItem) {
	pos := make([]int, len(by))
	for i, o := range by {
		pos[i] = t.set.index[o.Property]
	}
	slices.SortStableFunc(rows, func(a, b *row) int {
		for i, o := range by {
			c := compareValues(t.filterCompare(a, pos[i]), t.filterCompare(b, pos[i]))
			if c != 0 {
				if o.Desc {
					return -c
				}
				return c
			}
		}
		return 0
	})
}

// filterCompare gives a comparable value (lastModifiedDateTime as milliseconds).
func (t *table) filterCompare(r *row, i int) any {
	if t.set.fields[i].name == "lastModifiedDateTime" {
		return r.mod
	}
	return t.val(r, i)
}

// expander writes a header's lines when $expand asks for them.
func (s *Server) expander(t *table, r *row, p *readPlan) func(*bytes.Buffer) {
	if !p.expand {
		return nil
	}
	return func(b *bytes.Buffer) {
		lt := s.company.tables[t.set.lines]
		b.WriteString(`,"` + t.set.lines + `":[`)
		for i, l := range lt.lines(r.id) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeRecord(b, lt, l, p.lineSel, "", nil)
		}
		b.WriteByte(']')
	}
}

// entity finds the addressed record (a header, or a line under it).
func (s *Server) entity(tg target) (*table, *row, *apiError) {
	r := tg.t.rows[tg.key]
	if r == nil {
		return tg.t, nil, notFound(tg.t, tg.key)
	}
	if tg.navSet == nil {
		return tg.t, r, nil
	}
	l := tg.navSet.rows[tg.navKey]
	if l == nil || tg.navSet.str(l, "documentId") != r.id {
		return tg.navSet, nil, notFound(tg.navSet, tg.navKey)
	}
	return tg.navSet, l, nil
}

func (s *Server) getOne(w http.ResponseWriter, r *http.Request, ctxBase string, tg target, tx *txn) {
	unlock := s.company.lockFor(tx, false)
	defer unlock()
	t, x, aerr := s.entity(tg)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	p, aerr := s.plan(r, t)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	var b bytes.Buffer
	writeRecord(&b, t, x, p.sel, ctxBase+t.set.name+"/$entity", s.expander(t, x, &p))
	writeJSON(w, http.StatusOK, b.Bytes(), etag(x))
}

func (s *Server) count(w http.ResponseWriter, r *http.Request, tg target, tx *txn) {
	unlock := s.company.lockFor(tx, false)
	defer unlock()
	t, docID := tg.t, ""
	if tg.navSet != nil {
		if tg.t.rows[tg.key] == nil {
			writeAPIError(w, notFound(tg.t, tg.key))
			return
		}
		t, docID = tg.navSet, tg.key
	}
	p, aerr := s.plan(r, t)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	rows, indexed := s.candidates(t, &p, docID)
	if t.set.parent != "" && docID == "" && !indexed {
		writeAPIError(w, dialog("You must specify an Id or a Document Id to get the lines."))
		return
	}
	n, aerr := p.count(t, rows)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(strconv.Itoa(n)))
}

// count counts the live rows matching the filter.
func (p *readPlan) count(t *table, rows []*row) (int, *apiError) {
	n := 0
	for _, x := range rows {
		if x.deleted {
			continue
		}
		ok, aerr := p.match(t, x)
		if aerr != nil {
			return 0, aerr
		}
		if ok {
			n++
		}
	}
	return n, nil
}
