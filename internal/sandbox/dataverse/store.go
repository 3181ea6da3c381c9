package dataverse

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// The in-memory database. Rows are immutable once stored (an update stores a new row), so
// a change set can be undone by putting the old pointers back, and readers holding the read
// lock see whole rows only. Per table it keeps:
//   - byID: the live rows;
//   - seqs: every row by creation sequence (the default order and the paging position);
//   - changes: every write in version order, tombstones included (modifiedon order, since
//     modifiedon never goes backwards; serves modifiedon cursors and change tracking);
//   - eq: equality indexes on lookups and key-like columns.

// ref is the stored value of a lookup: the target row's id and table.
type ref struct {
	ID    uuid.UUID
	Table string
}

type cell struct {
	col int
	v   any
}

// nullCell marks a column explicitly cleared in a row whose base holds a value.
type nullCell struct{}

// row is one stored record. cells are sorted by column ordinal and hold the row's own values;
// base (optional, shared by many rows, never modified) holds values common to a family of
// rows such as the synthetic ones, so that a million rows do not repeat them.
type row struct {
	id       uuid.UUID
	seq      int
	version  int64
	modified int64 // unix nanoseconds of modifiedon
	deleted  bool
	cells    []cell
	base     *[]cell
}

func findCell(cs []cell, col int) (any, bool) {
	i := sort.Search(len(cs), func(i int) bool { return cs[i].col >= col })
	if i < len(cs) && cs[i].col == col {
		return cs[i].v, true
	}
	return nil, false
}

func (r *row) get(col int) any {
	if v, ok := findCell(r.cells, col); ok {
		if _, null := v.(nullCell); null {
			return nil
		}
		return v
	}
	if r.base != nil {
		v, _ := findCell(*r.base, col)
		return v
	}
	return nil
}

// value returns column c of r; the primary key is the row id (not stored in cells).
func (r *row) value(c *Column) any {
	if c.idx == 0 {
		return r.id
	}
	if c.Name == "versionnumber" {
		return r.version
	}
	return r.get(c.idx)
}

// with returns a copy of r with the given values set (nil removes a value).
func (r *row) with(vals map[int]any) *row {
	nr := *r
	nr.cells = make([]cell, 0, len(r.cells)+len(vals))
	for _, c := range r.cells {
		if _, ok := vals[c.col]; !ok {
			nr.cells = append(nr.cells, c)
		}
	}
	for col, v := range vals {
		switch {
		case v != nil:
			nr.cells = append(nr.cells, cell{col, v})
		case r.base != nil:
			if _, inBase := findCell(*r.base, col); inBase {
				nr.cells = append(nr.cells, cell{col, nullCell{}})
			}
		}
	}
	sort.Slice(nr.cells, func(i, j int) bool { return nr.cells[i].col < nr.cells[j].col })
	return &nr
}

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

type tableStore struct {
	t       *Table
	byID    map[uuid.UUID]*row
	seqs    []*row // index = seq; nil once deleted
	changes []*row // version order; a stale entry is one whose row is no longer current
	stale   int
	eq      map[int]*eqIndex
	alt     map[string]map[string]uuid.UUID // alternate key name → joined key values → id
}

func newTableStore(t *Table) *tableStore {
	ts := &tableStore{t: t, byID: map[uuid.UUID]*row{}, eq: map[int]*eqIndex{}, alt: map[string]map[string]uuid.UUID{}}
	for _, c := range t.cols {
		if c.Index && c.Name != t.Key {
			ts.eq[c.idx] = newEqIndex()
		}
	}
	return ts
}

// reserve sizes the maps for n more rows (bulk seeding), including the equality indexes
// of the named columns, so they are not rehashed a dozen times on the way.
func (ts *tableStore) reserve(n int, indexed ...string) {
	byID := make(map[uuid.UUID]*row, len(ts.byID)+n)
	for k, v := range ts.byID {
		byID[k] = v
	}
	ts.byID = byID
	ts.seqs = append(make([]*row, 0, len(ts.seqs)+n), ts.seqs...)
	ts.changes = append(make([]*row, 0, len(ts.changes)+n), ts.changes...)
	for _, name := range indexed {
		c := ts.t.col(name)
		ix := ts.eq[c.idx]
		if ix == nil {
			continue
		}
		if c.Type == tLookup {
			u := make(map[uuid.UUID]posting, len(ix.u)+n)
			for k, v := range ix.u {
				u[k] = v
			}
			ix.u = u
		} else {
			m := make(map[string]posting, len(ix.s)+n)
			for k, v := range ix.s {
				m[k] = v
			}
			ix.s = m
		}
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

// db is the whole organisation's data.
type db struct {
	mu       sync.RWMutex
	schema   *Schema
	stores   map[string]*tableStore
	version  int64
	lastTime time.Time
	clock    func() time.Time
	// systemuserroles_association (N:N): user → roles and role → users.
	userRoles map[uuid.UUID]map[uuid.UUID]bool
	roleUsers map[uuid.UUID]map[uuid.UUID]bool
}

func (d *db) store(logical string) *tableStore {
	ts := d.stores[logical]
	if ts == nil {
		if t := d.schema.table(logical); t != nil {
			ts = newTableStore(t)
			d.stores[logical] = ts
		}
	}
	return ts
}

// now returns the write time: the clock, but never before the previous write, so that
// modifiedon order equals version order.
func (d *db) now() time.Time {
	t := d.clock().UTC().Truncate(time.Millisecond)
	if t.Before(d.lastTime) {
		t = d.lastTime
	}
	d.lastTime = t
	return t
}

// tx collects undo steps so a change set can be rolled back. Callers hold d.mu.
type tx struct {
	d      *db
	undos  []func()
	noUndo bool // bulk seeding: nothing to roll back to
}

func (d *db) begin() *tx { return &tx{d: d} }

// commit forgets the undo steps and compacts change logs that grew mostly stale.
func (x *tx) commit() {
	x.undos = nil
	for _, ts := range x.d.stores {
		ts.compactNow()
	}
}

func (x *tx) rollback() {
	for i := len(x.undos) - 1; i >= 0; i-- {
		x.undos[i]()
	}
	x.undos = nil
}

// put stores nr as the current version of its id (insert when old is nil).
func (x *tx) put(ts *tableStore, old, nr *row) {
	x.d.version++
	nr.version = x.d.version
	if old != nil {
		ts.index(old, false)
		ts.stale++
	} else {
		nr.seq = len(ts.seqs)
		ts.seqs = append(ts.seqs, nil)
	}
	ts.byID[nr.id] = nr
	ts.seqs[nr.seq] = nr
	ts.index(nr, true)
	n := len(ts.changes)
	ts.changes = append(ts.changes, nr)
	altOld := ts.altKeys(old)
	altNew := ts.altKeys(nr)
	ts.setAlt(altOld, uuid.Nil)
	ts.setAlt(altNew, nr.id)
	if x.noUndo {
		return
	}
	x.undos = append(x.undos, func() {
		ts.index(nr, false)
		ts.setAlt(altNew, uuid.Nil)
		ts.changes = ts.changes[:n]
		if old != nil {
			ts.byID[old.id] = old
			ts.seqs[old.seq] = old
			ts.index(old, true)
			ts.setAlt(altOld, old.id)
			ts.stale--
		} else {
			delete(ts.byID, nr.id)
			ts.seqs = ts.seqs[:nr.seq]
		}
	})
}

// remove deletes old, leaving a tombstone in the change log for change tracking.
func (x *tx) remove(ts *tableStore, old *row, at time.Time) {
	x.d.version++
	tomb := &row{id: old.id, seq: old.seq, version: x.d.version, modified: at.UnixNano(), deleted: true}
	ts.index(old, false)
	delete(ts.byID, old.id)
	ts.seqs[old.seq] = nil
	n := len(ts.changes)
	ts.changes = append(ts.changes, tomb)
	ts.stale++
	alt := ts.altKeys(old)
	ts.setAlt(alt, uuid.Nil)
	x.undos = append(x.undos, func() {
		ts.changes = ts.changes[:n]
		ts.byID[old.id] = old
		ts.seqs[old.seq] = old
		ts.index(old, true)
		ts.setAlt(alt, old.id)
		ts.stale--
	})
}

// compactNow rewrites the change log keeping current rows and tombstones. Callers hold the
// write lock and no transaction is open.
func (ts *tableStore) compactNow() {
	if ts.stale < 100000 || ts.stale < len(ts.changes)/2 {
		return
	}
	kept := make([]*row, 0, len(ts.changes)-ts.stale)
	for _, r := range ts.changes {
		if r.deleted || ts.byID[r.id] == r {
			kept = append(kept, r)
		}
	}
	ts.changes = kept
	ts.stale = 0
}

func (ts *tableStore) current(r *row) bool {
	if r.deleted {
		_, alive := ts.byID[r.id]
		return !alive
	}
	return ts.byID[r.id] == r
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
