// Package memstore is an in-memory syncer.Store for tests of the engine and
// for dry runs. It keeps the same rules as the databases: couplings are
// one-to-one per mapping on each side.
package memstore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/syncer"
)

// Store holds everything in maps guarded by one mutex.
type Store struct {
	mu        sync.Mutex
	couplings map[string]map[string]syncer.Coupling // mapping → erp id → coupling
	byCRM     map[string]string                     // mapping\x00crm id → erp id
	jobs      []syncer.Job
	errs      []syncer.SyncError
	cursors   map[string]syncer.Cursor
	intents   []syncer.Intent
	nextID    int64
	txMu      sync.Mutex // serialises Atomically
}

// New returns an empty store.
func New() *Store {
	return &Store{couplings: map[string]map[string]syncer.Coupling{}, byCRM: map[string]string{}, cursors: map[string]syncer.Cursor{}}
}

func (s *Store) id() int64 { s.nextID++; return s.nextID }

func (s *Store) lock() func() {
	s.mu.Lock()
	return s.mu.Unlock
}

func (s *Store) GetCouplingByERP(_ context.Context, m, erpID string) (syncer.Coupling, error) {
	defer s.lock()()
	if c, ok := s.couplings[m][erpID]; ok {
		return c, nil
	}
	return syncer.Coupling{}, fmt.Errorf("coupling %s erp %s: %w", m, erpID, syncer.ErrNoRow)
}

func (s *Store) GetCouplingByCRM(_ context.Context, m, crmID string) (syncer.Coupling, error) {
	defer s.lock()()
	if erpID, ok := s.byCRM[m+"\x00"+crmID]; ok {
		return s.couplings[m][erpID], nil
	}
	return syncer.Coupling{}, fmt.Errorf("coupling %s crm %s: %w", m, crmID, syncer.ErrNoRow)
}

func (s *Store) put(c syncer.Coupling) (syncer.Coupling, error) {
	byERP := s.couplings[c.Mapping]
	if byERP == nil {
		byERP = map[string]syncer.Coupling{}
		s.couplings[c.Mapping] = byERP
	}
	if other, ok := s.byCRM[c.Mapping+"\x00"+c.CRMID]; ok && other != c.ERPID {
		return c, fmt.Errorf("CRM %s is coupled to ERP %s: %w", c.CRMID, other, syncer.ErrTaken)
	}
	now := time.Now()
	if old, ok := byERP[c.ERPID]; ok {
		c.ID, c.CreatedAt = old.ID, old.CreatedAt
		delete(s.byCRM, c.Mapping+"\x00"+old.CRMID)
	} else {
		c.ID, c.CreatedAt = s.id(), now
	}
	c.UpdatedAt = now
	byERP[c.ERPID] = c
	s.byCRM[c.Mapping+"\x00"+c.CRMID] = c.ERPID
	return c, nil
}

func (s *Store) PutCoupling(_ context.Context, c syncer.Coupling) (syncer.Coupling, error) {
	defer s.lock()()
	return s.put(c)
}

func (s *Store) PutCouplings(_ context.Context, cs []syncer.Coupling) error {
	defer s.lock()()
	for _, c := range cs {
		if _, err := s.put(c); err != nil {
			return err
		}
	}
	return nil
}

// GetCouplings returns the couplings of these ERP (side "erp") or CRM
// (side "crm") ids; uncoupled ids are absent.
func (s *Store) GetCouplings(_ context.Context, m, side string, ids []string) ([]syncer.Coupling, error) {
	defer s.lock()()
	if side != syncer.SideERP && side != syncer.SideCRM {
		return nil, fmt.Errorf("get couplings of %s: side %q is neither \"erp\" nor \"crm\"", m, side)
	}
	out := []syncer.Coupling{}
	for _, id := range ids {
		erpID := id
		if side == syncer.SideCRM {
			var ok bool
			if erpID, ok = s.byCRM[m+"\x00"+id]; !ok {
				continue
			}
		}
		if c, ok := s.couplings[m][erpID]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *Store) DeleteCoupling(_ context.Context, m, erpID string) error {
	defer s.lock()()
	old, ok := s.couplings[m][erpID]
	if !ok {
		return fmt.Errorf("coupling %s erp %s: %w", m, erpID, syncer.ErrNoRow)
	}
	delete(s.byCRM, m+"\x00"+old.CRMID)
	delete(s.couplings[m], erpID)
	return nil
}

func (s *Store) ListCouplings(_ context.Context, q syncer.CouplingQuery) ([]syncer.Coupling, error) {
	defer s.lock()()
	var out []syncer.Coupling
	for m, byERP := range s.couplings {
		if q.Mapping != "" && m != q.Mapping {
			continue
		}
		for _, c := range byERP {
			if (q.SkippedOnly && !c.Skipped) || (q.FailedOnly && c.LastResult != "Failure") || c.ID <= q.AfterID {
				continue
			}
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	if q.IDsOnly {
		for i, c := range out {
			out[i] = syncer.Coupling{ID: c.ID, Mapping: c.Mapping, ERPID: c.ERPID, CRMID: c.CRMID}
		}
	}
	return out, nil
}

func (s *Store) CountCouplings(_ context.Context, m string) (int, error) {
	defer s.lock()()
	return len(s.couplings[m]), nil
}

func (s *Store) CreateJob(_ context.Context, j syncer.Job) (syncer.Job, error) {
	defer s.lock()()
	j.ID = s.id()
	s.jobs = append(s.jobs, j)
	return j, nil
}

func (s *Store) UpdateJob(_ context.Context, j syncer.Job) error {
	defer s.lock()()
	for i := range s.jobs {
		if s.jobs[i].ID == j.ID {
			s.jobs[i] = j
			return nil
		}
	}
	return fmt.Errorf("job %d: %w", j.ID, syncer.ErrNoRow)
}

func (s *Store) ListJobs(_ context.Context, m string, limit int) ([]syncer.Job, error) {
	defer s.lock()()
	var out []syncer.Job
	for i := len(s.jobs) - 1; i >= 0; i-- {
		if m == "" || s.jobs[i].Mapping == m {
			out = append(out, s.jobs[i])
		}
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

func (s *Store) AddErrors(_ context.Context, es []syncer.SyncError) error {
	defer s.lock()()
	for _, e := range es {
		e.ID = s.id()
		if e.CreatedAt.IsZero() {
			e.CreatedAt = time.Now()
		}
		s.errs = append(s.errs, e)
	}
	return nil
}

func (s *Store) ListErrors(_ context.Context, q syncer.ErrorQuery) ([]syncer.SyncError, error) {
	defer s.lock()()
	var out []syncer.SyncError
	for i := len(s.errs) - 1; i >= 0; i-- {
		e := s.errs[i]
		if (q.Mapping != "" && e.Mapping != q.Mapping) || (q.JobID != 0 && e.JobID != q.JobID) || (q.OpenOnly && !e.ResolvedAt.IsZero()) {
			continue
		}
		out = append(out, e)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func (s *Store) ResolveErrors(_ context.Context, m, erpID, crmID string, at time.Time) error {
	defer s.lock()()
	for i := range s.errs {
		e := &s.errs[i]
		if e.Mapping == m && e.ResolvedAt.IsZero() && ((erpID != "" && e.ERPID == erpID) || (crmID != "" && e.CRMID == crmID)) {
			e.ResolvedAt = at
		}
	}
	return nil
}

func (s *Store) GetCursor(_ context.Context, m, side string) (syncer.Cursor, error) {
	defer s.lock()()
	if c, ok := s.cursors[m+"/"+side]; ok {
		return c, nil
	}
	return syncer.Cursor{}, fmt.Errorf("cursor %s/%s: %w", m, side, syncer.ErrNoRow)
}

func (s *Store) PutCursor(_ context.Context, c syncer.Cursor) error {
	defer s.lock()()
	c.UpdatedAt = time.Now()
	s.cursors[c.Mapping+"/"+c.Side] = c
	return nil
}

func (s *Store) AddIntents(_ context.Context, is []syncer.Intent) ([]syncer.Intent, error) {
	defer s.lock()()
	out := s.number(is)
	s.intents = append(s.intents, out...)
	return out, nil
}

// number gives intents their ids and time; the caller holds s.mu.
func (s *Store) number(is []syncer.Intent) []syncer.Intent {
	out := make([]syncer.Intent, len(is))
	for i, in := range is {
		in.ID = s.id()
		in.CreatedAt = time.Now()
		out[i] = in
	}
	return out
}

func (s *Store) ListIntents(_ context.Context, m string) ([]syncer.Intent, error) {
	defer s.lock()()
	var out []syncer.Intent
	for _, in := range s.intents {
		if m == "" || in.Mapping == m {
			out = append(out, in)
		}
	}
	return out, nil
}

func (s *Store) DeleteIntents(_ context.Context, ids []int64) error {
	defer s.lock()()
	drop := map[int64]bool{}
	for _, id := range ids {
		drop[id] = true
	}
	kept := s.intents[:0]
	for _, in := range s.intents {
		if !drop[in.ID] {
			kept = append(kept, in)
		}
	}
	s.intents = kept
	return nil
}

// Atomically gives fn a view that reads through to the store and buffers
// writes; they are applied together when fn succeeds, dropped otherwise.
func (s *Store) Atomically(ctx context.Context, fn func(ctx context.Context, tx syncer.Store) error) error {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	tx := &txView{Store: s}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	for _, w := range tx.writes {
		if err := w(); err != nil {
			return err // applied partly: acceptable for a test store, reported
		}
	}
	return nil
}

// txView buffers the writes the engine makes inside a transaction.
type txView struct {
	*Store
	writes []func() error
}

func (t *txView) PutCoupling(ctx context.Context, c syncer.Coupling) (syncer.Coupling, error) {
	t.Store.mu.Lock()
	if other, ok := t.Store.byCRM[c.Mapping+"\x00"+c.CRMID]; ok && other != c.ERPID {
		t.Store.mu.Unlock()
		return c, fmt.Errorf("CRM %s is coupled to ERP %s: %w", c.CRMID, other, syncer.ErrTaken)
	}
	t.Store.mu.Unlock()
	t.writes = append(t.writes, func() error { _, err := t.Store.PutCoupling(ctx, c); return err })
	return c, nil
}

func (t *txView) DeleteCoupling(ctx context.Context, m, erpID string) error {
	t.writes = append(t.writes, func() error { _ = t.Store.DeleteCoupling(ctx, m, erpID); return nil })
	return nil
}

func (t *txView) AddErrors(ctx context.Context, es []syncer.SyncError) error {
	t.writes = append(t.writes, func() error { return t.Store.AddErrors(ctx, es) })
	return nil
}

func (t *txView) ResolveErrors(ctx context.Context, m, erpID, crmID string, at time.Time) error {
	t.writes = append(t.writes, func() error { return t.Store.ResolveErrors(ctx, m, erpID, crmID, at) })
	return nil
}

// AddIntents numbers the intents now, as a database would inside the
// transaction, and adds them when it commits.
func (t *txView) AddIntents(_ context.Context, is []syncer.Intent) ([]syncer.Intent, error) {
	t.Store.mu.Lock()
	out := t.Store.number(is)
	t.Store.mu.Unlock()
	t.writes = append(t.writes, func() error {
		defer t.Store.lock()()
		t.Store.intents = append(t.Store.intents, out...)
		return nil
	})
	return out, nil
}

func (t *txView) DeleteIntents(ctx context.Context, ids []int64) error {
	t.writes = append(t.writes, func() error { return t.Store.DeleteIntents(ctx, ids) })
	return nil
}
