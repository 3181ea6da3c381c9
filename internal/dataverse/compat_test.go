package dataverse

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCompatDynamicsWebApi drives the simulator with the genuine npm client
// dynamics-web-api 2.5.0 (test/compat/dataverse/compat.js): if a real
// third-party Dataverse library works against it unchanged, the simulator
// speaks Dataverse and not just our own client's dialect.
func TestCompatDynamicsWebApi(t *testing.T) {
	t.Parallel()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "test", "compat", "dataverse")
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed (./scripts/test installs it)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "dynamics-web-api")); err != nil {
		skipOrFail(t, "test/compat/dataverse/node_modules is missing: run npm ci there (./scripts/test does)")
	}
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "compat.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"DATAVERSE_URL="+f.url,
		"DATAVERSE_TOKEN_URL="+f.tokenURL,
		"DATAVERSE_CLIENT_ID="+f.creds.ClientID,
		"DATAVERSE_CLIENT_SECRET="+f.creds.ClientSecret,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("dynamics-web-api against the simulator:\n%s", out)
	require.NoError(t, err, "compat.js failed (output above)")
}

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}
