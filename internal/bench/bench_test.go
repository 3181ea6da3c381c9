package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRunTiny runs the scenarios that need no child process on 500 records,
// so that the command cannot rot; the figures themselves are not asserted.
func TestRunTiny(t *testing.T) {
	t.Parallel()
	for _, sc := range []string{"full", "incremental", "orders"} {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var out, table bytes.Buffer
			n := 500
			if sc == "orders" {
				n = 20 // orders, not records: each costs several paced requests
			}
			rs, err := Run(ctx, Options{Scenario: sc, Records: n, Changes: 50, JSON: true, Out: &out, Table: &table})
			require.NoError(t, err)
			require.Len(t, rs, 1)
			var got map[string]any
			require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
			require.Equal(t, sc, got["scenario"])
			require.Zero(t, rs[0].Failed)
			require.True(t, strings.HasPrefix(table.String(), sc+"\n"), table.String())
			if sc == "full" {
				for _, k := range []string{"records_per_sec", "floor_records_per_sec", "ratio", "requests", "peak_rss_mb"} {
					require.Contains(t, got, k)
				}
				require.GreaterOrEqual(t, rs[0].Records, 500)
			}
			if sc == "orders" {
				require.Equal(t, 20, rs[0].Records, "every order created")
			}
		})
	}
}

func TestRunRefusesUnknownScenario(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Options{Scenario: "fast", Out: &bytes.Buffer{}})
	require.ErrorContains(t, err, `scenario "fast" is unknown`)
}

func TestRunRefusesHeapProfileOfSeveralScenarios(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Options{Scenario: "all", HeapProfile: filepath.Join(t.TempDir(), "h"), Out: &bytes.Buffer{}})
	require.ErrorContains(t, err, "--heapprofile profiles one scenario")
}
