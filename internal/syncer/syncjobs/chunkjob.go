package syncjobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/syncer"
)

// ChunkArgs is one key range of a divided full synchronisation: any
// instance takes it, beside the other chunks of the same mapping.
type ChunkArgs struct {
	Mapping string `json:"mapping" river:"unique"`
	// Coordinator is the River job ID of the mapping job that planned it.
	Coordinator int64        `json:"coordinator" river:"unique"`
	Index       int          `json:"index" river:"unique"`
	Chunk       syncer.Chunk `json:"chunk"`
	Trigger     string       `json:"trigger,omitempty"`
}

// Kind names the job in River's tables.
func (ChunkArgs) Kind() string { return "sync-chunk" }

// InsertOpts: on the mapping jobs' queue (one per instance at a time),
// unique per coordinator and range while unfinished.
func (ChunkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 3, UniqueOpts: jobs.UniqueWhileActive()}
}

// chunkKey is the metadata key where a chunk job leaves its counts for
// its coordinator.
const chunkKey = "sync_chunk"

type chunkWorker struct {
	river.WorkerDefaults[ChunkArgs]
	engine EngineFunc
	log    *slog.Logger
}

func (w *chunkWorker) Work(ctx context.Context, job *river.Job[ChunkArgs]) error {
	a := job.Args
	eng, err := w.engine(ctx)
	if errors.Is(err, ErrDisabled) {
		w.log.Info("chunk job not run: the connection is disabled", "mapping", a.Mapping, "chunk", a.Chunk.String(), "job", job.ID)
		return nil
	}
	if err != nil {
		return err
	}
	j, err := eng.RunChunk(ctx, a.Mapping, a.Chunk, a.Trigger)
	if errors.Is(err, syncer.ErrUnknownMapping) {
		return river.JobCancel(err)
	}
	if err != nil {
		return river.JobCancel(err) // the plan no longer fits the mapping: the closing run covers the range
	}
	if err := river.MetadataSet(ctx, chunkKey, j.Counts); err != nil {
		return err
	}
	if j.Status == "failed" {
		return fmt.Errorf("mapping %s, %s failed: %s", a.Mapping, a.Chunk, j.Message)
	}
	return nil
}

// fullKey is the metadata key of a coordinator's state.
const fullKey = "sync_full"

// fullState is a divided full synchronisation's progress, kept in its
// mapping job's metadata across snoozes, retries and rescues.
type fullState struct {
	Planned time.Time `json:"planned"`
	Chunks  int       `json:"chunks"`
	Records int       `json:"records"`
	Coupled int       `json:"coupled"`
}

// divide runs a full synchronisation of a mapping as chunk jobs and a
// closing run. It returns done = false when the mapping is not divided
// (the caller runs it as one job). Otherwise err is a snooze while the
// chunks run, or the closing run's outcome. Correctness never rests on
// the chunks: the closing run is a full run, so a range that failed, was
// lost or was never queued is written there.
func (w *mappingWorker) divide(ctx context.Context, job *river.Job[MappingArgs], eng *syncer.Engine) (done bool, note string, err error) {
	a := job.Args
	var st fullState
	found, err := loadMeta(job.Metadata, fullKey, &st)
	if err != nil {
		return true, "", river.JobCancel(err)
	}
	rows, err := jobs.ListFromJob(ctx, river.NewJobListParams().Kinds(ChunkArgs{}.Kind()).First(10000).
		Where("CAST(args ->> 'coordinator' AS BIGINT) = @job", river.NamedArgs{"job": job.ID}))
	if err != nil {
		return true, "", err
	}
	if !found && len(rows) == 0 {
		plan, err := eng.PlanFull(ctx, a.Mapping)
		if err != nil {
			return true, "", err
		}
		if len(plan.Chunks) == 0 {
			w.log.Info("full synchronisation runs as one job", "mapping", a.Mapping, "job", job.ID, "why", plan.Reason)
			return false, "", nil
		}
		for _, ch := range plan.Chunks {
			if _, err := jobs.InsertFromJob(ctx, ChunkArgs{Mapping: a.Mapping, Coordinator: job.ID, Index: ch.Index, Chunk: ch, Trigger: a.Trigger}, nil); err != nil {
				return true, "", err
			}
		}
		st = fullState{Planned: time.Now(), Chunks: len(plan.Chunks), Records: plan.Records, Coupled: plan.Coupled}
		w.log.Info("full synchronisation divided", "mapping", a.Mapping, "job", job.ID, "records", plan.Records, "chunks", len(plan.Chunks), "coupled_by_match", plan.Coupled)
		return true, "", snoozeWith(ctx, st, minPause)
	}
	if !found {
		// Queued before a crash that lost the state: watch those chunks.
		st = fullState{Planned: time.Now(), Chunks: len(rows)}
	}
	var (
		counts syncer.Counts
		lost   []string
	)
	for _, row := range rows {
		if !jobs.Finished(row.State) {
			// At most half a second: the table's closing run and the
			// mappings after it wait for this wake-up.
			return true, "", snoozeWith(ctx, st, min(pause(time.Since(st.Planned)), 500*time.Millisecond))
		}
		var c syncer.Counts
		if ok, err := loadMeta(row.Metadata, chunkKey, &c); err != nil || !ok || row.State != rivertype.JobStateCompleted {
			lost = append(lost, fmt.Sprintf("job %d %s", row.ID, row.State))
		}
		counts.Inserted += c.Inserted
		counts.Modified += c.Modified
		counts.Unchanged += c.Unchanged
		counts.Failed += c.Failed
		counts.Skipped += c.Skipped
	}
	note = fmt.Sprintf("this run closed a full synchronisation divided into %d chunk job(s) over %d record(s): they inserted %d, modified %d, left %d unchanged, %d failed, %d skipped",
		st.Chunks, st.Records, counts.Inserted, counts.Modified, counts.Unchanged, counts.Failed, counts.Skipped)
	if st.Coupled > 0 {
		note += fmt.Sprintf("; %d pair(s) coupled by match fields before them", st.Coupled)
	}
	if len(rows) < st.Chunks {
		lost = append(lost, fmt.Sprintf("%d chunk job(s) not found", st.Chunks-len(rows)))
	}
	if len(lost) > 0 {
		note += fmt.Sprintf("; chunks that did not finish (%v): this run wrote their records", lost)
	}
	return false, note, nil
}

// snoozeWith saves the state and snoozes the job.
func snoozeWith(ctx context.Context, st fullState, d time.Duration) error {
	if err := river.MetadataSet(ctx, fullKey, st); err != nil {
		return err
	}
	return river.JobSnooze(d)
}

// loadMeta decodes key of a job's metadata into v; found is false when
// the key is absent.
func loadMeta(metadata []byte, key string, v any) (bool, error) {
	if len(metadata) == 0 {
		return false, nil
	}
	var md map[string]json.RawMessage
	if err := json.Unmarshal(metadata, &md); err != nil {
		return false, fmt.Errorf("syncjobs: the job metadata is not JSON: %w", err)
	}
	raw, ok := md[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("syncjobs: %s in the job metadata: %w", key, err)
	}
	return true, nil
}
