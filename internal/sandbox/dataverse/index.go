package dataverse

import (
	"strings"

	"github.com/google/uuid"
)

// posting is the set of row ids holding one index key. Most keys (names, numbers, e-mails,
// parent records) hold one row, stored inline in 24 bytes; larger sets move to a postingSet,
// which keeps positions so that removal stays O(1).
type posting struct {
	one  uuid.UUID
	more *postingSet
}

type postingSet struct {
	ids []uuid.UUID
	pos map[uuid.UUID]int
}

const postingPosThreshold = 32

func (p posting) empty() bool { return p.more == nil && p.one == uuid.Nil }

func (p posting) list() []uuid.UUID {
	if p.more != nil {
		return p.more.ids
	}
	if p.one == uuid.Nil {
		return nil
	}
	return []uuid.UUID{p.one}
}

func (p *posting) add(id uuid.UUID) {
	switch {
	case p.more == nil && p.one == uuid.Nil:
		p.one = id
		return
	case p.more == nil:
		p.more = &postingSet{ids: []uuid.UUID{p.one}}
		p.one = uuid.Nil
	}
	m := p.more
	m.ids = append(m.ids, id)
	if m.pos != nil {
		m.pos[id] = len(m.ids) - 1
	} else if len(m.ids) > postingPosThreshold {
		m.pos = make(map[uuid.UUID]int, len(m.ids))
		for i, x := range m.ids {
			m.pos[x] = i
		}
	}
}

func (p *posting) remove(id uuid.UUID) {
	if p.more == nil {
		if p.one == id {
			p.one = uuid.Nil
		}
		return
	}
	m := p.more
	i := -1
	if m.pos != nil {
		if j, ok := m.pos[id]; ok {
			i = j
			delete(m.pos, id)
		}
	} else {
		for j, x := range m.ids {
			if x == id {
				i = j
				break
			}
		}
	}
	if i < 0 {
		return
	}
	last := len(m.ids) - 1
	if i != last {
		m.ids[i] = m.ids[last]
		if m.pos != nil {
			m.pos[m.ids[i]] = i
		}
	}
	m.ids = m.ids[:last]
	if len(m.ids) == 1 {
		p.one, p.more = m.ids[0], nil
	} else if len(m.ids) == 0 {
		p.more = nil
	}
}

// indexKey normalises a value for equality lookups: strings compare case-insensitively in
// Dataverse, lookups by id.
func indexKey(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ToLower(x)
	case ref:
		return x.ID
	default:
		return v
	}
}

// eqIndex maps the values of one column to postings, with typed maps so that keys are not
// boxed (a million rows cost a million keys, not two million allocations).
type eqIndex struct {
	s map[string]posting
	u map[uuid.UUID]posting
	o map[any]posting
}

func newEqIndex() *eqIndex {
	return &eqIndex{s: map[string]posting{}, u: map[uuid.UUID]posting{}, o: map[any]posting{}}
}

func (ix *eqIndex) get(k any) (posting, bool) {
	switch x := k.(type) {
	case string:
		p, ok := ix.s[x]
		return p, ok
	case uuid.UUID:
		p, ok := ix.u[x]
		return p, ok
	}
	p, ok := ix.o[k]
	return p, ok
}

func (ix *eqIndex) set(k any, p posting) {
	switch x := k.(type) {
	case string:
		if p.empty() {
			delete(ix.s, x)
		} else {
			ix.s[x] = p
		}
	case uuid.UUID:
		if p.empty() {
			delete(ix.u, x)
		} else {
			ix.u[x] = p
		}
	default:
		if p.empty() {
			delete(ix.o, k)
		} else {
			ix.o[k] = p
		}
	}
}

func (ts *tableStore) index(r *row, add bool) {
	for col, ix := range ts.eq {
		v := r.get(col)
		if v == nil {
			continue
		}
		k := indexKey(v)
		p, _ := ix.get(k)
		if add {
			p.add(r.id)
		} else {
			p.remove(r.id)
		}
		ix.set(k, p)
	}
}

// lookupEq returns the ids whose column col equals v, and whether col is indexed.
func (ts *tableStore) lookupEq(col int, v any) ([]uuid.UUID, bool) {
	ix, ok := ts.eq[col]
	if !ok {
		return nil, false
	}
	p, found := ix.get(indexKey(v))
	if !found {
		return nil, true
	}
	return p.list(), true
}

// altKeys returns "keyname\x00joined values" for each alternate key fully set on r.
func (ts *tableStore) altKeys(r *row) []string {
	if r == nil || len(ts.t.AltKeys) == 0 {
		return nil
	}
	var out []string
	for _, k := range ts.t.AltKeys {
		var parts []string
		for _, name := range k {
			c := ts.t.col(name)
			if c == nil {
				parts = nil
				break
			}
			v := r.get(c.idx)
			if v == nil {
				parts = nil
				break
			}
			parts = append(parts, altPart(v))
		}
		if parts != nil {
			out = append(out, strings.Join(k, ",")+"\x00"+strings.Join(parts, "\x00"))
		}
	}
	return out
}

func altPart(v any) string {
	switch x := indexKey(v).(type) {
	case string:
		return x
	case uuid.UUID:
		return x.String()
	default:
		return strings.ToLower(formatPlain(x))
	}
}

func (ts *tableStore) setAlt(keys []string, id uuid.UUID) {
	for _, k := range keys {
		name, val, _ := strings.Cut(k, "\x00")
		m := ts.alt[name]
		if m == nil {
			m = map[string]uuid.UUID{}
			ts.alt[name] = m
		}
		if id == uuid.Nil {
			delete(m, val)
		} else {
			m[val] = id
		}
	}
}

// byAltKey finds a row by an alternate key given as column → value.
func (ts *tableStore) byAltKey(vals map[string]any) (*row, bool) {
	for _, k := range ts.t.AltKeys {
		if len(k) != len(vals) {
			continue
		}
		parts := make([]string, 0, len(k))
		for _, name := range k {
			v, ok := vals[name]
			if !ok {
				parts = nil
				break
			}
			parts = append(parts, altPart(v))
		}
		if parts == nil {
			continue
		}
		id, ok := ts.alt[strings.Join(k, ",")][strings.Join(parts, "\x00")]
		if !ok {
			return nil, true
		}
		return ts.byID[id], true
	}
	return nil, false
}
