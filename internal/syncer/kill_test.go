package syncer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// The mappings the SIGKILL test synchronises (with what they depend on).
var killMappings = []string{mapping.Salespeople, mapping.Currency, mapping.UnitOfMeasure, mapping.PaymentTerms,
	mapping.ShipmentMethod, mapping.Customer, mapping.Vendor, mapping.Contact, mapping.ItemProduct}

// TestMain lets the test binary act as the process the SIGKILL test kills.
func TestMain(m *testing.M) {
	if os.Getenv("COUPLER_KILL_CHILD") != "" {
		os.Exit(killChild())
	}
	os.Exit(m.Run())
}

// killChild runs one full synchronisation against the sandbox named in the
// environment, with the SQLite database in COUPLER_KILL_DB.
func killChild() int {
	ctx := context.Background()
	var r sandbox.Ready
	if err := json.Unmarshal([]byte(os.Getenv("COUPLER_KILL_CHILD")), &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	eng, closeDB, err := engineFor(ctx, r, os.Getenv("COUPLER_KILL_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer closeDB()
	if _, err := eng.Run(ctx, killMappings, syncer.RunOptions{Full: true}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func engineFor(ctx context.Context, r sandbox.Ready, dir string) (*syncer.Engine, func(), error) {
	log := slog.New(slog.DiscardHandler)
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	dv, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: log})
	if err != nil {
		return nil, nil, err
	}
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	ms := mapping.Defaults()
	eng, err := syncer.New(syncer.Options{Store: syncstore.New(db), CRM: crmside.New(dv, 0), ERP: erpside.New(erp, 0), Logger: log,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return ms, nil }})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return eng, func() { db.Close() }, nil
}

// TestLiveSIGKILLDuringFullSync kills the synchronising process with
// SIGKILL at 20 random moments of a full synchronisation, restarting it
// each time, then checks that every ERP record is in the CRM exactly once
// and every coupling is consistent. COUPLER_KILL_SCALE sets the sandbox
// scale (default 200 ≈ 480 ERP records; 19000 ≈ 21,000: 19,005 customers,
// 1,920 items, 10 contacts).
func TestLiveSIGKILLDuringFullSync(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills a child process 20 times during a full synchronisation")
	}
	scale := 200
	if raceEnabled {
		scale = 20
	}
	if v := os.Getenv("COUPLER_KILL_SCALE"); v != "" {
		var err error
		scale, err = strconv.Atoi(v)
		require.NoError(t, err, "COUPLER_KILL_SCALE")
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Scale: scale, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	ready, err := json.Marshal(sb.Ready())
	require.NoError(t, err)
	dir := t.TempDir()

	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "COUPLER_KILL_CHILD="+string(ready), "COUPLER_KILL_DB="+dir)
		return cmd
	}
	// How long an uninterrupted run takes, on a twin sandbox.
	twin, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Scale: scale, Logger: log})
	require.NoError(t, err)
	twinReady, _ := json.Marshal(twin.Ready())
	ref := exec.Command(os.Args[0], "-test.run=^$")
	ref.Env = append(os.Environ(), "COUPLER_KILL_CHILD="+string(twinReady), "COUPLER_KILL_DB="+filepath.Join(t.TempDir(), "twin"))
	start := time.Now()
	out, err := ref.CombinedOutput()
	require.NoError(t, err, string(out))
	full := time.Since(start)
	_ = twin.Close()
	t.Logf("an uninterrupted full synchronisation takes %s", full)

	rng := rand.New(rand.NewPCG(7, 20))
	for i := range 20 {
		cmd := child()
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(rng.Int64N(int64(full))))
		_ = cmd.Process.Kill() // SIGKILL
		_ = cmd.Wait()
		t.Logf("kill %d", i+1)
	}
	out, err = child().CombinedOutput()
	require.NoError(t, err, "the run after the last kill: %s", out)

	eng, closeDB, err := engineFor(ctx, sb.Ready(), dir)
	require.NoError(t, err)
	defer closeDB()
	jobs, err := eng.Run(ctx, killMappings, syncer.RunOptions{Full: true})
	require.NoError(t, err)
	for _, j := range jobs {
		require.Equal(t, "succeeded", j.Status, "%s: %s", j.Mapping, j.Message)
		require.Zero(t, j.Counts.Inserted, "%s: everything was already there", j.Mapping)
	}

	db, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	require.NoError(t, err)
	defer db.Close()
	st := syncstore.New(db)
	r := sb.Ready()
	crm, erp, _ := sidesFor(t, r)
	for _, c := range []struct{ m, erpSet, erpFilter, crmSet, crmKey string }{
		{mapping.Customer, "customers", "", "accounts", "accountid"},
		{mapping.Contact, "contacts", "type eq 'Person'", "contacts", "contactid"},
		{mapping.ItemProduct, "items", "blocked eq false", "products", "productid"},
	} {
		erpRecs, err := erp.Find(ctx, c.erpSet, "id", c.erpFilter)
		require.NoError(t, err)
		crmRecs, err := crm.Find(ctx, c.crmSet, c.crmKey, "")
		require.NoError(t, err)
		crmIDs := map[string]bool{}
		for _, rec := range crmRecs {
			crmIDs[rec.ID] = true
		}
		seenCRM := map[string]string{}
		for _, rec := range erpRecs {
			cp, err := st.GetCouplingByERP(ctx, c.m, rec.ID)
			require.NoError(t, err, "%s: ERP %s is not coupled", c.m, rec.ID)
			require.True(t, crmIDs[cp.CRMID], "%s: coupling of ERP %s points at missing CRM %s", c.m, rec.ID, cp.CRMID)
			require.Empty(t, seenCRM[cp.CRMID], "%s: CRM %s coupled twice", c.m, cp.CRMID)
			seenCRM[cp.CRMID] = rec.ID
		}
		// Every CRM row coupler created has the deterministic id of a coupled ERP record: no stray duplicates.
		made := make(map[string]string, len(erpRecs)) // deterministic CRM id → ERP id
		for _, e := range erpRecs {
			made[syncer.DeterministicID(c.m, e.ID)] = e.ID
		}
		for _, rec := range crmRecs {
			if _, coupled := seenCRM[rec.ID]; coupled {
				continue
			}
			erpID, dup := made[rec.ID]
			require.False(t, dup, "%s: CRM row %s duplicates ERP %s", c.m, rec.ID, erpID)
		}
		n, err := st.CountCouplings(ctx, c.m)
		require.NoError(t, err)
		require.Equal(t, len(erpRecs), n, "%s: one coupling per ERP record", c.m)
		intents, err := st.ListIntents(ctx, c.m)
		require.NoError(t, err)
		require.Empty(t, intents, "%s: no unreconciled write", c.m)
		t.Logf("%s: %d ERP records, each coupled once", c.m, len(erpRecs))
	}
}

func sidesFor(t *testing.T, r sandbox.Ready) (syncer.Side, syncer.Side, error) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	dv, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: log})
	require.NoError(t, err)
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	require.NoError(t, err)
	return crmside.New(dv, 0), erpside.New(erp, 0), nil
}
