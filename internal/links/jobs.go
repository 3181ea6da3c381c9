package links

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/orders"
	"github.com/coupler/coupler/internal/store"
)

// RefreshEvery is how often links are brought up to date: new couplings
// get theirs, decoupled records lose theirs, a changed web client URL or
// company name rewrites them all.
const RefreshEvery = 15 * time.Minute

// RefreshArgs is one links refresh.
type RefreshArgs struct{}

// Kind names the job in River's tables.
func (RefreshArgs) Kind() string { return "erp-links-refresh" }

// InsertOpts: ticks do not pile up behind a long run.
func (RefreshArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

// Register adds the links worker and its schedule; it does nothing while
// the connection is disabled. Insert RefreshArgs{} to refresh at once (after
// `reset-web-client-url` or a full synchronisation).
func Register(r *jobs.Registry, dial orders.DialFunc, st store.Store, log *slog.Logger) error {
	if dial == nil || st == nil || log == nil {
		return errors.New("links: dial, store and logger are required")
	}
	if err := jobs.Register(r, &refreshWorker{dial: dial, st: st, log: log}); err != nil {
		return err
	}
	return r.Every("erp-links-refresh", RefreshEvery, func() river.JobArgs { return RefreshArgs{} })
}

type refreshWorker struct {
	river.WorkerDefaults[RefreshArgs]
	dial orders.DialFunc
	st   store.Store
	log  *slog.Logger
}

func (w *refreshWorker) Work(ctx context.Context, _ *river.Job[RefreshArgs]) error {
	c, err := w.dial(ctx)
	if errors.Is(err, orders.ErrDisabled) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = Refresh(ctx, Options{Setup: c.Setup, CRM: c.CRM, ERP: c.ERP, Couplings: w.st, Logger: w.log})
	return err
}
