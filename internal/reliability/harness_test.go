package reliability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// long reports whether the long runs were asked for.
func long() bool { return os.Getenv("COUPLER_RELIABILITY_LONG") == "1" }

// syncMappings are the mappings the suite synchronises (with their dependencies).
var syncMappings = []string{mapping.Salespeople, mapping.Currency, mapping.UnitOfMeasure, mapping.PaymentTerms,
	mapping.ShipmentMethod, mapping.Customer, mapping.Vendor, mapping.Contact, mapping.ItemProduct}

// tally counts what the suite did, for its figures (logged by TestMain).
var tally struct {
	sync.Mutex
	crashes, faults, badInputs, records, lost, duplicated int64
}

func count(field *int64, n int64) {
	tally.Lock()
	*field += n
	tally.Unlock()
}

// clients are the two API clients of one engine, kept to read their Stats.
type clients struct {
	dv  *dataverse.Client
	erp *bc.Client
}

// patient makes the clients retry more and wait less than their defaults:
// the fault tests inject 30 % failures with short Retry-After values.
type tuning struct {
	attempts int
	backoff  time.Duration
}

var defaultTuning = tuning{}
var patient = tuning{attempts: 12, backoff: 200 * time.Millisecond}

func newClients(ctx context.Context, r sandbox.Ready, tu tuning) (clients, error) {
	log := slog.New(slog.DiscardHandler)
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	dcfg := dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: log}
	bcfg := bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}}
	if tu.attempts > 0 {
		dcfg.MaxAttempts, dcfg.BaseBackoff, dcfg.MaxBackoff = tu.attempts, 20*time.Millisecond, tu.backoff
		dcfg.Timeout = 10 * time.Second
		bcfg.MaxRetries, bcfg.MaxBackoff = tu.attempts-1, tu.backoff
		bcfg.Timeout = 10 * time.Second
	}
	dv, err := dataverse.New(ctx, dcfg)
	if err != nil {
		return clients{}, err
	}
	erp, err := bc.New(bcfg)
	if err != nil {
		return clients{}, err
	}
	return clients{dv: dv, erp: erp}, nil
}

// newEngine builds an engine over the sandbox r with the SQLite database in dir.
func newEngine(ctx context.Context, r sandbox.Ready, dir string, tu tuning) (*syncer.Engine, clients, func(), error) {
	cl, err := newClients(ctx, r, tu)
	if err != nil {
		return nil, clients{}, nil, err
	}
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	if err != nil {
		return nil, clients{}, nil, err
	}
	ms := mapping.Defaults()
	eng, err := syncer.New(syncer.Options{Store: syncstore.New(db), CRM: crmside.New(cl.dv, 0), ERP: erpside.New(cl.erp, 0), Logger: log,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return ms, nil }})
	if err != nil {
		db.Close()
		return nil, clients{}, nil, err
	}
	return eng, cl, func() { db.Close() }, nil
}

func startSandbox(t *testing.T, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sb, err := sandbox.Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// sides are syncer sides over fresh clients with default settings, for checks.
func sides(t *testing.T, r sandbox.Ready) (crm, erp syncer.Side) {
	t.Helper()
	cl, err := newClients(context.Background(), r, defaultTuning)
	require.NoError(t, err)
	return crmside.New(cl.dv, 0), erpside.New(cl.erp, 0)
}

// checked is one mapping the consistency check covers.
type checked struct{ m, erpSet, erpFilter, crmSet, crmKey string }

var checkedMappings = []checked{
	{mapping.Customer, "customers", "", "accounts", "accountid"},
	{mapping.Contact, "contacts", "type eq 'Person'", "contacts", "contactid"},
	{mapping.ItemProduct, "items", "blocked eq false", "products", "productid"},
}

// requireConsistent checks that every ERP record of the checked mappings is
// coupled exactly once to an existing CRM row, that no CRM row duplicates
// one, and that no write intent is left unreconciled. It returns the number
// of records checked.
func requireConsistent(t *testing.T, r sandbox.Ready, dir string) int {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	require.NoError(t, err)
	defer db.Close()
	st := syncstore.New(db)
	crm, erp := sides(t, r)
	total := 0
	for _, c := range checkedMappings {
		erpRecs, err := erp.Find(ctx, c.erpSet, "id", c.erpFilter)
		require.NoError(t, err)
		crmRecs, err := crm.Find(ctx, c.crmSet, c.crmKey, "")
		require.NoError(t, err)
		crmIDs := map[string]bool{}
		for _, rec := range crmRecs {
			crmIDs[rec.ID] = true
		}
		seenCRM := map[string]string{}
		lost, dup := 0, 0
		for _, rec := range erpRecs {
			cp, err := st.GetCouplingByERP(ctx, c.m, rec.ID)
			if err != nil || !crmIDs[cp.CRMID] {
				lost++
				t.Errorf("%s: ERP %s has no CRM counterpart (coupling: %v)", c.m, rec.ID, err)
				continue
			}
			if prev := seenCRM[cp.CRMID]; prev != "" {
				dup++
				t.Errorf("%s: CRM %s coupled to ERP %s and %s", c.m, cp.CRMID, prev, rec.ID)
			}
			seenCRM[cp.CRMID] = rec.ID
		}
		for _, rec := range crmRecs {
			if _, coupled := seenCRM[rec.ID]; coupled {
				continue
			}
			for _, e := range erpRecs {
				if syncer.DeterministicID(c.m, e.ID) == rec.ID {
					dup++
					t.Errorf("%s: CRM row %s duplicates ERP %s", c.m, rec.ID, e.ID)
				}
			}
		}
		n, err := st.CountCouplings(ctx, c.m)
		require.NoError(t, err)
		require.Equal(t, len(erpRecs), n, "%s: one coupling per ERP record", c.m)
		intents, err := st.ListIntents(ctx, c.m)
		require.NoError(t, err)
		require.Empty(t, intents, "%s: no unreconciled write", c.m)
		count(&tally.lost, int64(lost))
		count(&tally.duplicated, int64(dup))
		total += len(erpRecs)
	}
	count(&tally.records, int64(total))
	return total
}

// requireSucceeded fails unless every job succeeded with no failed record.
func requireSucceeded(t *testing.T, jobs []syncer.Job) {
	t.Helper()
	require.NotEmpty(t, jobs)
	for _, j := range jobs {
		require.Equal(t, "succeeded", j.Status, "%s: %s", j.Mapping, j.Message)
		require.Zero(t, j.Counts.Failed, "%s: failed records: %s", j.Mapping, j.Message)
	}
}

// proxy forwards TCP connections from a fixed loopback port to target; it
// can be stopped (connections refused, open ones cut) and restarted on the
// same port: an outage of the service behind it without losing its state.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// stop closes the listener and cuts every open connection.
func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// start listens again on the same port.
func (p *proxy) start() error {
	var ln net.Listener
	var err error
	for range 50 { // the port may linger for a moment
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("proxy: listen again on %s: %w", p.addr, err)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
