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

// RoundQueue is the queue of rounds (the minute tick, "sync now"): they
// only queue mapping jobs and watch them, and never wait for the sync
// queue's single worker, which the mapping jobs need.
const RoundQueue = "sync-round"

// roundKey is the job metadata key where a round keeps its units between
// wake-ups: River keeps it across snoozes, retries and rescues.
const roundKey = "sync_round"

// Pauses between a round's wake-ups: an eighth of the time since the
// round last moved on, within these bounds, so that a short mapping's end
// is noticed within a few tens of milliseconds and an hour-long one costs a
// wake-up every few seconds.
const (
	minPause = 50 * time.Millisecond
	maxPause = 2 * time.Second
)

// roundState is a round's progress.
type roundState struct {
	Units []unit `json:"units"`
	// Moved is when a job of the round last finished or was queued.
	Moved time.Time `json:"moved"`
}

// rounds coordinate the mapping jobs of one run: a round queues the units
// whose dependencies in the round have finished, snoozes, and wakes up to
// queue the next ones, until every unit has finished. Snoozing frees its
// worker, so a round never holds a worker while it waits, and one sync
// worker (SQLite) cannot deadlock.
type rounds struct {
	engine EngineFunc
	log    *slog.Logger
}

// planFunc lists a round's units; none = nothing to do.
type planFunc func(ctx context.Context, eng *syncer.Engine) ([]unit, error)

func (r *rounds) work(ctx context.Context, row *rivertype.JobRow, full bool, trigger string, planUnits planFunc) error {
	st, found, err := loadRound(row.Metadata)
	if err != nil {
		return river.JobCancel(err)
	}
	eng, err := r.engine(ctx)
	if errors.Is(err, ErrDisabled) {
		if found || trigger != "schedule" { // a disabled connection's tick is not news
			r.log.Info("synchronisation round not run further: the connection is disabled", "round", row.ID, "trigger", trigger)
		}
		return nil
	}
	if !found {
		if err != nil {
			return err
		}
		st.Units, err = planUnits(ctx, eng)
		if errors.Is(err, syncer.ErrUnknownMapping) {
			return river.JobCancel(err) // retrying cannot help
		}
		if err != nil {
			return err
		}
		if len(st.Units) == 0 {
			return nil
		}
		r.log.Info("synchronisation round", "round", row.ID, "trigger", trigger, "mappings", st.names())
	} else if err != nil {
		// The queued mapping jobs meet the same error and record it.
		r.log.Warn("synchronisation round: the engine is not available; watching its jobs", "round", row.ID, "err", err)
	}
	progress, err := r.advance(ctx, row.ID, &st, full, trigger)
	if err != nil {
		if merr := river.MetadataSet(ctx, roundKey, st); merr != nil {
			return errors.Join(err, merr)
		}
		return err
	}
	if st.finished() {
		r.log.Info("synchronisation round finished", "round", row.ID, "trigger", trigger, "mappings", st.names())
		return nil
	}
	now := time.Now()
	if progress || st.Moved.IsZero() {
		st.Moved = now
	}
	if err := river.MetadataSet(ctx, roundKey, st); err != nil {
		return err
	}
	return river.JobSnooze(pause(now.Sub(st.Moved)))
}

// advance notes the units whose jobs have finished and queues those whose
// dependencies all have; it reports whether anything changed. The jobs of
// the round are read back from River, not only from the round's state:
// a round interrupted by a crash after queuing a job, before its state was
// saved, finds that job instead of queuing a second one.
func (r *rounds) advance(ctx context.Context, round int64, st *roundState, full bool, trigger string) (bool, error) {
	rows, err := jobs.ListFromJob(ctx, river.NewJobListParams().Kinds(MappingArgs{}.Kind()).First(10000).
		Where("id > @round AND CAST(args ->> 'round' AS BIGINT) = @round", river.NamedArgs{"round": round}))
	if err != nil {
		return false, err
	}
	latest := map[string]*rivertype.JobRow{}
	for _, row := range rows {
		var a MappingArgs
		if err := json.Unmarshal(row.EncodedArgs, &a); err != nil {
			return false, fmt.Errorf("syncjobs: the args of job %d: %w", row.ID, err)
		}
		if prev := latest[a.Mapping]; prev == nil || row.ID > prev.ID {
			latest[a.Mapping] = row
		}
	}
	progress := false
	done := map[string]bool{}
	for i := range st.Units {
		u := &st.Units[i]
		if u.Done == "" {
			row := latest[u.Mapping]
			switch {
			case row != nil:
				u.Job = row.ID
				if jobs.Finished(row.State) {
					u.Done = string(row.State)
				}
			case u.Job != 0:
				u.Done = "gone" // deleted from River's table: not coming back
			}
			if u.Done != "" {
				progress = true
				r.log.Debug("synchronisation round: mapping job finished", "round", round, "mapping", u.Mapping, "job", u.Job, "state", u.Done)
			}
		}
		if u.Done != "" {
			done[u.Mapping] = true
		}
	}
	for i := range st.Units {
		u := &st.Units[i]
		if u.Job != 0 || !allDone(u.After, done) {
			continue
		}
		res, err := jobs.InsertResultFromJob(ctx, MappingArgs{Mapping: u.Mapping, Round: round, Full: full, Trigger: trigger}, nil)
		if err != nil {
			return progress, err
		}
		if res.UniqueSkippedAsDuplicate {
			// Another round's run of this mapping is unfinished: ours is
			// queued once it has finished, never beside it.
			continue
		}
		u.Job = res.Job.ID
		progress = true
	}
	return progress, nil
}

func allDone(names []string, done map[string]bool) bool {
	for _, n := range names {
		if !done[n] {
			return false
		}
	}
	return true
}

func (s roundState) finished() bool {
	for _, u := range s.Units {
		if u.Done == "" {
			return false
		}
	}
	return true
}

func (s roundState) names() []string {
	out := make([]string, len(s.Units))
	for i, u := range s.Units {
		out[i] = u.Mapping
	}
	return out
}

// loadRound reads a round's state from its job's metadata; found is false
// on the round's first run.
func loadRound(metadata []byte) (st roundState, found bool, err error) {
	found, err = loadMeta(metadata, roundKey, &st)
	return st, found, err
}

// pause is how long a round that last moved on since ago sleeps.
func pause(since time.Duration) time.Duration {
	return min(max(since/8, minPause), maxPause)
}
