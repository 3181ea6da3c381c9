package reliability

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
)

// TestReliabilityDamagedDatabaseReportedAtStart corrupts the database file
// in several ways; opening the store (what every command does first) fails
// with a message naming the file and the problem, and changes nothing.
func TestReliabilityDamagedDatabaseReportedAtStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	// A healthy database to damage.
	good := t.TempDir()
	st, err := store.Open(ctx, store.Options{DataDir: good, Logger: log})
	require.NoError(t, err)
	require.NoError(t, st.PutSetting(ctx, "marker", "x"))
	require.NoError(t, st.Close())
	healthy, err := os.ReadFile(filepath.Join(good, "coupler.db"))
	require.NoError(t, err)
	noise := make([]byte, 8192)
	_, _ = rand.Read(noise)

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"random bytes", noise, "not a database"},
		{"sqlite header then garbage", append([]byte("SQLite format 3\x00"), noise[:4000]...), "not a database"},
		{"header destroyed", append(append([]byte{}, noise[:100]...), healthy[100:]...), "not a database"},
		{"truncated to one page", healthy[:min(len(healthy), 4096)], "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			count(&tally.badInputs, 1)
			dir := t.TempDir()
			path := filepath.Join(dir, "coupler.db")
			require.NoError(t, os.WriteFile(path, tc.data, 0o600))
			st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
			if err == nil {
				// Some damage is only found on use: it must be found then.
				_, err = st.ListMappings(ctx)
				if err == nil {
					_, err = st.GetSetting(ctx, "marker")
				}
				st.Close()
			}
			require.Error(t, err, "a damaged database must not open silently")
			require.Contains(t, err.Error(), "coupler.db", "the message names the file")
			if !strings.Contains(err.Error(), tc.want) && !strings.Contains(err.Error(), "not a database") {
				t.Errorf("message %q does not say the file is damaged (%q)", err, tc.want)
			}
			after, _ := os.ReadFile(path)
			require.Equal(t, tc.data, after, "the damaged file is left as it was (for recovery)")
		})
	}
}

// TestReliabilityFullOrReadOnlyDiskReportedAtStart starts coupler on a data
// dir that is full (a 100 KiB tmpfs) or read-only; the command fails at
// start with a message saying so.
func TestReliabilityFullOrReadOnlyDiskReportedAtStart(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Run("read-only dir (chmod)", func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.Chmod(dir, 0o500))
			t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
			_, stderr, err := run(t, "--data-dir", dir, "sync", "status", "--json")
			require.Error(t, err)
			require.Contains(t, string(stderr), "permission denied")
		})
		if os.Getenv("CI") != "true" {
			t.Skip("a full disk needs a tmpfs mount, which needs root")
		}
		t.Fatal("CI=true: run as root to mount a small tmpfs for the full-disk test")
	}
	mount := func(t *testing.T, opts string) string {
		dir := t.TempDir()
		out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput()
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("mount tmpfs: %v: %s", err, out)
			}
			t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
		}
		t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
		return dir
	}
	for _, tc := range []struct{ name, opts, want string }{
		{"full disk", "size=100k", "disk is full"},
		{"read-only file system", "size=1m,ro", "read-only file system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			count(&tally.faults, 1)
			dir := mount(t, tc.opts)
			_, stderr, err := run(t, "--data-dir", dir, "sync", "status", "--json")
			require.Error(t, err)
			msg := string(stderr)
			t.Logf("coupler says: %s", strings.TrimSpace(msg))
			require.Contains(t, msg, "coupler.db", "the message names the file")
			require.Contains(t, msg, tc.want)
		})
	}
}
