package reliability

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binOut  []byte
)

// coupler builds the coupler binary once per test process.
func coupler(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "coupler-reliability-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "coupler")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/coupler/coupler/cmd/coupler")
		binOut, binErr = cmd.CombinedOutput()
	})
	require.NoError(t, binErr, "go build: %s", binOut)
	return binPath
}

// run runs the coupler binary and returns its stdout and stderr.
func run(t *testing.T, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(coupler(t), args...)
	cmd.Env = append(os.Environ(), "COUPLER_ENCRYPTION_KEY=", "COUPLER_DATA_DIR=", "COUPLER_DATABASE_URL=")
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}
