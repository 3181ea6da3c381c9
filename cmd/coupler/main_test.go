package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// binary is the coupler command built once for the tests that run it as a
// user would, to see its exit status and output.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coupler-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "coupler")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes the built binary with a private data dir.
func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return o.String(), e.String(), code
}

func TestVersion(t *testing.T) {
	t.Parallel()
	out, _, code := run(t, nil, "version")
	require.Equal(t, 0, code)
	require.Contains(t, out, "coupler ")
}

func TestBadConfigurationExitsNamingTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"flag log level", nil, []string{"version", "--log-level", "loud"}, `log_level = "loud": allowed values are debug, info, warn, error`},
		{"env addr", []string{"COUPLER_HTTP_ADDR=nowhere"}, []string{"version"}, `http.addr = "nowhere": must be host:port`},
		{"database url", nil, []string{"version", "--database-url", "mysql://x/y"}, "database_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := run(t, tt.env, tt.args...)
			require.NotEqual(t, 0, code)
			require.Contains(t, errOut, tt.want)
		})
	}
}

func TestBadConfigFileExitsNamingTheKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	require.NoError(t, os.WriteFile(p, []byte("[sync]\nworkers = 0\n"), 0o600))
	_, errOut, code := run(t, nil, "version", "--config", p)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "sync.workers")
}

func TestHeapFloorIsSetUnlessTurnedOff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want string // "" when the pacer must stay off
	}{
		{"default", nil, "floor_mb=128"},
		{"configured", []string{"COUPLER_MEMORY_HEAP_FLOOR_MB=64"}, "floor_mb=64"},
		{"turned off", []string{"COUPLER_MEMORY_HEAP_FLOOR_MB=0"}, ""},
		{"GOGC chosen by the operator", []string{"GOGC=150"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := append([]string{"COUPLER_LOG_FORMAT=text"}, tt.env...)
			_, stderr, code := run(t, env, "--log-level", "debug", "version")
			require.Equal(t, 0, code, stderr)
			if tt.want == "" {
				require.NotContains(t, stderr, "gc pace")
				return
			}
			require.Contains(t, stderr, "gc pace: heap floor set")
			require.Contains(t, stderr, tt.want)
		})
	}
}
