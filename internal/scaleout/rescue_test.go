package scaleout_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/store"
)

type crashArgs struct {
	Key string `json:"key"`
}

func (crashArgs) Kind() string { return "scaleout_crash" }

// crashWorker records which instance ran the job; in the child it then
// hangs, so that the job is running when the process is killed.
type crashWorker struct {
	river.WorkerDefaults[crashArgs]
	st   store.Store
	name string
	hang bool
}

func (w *crashWorker) Work(ctx context.Context, job *river.Job[crashArgs]) error {
	if err := w.st.PutSetting(ctx, fmt.Sprintf("%s.attempt.%d", job.Args.Key, job.Attempt), w.name); err != nil {
		return err
	}
	if w.hang {
		select {} // killed here
	}
	return nil
}

const childEnv = "COUPLER_SCALEOUT_CHILD_URL"

// TestMain runs the child instance when the test binary is re-executed by
// TestRescueCrashedInstance.
func TestMain(m *testing.M) {
	if spec := os.Getenv(syncChildEnv); spec != "" {
		if err := runSyncChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "sync child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	if url := os.Getenv(childEnv); url != "" {
		if err := runChild(url); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild is an instance that takes the job and hangs until killed.
func runChild(url string) error {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DatabaseURL: url, Logger: logger()})
	if err != nil {
		return err
	}
	reg := jobs.NewRegistry()
	if err := jobs.Register(reg, &crashWorker{st: st, name: "child", hang: true}); err != nil {
		return err
	}
	q, err := jobs.New(ctx, st, jobs.Options{Logger: logger(), Registry: reg, PollInterval: 100 * time.Millisecond,
		JobTimeout: time.Second, RescueStuckJobsAfter: 2 * time.Second})
	if err != nil {
		return err
	}
	if err := q.Start(ctx); err != nil {
		return err
	}
	if _, err := q.Insert(ctx, crashArgs{Key: "crash"}, &river.InsertOpts{MaxAttempts: 3}); err != nil {
		return err
	}
	select {}
}

// TestRescueCrashedInstance: an instance is killed (SIGKILL) while it runs
// a job; another instance, elected once the dead one's leadership expires,
// rescues the stuck job and completes it on the second attempt.
func TestRescueCrashedInstance(t *testing.T) {
	t.Parallel()
	url := setup(t)
	exe, err := os.Executable()
	require.NoError(t, err)
	child := exec.Command(exe, "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+url)
	child.Stderr = os.Stderr
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	obs, err := store.Open(t.Context(), store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(t, err)
	defer obs.Close()
	require.Eventually(t, func() bool {
		v, err := obs.GetSetting(t.Context(), "crash.attempt.1")
		return err == nil && v == "child"
	}, 30*time.Second, 50*time.Millisecond, "the child never started the job")
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	killed := time.Now()

	reg := jobs.NewRegistry()
	require.NoError(t, jobs.Register(reg, &crashWorker{st: obs, name: "survivor"}))
	start(t, url, reg, jobs.Options{JobTimeout: time.Second, RescueStuckJobsAfter: 2 * time.Second})
	db := obs.(interface{ SQLDB() *sql.DB }).SQLDB()
	require.Eventually(t, func() bool {
		var state string
		var attempt int
		err := db.QueryRowContext(t.Context(), `SELECT state, attempt FROM river_job WHERE kind = 'scaleout_crash'`).Scan(&state, &attempt)
		return err == nil && state == "completed" && attempt == 2
	}, 60*time.Second, 100*time.Millisecond, "the crashed instance's job was not completed by the survivor")
	v, err := obs.GetSetting(t.Context(), "crash.attempt.2")
	require.NoError(t, err)
	require.Equal(t, "survivor", v)
	t.Logf("rescued and completed %v after the kill", time.Since(killed).Round(100*time.Millisecond))
}
