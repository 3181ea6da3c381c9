package backup_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/backup"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
)

func setup(t *testing.T) (context.Context, string, *slog.Logger) {
	t.Helper()
	return context.Background(), t.TempDir(), slog.New(slog.DiscardHandler)
}

func open(t *testing.T, ctx context.Context, dir string, log *slog.Logger) (store.Store, *secret.Box) {
	t.Helper()
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	require.NoError(t, err)
	box, err := secret.New(secret.Options{Store: st, DataDir: dir, Logger: log, Getenv: func(string) string { return "" }})
	require.NoError(t, err)
	return st, box
}

// TestBackupWhileWritingRestoresToAWorkingState takes a backup while a
// writer adds couplings, restores it into a fresh data dir and checks that
// the database opens, the secret decrypts and the couplings form a prefix
// of what the writer wrote (a consistent snapshot).
func TestBackupWhileWritingRestoresToAWorkingState(t *testing.T) {
	t.Parallel()
	ctx, dir, log := setup(t)
	st, box := open(t, ctx, dir, log)
	_, err := box.Enable(ctx)
	require.NoError(t, err)
	require.NoError(t, box.Put(ctx, "connection/main", "password", "s3cret-Pa55"))

	var wrote atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, err := st.PutCoupling(ctx, syncer.Coupling{Mapping: "CUSTOMER", ERPID: fmt.Sprintf("erp-%05d", i), CRMID: fmt.Sprintf("crm-%05d", i), LastResult: "Success"})
			if err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			wrote.Add(1)
		}
	}()
	for wrote.Load() < 50 {
		// let the writer get going
	}
	archive := filepath.Join(t.TempDir(), "coupler-backup.tar.gz")
	res, err := backup.Backup(ctx, backup.Options{DataDir: dir, Logger: log}, archive)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	require.True(t, res.Manifest.KeyFile)
	fi, err := os.Stat(archive)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the archive holds the key")
	require.NoError(t, st.Close())

	restored := filepath.Join(t.TempDir(), "restored")
	_, err = backup.Restore(ctx, backup.Options{DataDir: restored, Logger: log}, archive)
	require.NoError(t, err)
	st2, box2 := open(t, ctx, restored, log)
	defer st2.Close()
	v, err := box2.Get(ctx, "connection/main", "password")
	require.NoError(t, err, "the restored secret must decrypt with the restored key")
	require.Equal(t, "s3cret-Pa55", v)
	n, err := st2.CountCouplings(ctx, "CUSTOMER")
	require.NoError(t, err)
	require.Positive(t, n)
	require.LessOrEqual(t, int64(n), wrote.Load())
	for i := range n { // a prefix: no hole
		_, err := st2.GetCouplingByERP(ctx, "CUSTOMER", fmt.Sprintf("erp-%05d", i))
		require.NoError(t, err, "coupling %d", i)
	}
	// Still writable.
	_, err = st2.PutCoupling(ctx, syncer.Coupling{Mapping: "CUSTOMER", ERPID: "after", CRMID: "after-crm", LastResult: "Success"})
	require.NoError(t, err)
}

// TestRestoreKeepsThePreviousDatabase restores over an existing data dir:
// the old database is moved aside, not deleted.
func TestRestoreKeepsThePreviousDatabase(t *testing.T) {
	t.Parallel()
	ctx, dir, log := setup(t)
	st, _ := open(t, ctx, dir, log)
	require.NoError(t, st.PutSetting(ctx, "marker", "old"))
	archive := filepath.Join(t.TempDir(), "b.tgz")
	_, err := backup.Backup(ctx, backup.Options{DataDir: dir, Logger: log}, archive)
	require.NoError(t, err)
	require.NoError(t, st.PutSetting(ctx, "marker", "newer"))
	require.NoError(t, st.Close())

	res, err := backup.Restore(ctx, backup.Options{DataDir: dir, Logger: log}, archive)
	require.NoError(t, err)
	require.NotEmpty(t, res.MovedTo)
	require.FileExists(t, res.MovedTo)
	require.False(t, res.Manifest.KeyFile)
	st2, _ := open(t, ctx, dir, log)
	defer st2.Close()
	v, err := st2.GetSetting(ctx, "marker")
	require.NoError(t, err)
	require.Equal(t, "old", v)
}

func TestBackupAndRestoreRefuseClearly(t *testing.T) {
	t.Parallel()
	ctx, dir, log := setup(t)
	st, _ := open(t, ctx, dir, log)
	require.NoError(t, st.Close())
	good := filepath.Join(t.TempDir(), "good.tgz")
	_, err := backup.Backup(ctx, backup.Options{DataDir: dir, Logger: log}, good)
	require.NoError(t, err)
	raw, err := os.ReadFile(good)
	require.NoError(t, err)
	write := func(name string, data []byte) string {
		p := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	for _, tc := range []struct {
		name, want string
		run        func(string) error
	}{
		{"postgres backup", "pg_dump", func(d string) error {
			_, err := backup.Backup(ctx, backup.Options{DataDir: d, DatabaseURL: "postgres://u:pw@127.0.0.1/db", Logger: log}, "x")
			return err
		}},
		{"postgres restore", "pg_restore", func(d string) error {
			_, err := backup.Restore(ctx, backup.Options{DataDir: d, DatabaseURL: "postgres://u:pw@127.0.0.1/db", Logger: log}, good)
			return err
		}},
		{"no database", "no database at", func(d string) error {
			_, err := backup.Backup(ctx, backup.Options{DataDir: d, Logger: log}, filepath.Join(t.TempDir(), "b"))
			return err
		}},
		{"not an archive", "not a coupler backup archive", func(d string) error {
			_, err := backup.Restore(ctx, backup.Options{DataDir: d, Logger: log}, write("junk", []byte("hello")))
			return err
		}},
		{"truncated archive", "not a coupler backup archive", func(d string) error {
			_, err := backup.Restore(ctx, backup.Options{DataDir: d, Logger: log}, write("cut", raw[:len(raw)/2]))
			return err
		}},
		{"missing archive", "not a coupler backup archive", func(d string) error {
			_, err := backup.Restore(ctx, backup.Options{DataDir: d, Logger: log}, filepath.Join(d, "nope"))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := t.TempDir()
			err := tc.run(d)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "pw@", "no password in the message")
			_, statErr := os.Stat(filepath.Join(d, "coupler.db"))
			require.ErrorIs(t, statErr, os.ErrNotExist, "a refused restore changes nothing")
		})
	}
}
