// Package syncjobs runs synchronisation on River. A round ("sync now", or
// the minute tick for the mappings whose schedule is due) fans out one job
// per mapping, unique per mapping, in dependency order, so that instances
// sharing PostgreSQL divide the work and never run one mapping twice at
// once. It lives apart from the engine because internal/jobs imports the
// store, which imports syncer.
package syncjobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/syncer"
)

// Queue is the River queue of the mapping jobs (and of record syncs): one
// worker per instance, so that an instance runs one mapping at a time
// within its API clients' limits; several instances run different
// mappings at once.
const Queue = "sync"

// ErrDisabled is what an EngineFunc returns when the connection is
// disabled: then nothing runs, and the job says so and succeeds.
var ErrDisabled = errors.New("the connection is disabled")

// EngineFunc returns the engine of the enabled connection (built fresh, so
// that a changed setup or mapping is picked up), or ErrDisabled.
type EngineFunc func(ctx context.Context) (*syncer.Engine, error)

// SyncArgs is "sync now": some mappings (all when empty), optionally full,
// as a round of mapping jobs; or only some ERP records of one mapping, as
// this one job.
type SyncArgs struct {
	Mappings []string `json:"mappings,omitempty"`
	Full     bool     `json:"full,omitempty"`
	Records  []string `json:"records,omitempty"`
	Trigger  string   `json:"trigger,omitempty"`
}

// Kind names the job in River's tables.
func (SyncArgs) Kind() string { return "sync" }

// InsertOpts: the same request is not queued twice while one is pending,
// but asking again after it finished runs it again.
func (a SyncArgs) InsertOpts() river.InsertOpts {
	q := RoundQueue
	if len(a.Records) > 0 {
		q = Queue
	}
	return river.InsertOpts{Queue: q, MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

// ScheduleArgs is the minute tick: a round of the due mappings.
type ScheduleArgs struct{}

// Kind names the job in River's tables.
func (ScheduleArgs) Kind() string { return "sync-schedule" }

// InsertOpts: ticks do not pile up behind a long round (the next tick is
// skipped while one is unfinished), and a finished tick does not block the
// next one (River's default unique states include completed jobs, which
// would let the tick fire once a day).
func (ScheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: RoundQueue, MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

// roundWorkers is how many rounds an instance watches at once; each
// wake-up is a few queries.
const roundWorkers = 2

// Register adds the workers, the queue and the minute tick to a registry.
func Register(r *jobs.Registry, engine EngineFunc, st syncer.Store, log *slog.Logger) error {
	if engine == nil || st == nil || log == nil {
		return errors.New("syncjobs: engine, store and logger are required")
	}
	rs := &rounds{engine: engine, log: log}
	if err := jobs.Register(r, &syncWorker{engine: engine, rounds: rs, log: log}); err != nil {
		return err
	}
	if err := jobs.Register(r, &scheduleWorker{rounds: rs, st: st, now: time.Now}); err != nil {
		return err
	}
	if err := jobs.Register(r, &mappingWorker{engine: engine, log: log}); err != nil {
		return err
	}
	if err := jobs.Register(r, &chunkWorker{engine: engine, log: log}); err != nil {
		return err
	}
	if err := r.Queue(Queue, 1); err != nil {
		return err
	}
	if err := r.Queue(RoundQueue, roundWorkers); err != nil {
		return err
	}
	return r.Every("sync-schedule", time.Minute, func() river.JobArgs { return ScheduleArgs{} })
}

type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	engine EngineFunc
	rounds *rounds
	log    *slog.Logger
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	a := job.Args
	trigger := a.Trigger
	if trigger == "" {
		trigger = "manual"
	}
	if len(a.Records) == 0 {
		return w.rounds.work(ctx, job.JobRow, a.Full, trigger, func(ctx context.Context, eng *syncer.Engine) ([]unit, error) {
			all, err := eng.Mappings(ctx)
			if err != nil {
				return nil, fmt.Errorf("load mappings: %w", err)
			}
			return plan(all, a.Mappings)
		})
	}
	eng, err := w.engine(ctx)
	if errors.Is(err, ErrDisabled) {
		w.log.Info("sync job not run: the connection is disabled", "job", job.ID)
		return nil
	}
	if err != nil {
		return err
	}
	jobsRun, err := eng.Run(ctx, a.Mappings, syncer.RunOptions{Full: a.Full, ERPIDs: a.Records, Trigger: trigger})
	if errors.Is(err, syncer.ErrUnknownMapping) {
		return river.JobCancel(err) // retrying cannot help
	}
	if err != nil {
		return err
	}
	for _, j := range jobsRun {
		if j.Status == "failed" {
			// The run is recorded with its message; River retries it.
			return fmt.Errorf("mapping %s failed: %s", j.Mapping, j.Message)
		}
	}
	return nil
}

type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	rounds *rounds
	st     syncer.Store
	now    func() time.Time
}

// staleRunning is how long a job may stay "running" before it is taken for
// one a crash interrupted.
const staleRunning = 2 * time.Hour

func (w *scheduleWorker) Work(ctx context.Context, job *river.Job[ScheduleArgs]) error {
	return w.rounds.work(ctx, job.JobRow, false, "schedule", func(ctx context.Context, eng *syncer.Engine) ([]unit, error) {
		due, err := Due(ctx, eng, w.st, w.now())
		if err != nil || len(due) == 0 {
			return nil, err
		}
		all, err := eng.Mappings(ctx)
		if err != nil {
			return nil, fmt.Errorf("load mappings: %w", err)
		}
		return plan(all, due)
	})
}

// Due lists the enabled mappings whose schedule has come: never run, or
// last started at least their interval ago and not running now. Line
// mappings run with their header mapping.
func Due(ctx context.Context, eng *syncer.Engine, st syncer.Store, now time.Time) ([]string, error) {
	ms, err := eng.Mappings(ctx)
	if err != nil {
		return nil, err
	}
	var due []string
	for _, m := range ms {
		if m.Disabled || m.Parent != "" {
			continue
		}
		last, err := st.ListJobs(ctx, m.Name, 1)
		if err != nil {
			return nil, err
		}
		if len(last) == 0 {
			due = append(due, m.Name)
			continue
		}
		j := last[0]
		if j.Status == "running" && now.Sub(j.StartedAt) < staleRunning {
			continue
		}
		if !now.Before(j.StartedAt.Add(m.Schedule())) {
			due = append(due, m.Name)
		}
	}
	return due, nil
}
