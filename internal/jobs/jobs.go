// Package jobs runs coupler's background work on River, over the same
// database as the store: riversqlite on the SQLite file (sharing the store's
// single writer connection, as River recommends for SQLite) and riverpgxv5
// on the PostgreSQL pool, where several instances share one queue and one
// elected scheduler. River's own tables are migrated at New.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/sqlstore"
)

// Options configure the queue.
type Options struct {
	Logger *slog.Logger
	// Workers is how many jobs of the default queue run at once (default 4).
	Workers int
	// Registry holds the features' workers and periodic jobs; nil = none
	// but the heartbeat.
	Registry *Registry
	// Heartbeat is the heartbeat job's interval (default 1 minute).
	Heartbeat time.Duration
	// PollInterval is how often to look for new jobs when no notification
	// arrives (default 1 s; SQLite has no LISTEN/NOTIFY, so it polls).
	PollInterval time.Duration
	// JobTimeout cancels a job's context after this long (default
	// DefaultJobTimeout; River's own default of one minute would cut a
	// large full synchronisation short). A worker may set its own with
	// Timeout.
	JobTimeout time.Duration
	// RescueStuckJobsAfter is how long a job may stay running before the
	// elected instance takes it for one whose instance crashed and retries
	// it elsewhere (default JobTimeout + 10 minutes; it must exceed
	// JobTimeout, or live jobs would be run twice).
	RescueStuckJobsAfter time.Duration
	// RetryPolicy says when a failed job runs again (nil: River's default,
	// attempt⁴ seconds); tests shorten it to reach a job's last attempt.
	RetryPolicy river.ClientRetryPolicy
}

// DefaultJobTimeout bounds one job: a 1,000,000-record full
// synchronisation takes minutes, not an hour.
const DefaultJobTimeout = time.Hour

// client is what both River clients (*sql.Tx and pgx.Tx flavours) share.
type client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Stopped() <-chan struct{}
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Queue is the running job system of one coupler instance.
type Queue struct {
	log    *slog.Logger
	client client

	mu      sync.Mutex // serialises Start and Stop
	started atomic.Bool
}

// New migrates River's tables and builds the client; nothing runs until
// Start. st must come from store.Open.
func New(ctx context.Context, st store.Store, opts Options) (*Queue, error) {
	if opts.Logger == nil {
		return nil, errors.New("jobs: Options.Logger is nil: pass the program's *slog.Logger")
	}
	if opts.Workers < 0 || opts.Heartbeat < 0 || opts.PollInterval < 0 {
		return nil, fmt.Errorf("jobs: workers (%d), heartbeat (%v) and poll interval (%v) must not be negative", opts.Workers, opts.Heartbeat, opts.PollInterval)
	}
	timeout := cmp.Or(opts.JobTimeout, DefaultJobTimeout)
	rescue := cmp.Or(opts.RescueStuckJobsAfter, timeout+10*time.Minute)
	if timeout < 0 || rescue <= timeout {
		return nil, fmt.Errorf("jobs: job timeout %v must be positive and below rescue-stuck-jobs-after %v (a job still running would be rescued and run twice)", timeout, rescue)
	}
	reg := opts.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	log := opts.Logger.With("component", "jobs")
	if err := Register(reg, &heartbeatWorker{st: st}); err != nil {
		return nil, err
	}
	if err := reg.Every("heartbeat", cmp.Or(opts.Heartbeat, time.Minute), func() river.JobArgs { return HeartbeatArgs{} }); err != nil {
		return nil, err
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cmp.Or(opts.Workers, 4)}}
	for name, n := range reg.queues {
		queues[name] = river.QueueConfig{MaxWorkers: n}
	}
	cfg := &river.Config{
		Logger:               log,
		Workers:              reg.workers,
		PeriodicJobs:         reg.periodic,
		Queues:               queues,
		FetchPollInterval:    cmp.Or(opts.PollInterval, time.Second),
		FetchCooldown:        min(cmp.Or(opts.PollInterval, time.Second), river.FetchCooldownDefault),
		JobTimeout:           timeout,
		RescueStuckJobsAfter: rescue,
		RetryPolicy:          opts.RetryPolicy,
	}
	q := &Queue{log: log}
	var err error
	switch s := st.(type) {
	case interface{ Pool() *pgxpool.Pool }:
		q.client, err = build(ctx, riverpgxv5.New(s.Pool()), cfg, log)
	case interface{ SQLDB() *sql.DB }:
		q.client, err = build(ctx, riversqlite.New(s.SQLDB()), cfg, log)
	default:
		return nil, fmt.Errorf("jobs: %T is not a store from store.Open (it exposes neither Pool nor SQLDB)", st)
	}
	if err != nil {
		return nil, err
	}
	return q, nil
}

func build[TTx any](ctx context.Context, d riverdriver.Driver[TTx], cfg *river.Config, log *slog.Logger) (client, error) {
	m, err := rivermigrate.New(d, &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("jobs: River migrator: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("jobs: migrate River's tables: %w", err)
	}
	if len(res.Versions) == 0 {
		log.Info("jobs: River schema up to date, nothing migrated")
	} else {
		log.Info("jobs: River schema migrated", "versions", len(res.Versions), "to", res.Versions[len(res.Versions)-1].Version)
	}
	c, err := river.NewClient(d, cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: River client: %w", err)
	}
	return c, nil
}

// Start begins working jobs and, if elected, scheduling periodic ones. The
// queue keeps running until Stop, whatever happens to ctx afterwards.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started.Load() {
		return errors.New("jobs: already started")
	}
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	q.started.Store(true)
	q.log.Info("jobs: started")
	return nil
}

// Stop stops fetching and waits for running jobs to finish until ctx is
// done; then it cancels what still runs and waits for it to return.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started.Swap(false) {
		return nil
	}
	err := q.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		q.log.Warn("jobs: running jobs did not finish in time; cancelling them", "err", err)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = q.client.StopAndCancel(cctx)
	}
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	q.log.Info("jobs: stopped")
	return nil
}

// Insert enqueues one job. Inside store.InTx use InsertTx: on SQLite,
// Insert would wait for the transaction's own connection, and is refused.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	if sqlstore.InsideSingleWriterTx(ctx) {
		return 0, fmt.Errorf("jobs: insert %s: called inside store.InTx on SQLite, where it would wait for the transaction's own connection: use InsertTx with the tx Store", args.Kind())
	}
	res, err := q.client.Insert(ctx, args, opts)
	if err != nil {
		return 0, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// Ready reports whether the queue is running (for /readyz).
func (q *Queue) Ready(ctx context.Context) error {
	if !q.started.Load() {
		return errors.New("jobs: not started")
	}
	select {
	case <-q.client.Stopped():
		return errors.New("jobs: River client stopped")
	default:
		return nil
	}
}
