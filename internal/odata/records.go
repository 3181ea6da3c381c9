package odata

import (
	"cmp"
	"slices"
	"strings"
)

// SortRecords orders rs by the keys in by, stably. Nulls sort first in
// ascending order (as OData specifies); strings compare case-insensitively
// first, then exactly, so that the order is total and repeatable; values of
// different kinds are ordered by kind.
func SortRecords(rs []Record, by []OrderItem) {
	if len(by) == 0 {
		return
	}
	paths := make([][]string, len(by))
	for i, o := range by {
		paths[i] = strings.Split(o.Property, "/")
	}
	slices.SortStableFunc(rs, func(a, b Record) int {
		for i, o := range by {
			c := compareForSort(lookup(a, paths[i]), lookup(b, paths[i]))
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

func compareForSort(x, y any) int {
	a, errA := fromRecord("", x)
	b, errB := fromRecord("", y)
	if errA != nil || errB != nil {
		// Structured values are not orderable: keep them last, in place.
		return cmp.Compare(boolInt(errA != nil), boolInt(errB != nil))
	}
	if a.kind == valNull || b.kind == valNull {
		return cmp.Compare(boolInt(a.kind != valNull), boolInt(b.kind != valNull))
	}
	if a.kind == valString && b.kind == valString {
		if c := compareFold(a.s, b.s); c != 0 {
			return c
		}
		return strings.Compare(a.s, b.s)
	}
	c, err := compareValues(a, b, false)
	if err != nil {
		return cmp.Compare(a.kind, b.kind)
	}
	return c
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SelectFields returns a copy of r holding only the given fields, plus the
// annotations that travel with them: keys starting with "@" (such as
// @odata.etag) and "field@…" annotations of a selected field. Nil or empty
// fields keep every field. r itself is never modified.
func SelectFields(r Record, fields []string) Record {
	if len(fields) == 0 {
		out := make(Record, len(r))
		for k, v := range r {
			out[k] = v
		}
		return out
	}
	want := make(map[string]bool, len(fields))
	for _, f := range fields {
		want[f] = true
	}
	out := make(Record, len(fields)+1)
	for k, v := range r {
		name, _, annotated := strings.Cut(k, "@")
		if want[k] || strings.HasPrefix(k, "@") || annotated && want[name] {
			out[k] = v
		}
	}
	return out
}
