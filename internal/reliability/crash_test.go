package reliability

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

func child(mode, dir string, ready []byte) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envDir+"="+dir, envReady+"="+string(ready))
	return cmd
}

// killAfter starts cmd, lets it run for d and SIGKILLs it.
func killAfter(t *testing.T, cmd *exec.Cmd, d time.Duration) {
	t.Helper()
	require.NoError(t, cmd.Start())
	time.Sleep(d)
	_ = cmd.Process.Kill() // SIGKILL
	_ = cmd.Wait()
	count(&tally.crashes, 1)
}

// TestReliabilityKillDuringIncrementalSync edits ERP customers, then runs an
// incremental synchronisation in a child process and SIGKILLs it at a
// seeded random moment, round after round; after a last complete run every
// customer's CRM account carries the ERP's last value (nothing lost), every
// record is coupled once (nothing duplicated) and no intent is pending.
func TestReliabilityKillDuringIncrementalSync(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills child processes")
	}
	scale, rounds := 60, 8
	if long() {
		scale, rounds = 1000, 40
	}
	ctx := context.Background()
	sb := startSandbox(t, sandbox.Options{Seed: "demo", Scale: scale})
	r := sb.Ready()
	ready, err := json.Marshal(r)
	require.NoError(t, err)
	dir := t.TempDir()
	eng, cl, closeDB, err := newEngine(ctx, r, dir, defaultTuning)
	require.NoError(t, err)
	jobs, err := eng.Run(ctx, syncMappings, syncer.RunOptions{Full: true, Trigger: "full"})
	require.NoError(t, err)
	requireSucceeded(t, jobs)
	closeDB()

	type cust struct{ ID, Number string }
	var customers []cust
	require.NoError(t, bc.ListAs(ctx, cl.erp, "customers", bc.Query{Select: []string{"id", "number"}}, func(page []cust) error {
		customers = append(customers, page...)
		return nil
	}))
	require.NotEmpty(t, customers)
	want := map[string]string{} // ERP id → last phone number written

	// How long an uninterrupted incremental run with edits takes.
	rng := rand.New(rand.NewPCG(13, 42))
	edit := func(round int) {
		for k := range 10 {
			c := customers[rng.IntN(len(customers))]
			phone := fmt.Sprintf("+44 20 79%02d %04d", round%100, k*100+rng.IntN(100))
			_, err := cl.erp.Update(ctx, "customers", c.ID, "*", map[string]any{"phoneNumber": phone})
			require.NoError(t, err, "edit ERP customer %s", c.Number)
			want[c.ID] = phone
		}
	}
	edit(0)
	start := time.Now()
	out, err := child("incremental", dir, ready).CombinedOutput()
	require.NoError(t, err, "uninterrupted run: %s", out)
	full := time.Since(start)
	t.Logf("an uninterrupted incremental run takes %s", full)

	for i := 1; i <= rounds; i++ {
		edit(i)
		killAfter(t, child("incremental", dir, ready), time.Duration(rng.Int64N(int64(full))))
	}
	out, err = child("incremental", dir, ready).CombinedOutput()
	require.NoError(t, err, "the run after the last kill: %s", out)

	crm, _ := sides(t, r)
	db, err := store.Open(ctx, store.Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	for erpID, phone := range want {
		cp, err := db.GetCouplingByERP(ctx, "CUSTOMER", erpID)
		require.NoError(t, err)
		recs, err := crm.Get(ctx, "accounts", "accountid", []string{cp.CRMID})
		require.NoError(t, err)
		require.Len(t, recs, 1, "CRM account of ERP customer %s", erpID)
		if got := recs[0].Fields["telephone1"]; got != phone {
			count(&tally.lost, 1)
			t.Errorf("ERP customer %s: CRM telephone1 = %v, want the last edit %q (lost update)", erpID, got, phone)
		}
	}
	db.Close()
	t.Logf("%d kills, %d edited customers carried over, %d records checked", rounds, len(want), requireConsistent(t, r, dir))
}

// TestReliabilityKillDuringKeyRotation SIGKILLs a process rotating the
// encryption key, at seeded random moments; afterwards every secret still
// decrypts to its value and a rotation completes.
func TestReliabilityKillDuringKeyRotation(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills child processes")
	}
	nSecrets, kills := 150, 12
	if long() {
		nSecrets, kills = 2000, 60
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	open := func() (store.Store, *secret.Box) {
		st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
		require.NoError(t, err)
		box, err := secret.New(secret.Options{Store: st, DataDir: dir, Logger: log, Getenv: noEnv})
		require.NoError(t, err)
		return st, box
	}
	value := func(i int) string { return fmt.Sprintf("pa$$word-%d-%x", i, i*7919) }
	st, box := open()
	_, err := box.Enable(ctx)
	require.NoError(t, err)
	for i := range nSecrets {
		require.NoError(t, box.Put(ctx, fmt.Sprintf("connection/c%03d", i), "password", value(i)))
	}
	require.NoError(t, st.Close())

	// How long one rotation takes.
	cmd := child("rotate", dir, nil)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, cmd.Start())
	_, err = bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	one := time.Since(start)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	t.Logf("one rotation of %d secrets takes about %s (process start included)", nSecrets, one)

	rng := rand.New(rand.NewPCG(5, 99))
	for range kills {
		killAfter(t, child("rotate", dir, nil), time.Duration(rng.Int64N(int64(one*2))))
	}
	st, box = open()
	defer st.Close()
	for i := range nSecrets {
		v, err := box.Get(ctx, fmt.Sprintf("connection/c%03d", i), "password")
		require.NoError(t, err, "secret %d after %d kills during rotation", i, kills)
		require.Equal(t, value(i), v)
	}
	_, err = box.Rotate(ctx)
	require.NoError(t, err, "a rotation after the kills completes")
	stt, err := box.Status(ctx)
	require.NoError(t, err)
	t.Logf("after %d kills: status %+v", kills, stt)
	count(&tally.records, int64(nSecrets))
}

// TestReliabilityWALSurvivesKill SIGKILLs a process committing one coupling
// per transaction; every commit it reported is in the database after restart
// and the file passes SQLite's integrity check.
func TestReliabilityWALSurvivesKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills child processes")
	}
	kills := 5
	if long() {
		kills = 30
	}
	ctx := context.Background()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 3))
	for k := range kills {
		// Each child starts numbering at 0; upserts keep one row per number.
		cmd := child("wal", dir, nil)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(stdout)
		last, target := -1, 20+rng.IntN(200)
		for sc.Scan() {
			n, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
			require.NoError(t, err)
			last = n
			if n >= target {
				break
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		count(&tally.crashes, 1)

		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "coupler.db"))
		require.NoError(t, err)
		var res string
		require.NoError(t, db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res))
		require.Equal(t, "ok", res, "kill %d", k)
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM couplings WHERE mapping = 'CUSTOMER'").Scan(&n))
		require.NoError(t, db.Close())
		require.GreaterOrEqual(t, n, last+1, "kill %d: %d commits reported, %d rows found", k, last+1, n)
		count(&tally.records, int64(last+1))
	}
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err, "the store opens after the kills")
	require.NoError(t, st.Close())
}
