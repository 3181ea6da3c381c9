package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/setup"
)

// console drives a program on a pseudo-terminal: wait for a prompt, type.
type console struct {
	t    *testing.T
	tty  *os.File
	mu   sync.Mutex
	buf  bytes.Buffer
	seen int // bytes of buf already matched
	done chan struct{}
}

func newConsole(t *testing.T, cmd *exec.Cmd) *console {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	require.NoError(t, err)
	c := &console{t: t, tty: f, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			c.mu.Lock()
			c.buf.Write(b[:n])
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { f.Close() })
	return c
}

// expect waits until s appears after the previous match.
func (c *console) expect(s string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		rest := c.buf.String()[c.seen:]
		if i := strings.Index(rest, s); i >= 0 {
			c.seen += i + len(s)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t.Fatalf("waited 20s for %q; the terminal shows after the last match:\n%s", s, c.buf.String()[c.seen:])
}

func (c *console) send(line string) {
	c.t.Helper()
	_, err := c.tty.Write([]byte(line + "\r"))
	require.NoError(c.t, err)
}

func (c *console) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// TestSetupInteractiveOnTerminal answers the guide's questions as a user
// would, typos included, and ends with the same enabled connection.
func TestSetupInteractiveOnTerminal(t *testing.T) {
	t.Parallel()
	sb, _ := startSandbox(t)
	r := sb.Ready()
	dir := t.TempDir()
	cmd := exec.Command(binary, "--data-dir", dir, "--log-level", "error", "setup")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir())
	c := newConsole(t, cmd)

	c.expect("Step 1 of 3: CRM")
	c.expect("Dynamics 365 Sales URL: ")
	c.send("ftp://" + strings.TrimPrefix(r.CRMURL, "http://"))
	c.expect(`scheme "ftp" is not supported`)
	c.expect("Dynamics 365 Sales URL: ")
	c.send("  " + r.CRMURL + "/main.aspx?appid=42  ")
	c.expect("plain http would send credentials unencrypted")
	c.expect("Allow plain http? Only for a local sandbox: credentials would travel unencrypted [y/N]: ")
	c.send("y")
	c.expect("→ corrected to " + r.CRMURL)
	c.expect("Authentication type [OAuth]: ")
	c.send("Kerberos")
	c.expect("is not an authentication type; use one of OAuth, ClientSecret, Certificate, Office365, AD, IFD")
	c.expect("Authentication type [OAuth]: ")
	c.send("")
	c.expect("Integration user name: ")
	c.send(`CRONUS\integration`)
	c.expect("is not a valid user name for authentication type OAuth")
	c.expect("Integration user name: ")
	c.send(r.IntegrationUser)
	c.expect("Integration user password: ")
	c.send(r.IntegrationPassword)
	c.expect("Application (client) id [" + "51f81489-12ee-4a9e-aaae-a2591f45987d" + "]: ")
	c.send("")
	c.expect("OAuth token endpoint (empty: discovered from the CRM): ")
	c.send(r.TokenURL)
	c.expect("Connection string template (empty: built from the answers): ")
	c.send("")
	c.expect("Dataverse Web API version [9.2]: ")
	c.send("8.0")
	c.expect("is not a supported version; use one of 9.0, 9.1, 9.2")
	c.expect("Dataverse Web API version [9.2]: ")
	c.send("")

	c.expect("Step 2 of 3: ERP")
	c.expect("Business Central API URL: ")
	c.send(r.ERPURL)
	c.expect("Company id: ")
	c.send("CRONUS")
	c.expect("is not a GUID")
	c.expect("Company id: ")
	c.send(r.ERPCompanyID)
	c.expect("ERP authentication (oauth or basic) [oauth]: ")
	c.send("")
	c.expect("ERP application (client) id: ")
	c.send(r.ERPClientID)
	c.expect("ERP client secret: ")
	c.send(r.ERPClientSecret)
	c.expect("ERP OAuth token endpoint [" + r.TokenURL + "]: ")
	c.send("")
	c.expect("ERP OAuth scope [https://api.businesscentral.dynamics.com/.default]: ")
	c.send("")
	c.expect("Business Central web client URL [" + r.ERPWebClientURL + "]: ")
	c.send("")

	c.expect("Step 3 of 3: Advanced")
	c.expect("Dynamics 365 SDK (proxy) version [100]: ")
	c.send("")
	c.expect("Import the integration solution into the CRM? [Y/n]: ")
	c.send("")
	c.expect("Publish the item availability web service? [y/N]: ")
	c.send("")
	c.expect("Refresh product stock in the CRM on a schedule? [Y/n]: ")
	c.send("")
	c.expect("Enable sales order integration? [y/N]: ")
	c.send("maybe")
	c.expect("Please answer yes or no.")
	c.expect("Enable sales order integration? [y/N]: ")
	c.send("n")
	c.expect("Bidirectional sales order synchronisation? [y/N]: ")
	c.send("")
	c.expect("ERP users must map to CRM users? [y/N]: ")
	c.send("")
	c.expect("Enable the connection? [Y/n]: ")
	c.send("")
	c.expect("Enable encryption now? [Y/n]: ")
	c.send("")
	c.expect("empty: the integration user): ")
	c.send(r.CRMAdminUser)
	c.expect("Password of " + r.CRMAdminUser + ": ")
	c.send(r.CRMAdminPassword)
	c.expect("Imported the integration solution")
	c.expect("Assigned the Integration User role")
	c.expect("The connection is enabled.")
	c.expect("Use the default synchronisation setup (table and field mappings with their schedules)? [Y/n]: ")
	c.send("")
	c.expect("Created the default synchronisation setup")

	werr := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		t.Fatalf("setup exited with %d:\n%s", ee.ExitCode(), c.output())
	}
	require.NoError(t, werr)
	<-c.done
	out := c.output()
	for _, s := range []string{r.IntegrationPassword, r.ERPClientSecret, r.CRMAdminPassword} {
		require.NotContains(t, out, s, "a secret was echoed")
	}
	require.ElementsMatch(t, []string{setup.RoleIntegrationAdministrator, setup.RoleIntegrationUser}, integrationRoles(t, r))
	grepDataDir(t, dir, r.IntegrationPassword, r.ERPClientSecret)
}
