package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/syncer"
)

// faultSpec is the mix: 10 % 5xx, 20 % 429 with Retry-After, slow
// answers and dropped connections, seeded so that a failure can be replayed.
const faultSpec = "5xx=0.1,429=0.2,slow=0.05,slow-delay=300ms,drop=0.02,retry-after=50ms,seed=13"

// TestReliabilityFaultsFullSync runs a full synchronisation while both
// simulators inject faults, and checks that it completes with zero failed
// records, that the clients retried (their Stats show it) and that every
// record is coupled exactly once.
func TestReliabilityFaultsFullSync(t *testing.T) {
	t.Parallel()
	scale := 20
	if long() {
		scale = 500
	}
	sb := startSandbox(t, sandbox.Options{Seed: "demo", Scale: scale, Faults: faultSpec})
	ctx := context.Background()
	dir := t.TempDir()
	eng, cl, closeDB, err := newEngine(ctx, sb.Ready(), dir, patient)
	require.NoError(t, err)
	defer closeDB()

	jobs, err := eng.Run(ctx, syncMappings, syncer.RunOptions{Full: true, Trigger: "full"})
	require.NoError(t, err)
	requireSucceeded(t, jobs)

	st := sb.Stats()
	injected := int64(0)
	for _, side := range []map[string]int64{st.CRM.Faults, st.ERP.Faults} {
		for k, v := range side {
			if k != "none" {
				injected += v
			}
		}
	}
	count(&tally.faults, injected)
	dvs, bcs := cl.dv.Stats(), cl.erp.Stats()
	t.Logf("faults injected: crm %v, erp %v; dataverse client: %d requests, %d retries; bc client: %d requests, %d retries (%d throttled, %d 5xx, %d transport)",
		st.CRM.Faults, st.ERP.Faults, dvs.Total(), dvs.Retries, bcs.Requests, bcs.Retries, bcs.Throttled, bcs.ServerErrors, bcs.TransportErrors)
	require.Positive(t, st.CRM.Faults["429"]+st.CRM.Faults["throttle"]+st.CRM.Faults["5xx"]+st.CRM.Faults["server_error"], "the CRM injected faults: %v", st.CRM.Faults)
	require.Positive(t, dvs.Retries, "the Dataverse client's retries are visible in Stats()")
	require.Positive(t, bcs.Retries, "the BC client's retries are visible in Stats()")
	require.Positive(t, bcs.Throttled)

	// A second run finds nothing to insert: the retries duplicated nothing.
	jobs, err = eng.Run(ctx, syncMappings, syncer.RunOptions{Full: true, Trigger: "full"})
	require.NoError(t, err)
	requireSucceeded(t, jobs)
	for _, j := range jobs {
		require.Zero(t, j.Counts.Inserted, "%s: inserted again after retries", j.Mapping)
	}
	t.Logf("%d records checked", requireConsistent(t, sb.Ready(), dir))
}

// TestReliabilityOutage cuts both APIs (their listeners stop, open
// connections are cut, the port refuses connections) while a full
// synchronisation runs, brings them back on the same ports, and checks
// that a later run completes with every record coupled once, without
// anything done by an operator.
func TestReliabilityOutage(t *testing.T) {
	t.Parallel()
	scale, outage := 100, 1500*time.Millisecond
	if long() {
		scale, outage = 2000, 2*time.Minute
	}
	sb := startSandbox(t, sandbox.Options{Seed: "demo", Scale: scale})
	real := sb.Ready()
	crmHost, erpHost := hostOf(t, real.CRMURL), hostOf(t, real.ERPURL)
	crmProxy, erpProxy := newProxy(t, crmHost), newProxy(t, erpHost)
	raw, err := json.Marshal(real)
	require.NoError(t, err)
	s := strings.NewReplacer(crmHost, crmProxy.addr, erpHost, erpProxy.addr).Replace(string(raw))
	var r sandbox.Ready
	require.NoError(t, json.Unmarshal([]byte(s), &r))

	ctx := context.Background()
	dir := t.TempDir()
	eng, _, closeDB, err := newEngine(ctx, r, dir, tuning{attempts: 4, backoff: 200 * time.Millisecond})
	require.NoError(t, err)
	defer closeDB()

	done := make(chan error, 1)
	midRun := make(chan string, 1)
	go func() {
		// The outage starts while the first customers are written.
		progress := func(m string, n int) {
			if m == mapping.Customer && n > 0 {
				select {
				case midRun <- fmt.Sprintf("%s after %d records", m, n):
				default:
				}
			}
		}
		_, err := eng.Run(ctx, syncMappings, syncer.RunOptions{Full: true, Trigger: "full", Progress: progress})
		done <- err
	}()
	select {
	case at := <-midRun:
		t.Logf("outage starts during %s", at)
	case err := <-done:
		t.Fatalf("the run ended before the outage could start (%v): raise the scale", err)
	}
	crmProxy.stop()
	erpProxy.stop()
	count(&tally.faults, 2)
	t.Logf("both APIs down for %s", outage)
	time.Sleep(outage)
	require.NoError(t, crmProxy.start())
	require.NoError(t, erpProxy.start())
	firstErr := <-done
	t.Logf("the run during the outage ended with: %v", firstErr)

	// The next scheduled run, with no operator action in between.
	var jobs []syncer.Job
	require.Eventually(t, func() bool {
		jobs, err = eng.Run(ctx, syncMappings, syncer.RunOptions{Full: true, Trigger: "schedule"})
		if err != nil {
			return false
		}
		for _, j := range jobs {
			if j.Status != "succeeded" || j.Counts.Failed > 0 {
				t.Logf("%s: %s (%d failed): %s", j.Mapping, j.Status, j.Counts.Failed, j.Message)
				return false
			}
		}
		return true
	}, 60*time.Second, 100*time.Millisecond, "a run after the outage completes")
	requireSucceeded(t, jobs)
	t.Logf("%d records checked", requireConsistent(t, r, dir))
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(raw, "http://")
	require.True(t, ok, raw)
	host, _, _ := strings.Cut(rest, "/")
	return host
}
