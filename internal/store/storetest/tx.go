package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

func testInTx(t *testing.T, s store.Store) {
	c := ctx(t)
	boom := errors.New("boom")

	// Commit: every write is visible afterwards.
	require.NoError(t, s.InTx(c, func(ctx context.Context, tx store.Store) error {
		if err := tx.PutSetting(ctx, "k", "committed"); err != nil {
			return err
		}
		_, err := tx.PutCoupling(ctx, syncer.Coupling{Mapping: "M", ERPID: "1", CRMID: "a"})
		if err != nil {
			return err
		}
		v, err := tx.GetSetting(ctx, "k") // reads see the transaction's writes
		require.Equal(t, "committed", v)
		return err
	}))
	v, err := s.GetSetting(c, "k")
	require.NoError(t, err)
	require.Equal(t, "committed", v)

	// Rollback: an error undoes everything and comes back unchanged.
	err = s.InTx(c, func(ctx context.Context, tx store.Store) error {
		require.NoError(t, tx.PutSetting(ctx, "k", "rolled back"))
		require.NoError(t, tx.PutCouplings(ctx, []syncer.Coupling{{Mapping: "M", ERPID: "2", CRMID: "b"}}))
		_, err := tx.CreateJob(ctx, syncer.Job{Mapping: "M"})
		require.NoError(t, err)
		return boom
	})
	require.ErrorIs(t, err, boom)
	v, err = s.GetSetting(c, "k")
	require.NoError(t, err)
	require.Equal(t, "committed", v)
	n, err := s.CountCouplings(c, "M")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	jobs, err := s.ListJobs(c, store.JobFilter{})
	require.NoError(t, err)
	require.Empty(t, jobs)

	// Nested: an inner error undoes only the inner writes.
	require.NoError(t, s.InTx(c, func(ctx context.Context, tx store.Store) error {
		require.NoError(t, tx.PutSetting(ctx, "outer", "kept"))
		err := tx.InTx(ctx, func(ctx context.Context, inner store.Store) error {
			require.NoError(t, inner.PutSetting(ctx, "inner", "undone"))
			return boom
		})
		require.ErrorIs(t, err, boom)
		return tx.InTx(ctx, func(ctx context.Context, inner store.Store) error {
			return inner.PutSetting(ctx, "inner2", "kept")
		})
	}))
	for k, want := range map[string]string{"outer": "kept", "inner2": "kept"} {
		v, err := s.GetSetting(c, k)
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
	_, err = s.GetSetting(c, "inner")
	require.ErrorIs(t, err, store.ErrNotFound)

	// A panic rolls back and goes on.
	require.Panics(t, func() {
		_ = s.InTx(c, func(ctx context.Context, tx store.Store) error {
			require.NoError(t, tx.PutSetting(ctx, "panic", "x"))
			panic("boom")
		})
	})
	_, err = s.GetSetting(c, "panic")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// testInTxConflict: a refused write inside a transaction leaves the
// transaction usable (PostgreSQL would abort it without a savepoint).
func testInTxConflict(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.PutCoupling(c, syncer.Coupling{Mapping: "M", ERPID: "1", CRMID: "a"})
	require.NoError(t, err)
	require.NoError(t, s.InTx(c, func(ctx context.Context, tx store.Store) error {
		_, err := tx.PutCoupling(ctx, syncer.Coupling{Mapping: "M", ERPID: "2", CRMID: "a"})
		require.ErrorIs(t, err, store.ErrConflict)
		require.ErrorContains(t, err, `CRM id "a" is already coupled to ERP id "1"`)
		err = tx.PutCouplings(ctx, []syncer.Coupling{{Mapping: "M", ERPID: "3", CRMID: "a"}})
		require.ErrorIs(t, err, store.ErrConflict)
		require.ErrorContains(t, err, `CRM id "a"`)
		// The refused batch's rows before the clash are not left in the
		// transaction, which goes on and commits.
		err = tx.PutCouplings(ctx, []syncer.Coupling{{Mapping: "M", ERPID: "4", CRMID: "d"}, {Mapping: "M", ERPID: "5", CRMID: "e"}, {Mapping: "M", ERPID: "6", CRMID: "a"}})
		require.ErrorIs(t, err, store.ErrConflict)
		_, err = tx.PutCoupling(ctx, syncer.Coupling{Mapping: "M", ERPID: "2", CRMID: "b"})
		return err
	}))
	got, err := s.GetCouplingByCRM(c, "M", "b")
	require.NoError(t, err)
	require.Equal(t, "2", got.ERPID)
	n, err := s.CountCouplings(c, "M")
	require.NoError(t, err)
	require.Equal(t, 2, n, "couplings 1 and 2 only")
}

func testPingDialect(t *testing.T, s store.Store) {
	require.NoError(t, s.Ping(ctx(t)))
	require.Contains(t, []string{"sqlite", "postgres"}, s.Dialect())
}
