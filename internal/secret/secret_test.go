package secret_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/store"
)

// memStore is an in-memory Store for the parts of the contract the secret
// package uses; the SQLite test below runs the real one.
type memStore struct {
	mu       sync.Mutex
	settings map[string]string
	secrets  map[[2]string]store.Secret
}

func newMem() *memStore {
	return &memStore{settings: map[string]string{}, secrets: map[[2]string]store.Secret{}}
}

func (m *memStore) GetSetting(_ context.Context, k string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.settings[k]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}

func (m *memStore) PutSetting(_ context.Context, k, v string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settings[k] = v
	return nil
}

func (m *memStore) GetSecret(_ context.Context, owner, name string) (store.Secret, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.secrets[[2]string{owner, name}]
	if !ok {
		return s, store.ErrNotFound
	}
	s.Value = append([]byte(nil), s.Value...)
	return s, nil
}

func (m *memStore) PutSecret(_ context.Context, s store.Secret) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.Value = append([]byte(nil), s.Value...)
	m.secrets[[2]string{s.Owner, s.Name}] = s
	return nil
}

func (m *memStore) ListSecrets(context.Context) ([]store.Secret, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Secret
	for _, s := range m.secrets {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Owner+out[i].Name < out[j].Owner+out[j].Name })
	return out, nil
}

func noEnv(string) string { return "" }

func setup(t *testing.T) (*secret.Box, *memStore, string) {
	t.Helper()
	dir := t.TempDir()
	m := newMem()
	b, err := secret.New(secret.Options{Store: m, DataDir: dir, Getenv: noEnv})
	require.NoError(t, err)
	return b, m, dir
}

func TestPutRefusedUntilDecided(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, m, _ := setup(t)
	require.ErrorIs(t, b.Put(ctx, "default", "crm_password", "hunter2"), secret.ErrUndecided)
	require.Empty(t, m.secrets)
	st, err := b.Status(ctx)
	require.NoError(t, err)
	require.Contains(t, st.Warning, "not enabled yet")
}

func TestEncryptedRoundTripAndNoPlaintext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, m, dir := setup(t)
	rep, err := b.Enable(ctx)
	require.NoError(t, err)
	require.True(t, rep.KeyCreated)
	fi, err := os.Stat(filepath.Join(dir, secret.KeyFileName))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	require.NoError(t, b.Put(ctx, "default", "crm_password", "hunter2-very-secret"))
	got, err := b.Get(ctx, "default", "crm_password")
	require.NoError(t, err)
	require.Equal(t, "hunter2-very-secret", got)
	raw := m.secrets[[2]string{"default", "crm_password"}]
	require.True(t, raw.Encrypted)
	require.NotContains(t, string(raw.Value), "hunter2")
	require.Equal(t, rep.KeyID, raw.KeyID)

	// Two encryptions of the same value differ (random nonce).
	require.NoError(t, b.Put(ctx, "default", "crm_password", "hunter2-very-secret"))
	require.NotEqual(t, raw.Value, m.secrets[[2]string{"default", "crm_password"}].Value)

	_, err = b.Get(ctx, "default", "missing")
	require.ErrorIs(t, err, secret.ErrNotSet)
}

func TestCiphertextBoundToRowAndColumn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, m, _ := setup(t)
	_, err := b.Enable(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Put(ctx, "default", "crm_password", "p1"))
	moved := m.secrets[[2]string{"default", "crm_password"}]
	moved.Name = "erp_client_secret"
	m.secrets[[2]string{"default", "erp_client_secret"}] = moved
	_, err = b.Get(ctx, "default", "erp_client_secret")
	require.ErrorContains(t, err, "altered or moved from another row")
	require.NotContains(t, err.Error(), "p1")
}

func TestDeclineThenEnableEncryptsWhatIsStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, m, _ := setup(t)
	require.NoError(t, b.Decline(ctx))
	require.NoError(t, b.Put(ctx, "default", "crm_password", "clear-one"))
	require.NoError(t, b.Put(ctx, "default", "erp_key", "clear-two"))
	st, err := b.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, st.Plaintext)
	require.Contains(t, st.Warning, "2 secret(s) are stored in clear text")

	rep, err := b.Enable(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Reencrypted)
	for _, s := range m.secrets {
		require.True(t, s.Encrypted)
		require.NotContains(t, string(s.Value), "clear-")
	}
	st, err = b.Status(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Plaintext)
	require.Empty(t, st.Warning)
	v, err := b.Get(ctx, "default", "erp_key")
	require.NoError(t, err)
	require.Equal(t, "clear-two", v)
	require.Error(t, b.Decline(ctx))
}

func TestRotateKeepsEverythingReadable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, m, dir := setup(t)
	first, err := b.Enable(ctx)
	require.NoError(t, err)
	values := map[string]string{}
	for i := range 20 {
		name := "s" + string(rune('a'+i))
		values[name] = strings.Repeat(name, 5)
		require.NoError(t, b.Put(ctx, "default", name, values[name]))
	}
	// A second instance sharing the data dir and the database.
	other, err := secret.New(secret.Options{Store: m, DataDir: dir, Getenv: noEnv})
	require.NoError(t, err)
	_, err = other.Get(ctx, "default", "sa")
	require.NoError(t, err)

	rep, err := b.Rotate(ctx)
	require.NoError(t, err)
	require.NotEqual(t, first.KeyID, rep.KeyID)
	require.Equal(t, 20, rep.Reencrypted)
	for name, want := range values {
		for _, box := range []*secret.Box{b, other} {
			got, err := box.Get(ctx, "default", name)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
		require.Equal(t, rep.KeyID, m.secrets[[2]string{"default", name}].KeyID)
	}
	st, err := b.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{rep.KeyID}, st.KeyIDs)
	data, err := os.ReadFile(filepath.Join(dir, secret.KeyFileName))
	require.NoError(t, err)
	require.NotContains(t, string(data), first.KeyID)
}

func TestEnvironmentKeyAndRotationFromFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, m, dir := setup(t)
	_, err := b.Enable(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Put(ctx, "default", "crm_password", "from-file"))

	envKey := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	env := func(k string) string {
		if k == secret.EnvKey {
			return envKey
		}
		return ""
	}
	withEnv, err := secret.New(secret.Options{Store: m, DataDir: dir, Getenv: env})
	require.NoError(t, err)
	// The file's key still decrypts; rotate moves everything to the env key.
	rep, err := withEnv.Rotate(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Reencrypted)
	require.Contains(t, rep.KeySource, "environment")
	v, err := withEnv.Get(ctx, "default", "crm_password")
	require.NoError(t, err)
	require.Equal(t, "from-file", v)
}

func TestBadKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name, env, file, want string
	}{
		{name: "env not base64", env: "%%%", want: "COUPLER_ENCRYPTION_KEY is not valid base64"},
		{name: "env wrong length", env: base64.StdEncoding.EncodeToString([]byte("short")), want: "must be 32 bytes, got 5"},
		{name: "file edited", file: "abc " + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n", want: "does not match its key"},
		{name: "file garbage", file: "nonsense\n", want: `want "id base64-key"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			m := newMem()
			m.settings[secret.SettingState] = string(secret.StateEnabled)
			if tt.file != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, secret.KeyFileName), []byte(tt.file), 0o600))
			}
			b, err := secret.New(secret.Options{Store: m, DataDir: dir, Getenv: func(k string) string {
				if k == secret.EnvKey {
					return tt.env
				}
				return ""
			}})
			require.NoError(t, err)
			err = b.Put(ctx, "o", "n", "value")
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestKeyFileTooOpenIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, _, dir := setup(t)
	_, err := b.Enable(ctx)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(filepath.Join(dir, secret.KeyFileName), 0o644))
	b2, err := secret.New(secret.Options{Store: newMemEnabled(), DataDir: dir, Getenv: noEnv})
	require.NoError(t, err)
	require.ErrorContains(t, b2.Put(ctx, "o", "n", "v"), "chmod 600")
}

func newMemEnabled() *memStore {
	m := newMem()
	m.settings[secret.SettingState] = string(secret.StateEnabled)
	return m
}

func TestEnabledButKeyLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := secret.New(secret.Options{Store: newMemEnabled(), DataDir: t.TempDir(), Getenv: noEnv})
	require.NoError(t, err)
	require.ErrorContains(t, b.Put(ctx, "o", "n", "v"), "restore the key file from a backup")
	st, err := b.Status(ctx)
	require.NoError(t, err)
	require.Contains(t, st.Warning, "no key was found")
}

// BenchmarkPutGet measures one encrypt-and-store plus one load-and-decrypt.
func BenchmarkPutGet(b *testing.B) {
	ctx := context.Background()
	m := newMem()
	box, err := secret.New(secret.Options{Store: m, DataDir: b.TempDir(), Getenv: noEnv})
	require.NoError(b, err)
	_, err = box.Enable(ctx)
	require.NoError(b, err)
	for b.Loop() {
		require.NoError(b, box.Put(ctx, "default", "crm_password", "a-password-of-usual-length"))
		_, err := box.Get(ctx, "default", "crm_password")
		require.NoError(b, err)
	}
}

// TestRotateWhileOthersReadAndWrite: another instance keeps reading and
// writing during the rotation; none of its calls fails and everything is
// readable, under the new key, afterwards.
func TestRotateWhileOthersReadAndWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, m, dir := setup(t)
	_, err := a.Enable(ctx)
	require.NoError(t, err)
	for i := range 50 {
		require.NoError(t, a.Put(ctx, "default", "s"+strconv.Itoa(i), "v"+strconv.Itoa(i)))
	}
	b, err := secret.New(secret.Options{Store: m, DataDir: dir, Getenv: noEnv})
	require.NoError(t, err)

	stop := make(chan struct{})
	errs := make(chan error, 1)
	var ops atomic.Int64
	go func() {
		defer close(errs)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			n := strconv.Itoa(i % 50)
			if i%5 == 0 {
				if err := b.Put(ctx, "default", "s"+n, "v"+n); err != nil {
					errs <- err
					return
				}
			} else if v, err := b.Get(ctx, "default", "s"+n); err != nil || v != "v"+n {
				errs <- fmt.Errorf("read s%s = %q, %v", n, v, err)
				return
			}
			ops.Add(1)
		}
	}()
	// Let the other instance get going first, so the rotations below
	// really overlap its reads and writes.
	for deadline := time.Now().Add(10 * time.Second); ops.Load() < 20 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	var rep secret.Report
	for range 3 {
		rep, err = a.Rotate(ctx)
		require.NoError(t, err)
	}
	close(stop)
	require.NoError(t, <-errs)
	require.Positive(t, ops.Load())
	// Whatever the other instance wrote during the last rotation is either
	// re-encrypted or written under the new key; rotate once more to be
	// sure nothing is left on the way, then everything reads.
	rep, err = a.Rotate(ctx)
	require.NoError(t, err)
	for i := range 50 {
		v, err := a.Get(ctx, "default", "s"+strconv.Itoa(i))
		require.NoError(t, err)
		require.Equal(t, "v"+strconv.Itoa(i), v)
	}
	st, err := a.Status(ctx)
	require.NoError(t, err)
	require.Zero(t, st.UnderOldKeys)
	require.Equal(t, rep.KeyID, st.CurrentKeyID)
}
