package scaleout_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

const syncChildEnv = "COUPLER_SCALEOUT_SYNC_CHILD"

type syncChild struct {
	Ready sandbox.Ready `json:"ready"`
	URL   string        `json:"url"`
}

// fullSyncScale is the sandbox's seed scale of the three-instance test:
// 100,005 customers, 10,020 items, 10 contacts.
const fullSyncScale = 100_000

// chunkRecords divides the customers into ten chunk jobs.
const chunkRecords = 10_000

// A job timeout above the longest run here (the closing run of CUSTOMER
// reads both tables of 100,000: 14 s on a busy machine) and a rescue
// threshold just above it, so that the killed instance's chunk is rescued
// within the test.
var syncJobOpts = jobs.Options{JobTimeout: 45 * time.Second, RescueStuckJobsAfter: 46 * time.Second, PollInterval: 100 * time.Millisecond}

// sides are the two API sides of one instance, with its own clients.
func sides(ctx context.Context, r sandbox.Ready) (syncer.Side, syncer.Side, error) {
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	dv, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: logger()})
	if err != nil {
		return nil, nil, err
	}
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: logger(),
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	if err != nil {
		return nil, nil, err
	}
	return crmside.New(dv, 0), erpside.New(erp, 0), nil
}

// syncRegistry is what the daemon registers: the real synchronisation
// workers over an engine of this instance.
func syncRegistry(ctx context.Context, st store.Store, r sandbox.Ready) (*jobs.Registry, error) {
	crm, erp, err := sides(ctx, r)
	if err != nil {
		return nil, err
	}
	ms := mapping.Defaults()
	eng, err := syncer.New(syncer.Options{Store: syncstore.New(st), CRM: crm, ERP: erp, Logger: logger(), ChunkRecords: chunkRecords,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return ms, nil }})
	if err != nil {
		return nil, err
	}
	reg := jobs.NewRegistry()
	err = syncjobs.Register(reg, func(context.Context) (*syncer.Engine, error) { return eng, nil }, syncstore.New(st), logger())
	return reg, err
}

// runSyncChild is an instance in its own process, to be killed.
func runSyncChild(spec string) error {
	var c syncChild
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return err
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DatabaseURL: c.URL, Logger: logger()})
	if err != nil {
		return err
	}
	reg, err := syncRegistry(ctx, st, c.Ready)
	if err != nil {
		return err
	}
	o := syncJobOpts
	o.Logger, o.Registry = logger(), reg
	q, err := jobs.New(ctx, st, o)
	if err != nil {
		return err
	}
	if err := q.Start(ctx); err != nil {
		return err
	}
	if err := st.PutSetting(ctx, "child.started", "yes"); err != nil {
		return err
	}
	select {}
}

// phases are the mappings of the full synchronisation by dependency
// depth: the second depend on some of the first, CONTACT on two of the
// second.
var phases = [][]string{
	{mapping.Salespeople, mapping.Currency, mapping.UnitOfMeasure, mapping.PaymentTerms, mapping.ShipmentMethod},
	{mapping.Customer, mapping.Vendor, mapping.ItemProduct},
	{mapping.Contact},
}

// fullSyncMappings are the mappings of phases, in order.
func fullSyncMappings() []string {
	var out []string
	for _, ph := range phases {
		out = append(out, ph...)
	}
	return out
}

// TestThreeInstancesFullSync: three instances (one in its own process) on
// one PostgreSQL and one sandbox run a full synchronisation of 100,000
// customers (and the mappings around them) as production does: one "sync
// now" job whose round fans out one River job per mapping, in dependency
// order, and CUSTOMER's job divides the table into ten key-range chunk
// jobs. The separate instance is killed with SIGKILL while it writes a
// chunk. Every job ends completed (one per mapping, one per chunk), the
// three instances shared the chunks, the killed chunk was rescued, each
// mapping started after those it depends on had finished, and every ERP
// record is in the CRM once with one coupling.
//
// It does not run in parallel with the package's other tests: three
// instances and a sandbox of 100,000 records take both cores for two
// minutes, and the budget tests beside it would no longer reach the share
// of the budget that makes them prove something.
func TestThreeInstancesFullSync(t *testing.T) {
	if raceEnabled {
		t.Skip("three instances and a sandbox of 100,000 records are too slow under the race detector for the job timeouts used here")
	}
	url := setup(t)
	ctx := t.Context()
	began := time.Now()
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Scale: fullSyncScale, Logger: logger()})
	require.NoError(t, err)
	defer sb.Close()
	r := sb.Ready()
	t.Logf("sandbox seeded with scale %d in %v", fullSyncScale, time.Since(began).Round(100*time.Millisecond))

	obs, err := store.Open(ctx, store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(t, err)
	defer obs.Close()
	// A recent run of each mapping, so that the minute tick finds nothing
	// due and the test's round is the only synchronisation.
	sst := syncstore.New(obs)
	for _, m := range mapping.Defaults() {
		_, err := sst.CreateJob(ctx, syncer.Job{Mapping: m.Name, Trigger: "schedule", Status: "succeeded", StartedAt: time.Now(), FinishedAt: time.Now()})
		require.NoError(t, err)
	}

	spec, err := json.Marshal(syncChild{Ready: r, URL: url})
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)
	child := exec.Command(exe, "-test.run=^$")
	child.Env = append(os.Environ(), syncChildEnv+"="+string(spec))
	child.Stderr = os.Stderr
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	require.Eventually(t, func() bool {
		_, err := obs.GetSetting(ctx, "child.started")
		return err == nil
	}, 30*time.Second, 50*time.Millisecond, "the child instance did not start")
	// Let the child be the elected leader: its death then costs the lease
	// (≤ 15 s) and the new leader's rescuer runs at once, instead of on the
	// rescuer's 30 s tick.
	db := obs.(interface{ SQLDB() *sql.DB }).SQLDB()
	var childID string
	require.Eventually(t, func() bool {
		return db.QueryRowContext(ctx, `SELECT leader_id FROM river_leader`).Scan(&childID) == nil
	}, 30*time.Second, 50*time.Millisecond, "the child instance was not elected")

	var qs []*jobs.Queue
	for range 2 {
		st, err := store.Open(ctx, store.Options{DatabaseURL: url, Logger: logger()})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		reg, err := syncRegistry(ctx, st, r)
		require.NoError(t, err)
		qs = append(qs, start(t, url, reg, syncJobOpts).q)
	}

	began = time.Now()
	round, err := qs[0].Insert(ctx, syncjobs.SyncArgs{Mappings: fullSyncMappings(), Full: true, Trigger: "full"}, nil)
	require.NoError(t, err)
	// Kill the child while it writes a chunk of CUSTOMER.
	if !assert.Eventually(t, func() bool {
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'sync-chunk' AND state = 'running'
			AND args->>'mapping' = $1 AND attempted_by[array_length(attempted_by, 1)] = $2`, mapping.Customer, childID).Scan(&n)
		return err == nil && n > 0
	}, 3*time.Minute, 10*time.Millisecond) {
		t.Fatalf("the child instance took no chunk of %s: %s", mapping.Customer, dumpJobs(t, db))
	}
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	t.Logf("child instance killed %v after the round began", time.Since(began).Round(100*time.Millisecond))
	require.Eventually(t, func() bool {
		var state string
		err := db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = $1`, round).Scan(&state)
		return err == nil && state == "completed"
	}, 8*time.Minute, 200*time.Millisecond, "the round did not complete")
	t.Logf("full synchronisation done in %v", time.Since(began).Round(100*time.Millisecond))

	// Every job accounted for: one per mapping and one per chunk, each
	// completed.
	var all []int64
	rows, err := db.QueryContext(ctx, `SELECT id, kind, args->>'mapping', state FROM river_job
		WHERE (kind = 'sync-mapping' AND (args->>'round')::bigint = $1)
		   OR (kind = 'sync-chunk' AND (args->>'coordinator')::bigint IN (SELECT id FROM river_job WHERE kind = 'sync-mapping' AND (args->>'round')::bigint = $1))`, round)
	require.NoError(t, err)
	perMapping := map[string]int{}
	chunks := 0
	for rows.Next() {
		var (
			id             int64
			kind, m, state string
		)
		require.NoError(t, rows.Scan(&id, &kind, &m, &state))
		require.Equal(t, "completed", state, "the %s job %d of %s", kind, id, m)
		if kind == "sync-chunk" {
			require.Equal(t, mapping.Customer, m, "only the big table is divided")
			chunks++
		} else {
			perMapping[m]++
		}
		all = append(all, id)
	}
	require.NoError(t, rows.Err())
	for _, m := range fullSyncMappings() {
		require.Equal(t, 1, perMapping[m], "one job of %s in the round", m)
	}
	require.Equal(t, 10, chunks, "100,005 customers in chunks of 10,000")
	require.Len(t, all, len(fullSyncMappings())+chunks)
	// Dependency order: each mapping's run began after the runs of the
	// mappings it depends on had finished (CUSTOMER's last run is its
	// closing run, after its chunks).
	last := map[string]syncer.Job{}
	for _, m := range fullSyncMappings() {
		js, err := sst.ListJobs(ctx, m, 1)
		require.NoError(t, err)
		require.Len(t, js, 1)
		require.Equal(t, "full", js[0].Trigger, m)
		last[m] = js[0]
	}
	require.Contains(t, last[mapping.Customer].Message, "closed a full synchronisation divided into 10 chunk job(s)")
	for _, m := range fullSyncMappings() {
		tm, ok := mapping.Default(m)
		require.True(t, ok, m)
		for _, d := range tm.DependsOn {
			if dj, ok := last[d]; ok {
				require.False(t, last[m].StartedAt.Before(dj.FinishedAt), "%s started at %v, before %s finished at %v", m, last[m].StartedAt, d, dj.FinishedAt)
			}
		}
	}

	var attempts, instances, chunkInstances, rescued int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT SUM(attempt),
		(SELECT COUNT(DISTINCT a) FROM river_job j, unnest(j.attempted_by) a WHERE j.id = ANY($1)),
		(SELECT COUNT(DISTINCT a) FROM river_job j, unnest(j.attempted_by) a WHERE j.id = ANY($1) AND j.kind = 'sync-chunk'),
		COUNT(*) FILTER (WHERE errors::text LIKE '%Stuck job rescued%')
		FROM river_job WHERE id = ANY($1)`, all).Scan(&attempts, &instances, &chunkInstances, &rescued))
	t.Logf("%d jobs (%d chunks), %d attempts, %d rescued from the killed instance, worked by %d instances, the chunks by %d", len(all), chunks, attempts, rescued, instances, chunkInstances)
	require.Equal(t, 3, chunkInstances, "the chunks were not divided among the three instances")
	require.GreaterOrEqual(t, rescued, 1, "the killed instance held no job: the kill proved nothing")
	rows, err = db.QueryContext(ctx, `SELECT kind, args->>'mapping', attempt, errors::text FROM river_job WHERE id = ANY($1) AND attempt > 1`, all)
	require.NoError(t, err)
	for rows.Next() {
		var k, m, errs string
		var n int
		require.NoError(t, rows.Scan(&k, &m, &n, &errs))
		t.Logf("%s %s: %d attempts: %.300s", k, m, n, errs)
	}
	require.NoError(t, rows.Err())
	logTimeline(t, db, round)
	var stale int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sync_jobs WHERE status = 'running'`).Scan(&stale))
	t.Logf("engine job log: %d run(s) still marked running (the killed instance's)", stale)
	var bad int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind IN ('sync', 'sync-mapping', 'sync-chunk') AND state <> 'completed'`).Scan(&bad))
	require.Zero(t, bad, "every sync job is completed")

	crm, erp, err := sides(ctx, r)
	require.NoError(t, err)
	total := 0
	for _, c := range []struct{ m, erpSet, erpFilter, crmSet, crmKey string }{
		{mapping.Customer, "customers", "", "accounts", "accountid"},
		{mapping.Contact, "contacts", "type eq 'Person'", "contacts", "contactid"},
		{mapping.ItemProduct, "items", "blocked eq false", "products", "productid"},
	} {
		erpRecs, err := erp.Find(ctx, c.erpSet, "id", c.erpFilter)
		require.NoError(t, err)
		crmRecs, err := crm.Find(ctx, c.crmSet, c.crmKey, "")
		require.NoError(t, err)
		crmIDs := map[string]bool{}
		for _, rec := range crmRecs {
			crmIDs[rec.ID] = true
		}
		couplings := map[string]string{} // ERP id → CRM id
		rows, err := db.QueryContext(ctx, `SELECT erp_id, crm_id FROM couplings WHERE mapping = $1`, c.m)
		require.NoError(t, err)
		for rows.Next() {
			var e, k string
			require.NoError(t, rows.Scan(&e, &k))
			couplings[e] = k
		}
		require.NoError(t, rows.Err())
		seen := map[string]string{}
		for _, rec := range erpRecs {
			crmID, ok := couplings[rec.ID]
			require.True(t, ok, "%s: ERP %s is not coupled", c.m, rec.ID)
			require.True(t, crmIDs[crmID], "%s: coupling of ERP %s points at missing CRM %s", c.m, rec.ID, crmID)
			require.Empty(t, seen[crmID], "%s: CRM %s coupled twice", c.m, crmID)
			seen[crmID] = rec.ID
		}
		// No second CRM row for an ERP record: a row with the id coupler
		// would give an ERP record's copy is that record's coupled row.
		byDeterministic := make(map[string]string, len(erpRecs))
		for _, e := range erpRecs {
			byDeterministic[syncer.DeterministicID(c.m, e.ID)] = e.ID
		}
		for _, rec := range crmRecs {
			if e, ok := byDeterministic[rec.ID]; ok {
				require.Equal(t, rec.ID, couplings[e], "%s: CRM row %s duplicates ERP %s", c.m, rec.ID, e)
			}
		}
		intents, err := sst.ListIntents(ctx, c.m)
		require.NoError(t, err)
		require.Empty(t, intents, "%s: no unreconciled write", c.m)
		t.Logf("%s: %d ERP records, each coupled once", c.m, len(erpRecs))
		total += len(erpRecs)
	}
	require.Greater(t, total, fullSyncScale, "the run covered the 100,000 customers and more")
}

// logTimeline logs when each job of a round was queued, began its last
// attempt and finished, in seconds from the round's creation.
func logTimeline(t *testing.T, db *sql.DB, round int64) {
	t.Helper()
	rows, err := db.Query(`SELECT j.kind, COALESCE(j.args->>'mapping', ''), COALESCE(j.args->>'index', ''), j.attempt,
		EXTRACT(EPOCH FROM j.created_at - r.created_at)::float8, EXTRACT(EPOCH FROM j.attempted_at - r.created_at)::float8,
		EXTRACT(EPOCH FROM j.finalized_at - r.created_at)::float8
		FROM river_job j, river_job r WHERE r.id = $1 AND (j.id = r.id OR (j.args->>'round')::bigint = r.id
		OR (j.args->>'coordinator')::bigint IN (SELECT id FROM river_job WHERE (args->>'round')::bigint = r.id)) ORDER BY j.id`, round)
	if err != nil {
		t.Logf("timeline: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var k, m, i string
		var n int
		var queued, began, ended sql.NullFloat64
		if err := rows.Scan(&k, &m, &i, &n, &queued, &began, &ended); err != nil {
			t.Logf("timeline: %v", err)
			return
		}
		t.Logf("timeline: %-12s %-16s %2s attempt %d: queued %6.1f s, last began %6.1f s, ended %6.1f s", k, m, i, n, queued.Float64, began.Float64, ended.Float64)
	}
}

// dumpJobs is River's queues and jobs, for a failure message.
func dumpJobs(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT id, kind, state, args::text, attempted_by::text FROM river_job ORDER BY id`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	out := ""
	qrows, err := db.Query(`SELECT name, paused_at IS NOT NULL FROM river_queue`)
	if err == nil {
		for qrows.Next() {
			var n string
			var p bool
			_ = qrows.Scan(&n, &p)
			out += fmt.Sprintf("\nqueue %s paused=%v", n, p)
		}
		qrows.Close()
	}
	for rows.Next() {
		var id int64
		var k, st, a string
		var by sql.NullString
		_ = rows.Scan(&id, &k, &st, &a, &by)
		out += fmt.Sprintf("\n%d %s %s %s %s", id, k, st, a, by.String)
	}
	return out
}
