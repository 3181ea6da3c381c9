package availability

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/orders"
	"github.com/coupler/coupler/internal/store"
)

// StockEvery is the stock refresh schedule (BC's item availability job).
const StockEvery = 30 * time.Minute

// StockArgs is one stock refresh.
type StockArgs struct{}

// Kind names the job in River's tables.
func (StockArgs) Kind() string { return "stock-refresh" }

// InsertOpts: ticks do not pile up behind a long run.
func (StockArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

// Register adds the stock refresh worker and its 30-minute schedule. It runs
// only when the connection is enabled and the setup's availability job is on.
func Register(r *jobs.Registry, dial orders.DialFunc, st store.Store, log *slog.Logger) error {
	if dial == nil || st == nil || log == nil {
		return errors.New("availability: dial, store and logger are required")
	}
	if err := jobs.Register(r, &stockWorker{dial: dial, st: st, log: log}); err != nil {
		return err
	}
	return r.Every("stock-refresh", StockEvery, func() river.JobArgs { return StockArgs{} })
}

// ERPFrom adapts a dial function to Options.ERP.
func ERPFrom(dial orders.DialFunc) func(context.Context) (*bc.Client, error) {
	return func(ctx context.Context) (*bc.Client, error) {
		c, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		return c.ERP, nil
	}
}

type stockWorker struct {
	river.WorkerDefaults[StockArgs]
	dial orders.DialFunc
	st   store.Store
	log  *slog.Logger
}

func (w *stockWorker) Work(ctx context.Context, _ *river.Job[StockArgs]) error {
	c, err := w.dial(ctx)
	if errors.Is(err, orders.ErrDisabled) {
		return nil
	}
	if err != nil {
		return err
	}
	if !c.Setup.Availability.JobEnable {
		return nil
	}
	_, err = RefreshStock(ctx, c.ERP, c.CRM, w.st, w.log)
	return err
}
