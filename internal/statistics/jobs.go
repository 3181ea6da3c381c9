package statistics

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

// RefreshEvery is the account statistics schedule.
const RefreshEvery = 30 * time.Minute

// RefreshArgs is one account statistics refresh.
type RefreshArgs struct{}

// Kind names the job in River's tables.
func (RefreshArgs) Kind() string { return "account-statistics-refresh" }

// InsertOpts: ticks do not pile up behind a long run.
func (RefreshArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

// Register adds the statistics worker and its schedule; it does nothing
// while the connection is disabled.
func Register(r *jobs.Registry, dial orders.DialFunc, st store.Store, log *slog.Logger) error {
	if dial == nil || st == nil || log == nil {
		return errors.New("statistics: dial, store and logger are required")
	}
	if err := jobs.Register(r, &refreshWorker{dial: dial, st: st, log: log}); err != nil {
		return err
	}
	return r.Every("account-statistics-refresh", RefreshEvery, func() river.JobArgs { return RefreshArgs{} })
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
	_, err = Refresh(ctx, Options{CRM: c.CRM, ERP: c.ERP, Couplings: w.st, Logger: w.log})
	return err
}
