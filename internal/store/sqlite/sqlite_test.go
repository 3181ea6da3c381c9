package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/store/storetest"
	"github.com/coupler/coupler/internal/syncer"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func setup(t testing.TB) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir(), Logger: discard()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return setup(t) })
	})
}

func TestSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t.Run("sqlite", func(t *testing.T) {
		storetest.RunSchema(t, func(ctx context.Context) (store.Store, error) {
			return store.Open(ctx, store.Options{DataDir: dir, Logger: discard()})
		})
	})
}

func TestFileIsPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s, err := sqlite.Open(t.Context(), dir, discard())
	require.NoError(t, err)
	defer s.Close()
	fi, err := os.Stat(filepath.Join(dir, sqlite.FileName))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.Equal(t, filepath.Join(dir, sqlite.FileName), s.Path())
}

// TestOuterWriteInsideTx: SQLite has one writer connection, so a write on
// the outer store from inside InTx would wait for itself; it is refused.
func TestOuterWriteInsideTx(t *testing.T) {
	t.Parallel()
	s := setup(t)
	err := s.InTx(t.Context(), func(ctx context.Context, tx store.Store) error {
		return s.PutSetting(ctx, "k", "v")
	})
	require.ErrorContains(t, err, "use the tx Store")
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	_, err := store.Open(t.Context(), store.Options{Logger: discard()})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = store.Open(t.Context(), store.Options{DatabaseURL: "mysql://x", Logger: discard()})
	require.ErrorContains(t, err, `scheme "mysql"`)
	_, err = store.Open(t.Context(), store.Options{DataDir: t.TempDir()})
	require.ErrorContains(t, err, "Logger")
}

func BenchmarkPutCouplings(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { storetest.BenchmarkPutCouplings(b, setup(b)) })
}

func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t.Run("sqlite", func(t *testing.T) {
		storetest.RunConcurrentOpen(t, func(ctx context.Context) (store.Store, error) {
			return store.Open(ctx, store.Options{DataDir: dir, Logger: discard()})
		})
	})
}

// TestCheckpointsInBulk: commits of several thousand pages stay in the WAL
// until 64 MB of it (not SQLite's default of 4 MB, which made every chunk's
// commit copy its pages into the database file too), and all of it is in the
// database once the store is closed and opened again.
func TestCheckpointsInBulk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	s, err := store.Open(ctx, store.Options{DataDir: dir, Logger: discard()})
	require.NoError(t, err)
	snapshot := strings.Repeat("x", 600)
	const chunks, size = 10, 1000
	for k := range chunks {
		cs := make([]syncer.Coupling, size)
		for i := range cs {
			id := fmt.Sprintf("%08d-%d", k*size+i, i*7919%size)
			cs[i] = syncer.Coupling{Mapping: "CUSTOMER", ERPID: id, CRMID: "c" + id, LastResult: syncer.ResultSuccess, Snapshot: snapshot}
		}
		require.NoError(t, s.PutCouplings(ctx, cs))
	}
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	require.NoError(t, err)
	var busy, frames, copied int
	require.NoError(t, raw.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied))
	require.NoError(t, raw.Close())
	require.Greater(t, frames, 2000, "the WAL was checkpointed (and restarted) along the way")
	require.NoError(t, s.Close())

	s, err = store.Open(ctx, store.Options{DataDir: dir, Logger: discard()})
	require.NoError(t, err)
	defer s.Close()
	n, err := s.CountCouplings(ctx, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, chunks*size, n)
}
