package reliability

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

// TestReliabilityTwoSyncsAtOnceWithEdits starts two full synchronisations
// of the same mappings at once (two engines on one database, as two "sync
// now" clicks or two instances), while ERP customers are edited; then one
// more incremental run. Every record is coupled exactly once, nothing is
// duplicated in the CRM, and every edit reached the CRM.
func TestReliabilityTwoSyncsAtOnceWithEdits(t *testing.T) {
	t.Parallel()
	scale := 80
	if long() {
		scale = 2000
	}
	ctx := context.Background()
	sb := startSandbox(t, sandbox.Options{Seed: "demo", Scale: scale})
	r := sb.Ready()
	dir := t.TempDir()
	engA, cl, closeA, err := newEngine(ctx, r, dir, defaultTuning)
	require.NoError(t, err)
	defer closeA()
	engB, _, closeB, err := newEngine(ctx, r, dir, defaultTuning)
	require.NoError(t, err)
	defer closeB()

	type cust struct{ ID, Number string }
	var customers []cust
	require.NoError(t, bc.ListAs(ctx, cl.erp, "customers", bc.Query{Select: []string{"id", "number"}}, func(page []cust) error {
		customers = append(customers, page...)
		return nil
	}))
	want := map[string]string{}
	var wg sync.WaitGroup
	results := make([][]syncer.Job, 2)
	errs := make([]error, 2)
	for i, eng := range []*syncer.Engine{engA, engB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = eng.Run(ctx, syncMappings, syncer.RunOptions{Full: true, Trigger: "manual"})
		}()
	}
	// Edits while both run.
	for k, c := range customers {
		if k%3 != 0 {
			continue
		}
		phone := fmt.Sprintf("+1 425 555 %04d", k)
		_, err := cl.erp.Update(ctx, "customers", c.ID, "*", map[string]any{"phoneNumber": phone})
		require.NoError(t, err)
		want[c.ID] = phone
	}
	wg.Wait()
	for i := range 2 {
		require.NoError(t, errs[i], "run %d", i)
		for _, j := range results[i] {
			t.Logf("run %d: %s %s %+v %s", i, j.Mapping, j.Status, j.Counts, j.Message)
		}
	}
	// The next scheduled run picks up whatever the concurrent runs left.
	jobs, err := engA.Run(ctx, syncMappings, syncer.RunOptions{Trigger: "schedule"})
	require.NoError(t, err)
	requireSucceeded(t, jobs)

	crm, _ := sides(t, r)
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: discard()})
	require.NoError(t, err)
	for erpID, phone := range want {
		cp, err := st.GetCouplingByERP(ctx, "CUSTOMER", erpID)
		require.NoError(t, err)
		recs, err := crm.Get(ctx, "accounts", "accountid", []string{cp.CRMID})
		require.NoError(t, err)
		require.Len(t, recs, 1)
		if recs[0].Fields["telephone1"] != phone {
			count(&tally.lost, 1)
			t.Errorf("customer %s: CRM telephone1 %v, want %q (edit lost)", erpID, recs[0].Fields["telephone1"], phone)
		}
	}
	st.Close()
	t.Logf("%d edits during two concurrent runs, %d records checked", len(want), requireConsistent(t, r, dir))
}

// TestReliabilityCancelledRun cancels a full synchronisation in the middle
// (what stopping the service or disabling the connection does to a run in
// progress: internal/daemon refuses new runs of a disabled connection, see
// syncjobs.ErrDisabled); the cancelled run stops, and the next run
// completes with every record coupled once.
func TestReliabilityCancelledRun(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Options{Seed: "demo", Scale: 150})
	r := sb.Ready()
	dir := t.TempDir()
	eng, _, closeDB, err := newEngine(context.Background(), r, dir, defaultTuning)
	require.NoError(t, err)
	defer closeDB()
	ctx, cancel := context.WithCancel(context.Background())
	progress := func(m string, n int) {
		if m == "CUSTOMER" && n > 0 {
			cancel()
		}
	}
	jobs, err := eng.Run(ctx, syncMappings, syncer.RunOptions{Full: true, Trigger: "manual", Progress: progress})
	cancel()
	statuses := map[string]int{}
	for _, j := range jobs {
		statuses[j.Status]++
	}
	t.Logf("cancelled run: err %v, job statuses %v", err, statuses)
	count(&tally.crashes, 1)

	jobs, err = eng.Run(context.Background(), syncMappings, syncer.RunOptions{Full: true, Trigger: "full"})
	require.NoError(t, err)
	requireSucceeded(t, jobs)
	t.Logf("%d records checked", requireConsistent(t, r, dir))
}
