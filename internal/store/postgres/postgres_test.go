package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/postgres"
	"github.com/coupler/coupler/internal/store/storetest"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// setup opens a store in a schema of its own, dropped at cleanup.
func setup(t testing.TB) store.Store {
	t.Helper()
	url := storetest.PostgresURL(t)
	s, err := store.Open(context.Background(), store.Options{DatabaseURL: url, Logger: discard()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		storetest.RequirePostgres(t)
		storetest.Run(t, func(t *testing.T) store.Store { return setup(t) })
	})
}

func TestSchema(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		storetest.RunSchema(t, func(ctx context.Context) (store.Store, error) {
			return store.Open(ctx, store.Options{DatabaseURL: url, Logger: discard()})
		})
	})
}

func TestPool(t *testing.T) {
	t.Parallel()
	s := setup(t).(*postgres.Store)
	require.NoError(t, s.Pool().Ping(t.Context()))
	require.Equal(t, "postgres", s.Dialect())
}

func TestBadURL(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(t.Context(), "postgres://u:secretpw@127.0.0.1:1/x?sslmode=bogus", discard())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secretpw")
}

func BenchmarkPutCouplings(b *testing.B) {
	b.Run("postgres", func(b *testing.B) { storetest.BenchmarkPutCouplings(b, setup(b)) })
}

func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		storetest.RunConcurrentOpen(t, func(ctx context.Context) (store.Store, error) {
			return store.Open(ctx, store.Options{DatabaseURL: url, Logger: discard()})
		})
	})
}
