package jobs

import (
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// Registry collects the background work of every feature before the queue
// starts. A feature exposes a function that takes the registry and its own
// dependencies, and the daemon calls it:
//
//	// in package syncer
//	func RegisterJobs(r *jobs.Registry, e *Engine) error {
//		if err := jobs.Register(r, &syncWorker{engine: e}); err != nil {
//			return err
//		}
//		return r.Every("sync-schedule", time.Minute, func() river.JobArgs { return ScheduleArgs{} })
//	}
//
//	// in package daemon
//	reg := jobs.NewRegistry()
//	err := syncer.RegisterJobs(reg, engine)
//	q, err := jobs.New(ctx, st, jobs.Options{Logger: log, Registry: reg})
//
// Workers are River workers (river.Worker[T] for a river.JobArgs type T, one
// per Kind); jobs are inserted with Queue.Insert. Periodic jobs are inserted
// by the elected leader only, so several instances sharing PostgreSQL do
// not run them twice. A Registry serves one Queue (New adds the heartbeat to
// it).
type Registry struct {
	workers  *river.Workers
	periodic []*river.PeriodicJob
	ids      map[string]bool
	queues   map[string]int
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{workers: river.NewWorkers(), ids: map[string]bool{}, queues: map[string]int{}}
}

// Register adds the worker of one job kind; a kind registered twice is an
// error.
func Register[T river.JobArgs](r *Registry, w river.Worker[T]) error {
	if err := river.AddWorkerSafely(r.workers, w); err != nil {
		return fmt.Errorf("jobs: register worker: %w", err)
	}
	return nil
}

// Every inserts the job args returns every interval, and once when this
// instance becomes the scheduler (so that a long interval still runs after
// a restart). id names the schedule and must be unique.
func (r *Registry) Every(id string, interval time.Duration, args func() river.JobArgs) error {
	if interval <= 0 {
		return fmt.Errorf("jobs: periodic job %q: interval %v must be positive", id, interval)
	}
	return r.Schedule(id, river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) { return args(), nil }, true)
}

// Schedule is Every with any River schedule (e.g. a cron expression) and
// insert options.
func (r *Registry) Schedule(id string, schedule river.PeriodicSchedule, construct river.PeriodicJobConstructor, runOnStart bool) error {
	if id == "" || r.ids[id] {
		return fmt.Errorf("jobs: periodic job id %q is empty or already used", id)
	}
	r.ids[id] = true
	r.periodic = append(r.periodic, river.NewPeriodicJob(schedule, construct, &river.PeriodicJobOpts{ID: id, RunOnStart: runOnStart}))
	return nil
}

// Queue declares a named queue with its own concurrency, for work that must
// not crowd out the rest (jobs choose it with river.InsertOpts.Queue or the
// args' InsertOpts method).
func (r *Registry) Queue(name string, maxWorkers int) error {
	if name == "" || maxWorkers < 1 {
		return fmt.Errorf("jobs: queue %q: a name and at least one worker are needed (got %d)", name, maxWorkers)
	}
	r.queues[name] = maxWorkers
	return nil
}
