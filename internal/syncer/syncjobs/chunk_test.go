package syncjobs_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strconv"
	"strings"
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
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// chunkInstance starts one instance over the sandbox whose engine divides
// full synchronisations into chunks of size records.
func chunkInstance(t *testing.T, o store.Options, r sandbox.Ready, size int) (store.Store, *jobs.Queue, syncer.Side) {
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
	ms := mapping.Defaults()
	erpSide := erpside.New(erp, 0)
	eng, err := syncer.New(syncer.Options{Store: syncstore.New(db), CRM: crmside.New(dv, 0), ERP: erpSide, Logger: log, ChunkRecords: size,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return ms, nil }})
	require.NoError(t, err)
	reg := jobs.NewRegistry()
	require.NoError(t, syncjobs.Register(reg, func(context.Context) (*syncer.Engine, error) { return eng, nil }, syncstore.New(db), log))
	q, err := jobs.New(ctx, db, jobs.Options{Logger: log, Registry: reg, PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return db, q, erpSide
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
				db, q, erp = chunkInstance(t, o, sb.Ready(), 300)
			}
			st := syncstore.New(db)
			sdb := db.(interface{ SQLDB() *sql.DB }).SQLDB()
			deps := []string{mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod}
			round, err := q.Insert(ctx, syncjobs.SyncArgs{Mappings: append(deps, mapping.Customer), Full: true, Trigger: "full"}, nil)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				var state string
				return sdb.QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = `+strconv.FormatInt(round, 10)).Scan(&state) == nil && state == "completed"
			}, 2*time.Minute, 100*time.Millisecond, "the round did not complete")

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
