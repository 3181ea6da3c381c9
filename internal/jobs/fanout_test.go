package jobs_test

import (
	"context"
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
