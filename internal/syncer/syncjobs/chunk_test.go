package syncjobs_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// quietRuns records a recent run of every default mapping, so that the
// minute tick (fired as a queue starts) finds nothing due and the test's
// own round is the only synchronisation.
func quietRuns(t *testing.T, st syncer.Store) {
	t.Helper()
	for _, m := range mapping.Defaults() {
		_, err := st.CreateJob(t.Context(), syncer.Job{Mapping: m.Name, Trigger: "schedule", Status: "succeeded", StartedAt: time.Now(), FinishedAt: time.Now()})
		require.NoError(t, err)
	}
}

// chunkOptions change how chunkInstance starts an instance.
type chunkOptions struct {
	wrapERP func(syncer.Side) syncer.Side // the engine's ERP side; nil = as dialled
	retry   river.ClientRetryPolicy       // nil = River's default
}

// chunkInstance starts one instance over the sandbox whose engine divides
// full synchronisations into chunks of size records; it returns the ERP
// side as dialled, for the test's own reads.
func chunkInstance(t *testing.T, o store.Options, r sandbox.Ready, size int, co chunkOptions) (store.Store, *jobs.Queue, syncer.Side) {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	o.Logger = log
	db, err := store.Open(ctx, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	dv, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: log})
	require.NoError(t, err)
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	require.NoError(t, err)
	quietRuns(t, syncstore.New(db))
	ms := mapping.Defaults()
	erpSide := erpside.New(erp, 0)
	engERP := syncer.Side(erpSide)
	if co.wrapERP != nil {
		engERP = co.wrapERP(erpSide)
	}
	eng, err := syncer.New(syncer.Options{Store: syncstore.New(db), CRM: crmside.New(dv, 0), ERP: engERP, Logger: log, ChunkRecords: size,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return ms, nil }})
	require.NoError(t, err)
	reg := jobs.NewRegistry()
	require.NoError(t, syncjobs.Register(reg, func(context.Context) (*syncer.Engine, error) { return eng, nil }, syncstore.New(db), log))
	q, err := jobs.New(ctx, db, jobs.Options{Logger: log, Registry: reg, PollInterval: 50 * time.Millisecond, RetryPolicy: co.retry})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return db, q, erpSide
}

// fullCustomerRound queues "sync now, full" of CUSTOMER and the mappings
// it depends on, and waits for the round to complete.
func fullCustomerRound(t *testing.T, q *jobs.Queue, sdb *sql.DB) {
	t.Helper()
	ms := []string{mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod, mapping.Customer}
	round, err := q.Insert(t.Context(), syncjobs.SyncArgs{Mappings: ms, Full: true, Trigger: "full"}, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var state string
		return sdb.QueryRowContext(t.Context(), `SELECT state FROM river_job WHERE id = `+strconv.FormatInt(round, 10)).Scan(&state) == nil && state == "completed"
	}, 2*time.Minute, 100*time.Millisecond, "the round did not complete")
}

// TestFullSyncDividedIntoChunkJobs: "sync now, full" of CUSTOMER over
// 1,500 synthetic customers, with chunks of 300: the mapping job plans
// key ranges, queues one sync-chunk job per range, waits for them without
// holding a worker (one worker on SQLite), then closes with a full run
// that finds their records written and says what the chunks did. On
// PostgreSQL two instances share the chunks. Every customer ends coupled
// once.
func TestFullSyncDividedIntoChunkJobs(t *testing.T) {
	t.Parallel()
	for name, d := range fanDatabases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Scale: 1500, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			t.Cleanup(func() { _ = sb.Close() })
			o := d.opts(t)
			var (
				db  store.Store
				q   *jobs.Queue
				erp syncer.Side
			)
			for range d.instances {
				db, q, erp = chunkInstance(t, o, sb.Ready(), 300, chunkOptions{})
			}
			st := syncstore.New(db)
			sdb := db.(interface{ SQLDB() *sql.DB }).SQLDB()
			fullCustomerRound(t, q, sdb)

			total, completed := riverJobs(t, db, "sync-chunk")
			require.GreaterOrEqual(t, total, 5, "1,500 customers in chunks of 300")
			require.Equal(t, total, completed, "every chunk job completed")
			js, err := st.ListJobs(ctx, mapping.Customer, 0)
			require.NoError(t, err)
			var chunks int
			var closing syncer.Job
			for _, j := range js {
				require.Equal(t, "succeeded", j.Status, j.Message)
				if strings.Contains(j.Message, "of a full synchronisation") {
					chunks++
				} else if j.Trigger == "full" {
					closing = j
				}
			}
			require.Equal(t, total, chunks, "one engine run per chunk job")
			t.Logf("%d chunk jobs; closing run: %+v %s", chunks, closing.Counts, closing.Message)
			require.Contains(t, closing.Message, "closed a full synchronisation divided into")
			require.Zero(t, closing.Counts.Inserted, "the chunks wrote every new account")

			var coupled, distinct int
			customers, err := erp.Find(ctx, "customers", "id", "")
			require.NoError(t, err)
			require.NoError(t, sdb.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT crm_id) FROM couplings WHERE mapping = '`+mapping.Customer+`'`).Scan(&coupled, &distinct))
			require.Equal(t, len(customers), coupled, "every customer coupled")
			require.Equal(t, coupled, distinct, "no account coupled twice")
		})
	}
}

// quickRetry retries a failed job after 10 ms, so that a test reaches a
// job's last attempt at once.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(10 * time.Millisecond)
}

// refusingFirstRange fails every read of the first key range of a divided
// full synchronisation (the only range with an upper bound alone).
type refusingFirstRange struct{ syncer.Side }

func (s refusingFirstRange) Read(ctx context.Context, q syncer.ReadQuery, fn func([]syncer.Record) error) error {
	if strings.HasPrefix(q.Filter, "number lt ") {
		return errors.New("the ERP refuses to list this range")
	}
	return s.Side.Read(ctx, q, fn)
}

// TestFailedChunkIsWrittenByTheClosingRun: a chunk whose every attempt
// fails is discarded by River; the closing run, a full run, writes its
// customers, says that the chunk did not finish, and every customer ends
// coupled once.
func TestFailedChunkIsWrittenByTheClosingRun(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Scale: 1500, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	db, q, erp := chunkInstance(t, store.Options{DataDir: t.TempDir()}, sb.Ready(), 300, chunkOptions{
		wrapERP: func(s syncer.Side) syncer.Side { return refusingFirstRange{s} },
		retry:   quickRetry{},
	})
	st := syncstore.New(db)
	sdb := db.(interface{ SQLDB() *sql.DB }).SQLDB()
	fullCustomerRound(t, q, sdb)

	var discarded, attempts int
	require.NoError(t, sdb.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(attempt), 0) FROM river_job WHERE kind = 'sync-chunk' AND state = 'discarded'`).Scan(&discarded, &attempts))
	require.Equal(t, 1, discarded, "the first range's chunk failed every attempt")
	require.Equal(t, 3, attempts)
	js, err := st.ListJobs(ctx, mapping.Customer, 1)
	require.NoError(t, err)
	require.Len(t, js, 1)
	closing := js[0]
	require.Equal(t, "succeeded", closing.Status, closing.Message)
	require.Contains(t, closing.Message, "chunks that did not finish")
	require.Contains(t, closing.Message, "this run wrote their records")
	require.Positive(t, closing.Counts.Inserted, "the closing run created the failed range's accounts")

	customers, err := erp.Find(ctx, "customers", "id", "")
	require.NoError(t, err)
	var coupled, distinct int
	require.NoError(t, sdb.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT crm_id) FROM couplings WHERE mapping = '`+mapping.Customer+`'`).Scan(&coupled, &distinct))
	require.Equal(t, len(customers), coupled, "every customer coupled, the failed range's too")
	require.Equal(t, coupled, distinct)
}
