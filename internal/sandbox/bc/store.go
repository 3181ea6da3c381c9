package bc

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// row is one record, kept compact: values by field position (nil = the field's blank
// value), the modification time in Unix milliseconds and a version for the ETag.
type row struct {
	id      string
	vals    []any
	mod     int64
	ver     uint64
	deleted bool
	listed  bool // present in table.order
}

// table is one entity set's storage with its indexes.
type table struct {
	set      *entitySet
	rows     map[string]*row   // by key (lower-case GUID)
	byNumber map[string]*row   // by the sort field when it is a unique code/number
	byDoc    map[string][]*row // lines by documentId
	order    []*row            // rows in primary-key order (may hold deleted rows)
	dirty    bool              // order needs a rebuild
	dead     int               // deleted rows still in order
	sortPos  int
	docPos   int                    // position of documentId, -1 if not a line set
	computed map[int]func(*row) any // FlowFields (items.inventory), computed on read
	sortMu   sync.Mutex
}

func newTable(s *entitySet) *table {
	t := &table{set: s, rows: map[string]*row{}, sortPos: s.index[s.sortField], docPos: -1}
	if s.parent != "" {
		t.docPos = s.index["documentId"]
		t.byDoc = map[string][]*row{}
	} else if s.sortField != "entryNumber" {
		t.byNumber = map[string]*row{}
	}
	return t
}

func (t *table) val(r *row, i int) any {
	if t.computed != nil {
		if f, ok := t.computed[i]; ok {
			return f(r)
		}
	}
	if v := r.vals[i]; v != nil {
		return v
	}
	return blank(t.set.fields[i])
}

func (t *table) str(r *row, name string) string {
	i, ok := t.set.index[name]
	if !ok {
		return ""
	}
	s, _ := t.val(r, i).(string)
	return s
}

func (t *table) num(r *row, name string) float64 {
	i, ok := t.set.index[name]
	if !ok {
		return 0
	}
	switch v := t.val(r, i).(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	}
	return 0
}

// blank is the value BC shows for an unset field.
func blank(f field) any {
	switch f.kind {
	case kDecimal:
		return float64(0)
	case kInt32, kInt64:
		return int64(0)
	case kBool:
		return false
	case kGUID:
		return emptyGUID
	case kDate:
		return blankDate
	case kDateTime:
		return blankDateTime
	case kEnum:
		return enums[f.enum][0]
	}
	return ""
}

const (
	emptyGUID     = "00000000-0000-0000-0000-000000000000"
	blankDate     = "0001-01-01"
	blankDateTime = "0001-01-01T00:00:00Z"
)

func (t *table) less(a, b *row) int {
	if t.docPos >= 0 {
		if c := cmp.Compare(t.val(a, t.docPos).(string), t.val(b, t.docPos).(string)); c != 0 {
			return c
		}
	}
	return compareValues(t.val(a, t.sortPos), t.val(b, t.sortPos))
}

func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return cmp.Compare(x, y)
	case float64:
		y, _ := b.(float64)
		return cmp.Compare(x, y)
	case int64:
		y, _ := b.(int64)
		return cmp.Compare(x, y)
	case bool:
		y, _ := b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	}
	return 0
}

func (t *table) numberKey(r *row) string {
	if t.byNumber == nil {
		return ""
	}
	s, _ := t.val(r, t.sortPos).(string)
	return s
}

// reserve grows the indexes for n more rows (bulk seeding).
func (t *table) reserve(n int) {
	rows := make(map[string]*row, len(t.rows)+n)
	for k, v := range t.rows {
		rows[k] = v
	}
	t.rows = rows
	if t.byNumber != nil {
		byNumber := make(map[string]*row, len(t.byNumber)+n)
		for k, v := range t.byNumber {
			byNumber[k] = v
		}
		t.byNumber = byNumber
	}
	t.order = slices.Grow(t.order, n)
}

// add indexes a new (or undeleted) row.
func (t *table) add(r *row) {
	r.deleted = false
	t.rows[r.id] = r
	if k := t.numberKey(r); k != "" {
		t.byNumber[k] = r
	}
	if t.byDoc != nil {
		d := t.val(r, t.docPos).(string)
		t.byDoc[d] = append(t.byDoc[d], r)
	}
	if r.listed {
		t.dead--
		return
	}
	r.listed = true
	if n := len(t.order); !t.dirty && n > 0 && t.less(t.order[n-1], r) > 0 {
		// out of order (e.g. C00010 among S0000001…): insert in place, a memmove of
		// pointers, rather than re-sorting a million rows on the next read
		i, _ := slices.BinarySearchFunc(t.order, r, t.less)
		t.order = slices.Insert(t.order, i, r)
		return
	}
	t.order = append(t.order, r)
}

// remove unindexes a row; it stays in order, skipped, until the next rebuild.
func (t *table) remove(r *row) {
	r.deleted = true
	delete(t.rows, r.id)
	if k := t.numberKey(r); k != "" && t.byNumber[k] == r {
		delete(t.byNumber, k)
	}
	if t.byDoc != nil {
		d := t.val(r, t.docPos).(string)
		t.byDoc[d] = slices.DeleteFunc(t.byDoc[d], func(x *row) bool { return x == r })
		if len(t.byDoc[d]) == 0 {
			delete(t.byDoc, d)
		}
	}
	t.dead++
	if t.dead > 1024 && t.dead > len(t.order)/4 {
		t.dirty = true
	}
}

// sorted returns the live rows in primary-key order, rebuilding lazily. Readers share the
// company's read lock, so the rebuild has its own mutex.
func (t *table) sorted() []*row {
	t.sortMu.Lock()
	defer t.sortMu.Unlock()
	if t.dirty || t.dead > 0 && t.dead > len(t.order)/4 {
		live := t.order[:0]
		for _, r := range t.order {
			if r.deleted {
				r.listed = false
				continue
			}
			live = append(live, r)
		}
		clear(t.order[len(live):])
		t.order = live
		slices.SortStableFunc(t.order, t.less)
		t.dirty, t.dead = false, 0
	}
	return t.order
}

// lines returns a document's lines in sequence order.
func (t *table) lines(docID string) []*row {
	ls := slices.Clone(t.byDoc[docID])
	slices.SortFunc(ls, t.less)
	return ls
}

// company is one company's data; mu guards every table of it.
type company struct {
	id, name, displayName string
	created               time.Time
	lcy                   string            // local currency code
	primaryContact        map[string]string // customer number → primary contact's name
	contactOf             map[string]string // "customers/{id}" or "vendors/{id}" → company contact number

	mu        genLock
	ordered   orderedCache // rows of ordered reads, between their pages
	tables    map[string]*table
	inventory map[string]float64  // item number → quantity on hand (sum of item ledger entries)
	balance   map[string]float64  // customer id → open amount of its posted invoices (balanceDue)
	resources map[string]resource // by number: not an API entity set (see resources.go)
	series    map[string]int64    // next number per numbered set
	nextEntry int64               // next item ledger entry number

	clock func() time.Time
	ver   *atomic.Uint64 // ETag versions, shared by the server
}

// undo is the log that makes a transactional $batch (Isolation: snapshot) atomic.
type undo struct {
	entries []undoEntry
}

type undoEntry struct {
	t       *table
	r       *row
	vals    []any
	mod     int64
	ver     uint64
	deleted bool
	invItem string
	invQty  float64
	balCust string
	balAmt  float64
}

func (u *undo) save(t *table, r *row) {
	if u == nil {
		return
	}
	u.entries = append(u.entries, undoEntry{t: t, r: r, vals: slices.Clone(r.vals), mod: r.mod, ver: r.ver, deleted: r.deleted})
}

func (u *undo) saveBalance(cust string, delta float64) {
	if u == nil {
		return
	}
	u.entries = append(u.entries, undoEntry{balCust: cust, balAmt: delta})
}

func (u *undo) saveInventory(item string, delta float64) {
	if u == nil {
		return
	}
	u.entries = append(u.entries, undoEntry{invItem: item, invQty: delta})
}

// rollback restores every saved state, newest first.
func (c *company) rollback(u *undo) {
	for i := len(u.entries) - 1; i >= 0; i-- {
		e := u.entries[i]
		if e.invItem != "" {
			c.inventory[e.invItem] -= e.invQty
			continue
		}
		if e.balCust != "" {
			c.balance[e.balCust] -= e.balAmt
			continue
		}
		if !e.r.deleted {
			e.t.remove(e.r)
		}
		e.r.vals, e.r.mod, e.r.ver = e.vals, e.mod, e.ver
		if !e.deleted {
			e.t.add(e.r)
		}
		e.t.dirty = true
	}
	u.entries = nil
}
