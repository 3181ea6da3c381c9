package dataverse

import (
	"sort"
	"time"

	"github.com/google/uuid"
)

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
		if st, ok := v.(seedTime); ok {
			return st.at(r.seq)
		}
		return v
	}
	return nil
}

// seedTime stands, in the shared base of synthetic rows, for each row's own seed time
// (createdon, and modifiedon until the row is written): a time per row would cost ~70 bytes
// a row, 200 MB at a million rows of three tables.
type seedTime struct {
	first int   // seq of the family's first row
	start int64 // its time, unix ns
	step  int64 // ns between consecutive rows
}

func (st seedTime) at(seq int) time.Time {
	return time.Unix(0, st.start+int64(seq-st.first)*st.step).UTC()
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
