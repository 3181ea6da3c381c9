package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/postgres"
	"github.com/coupler/coupler/internal/syncer"
)

// TestReliabilitySandboxLoopbackByDefault starts `coupler sandbox` with no
// address flags: both simulators listen on 127.0.0.1 and the log says
// "loopback only"; a non-loopback address is refused with the reason.
func TestReliabilitySandboxLoopbackByDefault(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, coupler(t), "sandbox")
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	var r sandbox.Ready
	require.NoError(t, json.Unmarshal([]byte(line), &r))
	for _, u := range []string{r.CRMURL, r.ERPURL, r.TokenURL} {
		pu, err := url.Parse(u)
		require.NoError(t, err)
		ip := net.ParseIP(pu.Hostname())
		require.True(t, ip != nil && ip.IsLoopback(), "%s is not on loopback", u)
	}
	require.Contains(t, stderr.String(), "loopback only", "the sandbox says it binds to loopback")

	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		_, e, err := run(t, "sandbox", "--crm-addr", addr)
		require.Error(t, err, addr)
		require.Contains(t, string(e), "not on loopback", addr)
		require.Contains(t, string(e), "--allow-remote", addr)
		count(&tally.badInputs, 1)
	}
}

// injections are strings that break SQL built by concatenation.
var injections = []string{
	`'; DROP TABLE couplings; --`,
	`" OR "1"="1`,
	`x' OR '1'='1`,
	`%' OR 1=1 --`,
	`\'; DELETE FROM secrets; --`,
	"nul\x00byte",
	`Robert'); DROP TABLE settings;--`,
	`$1`, `?`, `:name`, `@p1`,
	"ünïcødé ' \" ` ; -- /* */",
	strings.Repeat("'", 300),
}

// TestReliabilitySQLParameterised stores every injection string as keys,
// values and filters of settings, secrets and couplings, on SQLite and (when
// COUPLER_TEST_DATABASE_URL is set) PostgreSQL: each is stored and found
// verbatim, filters match nothing else, and every table is still there.
func TestReliabilitySQLParameterised(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	dbs := map[string]store.Options{"sqlite": {DataDir: t.TempDir(), Logger: log}}
	if u := os.Getenv("COUPLER_TEST_DATABASE_URL"); u != "" {
		dbs["postgres"] = store.Options{DatabaseURL: u, Logger: log}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("CI=true and COUPLER_TEST_DATABASE_URL is unset")
	} else {
		t.Log("COUPLER_TEST_DATABASE_URL unset: PostgreSQL part skipped")
	}
	for name, opts := range dbs {
		t.Run(name, func(t *testing.T) {
			st, err := store.Open(ctx, opts)
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			run := fmt.Sprintf("rel-%d-", time.Now().UnixNano())
			mappingName := run + "INJ"
			t.Cleanup(func() { // the PostgreSQL test database is shared (settings have no delete: they stay, prefixed)
				for _, s := range injections {
					_ = st.DeleteSecret(ctx, run+s, s)
					_ = st.DeleteCoupling(ctx, mappingName, s)
				}
			})
			for i, s := range injections {
				if name == "postgres" && strings.ContainsRune(s, 0) {
					continue // PostgreSQL text cannot hold NUL: refused by the driver, tested below
				}
				count(&tally.badInputs, 1)
				key := run + s
				require.NoError(t, st.PutSetting(ctx, key, s), "setting %q", s)
				got, err := st.GetSetting(ctx, key)
				require.NoError(t, err)
				require.Equal(t, s, got)

				require.NoError(t, st.PutSecret(ctx, store.Secret{Owner: run + s, Name: s, Value: []byte(s)}))
				sec, err := st.GetSecret(ctx, run+s, s)
				require.NoError(t, err)
				require.Equal(t, []byte(s), sec.Value)

				_, err = st.PutCoupling(ctx, syncer.Coupling{Mapping: mappingName, ERPID: s, CRMID: fmt.Sprintf("crm-%d-%s", i, s), LastResult: "Success"})
				require.NoError(t, err)
				c, err := st.GetCouplingByERP(ctx, mappingName, s)
				require.NoError(t, err)
				require.Equal(t, s, c.ERPID)
				// As a filter value: matches nothing (no such mapping), breaks nothing.
				cs, err := st.ListCouplings(ctx, store.CouplingFilter{Mapping: s})
				require.NoError(t, err)
				require.Empty(t, cs, "filter %q", s)
				_, err = st.ListJobs(ctx, store.JobFilter{Mapping: s})
				require.NoError(t, err)
				_, err = st.ListErrors(ctx, store.ErrorFilter{Mapping: s})
				require.NoError(t, err)
				_, err = st.GetUserByEmail(ctx, s)
				require.ErrorIs(t, err, store.ErrNotFound)
			}
			cs, err := st.ListCouplings(ctx, store.CouplingFilter{Mapping: mappingName})
			require.NoError(t, err)
			want := 0
			for _, s := range injections {
				if !(name == "postgres" && strings.ContainsRune(s, 0)) {
					want++
				}
			}
			require.Len(t, cs, want, "every injection string is one coupling")
			_, err = st.ListMappings(ctx)
			require.NoError(t, err, "tables still there")
			_, err = st.ListSecrets(ctx)
			require.NoError(t, err)
			if name == "postgres" {
				err := st.PutSetting(ctx, run+"nul", "a\x00b")
				require.Error(t, err, "PostgreSQL refuses NUL in text")
			}
		})
	}
}
