package storetest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
)

// Reopener opens the same database on every call (the first call creates
// and migrates it).
type Reopener func(ctx context.Context) (store.Store, error)

// RunSchema checks migrations on one database: the first open migrates,
// the second migrates nothing and keeps the data, and a database recorded
// at a version newer than the binary knows is refused with ErrSchemaTooNew.
func RunSchema(t *testing.T, reopen Reopener) {
	c := ctx(t)
	first, err := reopen(c)
	require.NoError(t, err)
	res := migrated(t, first)
	require.Zero(t, res.From)
	require.NotEmpty(t, res.Applied)
	require.Equal(t, res.To, len(res.Applied))
	require.NoError(t, first.PutSetting(c, "kept", "yes"))
	require.NoError(t, first.Close())

	second, err := reopen(c)
	require.NoError(t, err)
	again := migrated(t, second)
	require.Equal(t, store.MigrationResult{From: res.To, To: res.To}, again, "a second open migrates nothing")
	v, err := second.GetSetting(c, "kept")
	require.NoError(t, err)
	require.Equal(t, "yes", v)

	db := second.(interface{ SQLDB() *sql.DB }).SQLDB()
	_, err = db.ExecContext(c, `INSERT INTO coupler_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		res.To+90, "from_the_future", "2099-01-01T00:00:00Z")
	require.NoError(t, err)
	require.NoError(t, second.Close())

	_, err = reopen(c)
	require.ErrorIs(t, err, store.ErrSchemaTooNew)
	require.ErrorContains(t, err, "upgrade coupler or restore a backup")
	require.ErrorContains(t, err, "newer coupler")
}

func migrated(t *testing.T, s store.Store) store.MigrationResult {
	m, ok := s.(interface{ Migrated() store.MigrationResult })
	require.True(t, ok, "%T has no Migrated method", s)
	return m.Migrated()
}

// RunConcurrentOpen opens one new database from several goroutines at
// once, as instances starting together do: every open succeeds and each
// migration is applied exactly once.
func RunConcurrentOpen(t *testing.T, reopen Reopener) {
	c := ctx(t)
	const n = 4
	type result struct {
		s   store.Store
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			s, err := reopen(c)
			results <- result{s, err}
		}()
	}
	applied := map[string]int{}
	for range n {
		r := <-results
		require.NoError(t, r.err)
		for _, name := range migrated(t, r.s).Applied {
			applied[name]++
		}
		require.NoError(t, r.s.Close())
	}
	require.NotEmpty(t, applied)
	for name, times := range applied {
		require.Equal(t, 1, times, "migration %s applied %d times", name, times)
	}
}
