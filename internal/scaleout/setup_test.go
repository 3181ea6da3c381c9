package scaleout_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/postgres"
	"github.com/coupler/coupler/internal/store/storetest"
)

func logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// instance is one coupler instance's store and queue on a shared database.
type instance struct {
	st store.Store
	q  *jobs.Queue
}

// setup returns a fresh PostgreSQL schema for the instances of one test.
func setup(t testing.TB) string {
	t.Helper()
	return storetest.PostgresURL(t)
}

// start opens an instance on url with its own pool, as a separate process
// would, and starts its queue.
func start(t testing.TB, url string, reg *jobs.Registry, opts jobs.Options) *instance {
	t.Helper()
	st, err := store.Open(t.Context(), store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	opts.Logger = logger()
	opts.Registry = reg
	if opts.PollInterval == 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	q, err := jobs.New(t.Context(), st, opts)
	require.NoError(t, err)
	require.NoError(t, q.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return &instance{st: st, q: q}
}
