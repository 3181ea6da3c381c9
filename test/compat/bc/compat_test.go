// Package bccompat checks coupler's Business Central simulator against a
// genuine third-party OData v4 client (@odata/client from npm), run by node.
package bccompat

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/bc"
	simbc "github.com/coupler/coupler/internal/sandbox/bc"
	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/stretchr/testify/require"
)

// skipOrFail skips with one line, unless CI=true where nothing may skip.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: run ./scripts/test, which installs it)", why)
	}
	t.Skip(why + "; run ./scripts/test to install it")
}

func TestODataClientCompat(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "@odata", "client", "package.json")); err != nil {
		skipOrFail(t, "test/compat/bc/node_modules is missing (npm ci)")
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	issuer := identity.New(identity.Options{Logger: log})
	sim, err := simbc.New(simbc.Options{Identity: issuer, Seed: "demo", Logger: log})
	require.NoError(t, err)
	idSrv := httptest.NewServer(issuer.Handler())
	t.Cleanup(idSrv.Close)
	bcSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(bcSrv.Close)
	creds := sim.Credentials()

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "compat.js")
	cmd.Env = append(os.Environ(),
		"BC_API_URL="+bcSrv.URL+"/v2.0/"+creds.Tenant+"/"+creds.Environment+"/api/v2.0",
		"BC_COMPANY_ID="+creds.CompanyID,
		"BC_TOKEN_URL="+idSrv.URL+"/"+creds.Tenant+"/oauth2/v2.0/token",
		"BC_CLIENT_ID="+creds.ClientID,
		"BC_CLIENT_SECRET="+creds.ClientSecret,
		"BC_SCOPE="+bc.DefaultScope,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node compat.js:\n%s", out)
	require.NoError(t, err, "the @odata/client compatibility script failed")
	// Every check printed its line; a script that stopped early fails here.
	for _, want := range []string{"list with $filter", "paging with $top/$skip", "server-driven paging", "create (201",
		"update with If-Match", "JSON $batch with partial failure", "atomic JSON $batch"} {
		require.True(t, strings.Contains(string(out), "ok "+want), "missing check %q", want)
	}
}
