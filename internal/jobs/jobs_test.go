package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/postgres"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/store/storetest"
)

func logger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// databases are the two store configurations every test runs on.
func databases(t *testing.T) map[string]func(t *testing.T) store.Options {
	return map[string]func(t *testing.T) store.Options{
		"sqlite":   func(t *testing.T) store.Options { return store.Options{DataDir: t.TempDir()} },
		"postgres": func(t *testing.T) store.Options { return store.Options{DatabaseURL: storetest.PostgresURL(t)} },
	}
}

func open(t *testing.T, opts store.Options) store.Store {
	opts.Logger = logger(t)
	st, err := store.Open(t.Context(), opts)
	require.NoError(t, err)
	return st
}

func start(t *testing.T, st store.Store, reg *jobs.Registry) *jobs.Queue {
	q, err := jobs.New(t.Context(), st, jobs.Options{Logger: logger(t), Registry: reg, Heartbeat: 200 * time.Millisecond, PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, q.Start(t.Context()))
	require.NoError(t, q.Ready(t.Context()))
	return q
}

func stop(t *testing.T, q *jobs.Queue) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, q.Stop(ctx))
	require.Error(t, q.Ready(ctx))
}

// TestHeartbeatSurvivesRestart: the periodic job runs, and runs again after
// the queue and the store are closed and reopened on the same database.
func TestHeartbeatSurvivesRestart(t *testing.T) {
	t.Parallel()
	for name, opts := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := opts(t)
			st := open(t, o)
			q := start(t, st, nil)
			var first time.Time
			require.Eventually(t, func() bool {
				var err error
				first, err = jobs.LastHeartbeat(t.Context(), st)
				return err == nil
			}, 30*time.Second, 20*time.Millisecond, "heartbeat never ran")
			stop(t, q)
			require.NoError(t, st.Close())

			st = open(t, o)
			defer st.Close()
			q = start(t, st, nil)
			defer stop(t, q)
			require.Eventually(t, func() bool {
				last, err := jobs.LastHeartbeat(t.Context(), st)
				return err == nil && last.After(first)
			}, 30*time.Second, 20*time.Millisecond, "heartbeat did not run after the restart")
		})
	}
}

type sleepArgs struct {
	Key   string        `json:"key"`
	Sleep time.Duration `json:"sleep"`
}

func (sleepArgs) Kind() string { return "test_sleep" }

type sleepWorker struct {
	river.WorkerDefaults[sleepArgs]
	st      store.Store
	started chan string
}

func (w *sleepWorker) Work(ctx context.Context, job *river.Job[sleepArgs]) error {
	w.started <- job.Args.Key
	time.Sleep(job.Args.Sleep) // not ctx-aware on purpose: Stop must wait
	return w.st.PutSetting(ctx, job.Args.Key, "done")
}

// TestStopFinishesRunningJobs: a registered worker runs an inserted job, and
// Stop returns only after the running job has finished.
func TestStopFinishesRunningJobs(t *testing.T) {
	t.Parallel()
	for name, opts := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t, opts(t))
			defer st.Close()
			reg := jobs.NewRegistry()
			w := &sleepWorker{st: st, started: make(chan string, 1)}
			require.NoError(t, jobs.Register(reg, w))
			require.Error(t, jobs.Register(reg, w), "a kind registered twice")
			q := start(t, st, reg)
			_, err := q.Insert(t.Context(), sleepArgs{Key: "slow", Sleep: 500 * time.Millisecond}, nil)
			require.NoError(t, err)
			select {
			case key := <-w.started:
				require.Equal(t, "slow", key)
			case <-time.After(30 * time.Second):
				t.Fatal("the job never started")
			}
			stop(t, q)
			v, err := st.GetSetting(t.Context(), "slow")
			require.NoError(t, err, "Stop returned before the running job finished")
			require.Equal(t, "done", v)
		})
	}
}

func TestRegistryErrors(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry()
	args := func() river.JobArgs { return jobs.HeartbeatArgs{} }
	require.NoError(t, reg.Every("x", time.Minute, args))
	require.Error(t, reg.Every("x", time.Minute, args))
	require.Error(t, reg.Every("y", 0, args))
	require.Error(t, reg.Queue("", 1))
	require.Error(t, reg.Queue("sync", 0))
	require.NoError(t, reg.Queue("sync", 2))
}

// TestInsertTx: a job inserted in a store transaction exists only if the
// transaction commits; on SQLite, Insert inside InTx is refused instead of
// waiting for itself.
func TestInsertTx(t *testing.T) {
	t.Parallel()
	for name, opts := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t, opts(t))
			defer st.Close()
			reg := jobs.NewRegistry()
			w := &sleepWorker{st: st, started: make(chan string, 2)}
			require.NoError(t, jobs.Register(reg, w))
			q := start(t, st, reg)
			defer stop(t, q)
			boom := errors.New("boom")

			err := st.InTx(t.Context(), func(ctx context.Context, tx store.Store) error {
				_, err := q.InsertTx(ctx, tx, sleepArgs{Key: "rolled-back"}, nil)
				require.NoError(t, err)
				return boom
			})
			require.ErrorIs(t, err, boom)
			require.NoError(t, st.InTx(t.Context(), func(ctx context.Context, tx store.Store) error {
				if err := tx.PutSetting(ctx, "written", "with the job"); err != nil {
					return err
				}
				_, err := q.InsertTx(ctx, tx, sleepArgs{Key: "committed"}, nil)
				return err
			}))
			select {
			case key := <-w.started:
				require.Equal(t, "committed", key)
			case <-time.After(30 * time.Second):
				t.Fatal("the committed job never started")
			}
			var n int
			db := st.(interface{ SQLDB() *sql.DB }).SQLDB()
			require.NoError(t, db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'test_sleep'`).Scan(&n))
			require.Equal(t, 1, n, "the rolled-back job does not exist")

			_, err = q.InsertTx(t.Context(), st, sleepArgs{Key: "x"}, nil)
			require.ErrorContains(t, err, "store.InTx")
			if name == "sqlite" {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				err = st.InTx(ctx, func(ctx context.Context, tx store.Store) error {
					_, err := q.Insert(ctx, sleepArgs{Key: "x"}, nil)
					return err
				})
				require.ErrorContains(t, err, "use InsertTx")
			}
		})
	}
}
