package bc

import (
	"sync"
	"sync/atomic"
)

// genLock is the company's lock. Every write lock moves gen on, so that
// rows a reader derived from the tables (see orderedCache) are known to be
// stale once anything may have changed.
type genLock struct {
	sync.RWMutex
	gen atomic.Uint64
}

// Lock locks for writing and moves the generation on.
func (l *genLock) Lock() {
	l.RWMutex.Lock()
	l.gen.Add(1)
}

// orderedCache keeps the matching rows of recent ordered reads ($orderby,
// paged by offset), sorted, for their next pages. Each page sorted every
// matching row again: reading 1,000,000 customers by lastModifiedDateTime
// in pages of 5,000 sorted the table 200 times. An entry holds while no
// write lock was taken since it was made; reads inside a $batch change set,
// which see its own writes, do not use it.
type orderedCache struct {
	mu      sync.Mutex
	entries map[string]orderedRows
}

type orderedRows struct {
	gen  uint64
	rows []*row
}

// orderedCacheSize bounds the reads kept: a few clients paging at once.
const orderedCacheSize = 8

func (c *orderedCache) get(key string, gen uint64) ([]*row, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return nil, false
	}
	return e.rows, true
}

func (c *orderedCache) put(key string, gen uint64, rows []*row) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]orderedRows{}
	}
	for k, e := range c.entries {
		if e.gen != gen || len(c.entries) >= orderedCacheSize {
			delete(c.entries, k)
		}
	}
	c.entries[key] = orderedRows{gen: gen, rows: rows}
}
