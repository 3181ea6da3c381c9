package config_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/config"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the code")

// TestReferenceIsCurrent keeps docs/configuration.md generated from the code.
func TestReferenceIsCurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "docs", "configuration.md")
	want := config.Reference()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, want, string(got), "docs/configuration.md is stale: run go test ./internal/config -update")
}
