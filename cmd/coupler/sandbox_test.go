package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSandboxCommand runs `coupler sandbox` as a user would: the first
// stdout line is the ready object, the ready file holds the same object,
// the simulators answer, and SIGTERM stops it cleanly.
func TestSandboxCommand(t *testing.T) {
	t.Parallel()
	readyFile := filepath.Join(t.TempDir(), "ready.json")
	require.NoError(t, os.WriteFile(readyFile, []byte("stale"), 0o600))
	cmd := exec.Command(binary, "sandbox", "--seed", "none", "--ready-file", readyFile, "--log-level", "info")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var first string
	select {
	case first = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("no ready line within 30 s; stderr:\n%s", stderr.String())
	}
	var ready map[string]any
	require.NoError(t, json.Unmarshal([]byte(first), &ready), first)
	for _, key := range []string{"crm_url", "erp_url", "erp_web_client_url", "token_url", "crm_client_id", "crm_client_secret",
		"integration_user", "integration_password", "erp_client_id", "erp_client_secret", "erp_company_id", "erp_user", "erp_web_service_key"} {
		require.NotEmpty(t, ready[key], key)
	}
	fileData, err := os.ReadFile(readyFile)
	require.NoError(t, err)
	require.Equal(t, first, string(fileData))
	info, err := os.Stat(readyFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	crmURL := ready["crm_url"].(string)
	require.True(t, strings.HasPrefix(crmURL, "http://127.0.0.1:"), crmURL)
	resp, err := http.Get(crmURL + "/_sandbox/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("coupler sandbox did not stop within 20 s of SIGTERM")
	}
	_, err = os.Stat(readyFile)
	require.True(t, errors.Is(err, os.ErrNotExist), "the ready file is removed on exit")
	require.Contains(t, stderr.String(), "loopback only")
}

func TestSandboxCommandRefusesBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sandbox", "--crm-addr", "0.0.0.0:0"}, "--allow-remote"},
		{[]string{"sandbox", "--limits", "crm,off"}, "off cannot be combined"},
		{[]string{"sandbox", "--limits", "everything"}, "use dataverse, bc, both or off"},
		{[]string{"sandbox", "--faults", "5xx=lots"}, "between 0 and 1"},
		{[]string{"sandbox", "--seed", "huge"}, "seed"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			_, errOut, code := run(t, nil, tt.args...)
			require.NotEqual(t, 0, code)
			require.Contains(t, errOut, tt.want)
		})
	}
}

func TestParseLimitsFlag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{"off": nil, "dataverse": {"dataverse"}, "bc": {"bc"},
		"dataverse,bc": {"dataverse", "bc"}, "both": {"dataverse", "bc"}} {
		got, err := parseLimitsFlag(strings.Split(in, ","))
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
}
