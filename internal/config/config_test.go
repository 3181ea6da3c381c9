package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/config"
)

// setup returns a data dir and an env lookup backed by a map.
func setup(t *testing.T, env map[string]string) (string, func(string) string) {
	t.Helper()
	dir := t.TempDir()
	return dir, func(k string) string { return env[k] }
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "config.toml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestLoadDefaultsAndPrecedence(t *testing.T) {
	t.Parallel()
	dir, env := setup(t, map[string]string{"COUPLER_HTTP_ADDR": "127.0.0.1:9999"})
	writeConfig(t, dir, "log_level = \"debug\"\n[http]\naddr = \"127.0.0.1:7000\"\nshutdown_timeout = \"5s\"\n")
	cfg, err := config.Load("", dir, env)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Equal(t, dir, cfg.DataDir)
	require.Equal(t, "debug", cfg.LogLevel, "file overrides default")
	require.Equal(t, "127.0.0.1:9999", cfg.HTTP.Addr, "environment overrides file")
	require.Equal(t, 5*time.Second, cfg.HTTP.ShutdownTimeout)
	require.Equal(t, 30*time.Minute, cfg.Sync.DefaultInterval)
}

func TestMissingDefaultFileIsFine(t *testing.T) {
	t.Parallel()
	dir, env := setup(t, nil)
	cfg, err := config.Load("", dir, env)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
}

func TestMissingExplicitFileFails(t *testing.T) {
	t.Parallel()
	dir, env := setup(t, nil)
	_, err := config.Load(filepath.Join(dir, "nope.toml"), dir, env)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestInvalidValuesNameTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		env  map[string]string
		key  string
		want string
	}{
		{"log level", `log_level = "loud"`, nil, "log_level", "allowed values are debug, info, warn, error"},
		{"log format", `log_format = "xml"`, nil, "log_format", "allowed values are auto, text, json"},
		{"addr", "[http]\naddr = \"8080\"", nil, "http.addr", "must be host:port"},
		{"public url", "[http]\npublic_url = \"ftp://x\"", nil, "http.public_url", "absolute http:// or https:// URL"},
		{"database url", `database_url = "mysql://x"`, nil, "database_url", "postgres://"},
		{"interval", "[sync]\ndefault_interval = \"10s\"", nil, "sync.default_interval", "at least 1m"},
		{"workers", "[sync]\nworkers = 0", nil, "sync.workers", "between 1 and 100"},
		{"chunk records", "[sync]\nchunk_records = 10", nil, "sync.chunk_records", "0 (off) or at least 1000"},
		{"heap floor", "[memory]\nheap_floor_mb = 8", nil, "memory.heap_floor_mb", "0 (the runtime's default pace) or between 16 and 65536"},
		{"env heap floor", "", map[string]string{"COUPLER_MEMORY_HEAP_FLOOR_MB": "lots"}, "COUPLER_MEMORY_HEAP_FLOOR_MB", "not a whole number"},
		{"unknown key", `colour = "blue"`, nil, "colour", "unknown key"},
		{"env duration", "", map[string]string{"COUPLER_HTTP_SHUTDOWN_TIMEOUT": "soon"}, "COUPLER_HTTP_SHUTDOWN_TIMEOUT", "not a duration"},
		{"env int", "", map[string]string{"COUPLER_SYNC_WORKERS": "many"}, "COUPLER_SYNC_WORKERS", "not a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, env := setup(t, tt.env)
			if tt.file != "" {
				writeConfig(t, dir, tt.file)
			}
			cfg, err := config.Load("", dir, env)
			if err == nil {
				err = cfg.Validate()
			}
			var cerr *config.Error
			require.True(t, errors.As(err, &cerr), "want *config.Error, got %v", err)
			require.Equal(t, tt.key, cerr.Key)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDatabaseURLPasswordNotShown(t *testing.T) {
	t.Parallel()
	dir, env := setup(t, map[string]string{"COUPLER_DATABASE_URL": "mysql://u:hunter2@h/db"})
	cfg, err := config.Load("", dir, env)
	require.NoError(t, err)
	err = cfg.Validate()
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}

func TestSyntaxErrorShowsPosition(t *testing.T) {
	t.Parallel()
	dir, env := setup(t, nil)
	writeConfig(t, dir, "log_level = \n")
	_, err := config.Load("", dir, env)
	require.Error(t, err)
	require.Contains(t, err.Error(), "line 1")
}

// TestSyntaxErrorWithoutPosition: for an unterminated string ending in a
// backslash the TOML library reports line 0, and its positioned message
// would panic; the file is refused with the message alone.
func TestSyntaxErrorWithoutPosition(t *testing.T) {
	t.Parallel()
	dir, env := setup(t, nil)
	writeConfig(t, dir, `"\`)
	_, err := config.Load("", dir, env)
	require.Error(t, err)
	require.Contains(t, err.Error(), "configuration file")
	require.Contains(t, err.Error(), "toml:")
}

func TestSettingsListEveryKey(t *testing.T) {
	t.Parallel()
	keys := strings.Join(config.Keys(), " ")
	for _, k := range []string{"database_url", "log_level", "http.addr", "sync.workers"} {
		require.Contains(t, keys, k)
	}
	for _, s := range config.Settings() {
		require.NotEmpty(t, s.Doc, "setting %s needs a doc tag", s.Key)
		require.NotEmpty(t, s.Env, "setting %s needs an env tag", s.Key)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("log_level = \"info\"\n[http]\naddr = \"127.0.0.1:1\"")
	f.Add("[sync]\nworkers = 3\ndefault_interval = \"1h\"")
	f.Add("= = =")
	f.Fuzz(func(t *testing.T, body string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(p, dir, func(string) string { return "" })
		if err == nil {
			_ = cfg.Validate()
		}
	})
}
