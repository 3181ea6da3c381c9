package secret_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
)

// TestSQLiteHoldsNoPlaintext stores secrets through the real SQLite store,
// declined first (clear), then enables and rotates, and greps every file
// of the data dir (database, WAL, shared memory) for the secrets' bytes.
func TestSQLiteHoldsNoPlaintext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	require.NoError(t, err)
	box, err := secret.New(secret.Options{Store: st, DataDir: dir, Getenv: noEnv, Logger: log})
	require.NoError(t, err)

	values := map[string]string{
		"crm_password":        "Plaintext-Marker-CRM-8f1e2d",
		"erp_client_secret":   "Plaintext-Marker-ERP-77aa01",
		"erp_web_service_key": "Plaintext-Marker-KEY-c0ffee",
	}
	require.NoError(t, box.Decline(ctx))
	require.NoError(t, box.Put(ctx, "default", "crm_password", values["crm_password"]))
	_, err = box.Enable(ctx)
	require.NoError(t, err)
	require.NoError(t, box.Put(ctx, "default", "erp_client_secret", values["erp_client_secret"]))
	require.NoError(t, box.Put(ctx, "default", "erp_web_service_key", values["erp_web_service_key"]))
	_, err = box.Rotate(ctx)
	require.NoError(t, err)
	for name, want := range values {
		got, err := box.Get(ctx, "default", name)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	// The clear-text row written before Enable must not survive in the
	// WAL or free pages either: checkpoint and close, then grep.
	require.NoError(t, st.Close())
	found := 0
	require.NoError(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() == secret.KeyFileName {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		found++
		for name, v := range values {
			require.False(t, bytes.Contains(data, []byte(v)), "%s holds the plaintext of %s", p, name)
		}
		return nil
	}))
	require.NotZero(t, found, "no database file was written")

	// Reopen: every secret still decrypts.
	st2, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	require.NoError(t, err)
	defer st2.Close()
	box2, err := secret.New(secret.Options{Store: st2, DataDir: dir, Getenv: noEnv, Logger: log})
	require.NoError(t, err)
	for name, want := range values {
		got, err := box2.Get(ctx, "default", name)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}
