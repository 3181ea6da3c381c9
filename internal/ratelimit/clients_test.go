package ratelimit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/storetest"
)

// The clients' budget stays under the services' 6,000 requests per 5
// minutes per user, burst included.
func TestClientBudgetUnderTheLimit(t *testing.T) {
	t.Parallel()
	b := ratelimit.ClientBudget()
	require.Equal(t, 5*time.Minute, b.Window)
	require.Less(t, b.Requests, ratelimit.DefaultBudget().Requests)
	require.Greater(t, b.Requests, 5800)
}

// PostgreSQL (several instances may run): every client takes its turns
// from the shared bucket of its (connection, service, user).
func TestClientPacersShareOnPostgres(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), store.Options{DatabaseURL: storetest.PostgresURL(t), Logger: logger()})
	require.NoError(t, err)
	defer st.Close()
	pacers, err := ratelimit.ClientPacers(st, logger(), ratelimit.ClientBudget())
	require.NoError(t, err)
	require.NotNil(t, pacers)
	p, err := pacers("default", ratelimit.ServiceBC, "erp-app")
	require.NoError(t, err)
	b, ok := p.(*ratelimit.Bucket)
	require.True(t, ok, "%T", p)
	require.Equal(t, ratelimit.Key{Connection: "default", Service: ratelimit.ServiceBC, User: "erp-app"}, b.Key())
	require.NoError(t, p.Wait(t.Context()))

	_, err = pacers("default", ratelimit.ServiceBC, "")
	require.ErrorContains(t, err, "user empty")
	_, err = ratelimit.ClientPacers(st, nil, ratelimit.Budget{Requests: 10})
	require.ErrorContains(t, err, "must be positive")
}

// SQLite (one instance): no pacers, each client keeps its in-process
// limiter.
func TestClientPacersInProcessOnSQLite(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), store.Options{DataDir: t.TempDir(), Logger: logger()})
	require.NoError(t, err)
	defer st.Close()
	pacers, err := ratelimit.ClientPacers(st, logger(), ratelimit.ClientBudget())
	require.NoError(t, err)
	require.Nil(t, pacers)
	_, err = ratelimit.ClientPacers(nil, logger(), ratelimit.ClientBudget())
	require.Error(t, err)
}
