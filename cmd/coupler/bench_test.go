package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBenchCommandTiny runs `coupler bench` on 500 records so that the
// command cannot rot; the figures are not asserted, only their presence,
// and the heap profile (of the child process for memory) is written.
func TestBenchCommandTiny(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, scenario string
		flags          []string
		keys           []string
	}{
		{"full", "full", nil, []string{"records_per_sec", "floor_records_per_sec", "ratio", "requests", "peak_rss_mb"}},
		// The sandbox as a child process; coupler and the floor here.
		{"full-sandbox-process", "full", []string{"--sandbox-process"},
			[]string{"records_per_sec", "floor_records_per_sec", "ratio", "requests", "peak_rss_mb", "sandbox_peak_rss_mb", "sandbox_process", "cpu_seconds", "floor_cpu_seconds"}},
		// The sandbox and the synchronising coupler run as child processes.
		{"memory", "memory", nil, []string{"records_per_sec", "peak_rss_mb", "sandbox_peak_rss_mb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			heap := filepath.Join(t.TempDir(), "heap.pprof")
			args := append([]string{"bench", "--scenario", tc.scenario, "--records", "500", "--json", "--heapprofile", heap}, tc.flags...)
			out, errOut, code := run(t, nil, args...)
			require.Equal(t, 0, code, errOut)
			prof, err := os.ReadFile(heap)
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(prof, []byte{0x1f, 0x8b}), "--heapprofile writes a gzipped pprof profile, got %d bytes", len(prof))
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			require.Equal(t, tc.scenario, got["scenario"])
			for _, k := range tc.keys {
				require.Contains(t, got, k, out)
			}
			require.Zero(t, got["failed"], out)
			require.Contains(t, errOut, tc.scenario+"\n", "the readable table goes to stderr with --json")
		})
	}
}

func TestBenchCommandRefusesUnknownScenario(t *testing.T) {
	t.Parallel()
	_, errOut, code := run(t, nil, "bench", "--scenario", "fast")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, `scenario "fast" is unknown`)
}
