// Package availcompat reads coupler's item availability service with a
// genuine third-party OData v4 client (@odata/client from npm), run by node.
package availcompat

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/availability"
	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
)

// skipOrFail skips with one line, unless CI=true where nothing may skip.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: run ./scripts/test, which installs it)", why)
	}
	t.Skip(why + "; run ./scripts/test to install it")
}

func TestODataClientReadsAvailability(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "@odata", "client", "package.json")); err != nil {
		skipOrFail(t, "test/compat/availability/node_modules is missing (npm ci)")
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	r := sb.Ready()
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	require.NoError(t, err)
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	svc, err := availability.New(availability.Options{ERP: func(context.Context) (*bc.Client, error) { return erp, nil }, Store: st, Logger: log})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/odata/v4/", svc.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	key, _, err := availability.CreateKey(ctx, st, r.ERPUser)
	require.NoError(t, err)
	var item bc.Item
	require.NoError(t, bc.ListAs(ctx, erp, bc.SetItems, bc.Query{Filter: "number eq '1996-S'"}, func(is []bc.Item) error { item = is[0]; return nil }))

	cctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, node, "compat.js")
	cmd.Env = append(os.Environ(), "AV_URL="+srv.URL+"/odata/v4/", "AV_USER="+r.ERPUser, "AV_KEY="+key,
		"AV_ITEM="+item.Number, "AV_INVENTORY="+fmt.Sprint(item.Inventory))
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err, "node compat.js")
}
