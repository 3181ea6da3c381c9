package orders_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/orders"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
)

// addOrders submits n CRM orders of lines product lines each, for the
// first coupled account, named prefix-i.
func addOrders(tb testing.TB, e *env, prefix string, n, lines int) {
	tb.Helper()
	ctx := context.Background()
	seed := crmOrder(tb, e, "ORD-01001-DEMO01")
	cust := seed.String("_customerid_value")
	var products []string
	for p, err := range e.crm.All(ctx, "products", dataverse.Query{Select: []string{"productid"}, Filter: "producttypecode eq 1 and statecode eq 0", Top: lines}) {
		require.NoError(tb, err)
		products = append(products, p.String("productid"))
	}
	require.Len(tb, products, lines)
	for i := range n {
		id, err := e.crm.Create(ctx, "salesorders", map[string]any{"name": fmt.Sprintf("%s-%d", prefix, i), "ordernumber": fmt.Sprintf("%s-%04d", prefix, i),
			"customerid_account@odata.bind": "/accounts(" + cust + ")"})
		require.NoError(tb, err)
		for j, p := range products {
			_, err := e.crm.Create(ctx, "salesorderdetails", map[string]any{"salesorderid@odata.bind": "/salesorders(" + id + ")",
				"productid@odata.bind": "/products(" + p + ")", "quantity": j + 1, "priceperunit": 10.5, "sequencenumber": j + 1})
			require.NoError(tb, err)
		}
		require.NoError(tb, e.crm.Update(ctx, "salesorders", dataverse.ID(id), map[string]any{"statecode": 1, "statuscode": 3}, ""))
	}
}

// TestKillNeverDuplicates runs `CreateOrders` in a child process (this test
// binary again) and kills it with SIGKILL at random moments, several times;
// then a last run finishes. Every CRM order must have exactly one ERP order.
func TestKillNeverDuplicates(t *testing.T) {
	if os.Getenv("COUPLER_ORDERS_CHILD") != "" {
		runChild(t)
		return
	}
	t.Parallel()
	e := setup(t)
	const n = 30
	addOrders(t, e, "KILL", n, 5)
	ready, err := json.Marshal(e.sb.Ready())
	require.NoError(t, err)
	// The child needs its own store file: copy the couplings by reopening the
	// same SQLite file is not possible while the parent holds it, so the
	// parent closes its store and hands the directory over.
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	st, err := store.Open(context.Background(), store.Options{DataDir: dir, Logger: e.log})
	require.NoError(t, err)
	cs, err := e.st.ListCouplings(context.Background(), store.CouplingFilter{})
	require.NoError(t, err)
	require.NoError(t, st.PutCouplings(context.Background(), cs))
	require.NoError(t, st.PutSetting(context.Background(), orders.SettingWriteInItem, "1900-S"))
	require.NoError(t, st.Close())

	kills := 0
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < 6 && time.Now().Before(deadline); i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillNeverDuplicates$", "-test.count=1")
		cmd.Env = append(os.Environ(), "COUPLER_ORDERS_CHILD=1", "COUPLER_ORDERS_READY="+string(ready), "COUPLER_ORDERS_DIR="+dir)
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(50+rand.IntN(250)) * time.Millisecond)
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			kills++
		}
		_ = cmd.Wait()
	}
	// The last run completes (after the dead children's leases run out).
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillNeverDuplicates$", "-test.count=1")
	cmd.Env = append(os.Environ(), "COUPLER_ORDERS_CHILD=1", "COUPLER_ORDERS_READY="+string(ready), "COUPLER_ORDERS_DIR="+dir)
	outb, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", outb)
	t.Logf("killed %d children", kills)

	per := map[string]int{}
	require.NoError(t, bc.ListAs(context.Background(), e.erp, bc.SetSalesOrders, bc.Query{Filter: "startswith(externalDocumentNumber,'KILL-')"},
		func(ds []bc.SalesDocument) error {
			for _, d := range ds {
				per[d.ExternalDocumentNumber]++
			}
			return nil
		}))
	require.Len(t, per, n, "every CRM order has an ERP order")
	for ext, c := range per {
		require.Equal(t, 1, c, "ERP orders for %s", ext)
	}
}

// runChild is the killed process: the same service, its own clients and a
// short lease so that the next child takes over a dead one's order.
func runChild(t *testing.T) {
	var r sandbox.Ready
	require.NoError(t, json.Unmarshal([]byte(os.Getenv("COUPLER_ORDERS_READY")), &r))
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	crm, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: log})
	require.NoError(t, err)
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	require.NoError(t, err)
	st, err := store.Open(ctx, store.Options{DataDir: os.Getenv("COUPLER_ORDERS_DIR"), Logger: log})
	require.NoError(t, err)
	defer st.Close()
	svc, err := orders.New(orders.Options{CRM: crm, ERP: erp, Store: st, Logger: log, Lease: 300 * time.Millisecond})
	require.NoError(t, err)
	for range 50 { // until nothing is busy (a dead child's lease) or pending
		out, err := svc.CreateOrders(ctx, "")
		require.NoError(t, err)
		busy := false
		for _, o := range out {
			require.NotEqual(t, "failed", o.Result, o.Error)
			busy = busy || o.Result == "busy"
		}
		if !busy {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("orders stayed busy")
}
