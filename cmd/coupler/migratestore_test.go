package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/storetest"
	"github.com/coupler/coupler/internal/syncer"
)

// TestMigrateStore: a real demo database (connection, mappings, couplings,
// jobs, errors, encrypted secrets, the admin user) is copied from SQLite to
// PostgreSQL; the counts and a sample of every kind of row are equal, the
// secrets decrypt with the same key, new rows get new ids, a second copy
// into the filled database is refused without --force, and the way back to
// SQLite works too.
func TestMigrateStore(t *testing.T) {
	t.Parallel()
	pg := storetest.PostgresURL(t)
	dir := t.TempDir()
	_, stderr, code := run(t, nil, "demo", "--once", "--json", "--data-dir", dir)
	require.Zero(t, code, stderr)

	out, stderr, code := run(t, nil, "migrate-store", "--log-level", "warn", "--from", "sqlite:"+dir, "--to", pg)
	require.Zero(t, code, stderr)
	require.Contains(t, out, "row counts verified equal")
	require.Regexp(t, `couplings\s+[1-9]\d* rows`, out)

	_, stderr, code = run(t, nil, "migrate-store", "--from", "sqlite:"+dir, "--to", pg)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "the destination already holds data")
	require.Contains(t, stderr, "--force")

	log := slog.New(slog.DiscardHandler)
	ctx := t.Context()
	src, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	require.NoError(t, err)
	defer src.Close()
	dst, err := store.Open(ctx, store.Options{DatabaseURL: pg, Logger: log})
	require.NoError(t, err)
	defer dst.Close()
	sameRows(t, src, dst)

	// Secrets are sealed with their row as associated data: they must open
	// from the new database with the data dir's key.
	sb, err := secret.New(secret.Options{Store: src, DataDir: dir, Logger: log})
	require.NoError(t, err)
	db, err := secret.New(secret.Options{Store: dst, DataDir: dir, Logger: log})
	require.NoError(t, err)
	secrets, err := src.ListSecrets(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, secrets)
	for _, s := range secrets {
		a, err := sb.Get(ctx, s.Owner, s.Name)
		require.NoError(t, err)
		b, err := db.Get(ctx, s.Owner, s.Name)
		require.NoError(t, err, "secret %s/%s does not open from PostgreSQL", s.Owner, s.Name)
		require.Equal(t, a, b)
	}

	// The identity sequences continue after the copied ids.
	jobs, err := dst.ListJobs(ctx, store.JobFilter{Limit: 1})
	require.NoError(t, err)
	j, err := dst.CreateJob(ctx, syncer.Job{Mapping: jobs[0].Mapping, Trigger: "manual", Status: "running", StartedAt: time.Now()})
	require.NoError(t, err)
	require.Greater(t, j.ID, jobs[0].ID)

	back := t.TempDir()
	out, stderr, code = run(t, nil, "migrate-store", "--log-level", "warn", "--from", pg, "--to", "sqlite:"+back, "--force")
	require.Zero(t, code, stderr)
	require.Contains(t, out, "row counts verified equal")
}

func TestMigrateStoreBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "sqlite:" + dir}, "--from is empty"},
		{[]string{"--from", "mysql://x", "--to", "sqlite:" + dir}, "neither sqlite:DATA_DIR nor a postgres:// URL"},
		{[]string{"--from", "sqlite:" + dir, "--to", "sqlite:" + dir}, "name the same database"},
		{[]string{"--from", "sqlite:", "--to", "sqlite:" + dir}, "the path after sqlite: is empty"},
		{[]string{"--from", "https://user:hunter2@x", "--to", "sqlite:" + dir}, "https://…@x"},
	} {
		_, stderr, code := run(t, nil, append([]string{"migrate-store"}, tc.args...)...)
		require.Equal(t, 1, code, stderr)
		require.Contains(t, stderr, tc.want)
		require.NotContains(t, stderr, "hunter2")
	}
}

// sameRows compares a sample of every kind of record, field by field.
func sameRows(t *testing.T, a, b store.Store) {
	t.Helper()
	ctx := context.Background()
	ms, err := a.ListMappings(ctx)
	require.NoError(t, err)
	msB, err := b.ListMappings(ctx)
	require.NoError(t, err)
	require.Len(t, msB, len(ms))
	for _, m := range ms {
		got, err := b.GetMapping(ctx, m.Name)
		require.NoError(t, err)
		require.Equal(t, m.Name, got.Name)
		ca, err := a.ListCouplings(ctx, store.CouplingFilter{Mapping: m.Name})
		require.NoError(t, err)
		cb, err := b.ListCouplings(ctx, store.CouplingFilter{Mapping: m.Name})
		require.NoError(t, err)
		require.Len(t, cb, len(ca), m.Name)
		for i := range ca {
			require.Equal(t, ca[i].ID, cb[i].ID)
			require.Equal(t, ca[i].ERPID, cb[i].ERPID)
			require.Equal(t, ca[i].CRMID, cb[i].CRMID)
			require.Equal(t, ca[i].Snapshot, cb[i].Snapshot)
			require.Equal(t, ca[i].Skipped, cb[i].Skipped)
			require.WithinDuration(t, ca[i].UpdatedAt, cb[i].UpdatedAt, time.Microsecond)
		}
	}
	ja, err := a.ListJobs(ctx, store.JobFilter{})
	require.NoError(t, err)
	jb, err := b.ListJobs(ctx, store.JobFilter{})
	require.NoError(t, err)
	require.Len(t, jb, len(ja))
	for i := range ja {
		require.Equal(t, ja[i].ID, jb[i].ID)
		require.Equal(t, ja[i].Counts, jb[i].Counts)
		require.Equal(t, ja[i].Status, jb[i].Status)
		require.Equal(t, ja[i].Message, jb[i].Message)
	}
	ea, err := a.ListErrors(ctx, store.ErrorFilter{})
	require.NoError(t, err)
	eb, err := b.ListErrors(ctx, store.ErrorFilter{})
	require.NoError(t, err)
	require.Len(t, eb, len(ea))
	for i := range ea {
		require.Equal(t, ea[i].Message, eb[i].Message)
		require.Equal(t, ea[i].JobID, eb[i].JobID)
	}
	ua, err := a.ListUsers(ctx)
	require.NoError(t, err)
	ub, err := b.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, ub, len(ua))
	for i := range ua {
		require.Equal(t, ua[i].Email, ub[i].Email)
		require.Equal(t, ua[i].PasswordHash, ub[i].PasswordHash)
	}
	conns, err := a.ListConnections(ctx)
	require.NoError(t, err)
	connsB, err := b.ListConnections(ctx)
	require.NoError(t, err)
	require.Equal(t, len(conns), len(connsB))
	for i := range conns {
		require.Equal(t, conns[i].Name, connsB[i].Name)
	}
}
