package syncjobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/syncer"
)

// MappingArgs is one mapping's run (with its line mappings) within a
// round: the job a round fans out, so that the instances sharing the queue
// each take a share.
type MappingArgs struct {
	// Mapping alone makes the job unique: while one run of a mapping is
	// queued or running, on any instance, no second one is queued.
	Mapping string `json:"mapping" river:"unique"`
	// Round is the River job ID of the round that queued it.
	Round   int64  `json:"round"`
	Full    bool   `json:"full,omitempty"`
	Trigger string `json:"trigger,omitempty"`
}

// Kind names the job in River's tables.
func (MappingArgs) Kind() string { return "sync-mapping" }

// InsertOpts: unique by mapping while unfinished; a failed run is retried
// as "sync now" always was.
func (MappingArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

type mappingWorker struct {
	river.WorkerDefaults[MappingArgs]
	engine EngineFunc
	log    *slog.Logger
}

func (w *mappingWorker) Work(ctx context.Context, job *river.Job[MappingArgs]) error {
	a := job.Args
	eng, err := w.engine(ctx)
	if errors.Is(err, ErrDisabled) {
		w.log.Info("mapping job not run: the connection is disabled", "mapping", a.Mapping, "job", job.ID, "round", a.Round)
		return nil
	}
	if err != nil {
		return err
	}
	ro := syncer.RunOptions{Full: a.Full, Trigger: a.Trigger}
	if a.Full {
		done, note, err := w.divide(ctx, job, eng)
		if done {
			return err
		}
		ro.Note, ro.Closing = note, note != ""
	}
	ran, err := eng.Run(ctx, []string{a.Mapping}, ro)
	if errors.Is(err, syncer.ErrUnknownMapping) {
		return river.JobCancel(err) // deleted since the round began: retrying cannot help
	}
	if err != nil {
		return err
	}
	for _, j := range ran {
		if j.Status != "failed" {
			continue
		}
		if a.Trigger == "schedule" {
			// Recorded with its message; the schedule runs it again.
			w.log.Warn("scheduled mapping failed", "mapping", j.Mapping, "message", j.Message)
			return nil
		}
		// The run is recorded with its message; River retries it.
		return fmt.Errorf("mapping %s failed: %s", j.Mapping, j.Message)
	}
	return nil
}
