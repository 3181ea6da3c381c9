package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/setup"
)

// startSandbox runs both simulators in the test process on loopback and
// writes their ready object where `coupler setup --from-sandbox` reads it.
func startSandbox(t *testing.T) (*sandbox.Sandbox, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { sb.Close() })
	b, err := json.Marshal(sb.Ready())
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "ready.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return sb, path
}

// integrationRoles asks the CRM simulator, as the integration user and
// without coupler's setup code, which roles the user holds.
func integrationRoles(t *testing.T, r sandbox.Ready) []string {
	t.Helper()
	ctx := context.Background()
	cs := dataverse.ConnectionString{AuthType: dataverse.AuthOAuth, URL: r.CRMURL, UserName: r.IntegrationUser,
		Password: r.IntegrationPassword, ClientID: dataverse.DefaultPublicClientID, RedirectURI: "app://x", LoginPrompt: dataverse.LoginPromptNever}
	cl, err := dataverse.New(ctx, dataverse.Config{Conn: &cs, TokenURL: r.TokenURL})
	require.NoError(t, err)
	who, err := cl.WhoAmI(ctx)
	require.NoError(t, err)
	resp, err := cl.Do(ctx, dataverse.Request{Method: http.MethodGet, Path: "systemusers(" + who.UserID + ")/systemuserroles_association"})
	require.NoError(t, err)
	var page struct {
		Value []struct {
			RoleID string `json:"roleid"`
		} `json:"value"`
	}
	require.NoError(t, json.Unmarshal(resp.Body, &page))
	var ids []string
	for _, v := range page.Value {
		ids = append(ids, strings.ToLower(v.RoleID))
	}
	return ids
}

// grepDataDir fails when any file of the data dir but the key file holds
// one of the secrets.
func grepDataDir(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() == "encryption.key" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			require.False(t, bytes.Contains(data, []byte(s)), "%s holds a secret in clear", p)
		}
		return nil
	}))
}

func TestSetupNonInteractiveAgainstSandbox(t *testing.T) {
	t.Parallel()
	sb, ready := startSandbox(t)
	r := sb.Ready()
	dir := t.TempDir()
	stdout, stderr, code := run(t, nil, "--data-dir", dir, "--log-level", "warn", "setup", "--from-sandbox", ready)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Contains(t, stdout, "Imported the integration solution MicrosoftDynamicsNavIntegration.")
	require.Contains(t, stdout, "Assigned the Integration Administrator role")
	require.Contains(t, stdout, "Assigned the Integration User role")
	require.Contains(t, stdout, "The connection is enabled.")
	require.Contains(t, stdout, "Created the default synchronisation setup")
	require.ElementsMatch(t, []string{setup.RoleIntegrationAdministrator, setup.RoleIntegrationUser}, integrationRoles(t, r))

	show, stderr, code := run(t, nil, "--data-dir", dir, "--log-level", "warn", "connection", "show")
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `Enabled:\s+yes`, show)
	require.Regexp(t, `Password:\s+set`, show)
	for _, s := range []string{r.IntegrationPassword, r.ERPClientSecret, r.CRMAdminPassword} {
		require.NotContains(t, show+stdout+stderr, s)
	}
	grepDataDir(t, dir, r.IntegrationPassword, r.ERPClientSecret)

	// Disconnect keeps every setting; enable runs the test again.
	out, _, code := run(t, nil, "--data-dir", dir, "--log-level", "warn", "connection", "disable")
	require.Equal(t, 0, code)
	require.Contains(t, out, "synchronisation jobs are on hold")
	show2, _, _ := run(t, nil, "--data-dir", dir, "--log-level", "warn", "connection", "show")
	require.Regexp(t, `Enabled:\s+no`, show2)
	require.Contains(t, show2, r.CRMURL)
	out, _, code = run(t, nil, "--data-dir", dir, "--log-level", "warn", "connection", "enable")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "[ok]   Integration user holds Integration User")

	// Rotation keeps the connection working.
	out, _, code = run(t, nil, "--data-dir", dir, "--log-level", "warn", "encryption", "rotate")
	require.Equal(t, 0, code, out)
	out, _, code = run(t, nil, "--data-dir", dir, "--log-level", "warn", "connection", "test")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "All checks passed.")
}

// TestSetupDeclinedEncryption: declining stores secrets in clear with a
// warning on every status; `encryption enable` then encrypts them.
func TestSetupDeclinedEncryption(t *testing.T) {
	t.Parallel()
	sb, ready := startSandbox(t)
	r := sb.Ready()
	dir := t.TempDir()
	stdout, stderr, code := run(t, nil, "--data-dir", dir, "--log-level", "error", "setup", "--from-sandbox", ready,
		"--encrypt", "no", "--enable=no", "--import-solution=no")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Contains(t, stdout, "WARNING: encryption declined")
	require.Contains(t, stdout, "The connection is saved but not enabled")

	status, _, code := run(t, nil, "--data-dir", dir, "--log-level", "error", "encryption", "status")
	require.Equal(t, 0, code)
	require.Contains(t, status, "WARNING: 2 secret(s) are stored in clear text: run `coupler encryption enable` to encrypt them")
	show, _, _ := run(t, nil, "--data-dir", dir, "--log-level", "error", "connection", "show")
	require.Contains(t, show, "WARNING: 2 secret(s) are stored in clear text")
	require.NotContains(t, show, r.IntegrationPassword)

	out, _, code := run(t, nil, "--data-dir", dir, "--log-level", "error", "encryption", "enable")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "2 secret(s) encrypted now")
	info, err := os.Stat(filepath.Join(dir, "encryption.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	status, _, _ = run(t, nil, "--data-dir", dir, "--log-level", "error", "encryption", "status")
	require.NotContains(t, status, "WARNING")
	grepDataDir(t, dir, r.IntegrationPassword, r.ERPClientSecret)

	// Not enabled: the test still runs and says what is missing.
	out, _, code = run(t, nil, "--data-dir", dir, "--log-level", "error", "connection", "test")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "[FAIL] Integration solution installed")
}

// TestSetupFromReadyInProcess is the entry point `coupler demo` uses.
func TestSetupFromReadyInProcess(t *testing.T) {
	t.Parallel()
	sb, ready := startSandbox(t)
	g := &globals{cfg: config.Default(), log: slog.New(slog.DiscardHandler)}
	g.cfg.DataDir = t.TempDir()
	var out bytes.Buffer
	require.NoError(t, setupFromReady(context.Background(), g, ready, &out), out.String())
	require.Contains(t, out.String(), "The connection is enabled.")
	require.ElementsMatch(t, []string{setup.RoleIntegrationAdministrator, setup.RoleIntegrationUser}, integrationRoles(t, sb.Ready()))
}

func TestFileAnswers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tomlPath := filepath.Join(dir, "setup.toml")
	require.NoError(t, os.WriteFile(tomlPath, []byte("enable = false\n[crm]\nurl = \"contoso.crm.dynamics.com\"\napi_version = \"9.1\"\n[\"sales-orders\"]\nenabled = true\n"), 0o600))
	a, err := fileAnswers(tomlPath)
	require.NoError(t, err)
	require.Equal(t, setup.Answers{"enable": "no", "crm.url": "contoso.crm.dynamics.com", "crm.api-version": "9.1", "sales-orders.enabled": "yes"}, a)

	jsonPath := filepath.Join(dir, "setup.json")
	require.NoError(t, os.WriteFile(jsonPath, []byte(`{"crm.url":"x","erp":{"company-id":"y"}}`), 0o600))
	a, err = fileAnswers(jsonPath)
	require.NoError(t, err)
	require.Equal(t, setup.Answers{"crm.url": "x", "erp.company-id": "y"}, a)

	require.NoError(t, os.WriteFile(jsonPath, []byte(`{"crm.url":`), 0o600))
	_, err = fileAnswers(jsonPath)
	require.ErrorContains(t, err, "--from-file "+jsonPath+": unexpected end of JSON input")
}

// TestSetupSecretsFromEnvironment: secrets can stay out of the command line.
func TestSetupSecretsFromEnvironment(t *testing.T) {
	t.Parallel()
	sb, _ := startSandbox(t)
	r := sb.Ready()
	dir := t.TempDir()
	answers := map[string]string{"allow-insecure": "yes", "crm.url": r.CRMURL, "crm.user": r.IntegrationUser, "crm.token-url": r.TokenURL,
		"erp.url": r.ERPURL, "erp.company-id": r.ERPCompanyID, "erp.client-id": r.ERPClientID, "erp.token-url": r.TokenURL}
	b, err := json.Marshal(answers)
	require.NoError(t, err)
	file := filepath.Join(dir, "answers.json")
	require.NoError(t, os.WriteFile(file, b, 0o600))
	env := []string{"COUPLER_CRM_PASSWORD=" + r.IntegrationPassword, "COUPLER_ERP_CLIENT_SECRET=" + r.ERPClientSecret}
	out, errOut, code := run(t, env, "--data-dir", dir, "--log-level", "error", "setup", "--from-file", file, "--import-solution=no", "--enable=no")
	require.Equal(t, 0, code, out+errOut)
	show, _, _ := run(t, nil, "--data-dir", dir, "--log-level", "error", "connection", "show")
	require.Regexp(t, `Password:\s+set`, show)
	require.Regexp(t, `Client secret:\s+set`, show)

	_, errOut, code = run(t, nil, "--data-dir", t.TempDir(), "--log-level", "error", "setup", "--from-file", file)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "crm.password: is required; give the integration user's password")
	require.Contains(t, errOut, "erp.client-secret: is required; give the application's client secret")
	require.Contains(t, errOut, "nothing was saved")
}
