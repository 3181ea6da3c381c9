package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/store"
)

type fanArgs struct {
	Part int `json:"part"` // 0 = the parent
}

func (fanArgs) Kind() string { return "test_fan" }

type fanWorker struct {
	river.WorkerDefaults[fanArgs]
	st store.Store
}

func (w *fanWorker) Work(ctx context.Context, job *river.Job[fanArgs]) error {
	if job.Args.Part == 0 {
		for p := 1; p <= 3; p++ {
			if _, err := jobs.InsertFromJob(ctx, fanArgs{Part: p}, &river.InsertOpts{UniqueOpts: jobs.UniqueWhileActive()}); err != nil {
				return err
			}
		}
		return nil
	}
	return w.st.PutSetting(ctx, fmt.Sprintf("fan.%d", job.Args.Part), "done")
}

// TestInsertFromJob: a job fans out three jobs from its Work, on both
// databases, and each runs; outside a job InsertFromJob is refused.
func TestInsertFromJob(t *testing.T) {
	t.Parallel()
	_, err := jobs.InsertFromJob(t.Context(), fanArgs{Part: 1}, nil)
	require.ErrorContains(t, err, "outside a running job")
	for name, opts := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t, opts(t))
			defer st.Close()
			reg := jobs.NewRegistry()
			require.NoError(t, jobs.Register(reg, &fanWorker{st: st}))
			q := start(t, st, reg)
			defer stop(t, q)
			_, err := q.Insert(t.Context(), fanArgs{}, nil)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				for p := 1; p <= 3; p++ {
					if _, err := st.GetSetting(t.Context(), fmt.Sprintf("fan.%d", p)); err != nil {
						return false
					}
				}
				return true
			}, 30*time.Second, 20*time.Millisecond, "the fanned-out jobs did not all run")
		})
	}
}

type watchArgs struct{}

func (watchArgs) Kind() string { return "test_watch" }

// watchWorker fans out one job, then snoozes until it has finished,
// keeping the job's ID in its metadata across snoozes.
type watchWorker struct {
	river.WorkerDefaults[watchArgs]
	st store.Store
}

func (w *watchWorker) Work(ctx context.Context, job *river.Job[watchArgs]) error {
	var md struct {
		Child int64 `json:"child"`
	}
	if err := json.Unmarshal(job.Metadata, &md); err != nil {
		return err
	}
	if md.Child == 0 {
		// Scheduled a little later, so that it cannot finish between the
		// two inserts.
		opts := &river.InsertOpts{UniqueOpts: jobs.UniqueWhileActive(), ScheduledAt: time.Now().Add(time.Second)}
		first, err := jobs.InsertResultFromJob(ctx, fanArgs{Part: 7}, opts)
		if err != nil {
			return err
		}
		again, err := jobs.InsertResultFromJob(ctx, fanArgs{Part: 7}, opts)
		if err != nil {
			return err
		}
		if !again.UniqueSkippedAsDuplicate || again.Job.ID != first.Job.ID {
			return fmt.Errorf("the second insert of an unfinished unique job was not skipped: %+v", again)
		}
		md.Child = first.Job.ID
		if err := river.MetadataSet(ctx, "child", md.Child); err != nil {
			return err
		}
	}
	// By ID, and by an argument (as written for both databases).
	rows, err := jobs.ListFromJob(ctx, river.NewJobListParams().IDs(md.Child, -1))
	if err != nil {
		return err
	}
	if len(rows) != 1 || rows[0].ID != md.Child {
		return fmt.Errorf("listing jobs %d and -1 found %d job(s)", md.Child, len(rows))
	}
	byArg, err := jobs.ListFromJob(ctx, river.NewJobListParams().Kinds(fanArgs{}.Kind()).
		Where("CAST(args ->> 'part' AS BIGINT) = @part AND id > @after", river.NamedArgs{"part": 7, "after": job.ID}))
	if err != nil {
		return err
	}
	if len(byArg) != 1 || byArg[0].ID != md.Child {
		return fmt.Errorf("listing part 7 found %d job(s)", len(byArg))
	}
	if !jobs.Finished(rows[0].State) {
		return river.JobSnooze(20 * time.Millisecond)
	}
	return w.st.PutSetting(ctx, "watch", string(rows[0].State))
}

// TestListFromJob: a job fans out a unique job (a second insert is
// skipped as its duplicate), snoozes while it runs and sees it completed,
// finding it by ID and by its arguments, on both databases.
func TestListFromJob(t *testing.T) {
	t.Parallel()
	_, err := jobs.ListFromJob(t.Context(), river.NewJobListParams())
	require.ErrorContains(t, err, "outside a running job")
	for name, opts := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t, opts(t))
			defer st.Close()
			reg := jobs.NewRegistry()
			require.NoError(t, jobs.Register(reg, &fanWorker{st: st}))
			require.NoError(t, jobs.Register(reg, &watchWorker{st: st}))
			q := start(t, st, reg)
			defer stop(t, q)
			_, err := q.Insert(t.Context(), watchArgs{}, nil)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				v, err := st.GetSetting(t.Context(), "watch")
				return err == nil && v == "completed"
			}, 30*time.Second, 20*time.Millisecond, "the watching job did not see its job complete")
		})
	}
}
