// Package storetest is the conformance suite every store implementation
// passes: the same tests, run against SQLite and PostgreSQL, so that the
// rest of coupler can rely on one behaviour.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/users"
)

// Opener returns a new, empty, migrated store; it is closed by the test's
// cleanup.
type Opener func(t *testing.T) store.Store

// Run runs every conformance test against stores made by open. Each test
// runs in parallel on its own store.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(t *testing.T, s store.Store){
		"Settings":          testSettings,
		"Secrets":           testSecrets,
		"Connections":       testConnections,
		"Mappings":          testMappings,
		"Coupling":          testCoupling,
		"CouplingConflicts": testCouplingConflicts,
		"PutCouplings":      testPutCouplings,
		"PutCouplingValues": testPutCouplingValues,
		"ListCouplings":     testListCouplings,
		"GetCouplings":      testGetCouplings,
		"Jobs":              testJobs,
		"Errors":            testErrors,
		"Cursors":           testCursors,
		"Intents":           testIntents,
		"Users":             testUsers,
		"APITokens":         testAPITokens,
		"ServiceKeys":       testServiceKeys,
		"Documents":         testDocuments,
		"InTx":              testInTx,
		"InTxConflict":      testInTxConflict,
		"PingDialect":       testPingDialect,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
	t.Run("FieldsPersisted", testFieldsPersisted)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// testFieldsPersisted fails when a domain type gains a field that the store
// has no column for, instead of losing it silently.
func testFieldsPersisted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    any
		want int
	}{
		{syncer.Coupling{}, 14},
		{syncer.Counts{}, 8},
		{syncer.Job{}, 8},
		{syncer.SyncError{}, 12},
		{syncer.Cursor{}, 4},
		{syncer.Intent{}, 8},
		{users.User{}, 9},
		{store.Secret{}, 6},
	} {
		typ := reflect.TypeOf(tc.v)
		require.Equal(t, tc.want, typ.NumField(),
			"%s has %d fields but the store persists %d: add the new field to a migration and to internal/store/sqlstore (then update this count)",
			typ, typ.NumField(), tc.want)
	}
}

// RequirePostgres returns COUPLER_TEST_DATABASE_URL; without it the test
// skips with one line saying how to enable it, or fails when CI=true. Call
// it at the top of a test whose subtests all need PostgreSQL, so that the
// skip is said once.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("COUPLER_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL tests: COUPLER_TEST_DATABASE_URL is not set and CI=true: run ./scripts/test, which starts PostgreSQL")
		}
		t.Skip("PostgreSQL tests skipped: set COUPLER_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable (./scripts/test does)")
	}
	return base
}

// PostgresURL returns COUPLER_TEST_DATABASE_URL pointed at a new schema,
// dropped at cleanup, so that parallel tests and test runs sharing one
// server never see each other. Without the variable it skips, or fails
// when CI=true.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "coupler_test_" + hex.EncodeToString(b)
	exec := func(sql string) {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(c, base)
		require.NoError(t, err, "connect to COUPLER_TEST_DATABASE_URL")
		defer conn.Close(c)
		_, err = conn.Exec(c, sql)
		require.NoError(t, err, sql)
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
