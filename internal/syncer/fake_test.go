package syncer_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/syncer"
)

// clock ticks one second per reading so modification times are distinct.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// fakeSide is an in-memory API with the behaviour the engine relies on:
// upsert by id, 404 on updating a missing row, modified-on and modified-by
// stamps, simple `a eq b and …` filters, paging, and counted reads.
type fakeSide struct {
	name  string
	clock *clock
	self  string
	max   int

	mu      sync.Mutex
	rows    map[string]map[string]map[string]any // entity → id → fields
	mod     map[string]time.Time                 // entity/id → modified
	by      map[string]string                    // entity/id → modified by
	next    int
	reads   int            // Read/Get/Find calls
	readRec map[string]int // records returned by Read, per entity
	writes  int            // ops written
	// refuse returns an API refusal for a write, or nil.
	refuse func(entity string, op syncer.Op) *syncer.WriteError
	// crashAfterWrite makes Write apply the ops and then fail, as if the
	// process died before recording the outcome.
	crashAfterWrite bool
	// defaults are set on every row created through Write (statecode…).
	defaults map[string]any
	pageSize int // 0 = 2, to exercise paging
	// onGet is called, without the side's lock, before each Get.
	onGet func(entity string, ids []string)
}

func newFakeSide(name string, c *clock, self string, max int) *fakeSide {
	return &fakeSide{name: name, clock: c, self: self, max: max, rows: map[string]map[string]map[string]any{}, mod: map[string]time.Time{}, by: map[string]string{}}
}

func (s *fakeSide) Name() string  { return s.name }
func (s *fakeSide) MaxBatch() int { return s.max }
func (s *fakeSide) Self(context.Context) (string, error) {
	return s.self, nil
}

// put stores a row as a user (not the integration user) would.
func (s *fakeSide) put(entity, id string, fields map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rows[entity] == nil {
		s.rows[entity] = map[string]map[string]any{}
	}
	row := s.rows[entity][id]
	if row == nil {
		row = map[string]any{}
		s.rows[entity][id] = row
	}
	for k, v := range fields {
		row[k] = v
	}
	s.mod[entity+"/"+id] = s.clock.Now()
	s.by[entity+"/"+id] = "user-1"
}

func (s *fakeSide) get(entity, id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for k, v := range s.rows[entity][id] {
		out[k] = v
	}
	if _, ok := s.rows[entity][id]; !ok {
		return nil
	}
	return out
}

func (s *fakeSide) del(entity, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rows[entity], id)
}

func (s *fakeSide) count(entity string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows[entity])
}

func (s *fakeSide) counters(entity string) (reads, readRec, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads, s.readRec[entity], s.writes
}

var eqRE = regexp.MustCompile(`^(\w+) (eq|ne) (.+)$`)

// matches reads `a eq b` and `a ne b` joined by `or` and `and` (which
// binds tighter), with parentheses.
func matches(row map[string]any, filter string) bool {
	filter = strings.TrimSpace(filter)
	if filter == "" {
		return true
	}
	if parts := splitTop(filter, " or "); len(parts) > 1 {
		return slices.ContainsFunc(parts, func(p string) bool { return matches(row, p) })
	}
	if parts := splitTop(filter, " and "); len(parts) > 1 {
		return !slices.ContainsFunc(parts, func(p string) bool { return !matches(row, p) })
	}
	if strings.HasPrefix(filter, "(") && strings.HasSuffix(filter, ")") {
		return matches(row, filter[1:len(filter)-1])
	}
	m := eqRE.FindStringSubmatch(filter)
	if m == nil {
		panic("fake filter cannot read " + filter)
	}
	want := strings.Trim(m[3], "'")
	return (fmt.Sprint(row[m[1]]) == want) == (m[2] == "eq")
}

// splitTop cuts s at each sep outside parentheses.
func splitTop(s, sep string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		}
		if depth == 0 && strings.HasPrefix(s[i:], sep) {
			out = append(out, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(out, s[start:])
}

func (s *fakeSide) record(entity, id string) syncer.Record {
	f := map[string]any{}
	for k, v := range s.rows[entity][id] {
		f[k] = v
	}
	return syncer.Record{ID: id, ModifiedAt: s.mod[entity+"/"+id], ModifiedBy: s.by[entity+"/"+id], Fields: f}
}

func (s *fakeSide) Read(ctx context.Context, q syncer.ReadQuery, fn func([]syncer.Record) error) error {
	s.mu.Lock()
	s.reads++
	var recs []syncer.Record
	for id, row := range s.rows[q.Entity] {
		if !matches(row, q.Filter) {
			continue
		}
		ok := true
		for k, v := range q.Equal {
			if fmt.Sprint(row[k]) != v {
				ok = false
			}
		}
		if !ok || (!q.Since.IsZero() && s.mod[q.Entity+"/"+id].Before(q.Since)) {
			continue
		}
		recs = append(recs, s.record(q.Entity, id))
	}
	if s.readRec == nil {
		s.readRec = map[string]int{}
	}
	s.readRec[q.Entity] += len(recs)
	s.mu.Unlock()
	sort.Slice(recs, func(i, j int) bool {
		if !recs[i].ModifiedAt.Equal(recs[j].ModifiedAt) {
			return recs[i].ModifiedAt.Before(recs[j].ModifiedAt)
		}
		return recs[i].ID < recs[j].ID
	})
	ps := s.pageSize
	if ps == 0 {
		ps = 2
	}
	for i := 0; i < len(recs); i += ps {
		if err := fn(recs[i:min(i+ps, len(recs))]); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeSide) Get(ctx context.Context, entity, key string, ids []string) ([]syncer.Record, error) {
	if s.onGet != nil {
		s.onGet(entity, ids)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	var out []syncer.Record
	for _, id := range ids {
		if _, ok := s.rows[entity][id]; ok {
			out = append(out, s.record(entity, id))
		}
	}
	return out, nil
}

func (s *fakeSide) Find(ctx context.Context, entity, key, filter string) ([]syncer.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	var out []syncer.Record
	for id, row := range s.rows[entity] {
		withID := map[string]any{"id": id}
		for k, v := range row {
			withID[k] = v
		}
		if matches(withID, filter) {
			out = append(out, s.record(entity, id))
		}
	}
	return out, nil
}

var bindRE = regexp.MustCompile(`^/\w+\(([^)]+)\)$`)

func (s *fakeSide) Write(ctx context.Context, entity, key string, ops []syncer.Op) ([]syncer.Result, error) {
	if len(ops) > s.max {
		return nil, fmt.Errorf("%d operations in one batch: the limit is %d", len(ops), s.max)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes += len(ops)
	res := make([]syncer.Result, len(ops))
	for i, op := range ops {
		if s.refuse != nil {
			if we := s.refuse(entity, op); we != nil {
				res[i].Err = we
				continue
			}
		}
		if s.rows[entity] == nil {
			s.rows[entity] = map[string]map[string]any{}
		}
		id := op.ID
		switch op.Kind {
		case syncer.OpUpdate:
			if _, ok := s.rows[entity][id]; !ok {
				res[i].Err = &syncer.WriteError{Status: 404, Code: "0x80040217", Message: fmt.Sprintf("%s With Id = %s Does Not Exist", entity, id)}
				continue
			}
		case syncer.OpCreate:
			if id == "" {
				s.next++
				id = fmt.Sprintf("%s-new-%d", s.name, s.next)
			}
			if _, ok := s.rows[entity][id]; !ok {
				s.rows[entity][id] = map[string]any{}
				for k, v := range s.defaults {
					s.rows[entity][id][k] = v
				}
			}
		}
		row := s.rows[entity][id]
		for k, v := range op.Payload {
			if nav, ok := strings.CutSuffix(k, "@odata.bind"); ok {
				m := bindRE.FindStringSubmatch(fmt.Sprint(v))
				row["_"+strings.TrimSuffix(strings.TrimSuffix(nav, "_account"), "_contact")+"_value"] = m[1]
				continue
			}
			row[k] = v
		}
		s.mod[entity+"/"+id] = s.clock.Now()
		s.by[entity+"/"+id] = s.self
		res[i] = syncer.Result{ID: id, ModifiedAt: s.mod[entity+"/"+id]}
	}
	if s.crashAfterWrite {
		return nil, fmt.Errorf("connection reset by peer")
	}
	return res, nil
}
