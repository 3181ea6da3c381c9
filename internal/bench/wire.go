package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite" // the embedded default, as a single instance runs
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// limitScale says how the clients pace themselves: 1 is the production
// default (6,000 requests per 5 minutes per user); the limits scenario
// compresses it with the sandbox's window.
type clientPace struct {
	timeScale float64 // 0 = production defaults
	batchSize int     // engine's BatchSize (0 = each API's own maximum)
}

// env is coupler wired to one sandbox exactly as the product is: the two
// clients with their default limits, the SQLite store in a temporary data
// dir and the engine over the default mappings.
type env struct {
	ready     sandbox.Ready
	dv        *dataverse.Client // coupler's application user
	admin     *dataverse.Client // a person editing the CRM (not coupler's echo)
	erp       *bc.Client
	crm, erpS *countingSide
	db        store.Store
	eng       *syncer.Engine
	dir       string
}

func connect(ctx context.Context, r sandbox.Ready, log *slog.Logger, pace clientPace) (*env, error) {
	dir, err := os.MkdirTemp("", "coupler-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: temporary data dir: %w", err)
	}
	e := &env{ready: r, dir: dir}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()
	dvCfg := dataverse.Config{URL: r.CRMURL, Logger: log}
	bcCfg := bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}}
	if pace.timeScale > 0 {
		// The same budget as production, in the sandbox's compressed time.
		dvCfg.RequestsPerSecond = 20 * pace.timeScale
		bcCfg.RequestsPerWindow = 6000
		bcCfg.Window = time.Duration(float64(5*time.Minute) / pace.timeScale)
	}
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	appCfg := dvCfg
	appCfg.TokenSource = cc.TokenSource(ctx)
	if e.dv, err = dataverse.New(ctx, appCfg); err != nil {
		return nil, fmt.Errorf("bench: CRM client: %w", err)
	}
	pw := oauth2.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, Scopes: []string{r.CRMScope},
		Endpoint: oauth2.Endpoint{TokenURL: r.TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := pw.PasswordCredentialsToken(ctx, r.CRMAdminUser, r.CRMAdminPassword)
	if err != nil {
		return nil, fmt.Errorf("bench: CRM administrator sign-in: %w", err)
	}
	admCfg := dvCfg
	admCfg.TokenSource = oauth2.StaticTokenSource(tok)
	if e.admin, err = dataverse.New(ctx, admCfg); err != nil {
		return nil, fmt.Errorf("bench: CRM administrator client: %w", err)
	}
	if e.erp, err = bc.New(bcCfg); err != nil {
		return nil, fmt.Errorf("bench: ERP client: %w", err)
	}
	if e.db, err = store.Open(ctx, store.Options{DataDir: dir, Logger: log}); err != nil {
		return nil, fmt.Errorf("bench: store: %w", err)
	}
	e.crm = &countingSide{Side: crmside.New(e.dv, 0)}
	e.erpS = &countingSide{Side: erpside.New(e.erp, 0)}
	ms := mapping.Defaults()
	e.eng, err = syncer.New(syncer.Options{Store: syncstore.New(e.db), CRM: e.crm, ERP: e.erpS, Logger: log,
		Overlap: 100 * time.Millisecond, BatchSize: pace.batchSize,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return ms, nil }})
	if err != nil {
		return nil, fmt.Errorf("bench: engine: %w", err)
	}
	ok = true
	return e, nil
}

func (e *env) close() {
	if e.db != nil {
		_ = e.db.Close()
	}
	_ = os.RemoveAll(e.dir)
}

// requests is what both clients sent so far (every HTTP attempt).
func (e *env) requests() Requests {
	return Requests{CRM: e.dv.Stats().Total(), ERP: e.erp.Stats().Requests}
}

// customerDeps are the mappings CUSTOMER looks values up in; they are
// synchronised (untimed) before the customers, as a full run orders them.
var customerDeps = []string{mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod}

// syncRun runs the named mappings and fails on a failed job.
func (e *env) syncRun(ctx context.Context, full bool, names ...string) ([]syncer.Job, error) {
	jobs, err := e.eng.Run(ctx, names, syncer.RunOptions{Full: full, Trigger: "manual"})
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Status == "failed" {
			return jobs, fmt.Errorf("bench: %s failed: %s", j.Mapping, j.Message)
		}
	}
	return jobs, nil
}

// Reads counts what the engine read through a side: calls and records.
type Reads struct {
	Calls   int64 `json:"calls"`
	Records int64 `json:"records"`
}

// countingSide counts the engine's reads on one side.
type countingSide struct {
	syncer.Side
	mu sync.Mutex
	r  Reads
}

func (c *countingSide) Read(ctx context.Context, q syncer.ReadQuery, fn func([]syncer.Record) error) error {
	return c.Side.Read(ctx, q, func(page []syncer.Record) error {
		c.add(1, len(page))
		return fn(page)
	})
}

func (c *countingSide) Get(ctx context.Context, entity, key string, ids []string) ([]syncer.Record, error) {
	rs, err := c.Side.Get(ctx, entity, key, ids)
	c.add(1, len(rs))
	return rs, err
}

func (c *countingSide) Find(ctx context.Context, entity, key, filter string) ([]syncer.Record, error) {
	rs, err := c.Side.Find(ctx, entity, key, filter)
	c.add(1, len(rs))
	return rs, err
}

func (c *countingSide) add(calls, recs int) {
	c.mu.Lock()
	c.r.Calls += int64(calls)
	c.r.Records += int64(recs)
	c.mu.Unlock()
}

func (c *countingSide) take() Reads {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.r
	c.r = Reads{}
	return r
}
