package scaleout_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/orders"
	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/secret"
	connsetup "github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
)

// saveConnection stores an enabled connection to the sandbox r, its
// secrets encrypted with the key in dataDir, as `coupler setup` and
// `coupler connection enable` leave it.
func saveConnection(t testing.TB, st store.Store, dataDir string, r sandbox.Ready) {
	t.Helper()
	ctx := t.Context()
	box, err := secret.New(secret.Options{Store: st, DataDir: dataDir, Logger: logger()})
	require.NoError(t, err)
	_, err = box.Enable(ctx)
	require.NoError(t, err)
	d, err := connsetup.Build(connsetup.Answers{
		"allow-insecure": "yes", "crm.url": r.CRMURL, "crm.user": r.IntegrationUser, "crm.password": r.IntegrationPassword,
		"crm.token-url": r.TokenURL, "erp.url": r.ERPURL, "erp.company-id": r.ERPCompanyID, "erp.client-id": r.ERPClientID,
		"erp.client-secret": r.ERPClientSecret, "erp.token-url": r.TokenURL,
	}, connsetup.NewDraft("", "", nil))
	require.NoError(t, err)
	svc := &connsetup.Service{Conns: st, Secrets: box, NotFound: store.ErrNotFound, Log: logger()}
	require.NoError(t, svc.Save(ctx, d))
	c, err := st.GetConnection(ctx, connsetup.DefaultName)
	require.NoError(t, err)
	c.Enabled = true
	require.NoError(t, st.PutConnection(ctx, c))
}

// requireKey checks that p is the shared bucket of key.
func requireKey(t *testing.T, key ratelimit.Key, p any) {
	t.Helper()
	b, ok := p.(*ratelimit.Bucket)
	require.True(t, ok, "the client takes its turns from %T, not the shared bucket", p)
	require.Equal(t, key, b.Key())
}

// TestDialerBudgetWiring: the clients the daemon's features dial
// (orders.Dialer) take their turns from the shared buckets on PostgreSQL,
// keyed by connection, service and API user, and from their own
// in-process limiter on SQLite.
func TestDialerBudgetWiring(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.Start(t.Context(), sandbox.Options{Seed: "none", Logger: logger()})
	require.NoError(t, err)
	t.Cleanup(func() { sb.Close() }) // after the parallel subtests
	r := sb.Ready()

	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		dir := t.TempDir()
		st, err := store.Open(ctx, store.Options{DatabaseURL: setup(t), Logger: logger()})
		require.NoError(t, err)
		defer st.Close()
		saveConnection(t, st, dir, r)
		box, err := secret.New(secret.Options{Store: st, DataDir: dir, Logger: logger()})
		require.NoError(t, err)
		c, err := orders.NewDialer(st, box, logger()).Dial(ctx)
		require.NoError(t, err)
		requireKey(t, ratelimit.Key{Connection: connsetup.DefaultName, Service: ratelimit.ServiceDataverse, User: strings.ToLower(r.IntegrationUser)}, c.CRM.Pacer())
		requireKey(t, ratelimit.Key{Connection: connsetup.DefaultName, Service: ratelimit.ServiceBC, User: strings.ToLower(r.ERPClientID)}, c.ERP.Pacer())
		_, err = c.CRM.WhoAmI(ctx)
		require.NoError(t, err, "a turn from the shared bucket")
		_, err = c.ERP.ListCompanies(ctx)
		require.NoError(t, err, "a turn from the shared bucket")
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		dir := t.TempDir()
		st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: logger()})
		require.NoError(t, err)
		defer st.Close()
		saveConnection(t, st, dir, r)
		box, err := secret.New(secret.Options{Store: st, DataDir: dir, Logger: logger()})
		require.NoError(t, err)
		c, err := orders.NewDialer(st, box, logger()).Dial(ctx)
		require.NoError(t, err)
		require.Nil(t, c.CRM.Pacer(), "one instance: the client's own limiter")
		require.Nil(t, c.ERP.Pacer(), "one instance: the client's own limiter")
		_, err = c.CRM.WhoAmI(ctx)
		require.NoError(t, err)
	})
}

// budgetInstance is one coupler instance's API clients, dialled from the
// stored connection as the daemon dials them.
type budgetInstance struct {
	crm *dataverse.Client
	erp *bc.Client
}

// dialInstance opens the shared database with a pool of its own, as a
// separate process would, and dials both clients through the production
// path (ratelimit.ClientPacers, connsetup.DialCRM and DialERP) with budget b.
func dialInstance(t *testing.T, url, dataDir string, b ratelimit.Budget) budgetInstance {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	box, err := secret.New(secret.Options{Store: st, DataDir: dataDir, Logger: logger()})
	require.NoError(t, err)
	pacers, err := ratelimit.ClientPacers(st, logger(), b)
	require.NoError(t, err)
	require.NotNil(t, pacers, "PostgreSQL shares the budgets")
	conn, err := st.GetConnection(ctx, connsetup.DefaultName)
	require.NoError(t, err)
	opts := connsetup.DialOptions{Logger: logger(), Pacers: pacers}
	crm, err := connsetup.DialCRM(ctx, conn, box, opts)
	require.NoError(t, err)
	erp, err := connsetup.DialERP(ctx, conn, box, opts)
	require.NoError(t, err)
	return budgetInstance{crm: crm, erp: erp}
}

// TestInstancesClientsShareBudget: three instances' real Dataverse and BC
// clients, dialled from one stored connection the way coupler dials them,
// call one sandbox with both services' limits on and their windows
// compressed 30 times (6,000 requests per 10 s per user), each client as
// fast as its concurrency allows. The clients' budget is ClientBudget
// compressed likewise. Together they get no 429 from either service while
// using nearly all of the budget; each client alone would have taken its
// own full budget and tripled the load.
func TestInstancesClientsShareBudget(t *testing.T) {
	t.Parallel()
	url := setup(t)
	ctx := t.Context()
	const timeScale = 30
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "none", Limits: []string{sandbox.LimitsDataverse, sandbox.LimitsBC},
		TimeScale: timeScale, Logger: logger()})
	require.NoError(t, err)
	defer sb.Close()
	r := sb.Ready()

	dir := t.TempDir() // the key file every instance shares
	st, err := store.Open(ctx, store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(t, err)
	defer st.Close()
	saveConnection(t, st, dir, r)

	budget := ratelimit.ClientBudget()
	budget.Window /= timeScale
	var insts []budgetInstance
	for range 3 {
		insts = append(insts, dialInstance(t, url, dir, budget))
	}

	run := 12 * time.Second // more than one window
	if raceEnabled {
		run = 3 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, run)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int64
	// A turn that would come after the run's end fails at once with
	// DeadlineExceeded, as rate.Limiter's does: not a failure.
	call := func(name string, f func() error) {
		for rctx.Err() == nil {
			if err := f(); err != nil && rctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("%s: %v", name, err)
				failed.Add(1)
			}
		}
	}
	for _, in := range insts {
		for range 8 {
			wg.Go(func() { call("WhoAmI", func() error { _, err := in.crm.WhoAmI(rctx); return err }) })
		}
		for range 5 {
			wg.Go(func() { call("ListCompanies", func() error { _, err := in.erp.ListCompanies(rctx); return err }) })
		}
	}
	wg.Wait()

	stats := sb.Stats()
	require.NotNil(t, stats.CRM.Limits)
	require.NotNil(t, stats.ERP.Limits)
	var crm200, crm429, erpSent, erp429 int64
	for _, in := range insts {
		s := in.crm.Stats()
		crm200 += s.Count(http.MethodGet, http.StatusOK)
		crm429 += s.Count(http.MethodGet, http.StatusTooManyRequests)
		es := in.erp.Stats()
		erpSent += es.Requests
		erp429 += es.Throttled
	}
	burst := float64(max(1, budget.Requests/200))
	allowed := burst + float64(budget.Requests-int(burst))*run.Seconds()/budget.Window.Seconds()
	t.Logf("Dataverse: sandbox admitted %d, throttled %d; clients got %d answers (%.0f%% of the %.0f the shared budget allows), %d 429s",
		stats.CRM.Limits.Admitted, stats.CRM.Limits.Throttled, crm200, 100*float64(crm200)/allowed, allowed, crm429)
	t.Logf("Business Central: sandbox admitted %d, throttled %d; clients sent %d (%.0f%%), %d 429s",
		stats.ERP.Limits.Admitted, stats.ERP.Limits.Throttled, erpSent, 100*float64(erpSent)/allowed, erp429)
	require.Zero(t, stats.CRM.Limits.Throttled, "Dataverse throttled the three instances")
	require.Zero(t, stats.ERP.Limits.Throttled, "Business Central throttled the three instances")
	require.Zero(t, crm429)
	require.Zero(t, erp429)
	require.Zero(t, failed.Load())
	require.LessOrEqual(t, float64(crm200), allowed+1)
	require.LessOrEqual(t, float64(erpSent), allowed+1)
	if raceEnabled {
		t.Log("race detector on: too slow to reach the budget, which the run without it checks")
		return
	}
	require.GreaterOrEqual(t, float64(crm200), 0.9*allowed, "the Dataverse clients did not use the budget: the test proves nothing")
	require.GreaterOrEqual(t, float64(erpSent), 0.9*allowed, "the BC clients did not use the budget: the test proves nothing")
}
