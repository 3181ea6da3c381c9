// Package syncstore adapts internal/store.Store to the engine's
// syncer.Store (store imports syncer, so the adapter lives apart from both).
package syncstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

// Store wraps a store.Store.
type Store struct{ s store.Store }

// New adapts s.
func New(s store.Store) *Store { return &Store{s: s} }

var _ syncer.Store = (*Store)(nil)

// mapErr turns the store's sentinels into the engine's.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", syncer.ErrNoRow, err)
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("%w: %w", syncer.ErrTaken, err)
	}
	return err
}

func (a *Store) GetCouplingByERP(ctx context.Context, m, id string) (syncer.Coupling, error) {
	c, err := a.s.GetCouplingByERP(ctx, m, id)
	return c, mapErr(err)
}

func (a *Store) GetCouplingByCRM(ctx context.Context, m, id string) (syncer.Coupling, error) {
	c, err := a.s.GetCouplingByCRM(ctx, m, id)
	return c, mapErr(err)
}

func (a *Store) PutCoupling(ctx context.Context, c syncer.Coupling) (syncer.Coupling, error) {
	c, err := a.s.PutCoupling(ctx, c)
	return c, mapErr(err)
}

func (a *Store) PutCouplings(ctx context.Context, cs []syncer.Coupling) error {
	return mapErr(a.s.PutCouplings(ctx, cs))
}

func (a *Store) GetCouplings(ctx context.Context, m, side string, ids []string) ([]syncer.Coupling, error) {
	cs, err := a.s.GetCouplings(ctx, m, side, ids)
	return cs, mapErr(err)
}

func (a *Store) DeleteCoupling(ctx context.Context, m, erpID string) error {
	return mapErr(a.s.DeleteCoupling(ctx, m, erpID))
}

func (a *Store) ListCouplings(ctx context.Context, q syncer.CouplingQuery) ([]syncer.Coupling, error) {
	cs, err := a.s.ListCouplings(ctx, store.CouplingFilter{Mapping: q.Mapping, SkippedOnly: q.SkippedOnly, FailedOnly: q.FailedOnly, AfterID: q.AfterID, Limit: q.Limit, IDsOnly: q.IDsOnly})
	return cs, mapErr(err)
}

func (a *Store) CountCouplings(ctx context.Context, m string) (int, error) {
	n, err := a.s.CountCouplings(ctx, m)
	return n, mapErr(err)
}

func (a *Store) CreateJob(ctx context.Context, j syncer.Job) (syncer.Job, error) {
	j, err := a.s.CreateJob(ctx, j)
	return j, mapErr(err)
}

func (a *Store) UpdateJob(ctx context.Context, j syncer.Job) error {
	return mapErr(a.s.UpdateJob(ctx, j))
}

func (a *Store) ListJobs(ctx context.Context, m string, limit int) ([]syncer.Job, error) {
	js, err := a.s.ListJobs(ctx, store.JobFilter{Mapping: m, Limit: limit})
	return js, mapErr(err)
}

func (a *Store) AddErrors(ctx context.Context, es []syncer.SyncError) error {
	return mapErr(a.s.AddErrors(ctx, es))
}

func (a *Store) ListErrors(ctx context.Context, q syncer.ErrorQuery) ([]syncer.SyncError, error) {
	es, err := a.s.ListErrors(ctx, store.ErrorFilter{Mapping: q.Mapping, JobID: q.JobID, OpenOnly: q.OpenOnly, Limit: q.Limit})
	return es, mapErr(err)
}

func (a *Store) ResolveErrors(ctx context.Context, m, erpID, crmID string, at time.Time) error {
	return mapErr(a.s.ResolveErrors(ctx, m, erpID, crmID, at))
}

func (a *Store) GetCursor(ctx context.Context, m, side string) (syncer.Cursor, error) {
	c, err := a.s.GetCursor(ctx, m, side)
	return c, mapErr(err)
}

func (a *Store) PutCursor(ctx context.Context, c syncer.Cursor) error {
	return mapErr(a.s.PutCursor(ctx, c))
}

func (a *Store) AddIntents(ctx context.Context, is []syncer.Intent) ([]syncer.Intent, error) {
	out, err := a.s.AddIntents(ctx, is)
	return out, mapErr(err)
}

func (a *Store) ListIntents(ctx context.Context, m string) ([]syncer.Intent, error) {
	is, err := a.s.ListIntents(ctx, m)
	return is, mapErr(err)
}

func (a *Store) DeleteIntents(ctx context.Context, ids []int64) error {
	return mapErr(a.s.DeleteIntents(ctx, ids))
}

// Atomically runs fn in one database transaction.
func (a *Store) Atomically(ctx context.Context, fn func(ctx context.Context, tx syncer.Store) error) error {
	return a.s.InTx(ctx, func(ctx context.Context, tx store.Store) error {
		return fn(ctx, &Store{s: tx})
	})
}
