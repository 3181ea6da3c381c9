package scaleout_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/secret"
	connsetup "github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// The sandbox's seed scale (customers; a tenth as many items) and the
// chunk size of the instances' engines: by default 30,005 customers in
// six chunk jobs. -scaleout.scale=1000 gives the figures of the fan-out by
// mapping alone (no table reaches two chunks).
var (
	speedupScale  = flag.Int("scaleout.scale", 30000, "sandbox seed scale of BenchmarkFullSyncInstances")
	speedupChunks = flag.Int("scaleout.chunk", 5000, "records per chunk job in BenchmarkFullSyncInstances (0: one job per table)")
)

// Longer than any run here, so that no job is rescued mid-measurement.
var speedupJobOpts = jobs.Options{JobTimeout: 5 * time.Minute, RescueStuckJobsAfter: 6 * time.Minute, PollInterval: 100 * time.Millisecond}

// freeTurns is a budget that never waits: the ceiling without API limits.
type freeTurns struct{}

func (freeTurns) Wait(ctx context.Context) error { return ctx.Err() }

// budgets are the ways the instances' clients take their turns.
var budgets = map[string]func(tb testing.TB, st store.Store) connsetup.Pacers{
	// shared: coupler's wiring (ClientBudget shared on PostgreSQL), the
	// sandbox enforcing both services' real limits.
	"shared": func(tb testing.TB, st store.Store) connsetup.Pacers {
		p, err := ratelimit.ClientPacers(st, logger(), ratelimit.ClientBudget())
		require.NoError(tb, err)
		return p
	},
	// unlimited: no budget, no limits in the sandbox.
	"unlimited": func(testing.TB, store.Store) connsetup.Pacers {
		return func(string, string, string) (connsetup.Pacer, error) { return freeTurns{}, nil }
	},
}

// syncInstance starts one instance as the daemon wires it: an engine over
// clients dialled from the stored connection, and the sync workers.
func syncInstance(tb testing.TB, url, dataDir, budget string) (*jobs.Queue, *dataverse.Client, *bc.Client) {
	tb.Helper()
	ctx := tb.Context()
	st, err := store.Open(ctx, store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = st.Close() })
	box, err := secret.New(secret.Options{Store: st, DataDir: dataDir, Logger: logger()})
	require.NoError(tb, err)
	conn, err := st.GetConnection(ctx, connsetup.DefaultName)
	require.NoError(tb, err)
	opts := connsetup.DialOptions{Logger: logger(), Pacers: budgets[budget](tb, st)}
	crm, err := connsetup.DialCRM(ctx, conn, box, opts)
	require.NoError(tb, err)
	erp, err := connsetup.DialERP(ctx, conn, box, opts)
	require.NoError(tb, err)
	ms := mapping.Defaults()
	eng, err := syncer.New(syncer.Options{Store: syncstore.New(st), CRM: crmside.New(crm, 0), ERP: erpside.New(erp, 0), Logger: logger(), ChunkRecords: *speedupChunks,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return ms, nil }})
	require.NoError(tb, err)
	reg := jobs.NewRegistry()
	require.NoError(tb, syncjobs.Register(reg, func(context.Context) (*syncer.Engine, error) { return eng, nil }, syncstore.New(st), logger()))
	return start(tb, url, reg, speedupJobOpts).q, crm, erp
}

// fullSyncWithInstances sets up a fresh database and sandbox, starts n
// instances, and returns how long a full synchronisation takes as
// production runs it (as TestThreeInstancesFullSync does): one "sync now"
// whose round queues one job per mapping in dependency order.
func fullSyncWithInstances(b *testing.B, n int, budget string) time.Duration {
	b.Helper()
	ctx := b.Context()
	url := setup(b)
	so := sandbox.Options{Seed: "demo", Scale: *speedupScale, Logger: logger()}
	if budget == "shared" {
		so.Limits = []string{sandbox.LimitsDataverse, sandbox.LimitsBC}
	}
	sb, err := sandbox.Start(ctx, so)
	require.NoError(b, err)
	defer sb.Close()
	obs, err := store.Open(ctx, store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(b, err)
	defer obs.Close()
	dir := b.TempDir()
	saveConnection(b, obs, dir, sb.Ready())
	// A recent run of every mapping, so that the minute tick finds nothing
	// due and the benchmark's round does all the work.
	sst := syncstore.New(obs)
	for _, m := range mapping.Defaults() {
		_, err := sst.CreateJob(ctx, syncer.Job{Mapping: m.Name, Trigger: "schedule", Status: "succeeded", StartedAt: time.Now(), FinishedAt: time.Now()})
		require.NoError(b, err)
	}
	var (
		q    *jobs.Queue
		crms []*dataverse.Client
		erps []*bc.Client
	)
	for range n {
		qi, crm, erp := syncInstance(b, url, dir, budget)
		q, crms, erps = qi, append(crms, crm), append(erps, erp)
	}
	db := obs.(interface{ SQLDB() *sql.DB }).SQLDB()

	b.StartTimer()
	began := time.Now()
	round, err := q.Insert(ctx, syncjobs.SyncArgs{Mappings: fullSyncMappings(), Full: true, Trigger: "full"}, nil)
	require.NoError(b, err)
	require.Eventually(b, func() bool {
		var state string
		err := db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = $1`, round).Scan(&state)
		return err == nil && state == "completed"
	}, 4*time.Minute, 20*time.Millisecond, "the round did not complete")
	took := time.Since(began)
	b.StopTimer()

	var failed, instances int
	require.NoError(b, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sync_jobs WHERE status = 'failed'`).Scan(&failed))
	require.NoError(b, db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT a) FROM river_job j, unnest(j.attempted_by) a WHERE j.kind IN ('sync-mapping', 'sync-chunk')`).Scan(&instances))
	require.Zero(b, failed, "a mapping failed")
	var throttled, queued int64
	if st := sb.Stats(); st.CRM.Limits != nil {
		throttled = st.CRM.Limits.Throttled + st.ERP.Limits.Throttled
		queued = st.ERP.Limits.Queued // BC: over 5 in flight per user
	}
	// The longest single run bounds what more instances can gain: a chunk,
	// or a table that is not divided, or the closing run of a divided one.
	var longest string
	var longestSec, sumSec float64
	require.NoError(b, db.QueryRowContext(ctx, `SELECT mapping, EXTRACT(EPOCH FROM finished_at - started_at)::float8,
		(SELECT EXTRACT(EPOCH FROM SUM(finished_at - started_at))::float8 FROM sync_jobs WHERE job_trigger = 'full')
		FROM sync_jobs WHERE job_trigger = 'full' ORDER BY finished_at - started_at DESC LIMIT 1`).Scan(&longest, &longestSec, &sumSec))
	var chunks int
	require.NoError(b, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'sync-chunk'`).Scan(&chunks))
	var crmRequests, erpRequests int64
	for _, c := range crms {
		crmRequests += c.Stats().Total()
	}
	for _, c := range erps {
		erpRequests += c.Stats().Requests
	}
	b.Logf("%d instance(s), budget %s: full synchronisation in %v, sync jobs (%d chunks) worked by %d instance(s), the runs %.2fs in all, the longest %s %.2fs; %d Dataverse and %d BC requests, %d throttled, %d queued by BC",
		n, budget, took.Round(10*time.Millisecond), chunks, instances, sumSec, longest, longestSec, crmRequests, erpRequests, throttled, queued)
	return took
}

// BenchmarkFullSyncInstances measures one full synchronisation (sandbox
// seed "demo" at -scaleout.scale, CUSTOMER divided into chunk jobs of
// -scaleout.chunk records) run by one, two and three instances on one
// PostgreSQL, each instance with its own clients dialled as the daemon
// dials them; "shared" is coupler's per-user budget against the services'
// real limits, "unlimited" the ceiling without them. Bounded: run it with
// -benchtime=1x (one full synchronisation per sub-benchmark, a few
// minutes in all at the default scale), loopback only:
//
//	COUPLER_TEST_DATABASE_URL=postgres://… go test -run '^$' -bench FullSyncInstances -benchtime=1x ./internal/scaleout
func BenchmarkFullSyncInstances(b *testing.B) {
	for _, budget := range []string{"unlimited", "shared"} {
		for _, n := range []int{1, 2, 3} {
			b.Run(fmt.Sprintf("budget=%s/instances=%d", budget, n), func(b *testing.B) {
				b.StopTimer() // only the synchronisation is timed, not its set-up
				var total time.Duration
				for range b.N {
					total += fullSyncWithInstances(b, n, budget)
				}
				b.ReportMetric(total.Seconds()/float64(b.N), "s/sync")
			})
		}
	}
}
