package scaleout_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

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

// Short job timeout and rescue threshold, so that a killed instance's run
// is rescued within the test; every run here takes a few seconds.
var syncJobOpts = jobs.Options{JobTimeout: 15 * time.Second, RescueStuckJobsAfter: 16 * time.Second, PollInterval: 100 * time.Millisecond}

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
	eng, err := syncer.New(syncer.Options{Store: syncstore.New(st), CRM: crm, ERP: erp, Logger: logger(),
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

var phases = [][]string{
	{mapping.Salespeople, mapping.Currency, mapping.UnitOfMeasure, mapping.PaymentTerms, mapping.ShipmentMethod},
	{mapping.Customer, mapping.Vendor, mapping.ItemProduct},
	{mapping.Contact},
}

// TestThreeInstancesFullSync: three instances (one in its own process) on
// one PostgreSQL and one sandbox run a full synchronisation as one River
// job per mapping, in dependency phases; the separate instance is killed
// with SIGKILL while the big mappings run. Every job ends completed, the
// work was divided, and every ERP record is in the CRM once with a
// consistent coupling.
func TestThreeInstancesFullSync(t *testing.T) {
	t.Parallel()
	if raceEnabled {
		t.Skip("three instances and a sandbox are too slow under the race detector for the job timeouts used here")
	}
	url := setup(t)
	ctx := t.Context()
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Scale: 1000, Logger: logger()})
	require.NoError(t, err)
	defer sb.Close()
	r := sb.Ready()

	obs, err := store.Open(ctx, store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(t, err)
	defer obs.Close()
	// The minute tick would run every mapping in one job on the leader (see
	// the report of issue 11): record a recent run of each, so that it
	// finds nothing due and the test's per-mapping jobs do the work.
	sst := syncstore.New(obs)
	for _, ph := range phases {
		for _, m := range ph {
			_, err := sst.CreateJob(ctx, syncer.Job{Mapping: m, Trigger: "schedule", Status: "succeeded", StartedAt: time.Now(), FinishedAt: time.Now()})
			require.NoError(t, err)
		}
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

	waitDone := func(ids []int64, within time.Duration) {
		t.Helper()
		require.Eventually(t, func() bool {
			var n int
			err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE id = ANY($1) AND state = 'completed'`, ids).Scan(&n)
			return err == nil && n == len(ids)
		}, within, 200*time.Millisecond, "jobs %v did not all complete", ids)
	}
	var all []int64
	for i, ph := range phases {
		var ids []int64
		for _, m := range ph {
			id, err := qs[0].Insert(ctx, syncjobs.SyncArgs{Mappings: []string{m}, Full: true, Trigger: "full"}, nil)
			require.NoError(t, err)
			ids = append(ids, id)
		}
		if i == 1 {
			// Kill the child while it runs one of the big mappings.
			require.Eventually(t, func() bool {
				var n int
				err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE id = ANY($1) AND state = 'running'
					AND attempted_by[array_length(attempted_by, 1)] = $2`, ids, childID).Scan(&n)
				return err == nil && n > 0
			}, 30*time.Second, 10*time.Millisecond, "the child instance took none of the big mappings")
			time.Sleep(100 * time.Millisecond)
			require.NoError(t, child.Process.Kill())
			_ = child.Wait()
			t.Log("child instance killed")
		}
		phaseStart := time.Now()
		waitDone(ids, 60*time.Second)
		t.Logf("phase %d %v done in %v", i+1, ph, time.Since(phaseStart).Round(100*time.Millisecond))
		all = append(all, ids...)
	}

	var attempts, instances, rescued int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT SUM(attempt),
		(SELECT COUNT(DISTINCT a) FROM river_job j, unnest(j.attempted_by) a WHERE j.id = ANY($1)),
		COUNT(*) FILTER (WHERE errors::text LIKE '%Stuck job rescued%')
		FROM river_job WHERE id = ANY($1)`, all).Scan(&attempts, &instances, &rescued))
	t.Logf("%d jobs, %d attempts, %d rescued from the killed instance, worked by %d instances", len(all), attempts, rescued, instances)
	require.Equal(t, 3, instances, "the work was not divided among the three instances")
	require.GreaterOrEqual(t, rescued, 1, "the killed instance held no job: the kill proved nothing")
	rows, err := db.QueryContext(ctx, `SELECT args->>'mappings', attempt, errors::text FROM river_job WHERE id = ANY($1) AND attempt > 1`, all)
	require.NoError(t, err)
	for rows.Next() {
		var m, errs string
		var n int
		require.NoError(t, rows.Scan(&m, &n, &errs))
		t.Logf("%s: %d attempts: %.300s", m, n, errs)
	}
	require.NoError(t, rows.Err())
	var stale int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sync_jobs WHERE status = 'running'`).Scan(&stale))
	t.Logf("engine job log: %d run(s) still marked running (the killed instance's)", stale)
	var bad int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'sync' AND state <> 'completed'`).Scan(&bad))
	require.Zero(t, bad, "every sync job is completed")

	crm, erp, err := sides(ctx, r)
	require.NoError(t, err)
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
		seen := map[string]string{}
		for _, rec := range erpRecs {
			cp, err := sst.GetCouplingByERP(ctx, c.m, rec.ID)
			require.NoError(t, err, "%s: ERP %s is not coupled", c.m, rec.ID)
			require.True(t, crmIDs[cp.CRMID], "%s: coupling of ERP %s points at missing CRM %s", c.m, rec.ID, cp.CRMID)
			require.Empty(t, seen[cp.CRMID], "%s: CRM %s coupled twice", c.m, cp.CRMID)
			seen[cp.CRMID] = rec.ID
		}
		for _, rec := range crmRecs {
			if _, ok := seen[rec.ID]; ok {
				continue
			}
			for _, e := range erpRecs {
				require.NotEqual(t, syncer.DeterministicID(c.m, e.ID), rec.ID, "%s: CRM row %s duplicates ERP %s", c.m, rec.ID, e.ID)
			}
		}
		intents, err := sst.ListIntents(ctx, c.m)
		require.NoError(t, err)
		require.Empty(t, intents, "%s: no unreconciled write", c.m)
		t.Logf("%s: %d ERP records, each coupled once", c.m, len(erpRecs))
	}
}
