package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMappingsListShowEditReset(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"XDG_DATA_HOME=" + dir}
	out, errOut, code := run(t, env, "mappings", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "SALESPEOPLE")
	require.Less(t, strings.Index(out, "SALESPEOPLE"), strings.Index(out, "CUSTOMER"), "dependency order")

	out, errOut, code = run(t, env, "mappings", "show", "customer")
	require.Equal(t, 0, code, errOut)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	require.Equal(t, "CUSTOMER", m["name"])

	_, errOut, code = run(t, env, "mappings", "edit", "CUSTOMER", "--set", "conflict=ERPWins", "--set", "interval=15m")
	require.Equal(t, 0, code, errOut)
	out, _, _ = run(t, env, "mappings", "show", "CUSTOMER")
	require.Contains(t, out, `"conflict": "ERPWins"`)
	require.Contains(t, out, `"interval": "15m0s"`)

	bad := strings.Replace(out, `"crm_field": "telephone1"`, `"crm_field": "telefone1"`, 1)
	f := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(f, []byte(bad), 0o600))
	_, errOut, code = run(t, env, "mappings", "edit", "CUSTOMER", "--from-file", f)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, `CRM column "telefone1" does not exist on account`)

	_, errOut, code = run(t, env, "mappings", "edit", "CUSTOMER", "--set", "colour=blue")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "unknown key")

	_, errOut, code = run(t, env, "mappings", "reset", "--yes")
	require.Equal(t, 0, code, errOut)
	out, _, _ = run(t, env, "mappings", "show", "CUSTOMER")
	require.Contains(t, out, `"conflict": "Fail"`)
}

func TestSyncStatusAndRunWithoutConnection(t *testing.T) {
	t.Parallel()
	env := []string{"XDG_DATA_HOME=" + t.TempDir()}
	out, errOut, code := run(t, env, "sync", "status", "--json")
	require.Equal(t, 0, code, errOut)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.NotEmpty(t, rows)
	require.Equal(t, "never-run", rows[0]["health"])

	_, errOut, code = run(t, env, "sync", "run")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "coupler setup")

	out, errOut, code = run(t, env, "sync", "errors")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "No open errors.")
	out, errOut, code = run(t, env, "sync", "restore-skipped", "--mapping", "CUSTOMER")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "0 skipped record(s) restored")
}
