package syncjobs_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/postgres"
	"github.com/coupler/coupler/internal/store/storetest"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// slowSide has no records; every read takes delay, and reads of the ERP
// entity set fail fail with an error.
type slowSide struct {
	name  string
	delay time.Duration
	fail  string
}

func (s *slowSide) Name() string                         { return s.name }
func (s *slowSide) MaxBatch() int                        { return 100 }
func (s *slowSide) Self(context.Context) (string, error) { return "", nil }
func (s *slowSide) Get(context.Context, string, string, []string) ([]syncer.Record, error) {
	return nil, nil
}
func (s *slowSide) Find(context.Context, string, string, string) ([]syncer.Record, error) {
	return nil, nil
}
func (s *slowSide) Write(_ context.Context, _, _ string, ops []syncer.Op) ([]syncer.Result, error) {
	out := make([]syncer.Result, len(ops))
	for i, op := range ops {
		out[i] = syncer.Result{ID: op.ID, ModifiedAt: time.Now()}
	}
	return out, nil
}

func (s *slowSide) Read(ctx context.Context, q syncer.ReadQuery, fn func([]syncer.Record) error) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.name == "erp" && q.Entity == s.fail {
		return errors.New("the ERP refuses to list " + q.Entity)
	}
	return nil
}

// fanMappings: CUSTOMER after CURRENCY; CONTACT after CUSTOMER and VENDOR;
// ITEM-PRODUCT after UNIT OF MEASURE (as the default set orders them).
var fanMappings = []string{mapping.Currency, mapping.Customer, mapping.Vendor, mapping.Contact, mapping.UnitOfMeasure, mapping.ItemProduct}

// fanDeps are the dependencies among fanMappings a run must respect.
var fanDeps = map[string][]string{
	mapping.Customer:    {mapping.Currency},
	mapping.Vendor:      {mapping.Currency},
	mapping.Contact:     {mapping.Customer, mapping.Vendor},
	mapping.ItemProduct: {mapping.UnitOfMeasure},
}

func fanSet(t *testing.T) []mapping.TableMapping {
	t.Helper()
	var ms []mapping.TableMapping
	for _, n := range fanMappings {
		m, ok := mapping.Default(n)
		require.True(t, ok, n)
		ms = append(ms, m)
	}
	return ms
}

// fanDatabases are the databases a fan-out runs on, with how many
// instances share each (SQLite serves one).
var fanDatabases = map[string]struct {
	opts      func(t *testing.T) store.Options
	instances int
}{
	"sqlite":   {func(t *testing.T) store.Options { return store.Options{DataDir: t.TempDir()} }, 1},
	"postgres": {func(t *testing.T) store.Options { return store.Options{DatabaseURL: storetest.PostgresURL(t)} }, 2},
}

// fanOptions say how to start an instance.
type fanOptions struct {
	// quiet first records a recent run of every mapping, so that the tick
	// finds nothing due.
	quiet bool
	// beforeStart queues jobs before the queue starts.
	beforeStart func(q *jobs.Queue)
}

// fanInstance starts one instance: its own store connection, engine and
// queue (the tick fires as it starts).
func fanInstance(t *testing.T, o store.Options, side slowSide, fo fanOptions) (store.Store, *jobs.Queue) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	o.Logger = log
	db, err := store.Open(t.Context(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	st := syncstore.New(db)
	ms := fanSet(t)
	if fo.quiet {
		for _, m := range ms {
			_, err := st.CreateJob(t.Context(), syncer.Job{Mapping: m.Name, Trigger: "schedule", Status: "succeeded", StartedAt: time.Now(), FinishedAt: time.Now()})
			require.NoError(t, err)
		}
	}
	erp, crm := side, side
	erp.name, crm.name = "erp", "crm"
	eng, err := syncer.New(syncer.Options{Store: st, CRM: &crm, ERP: &erp, Logger: log,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return ms, nil }})
	require.NoError(t, err)
	reg := jobs.NewRegistry()
	require.NoError(t, syncjobs.Register(reg, func(context.Context) (*syncer.Engine, error) { return eng, nil }, st, log))
	q, err := jobs.New(t.Context(), db, jobs.Options{Logger: log, Registry: reg, PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	if fo.beforeStart != nil {
		fo.beforeStart(q)
	}
	require.NoError(t, q.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return db, q
}

// runs are the engine's job records of every fan-out mapping, oldest first.
func runs(t *testing.T, db store.Store) map[string][]syncer.Job {
	t.Helper()
	out := map[string][]syncer.Job{}
	for _, m := range fanMappings {
		js, err := syncstore.New(db).ListJobs(t.Context(), m, 0)
		require.NoError(t, err)
		sort.Slice(js, func(i, j int) bool { return js[i].StartedAt.Before(js[j].StartedAt) })
		out[m] = js
	}
	return out
}

// requireOrder: in each trigger's run of every mapping, the mapping started
// after the runs of its dependencies with that trigger had finished.
func requireOrder(t *testing.T, rs map[string][]syncer.Job, trigger string) {
	t.Helper()
	pick := func(m string) syncer.Job {
		for _, j := range rs[m] {
			if j.Trigger == trigger {
				return j
			}
		}
		require.Failf(t, "no run", "%s has no %s run", m, trigger)
		return syncer.Job{}
	}
	for m, deps := range fanDeps {
		j := pick(m)
		for _, d := range deps {
			dj := pick(d)
			require.False(t, j.StartedAt.Before(dj.FinishedAt), "%s (%s) started at %v, before %s finished at %v", m, trigger, j.StartedAt, d, dj.FinishedAt)
		}
	}
}

func riverJobs(t *testing.T, db store.Store, kind string) (total, completed int) {
	t.Helper()
	sdb := db.(interface{ SQLDB() *sql.DB }).SQLDB()
	require.NoError(t, sdb.QueryRowContext(t.Context(), `SELECT COUNT(*), COUNT(CASE WHEN state = 'completed' THEN 1 END) FROM river_job WHERE kind = '`+kind+`'`).Scan(&total, &completed))
	return total, completed
}

// TestTickFansOutInDependencyOrder: the minute tick (fired as the queue
// starts) queues one job per due mapping; each starts only after the
// mappings it depends on have finished; VENDOR fails (its scheduled run is
// recorded failed and not retried), the unrelated mappings run regardless,
// and CONTACT, which depends on it, still runs once VENDOR's run is over
// (as Engine.Run and BC do). Every River job of the round completes.
func TestTickFansOutInDependencyOrder(t *testing.T) {
	t.Parallel()
	for name, d := range fanDatabases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := d.opts(t)
			side := slowSide{delay: 20 * time.Millisecond, fail: "vendors"}
			var db store.Store
			for range d.instances {
				db, _ = fanInstance(t, o, side, fanOptions{})
			}
			var rs map[string][]syncer.Job
			require.Eventually(t, func() bool {
				rs = runs(t, db)
				for _, m := range fanMappings {
					if len(rs[m]) == 0 || rs[m][0].Status == "running" {
						return false
					}
				}
				return true
			}, 30*time.Second, 50*time.Millisecond, "the tick's round did not run every mapping")
			requireOrder(t, rs, "schedule")
			for _, m := range fanMappings {
				require.Len(t, rs[m], 1, "%s: one run per mapping", m)
				want := "succeeded"
				if m == mapping.Vendor {
					want = "failed"
				}
				require.Equal(t, want, rs[m][0].Status, "%s: %s", m, rs[m][0].Message)
			}
			require.Eventually(t, func() bool {
				total, completed := riverJobs(t, db, "sync-mapping")
				return total == len(fanMappings) && completed == total
			}, 10*time.Second, 50*time.Millisecond, "one completed River job per mapping")
			require.Eventually(t, func() bool {
				total, completed := riverJobs(t, db, "sync-schedule")
				return total >= 1 && completed == total
			}, 10*time.Second, 50*time.Millisecond, "the round completes")
		})
	}
}

// TestRoundsNeverRunAMappingTwiceAtOnce: the tick's round and a "sync now"
// of every mapping, queued as the tick's round begins, on one instance (SQLite) or
// two (PostgreSQL): each round runs every mapping once in dependency
// order, and the two runs of a mapping never overlap.
func TestRoundsNeverRunAMappingTwiceAtOnce(t *testing.T) {
	t.Parallel()
	for name, d := range fanDatabases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := d.opts(t)
			side := slowSide{delay: 100 * time.Millisecond}
			var (
				db store.Store
				q  *jobs.Queue
			)
			for range d.instances {
				db, q = fanInstance(t, o, side, fanOptions{})
			}
			// Once the tick's round has begun (Due would find nothing due
			// right after a sync now), ask for every mapping.
			require.Eventually(t, func() bool { return len(runs(t, db)[mapping.Currency]) > 0 }, 30*time.Second, 10*time.Millisecond, "the tick did not fire")
			_, err := q.Insert(t.Context(), syncjobs.SyncArgs{}, nil)
			require.NoError(t, err)
			var rs map[string][]syncer.Job
			done := func() bool {
				rs = runs(t, db)
				for _, m := range fanMappings {
					if len(rs[m]) < 2 || rs[m][0].Status == "running" || rs[m][1].Status == "running" {
						return false
					}
				}
				return true
			}
			if !assert.Eventually(t, done, 60*time.Second, 50*time.Millisecond) {
				t.Fatalf("the two rounds did not both run every mapping: %v", summary(runs(t, db)))
			}
			t.Logf("runs: %v", summary(rs))
			requireOrder(t, rs, "schedule")
			requireOrder(t, rs, "manual")
			var firstManual, lastSchedule time.Time
			for _, m := range fanMappings {
				for _, j := range rs[m] {
					if j.Trigger == "manual" && (firstManual.IsZero() || j.StartedAt.Before(firstManual)) {
						firstManual = j.StartedAt
					}
					if j.Trigger == "schedule" && j.FinishedAt.After(lastSchedule) {
						lastSchedule = j.FinishedAt
					}
				}
			}
			require.True(t, firstManual.Before(lastSchedule), "the rounds did not overlap: the test proved nothing")
			for _, m := range fanMappings {
				require.Len(t, rs[m], 2, "%s: one run per round", m)
				a, b := rs[m][0], rs[m][1]
				require.Equal(t, "succeeded", a.Status, m)
				require.Equal(t, "succeeded", b.Status, m)
				require.NotEqual(t, a.Trigger, b.Trigger, "%s: one run of each round", m)
				require.False(t, b.StartedAt.Before(a.FinishedAt), "%s: runs overlap: %v–%v and %v–%v", m, a.StartedAt, a.FinishedAt, b.StartedAt, b.FinishedAt)
			}
		})
	}
}

// summary is each mapping's runs, for a failure message.
func summary(rs map[string][]syncer.Job) map[string][]string {
	out := map[string][]string{}
	for m, js := range rs {
		for _, j := range js {
			out[m] = append(out[m], j.Trigger+" "+j.Status+" "+j.StartedAt.Format("05.000")+"–"+j.FinishedAt.Format("05.000"))
		}
	}
	return out
}

// TestSyncNowFailureRetriedDependentsRunAfter: in a "sync now" round,
// VENDOR fails on every attempt: River tries it three times (three failed
// runs in its job log) and discards it; UNIT OF MEASURE, unrelated, ran
// without waiting for it; CONTACT, which depends on it, ran once VENDOR's
// job was over; the round completes.
func TestSyncNowFailureRetriedDependentsRunAfter(t *testing.T) {
	t.Parallel()
	for name, d := range fanDatabases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := d.opts(t)
			side := slowSide{delay: 10 * time.Millisecond, fail: "vendors"}
			var (
				db store.Store
				q  *jobs.Queue
			)
			for i := range d.instances {
				db, q = fanInstance(t, o, side, fanOptions{quiet: i == 0})
			}
			round, err := q.Insert(t.Context(), syncjobs.SyncArgs{Mappings: []string{mapping.Contact, mapping.Vendor, mapping.UnitOfMeasure}}, nil)
			require.NoError(t, err)
			sdb := db.(interface{ SQLDB() *sql.DB }).SQLDB()
			require.Eventually(t, func() bool {
				var state string
				err := sdb.QueryRowContext(t.Context(), `SELECT state FROM river_job WHERE id = `+strconv.FormatInt(round, 10)).Scan(&state)
				return err == nil && state == "completed"
			}, 60*time.Second, 50*time.Millisecond, "the round did not complete")
			var discarded int
			require.NoError(t, sdb.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'sync-mapping' AND state = 'discarded'`).Scan(&discarded))
			require.Equal(t, 1, discarded, "VENDOR's job, after its attempts")

			rs := runs(t, db)
			manual := func(m string) []syncer.Job {
				var out []syncer.Job
				for _, j := range rs[m] {
					if j.Trigger == "manual" {
						out = append(out, j)
					}
				}
				return out
			}
			vendor, contact, uom := manual(mapping.Vendor), manual(mapping.Contact), manual(mapping.UnitOfMeasure)
			require.Len(t, vendor, 3, "three attempts of VENDOR")
			for _, j := range vendor {
				require.Equal(t, "failed", j.Status)
			}
			require.Len(t, contact, 1)
			require.Equal(t, "succeeded", contact[0].Status)
			require.False(t, contact[0].StartedAt.Before(vendor[2].FinishedAt), "CONTACT started before VENDOR's last attempt ended")
			require.Len(t, uom, 1)
			require.Equal(t, "succeeded", uom[0].Status)
			require.True(t, uom[0].FinishedAt.Before(vendor[2].StartedAt), "UNIT OF MEASURE waited for VENDOR")
			for _, m := range []string{mapping.Currency, mapping.Customer, mapping.ItemProduct} {
				require.Empty(t, manual(m), "%s is not in the round", m)
			}
		})
	}
}

// TestRoundFindsTheJobsItQueuedBeforeACrash: a round whose saved state
// lacks a mapping job it had queued (a crash between queuing it and
// snoozing) finds that job in River by its round and waits for it instead
// of queuing the mapping again.
func TestRoundFindsTheJobsItQueuedBeforeACrash(t *testing.T) {
	t.Parallel()
	for name, d := range fanDatabases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			side := slowSide{delay: 10 * time.Millisecond}
			var round int64
			db, _ := fanInstance(t, d.opts(t), side, fanOptions{quiet: true, beforeStart: func(q *jobs.Queue) {
				var err error
				round, err = q.Insert(t.Context(), syncjobs.SyncArgs{Mappings: []string{mapping.Currency, mapping.Customer}}, nil)
				require.NoError(t, err)
				_, err = q.Insert(t.Context(), syncjobs.MappingArgs{Mapping: mapping.Currency, Round: round, Trigger: "manual"}, nil)
				require.NoError(t, err)
			}})
			sdb := db.(interface{ SQLDB() *sql.DB }).SQLDB()
			require.Eventually(t, func() bool {
				var state string
				err := sdb.QueryRowContext(t.Context(), `SELECT state FROM river_job WHERE id = `+strconv.FormatInt(round, 10)).Scan(&state)
				return err == nil && state == "completed"
			}, 30*time.Second, 50*time.Millisecond, "the round did not complete")
			var n int
			require.NoError(t, sdb.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'sync-mapping'`).Scan(&n))
			require.Equal(t, 2, n, "one job per mapping: CURRENCY's was found, not queued again")
			rs := runs(t, db)
			for _, m := range []string{mapping.Currency, mapping.Customer} {
				require.Len(t, rs[m], 2, "%s: the recorded run and the round's", m)
				require.Equal(t, "manual", rs[m][1].Trigger)
			}
			require.False(t, rs[mapping.Customer][1].StartedAt.Before(rs[mapping.Currency][1].FinishedAt), "CUSTOMER ran before CURRENCY finished")
		})
	}
}
