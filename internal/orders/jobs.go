package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/store"
)

// Queue is the River queue of order work: one worker per instance, and the
// store's leases keep instances from working one order at once.
const Queue = "orders"

// Schedules, as Business Central's job queue entries (anchor §3).
const (
	AutoCreateEvery = 30 * time.Minute
	StatusEvery     = 7 * time.Minute
	QuotesEvery     = 30 * time.Minute
	MirrorEvery     = 5 * time.Minute
)

// CreateArgs creates ERP orders from submitted CRM orders. Scheduled runs
// act only when "create sales orders automatically" is on.
type CreateArgs struct {
	Number    string `json:"number,omitempty"`
	Scheduled bool   `json:"scheduled,omitempty"`
}

// Kind names the job in River's tables.
func (CreateArgs) Kind() string { return "orders-create" }

// InsertOpts: one pending request of a kind at a time.
func (CreateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 10, UniqueOpts: jobs.UniqueWhileActive()}
}

// StatusArgs reports ERP order progress to the CRM.
type StatusArgs struct{}

// Kind names the job in River's tables.
func (StatusArgs) Kind() string { return "orders-status" }

// InsertOpts: ticks do not pile up.
func (StatusArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

// QuotesArgs processes CRM quotes ("process quotes automatically").
type QuotesArgs struct{}

// Kind names the job in River's tables.
func (QuotesArgs) Kind() string { return "orders-quotes" }

// InsertOpts: ticks do not pile up.
func (QuotesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

// MirrorArgs runs the bidirectional mode (ERP orders → CRM orders).
type MirrorArgs struct{}

// Kind names the job in River's tables.
func (MirrorArgs) Kind() string { return "orders-mirror" }

// InsertOpts: ticks do not pile up.
func (MirrorArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

// DialFunc returns the enabled connection's clients or ErrDisabled
// (Dialer.Dial).
type DialFunc func(ctx context.Context) (Conn, error)

// Register adds the order workers, their queue and schedules.
func Register(r *jobs.Registry, dial DialFunc, st store.Store, log *slog.Logger) error {
	if dial == nil || st == nil || log == nil {
		return errors.New("orders: dial, store and logger are required")
	}
	w := worker{dial: dial, st: st, log: log}
	if err := jobs.Register(r, &createWorker{worker: w}); err != nil {
		return err
	}
	if err := jobs.Register(r, &statusWorker{worker: w}); err != nil {
		return err
	}
	if err := jobs.Register(r, &quotesWorker{worker: w}); err != nil {
		return err
	}
	if err := jobs.Register(r, &mirrorWorker{worker: w}); err != nil {
		return err
	}
	if err := r.Queue(Queue, 1); err != nil {
		return err
	}
	if err := r.Every("orders-create", AutoCreateEvery, func() river.JobArgs { return CreateArgs{Scheduled: true} }); err != nil {
		return err
	}
	if err := r.Every("orders-status", StatusEvery, func() river.JobArgs { return StatusArgs{} }); err != nil {
		return err
	}
	if err := r.Every("orders-mirror", MirrorEvery, func() river.JobArgs { return MirrorArgs{} }); err != nil {
		return err
	}
	return r.Every("orders-quotes", QuotesEvery, func() river.JobArgs { return QuotesArgs{} })
}

type worker struct {
	dial DialFunc
	st   store.Store
	log  *slog.Logger
}

// service dials and builds a Service; ok is false when there is nothing to
// do (disabled connection or feature).
func (w worker) service(ctx context.Context, on func(Conn) bool) (*Service, bool, error) {
	c, err := w.dial(ctx)
	if errors.Is(err, ErrDisabled) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !c.Setup.SalesOrders.Enabled || !on(c) {
		return nil, false, nil
	}
	s, err := New(Options{CRM: c.CRM, ERP: c.ERP, Store: w.st, Logger: w.log})
	return s, err == nil, err
}

type createWorker struct {
	river.WorkerDefaults[CreateArgs]
	worker
}

func (w *createWorker) Work(ctx context.Context, j *river.Job[CreateArgs]) error {
	s, ok, err := w.service(ctx, func(c Conn) bool { return !j.Args.Scheduled || c.Setup.SalesOrders.AutoCreate })
	if !ok {
		return err
	}
	out, err := s.CreateOrders(ctx, j.Args.Number)
	if err != nil {
		return fmt.Errorf("orders: %w", err)
	}
	w.log.Info("orders job", "orders", len(out))
	return nil
}

type statusWorker struct {
	river.WorkerDefaults[StatusArgs]
	worker
}

func (w *statusWorker) Work(ctx context.Context, _ *river.Job[StatusArgs]) error {
	s, ok, err := w.service(ctx, func(Conn) bool { return true })
	if !ok {
		return err
	}
	_, err = s.UpdateStatuses(ctx)
	return err
}

type quotesWorker struct {
	river.WorkerDefaults[QuotesArgs]
	worker
}

func (w *quotesWorker) Work(ctx context.Context, _ *river.Job[QuotesArgs]) error {
	s, ok, err := w.service(ctx, func(c Conn) bool { return c.Setup.SalesOrders.AutoProcessQuote })
	if !ok {
		return err
	}
	_, err = s.ProcessQuotes(ctx)
	return err
}

type mirrorWorker struct {
	river.WorkerDefaults[MirrorArgs]
	worker
}

func (w *mirrorWorker) Work(ctx context.Context, _ *river.Job[MirrorArgs]) error {
	s, ok, err := w.service(ctx, func(c Conn) bool { return c.Setup.SalesOrders.Bidirectional })
	if !ok {
		return err
	}
	_, err = s.MirrorERPOrders(ctx)
	return err
}
