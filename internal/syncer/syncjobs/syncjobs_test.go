package syncjobs_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// oneCurrency is a side with one ERP currency and nothing else.
type oneCurrency struct {
	name  string
	reads atomic.Int64
}

func (s *oneCurrency) Name() string                         { return s.name }
func (s *oneCurrency) MaxBatch() int                        { return 100 }
func (s *oneCurrency) Self(context.Context) (string, error) { return "", nil }
func (s *oneCurrency) Read(_ context.Context, q syncer.ReadQuery, fn func([]syncer.Record) error) error {
	s.reads.Add(1)
	if s.name == "erp" && q.Entity == "currencies" && q.Since.IsZero() {
		return fn([]syncer.Record{{ID: "cur-eur", ModifiedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Fields: map[string]any{"code": "EUR", "displayName": "Euro", "amountDecimalPlaces": "2:2"}}})
	}
	return nil
}
func (s *oneCurrency) Get(context.Context, string, string, []string) ([]syncer.Record, error) {
	return nil, nil
}
func (s *oneCurrency) Find(context.Context, string, string, string) ([]syncer.Record, error) {
	return nil, nil
}
func (s *oneCurrency) Write(_ context.Context, _, _ string, ops []syncer.Op) ([]syncer.Result, error) {
	out := make([]syncer.Result, len(ops))
	for i, op := range ops {
		out[i] = syncer.Result{ID: op.ID, ModifiedAt: time.Now()}
	}
	return out, nil
}

func setup(t *testing.T) (store.Store, *syncer.Engine, syncer.Store) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(t.Context(), store.Options{DataDir: t.TempDir(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	st := syncstore.New(db)
	m, _ := mapping.Default(mapping.Currency)
	eng, err := syncer.New(syncer.Options{Store: st, CRM: &oneCurrency{name: "crm"}, ERP: &oneCurrency{name: "erp"}, Logger: log,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return []mapping.TableMapping{m}, nil }})
	require.NoError(t, err)
	return db, eng, st
}

func TestDueFollowsTheSchedule(t *testing.T) {
	t.Parallel()
	_, eng, st := setup(t)
	ctx := context.Background()
	now := time.Now()
	due, err := syncjobs.Due(ctx, eng, st, now)
	require.NoError(t, err)
	require.Equal(t, []string{mapping.Currency}, due, "never run: due")
	_, err = eng.Run(ctx, due, syncer.RunOptions{Trigger: "schedule"})
	require.NoError(t, err)
	due, err = syncjobs.Due(ctx, eng, st, time.Now())
	require.NoError(t, err)
	require.Empty(t, due, "just ran")
	due, err = syncjobs.Due(ctx, eng, st, time.Now().Add(mapping.DefaultInterval))
	require.NoError(t, err)
	require.Equal(t, []string{mapping.Currency}, due, "30 minutes later: due again")
}

func TestQueueRunsSyncNowAndNothingWhenDisabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		disabled bool
	}{{"enabled", false}, {"disabled", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, eng, st := setup(t)
			var calls atomic.Int64
			engine := func(context.Context) (*syncer.Engine, error) {
				calls.Add(1)
				if tt.disabled {
					return nil, syncjobs.ErrDisabled
				}
				return eng, nil
			}
			log := slog.New(slog.DiscardHandler)
			reg := jobs.NewRegistry()
			require.NoError(t, syncjobs.Register(reg, engine, st, log))
			q, err := jobs.New(t.Context(), db, jobs.Options{Logger: log, Registry: reg, PollInterval: 50 * time.Millisecond})
			require.NoError(t, err)
			require.NoError(t, q.Start(t.Context()))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				_ = q.Stop(ctx)
			})
			_, err = q.Insert(t.Context(), syncjobs.SyncArgs{Mappings: []string{mapping.Currency}}, nil)
			require.NoError(t, err)
			require.Eventually(t, func() bool { return calls.Load() >= 1 }, 20*time.Second, 50*time.Millisecond)
			if tt.disabled {
				time.Sleep(200 * time.Millisecond)
				js, err := st.ListJobs(t.Context(), mapping.Currency, 0)
				require.NoError(t, err)
				require.Empty(t, js, "a disabled connection runs nothing")
				return
			}
			require.Eventually(t, func() bool {
				js, err := st.ListJobs(t.Context(), mapping.Currency, 0)
				return err == nil && len(js) > 0 && js[0].Status == "succeeded"
			}, 20*time.Second, 50*time.Millisecond)
			c, err := st.GetCouplingByERP(t.Context(), mapping.Currency, "cur-eur")
			require.NoError(t, err)
			require.Equal(t, syncer.DeterministicID(mapping.Currency, "cur-eur"), c.CRMID)

			// The same "sync now" asked again once the first has finished
			// runs again instead of being dropped as a duplicate (while the
			// first River job is still closing, asking is a no-op, so ask
			// until it is taken).
			require.Eventually(t, func() bool {
				if _, err := q.Insert(t.Context(), syncjobs.SyncArgs{Mappings: []string{mapping.Currency}}, nil); err != nil {
					return false
				}
				time.Sleep(200 * time.Millisecond)
				js, err := st.ListJobs(t.Context(), mapping.Currency, 0)
				return err == nil && len(js) >= 2
			}, 20*time.Second, 50*time.Millisecond, "a second sync now must run")
		})
	}
}
