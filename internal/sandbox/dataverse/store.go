package dataverse

import (
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
