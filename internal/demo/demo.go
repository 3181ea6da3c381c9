// Package demo runs the whole integration offline for a newcomer: the
// sandbox, the assisted setup, the full synchronisation with its one
// deliberate failure, a summary, and the web UI. cmd/coupler only wires its
// flags to Run, so that tests drive exactly what `coupler demo` does.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/daemon"
	"github.com/coupler/coupler/internal/orders"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/postgres" // --database-url
	_ "github.com/coupler/coupler/internal/store/sqlite"   // the embedded default
)

// Options say how to run the demo.
type Options struct {
	// Config gives the data dir, the database and the HTTP settings.
	Config config.Config
	// Addr is where the web UI listens; "" means Config.HTTP.Addr, or a free
	// loopback port when that one is taken.
	Addr string
	// ReadyFile receives the sandbox's ready object (JSON) as soon as it runs,
	// so that scripts can inspect both simulators while the demo runs.
	ReadyFile string
	// Once returns after the first full synchronisation and its summary.
	Once bool
	// JSON prints the summary as JSON on Out (the steps then go to Steps only).
	JSON bool
	// Out receives the summary; Steps the step-by-step narration.
	Out, Steps io.Writer
	// Progress draws progress bars on Steps (set it only for a terminal).
	Progress bool
	Logger   *slog.Logger
	// Served, when set, is called with the summary while the web UI and the
	// sandbox still run (tests check that ui_url answers).
	Served func(ctx context.Context, s Summary) error
}

// Summary is what the demo did, as printed by `coupler demo --once --json`.
type Summary struct {
	Run         int              `json:"run"` // 1 on a fresh data dir, then 2, 3…
	DataDir     string           `json:"data_dir"`
	Mappings    []MappingSummary `json:"mappings"`
	Totals      MappingSummary   `json:"totals"`
	Failures    []Failure        `json:"failures"`
	Incremental []MappingSummary `json:"incremental,omitempty"` // later runs: the incremental run after the edits
	Orders      []orders.Outcome `json:"orders"`                // one per submitted CRM order
	UIURL       string           `json:"ui_url"`
	AdminUser   string           `json:"admin_user"`
	// AdminPassword is generated on each run and only its hash is stored;
	// it is printed because the demo's point is to sign in.
	AdminPassword string        `json:"admin_password"`
	CRMURL        string        `json:"crm_url"`
	ERPURL        string        `json:"erp_url"`
	Elapsed       time.Duration `json:"-"`
	ElapsedText   string        `json:"elapsed"` // from start to the summary
}

// MappingSummary is one mapping's line of the summary.
type MappingSummary struct {
	Mapping   string `json:"mapping"`
	Status    string `json:"status,omitempty"`
	Inserted  int    `json:"inserted"`
	Modified  int    `json:"modified"`
	Unchanged int    `json:"unchanged"`
	Skipped   int    `json:"skipped"`
	Failed    int    `json:"failed"`
	Coupled   int    `json:"coupled"`
	Message   string `json:"message,omitempty"`
}

// Failure is one record that failed in the demo's full synchronisation.
type Failure struct {
	Mapping   string `json:"mapping"`
	Direction string `json:"direction"`
	Record    string `json:"record,omitempty"` // the ERP number, when the demo knows it
	ERPID     string `json:"erp_id,omitempty"`
	CRMID     string `json:"crm_id,omitempty"`
	Field     string `json:"field,omitempty"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	See       string `json:"see"`           // the command that shows it
	Fix       string `json:"fix,omitempty"` // what to do about it
}

// Run runs the demo. It returns after the summary with Once, otherwise when
// ctx ends (Ctrl-C), having stopped the web UI, the job queue, the database
// and the sandbox in that order.
func Run(ctx context.Context, opts Options) (Summary, error) {
	start := time.Now()
	opts = withDefaults(opts)
	log := opts.Logger
	p := &printer{w: opts.Steps}
	var sum Summary
	sum.DataDir = opts.Config.DataDir

	p.step("Start the sandbox: Dataverse (CRM) and Business Central (ERP) simulators with the demo data")
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Logger: log.With("component", "sandbox")})
	if err != nil {
		return sum, fmt.Errorf("start the sandbox: %w", err)
	}
	defer func() { _ = sb.Close() }()
	ready := sb.Ready()
	sum.CRMURL, sum.ERPURL = ready.CRMURL, ready.ERPURL
	p.say("CRM %s  (Web API %s)", ready.CRMURL, ready.CRMAPIURL)
	p.say("ERP %s  (company %s, web client %s)", ready.ERPURL, ready.ERPCompanyName, ready.ERPWebClientURL)
	if opts.ReadyFile != "" {
		if err := writeReady(opts.ReadyFile, ready); err != nil {
			return sum, err
		}
		p.say("Ready file: %s", opts.ReadyFile)
	}

	// The demo works on the store alone first: the daemon's scheduler must
	// not start the same mappings while the demo's full run is under way.
	st, err := store.Open(ctx, store.Options{DataDir: opts.Config.DataDir, DatabaseURL: opts.Config.DatabaseURL, Logger: log})
	if err != nil {
		return sum, fmt.Errorf("open the database: %w", err)
	}
	defer func() { _ = st.Close() }()
	publicURL := "http://" + opts.Config.HTTP.Addr
	if opts.Addr != "" {
		publicURL = "http://" + opts.Addr
	}

	sum.Run, err = claimDataDir(ctx, st, opts.Config.DataDir)
	if err != nil {
		return sum, err
	}
	if sum.Run > 1 {
		p.say("Data dir %s holds demo run %d: reusing its key, settings, mappings and history.", opts.Config.DataDir, sum.Run-1)
	}

	env, err := runSetup(ctx, p, st, opts.Config.DataDir, publicURL, ready, log)
	if err != nil {
		return sum, err
	}

	p.step("Add the demo's deliberately invalid record: an ERP contact whose surname is longer than the CRM's 50 characters")
	bad, err := plantInvalidContact(ctx, ready, log)
	if err != nil {
		return sum, err
	}
	p.say("ERP contact %s %q (surname of %d characters)", bad.Number, bad.Name, len([]rune(bad.Surname)))

	if sum.Run > 1 {
		p.step("Forget the previous run's couplings: the sandbox keeps its data in memory and started empty-handed")
		n, err := resetCouplings(ctx, st, time.Now())
		if err != nil {
			return sum, err
		}
		p.say("%d couplings, their cursors and open errors reset; jobs and errors stay in the history.", n)
	}

	p.step("Run the full synchronisation, mapping by mapping in dependency order")
	eng, err := env.engine(ctx)
	if err != nil {
		return sum, err
	}
	jobs, err := fullSync(ctx, eng, opts, p)
	if err != nil {
		return sum, err
	}
	sum.Mappings, sum.Totals = summarise(jobs)
	if sum.Failures, err = failures(ctx, st, jobs, bad, opts, ready); err != nil {
		return sum, err
	}

	if sum.Run > 1 {
		p.step("Show an incremental run: a user edits one customer in each system, then coupler synchronises again")
		inc, err := incremental(ctx, eng, ready, p, log)
		if err != nil {
			return sum, err
		}
		sum.Incremental, _ = summarise(inc)
	}

	p.step("Turn the submitted CRM sales orders into ERP sales orders")
	if sum.Orders, err = processOrders(ctx, env, p); err != nil {
		return sum, err
	}

	p.step("Create the demo administrator of the web UI")
	sum.AdminUser, sum.AdminPassword, err = ensureAdmin(ctx, st, log)
	if err != nil {
		return sum, err
	}
	p.say("%s with a new generated password (only its Argon2id hash is stored).", sum.AdminUser)

	if err := st.Close(); err != nil {
		return sum, fmt.Errorf("close the database: %w", err)
	}

	p.step("Start what `coupler serve` runs: the web UI, the job queue and the schedules")
	d, err := openDaemon(ctx, opts, p)
	if err != nil {
		return sum, err
	}
	defer func() { _ = d.Close() }()
	p.say("http://%s", d.Addr())
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- d.Run(serveCtx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		stopServe()
		return <-served
	}
	defer func() { _ = stop() }()
	sum.UIURL = "http://" + d.Addr()

	sum.Elapsed = time.Since(start)
	sum.ElapsedText = sum.Elapsed.Round(time.Millisecond).String()
	if err := printSummary(opts, sum); err != nil {
		return sum, err
	}
	if opts.Served != nil {
		if err := opts.Served(ctx, sum); err != nil {
			return sum, err
		}
	}
	if opts.Once {
		return sum, stop()
	}
	fmt.Fprintf(opts.Steps, "\ncoupler serves its web UI at %s — sign in as %s with password %s\n", sum.UIURL, sum.AdminUser, sum.AdminPassword)
	fmt.Fprintf(opts.Steps, "The sandbox keeps running: CRM %s, ERP %s. Press Ctrl-C to stop everything.\n", ready.CRMURL, ready.ERPURL)
	select {
	case <-ctx.Done():
	case err := <-served:
		stopped = true
		return sum, fmt.Errorf("the web UI stopped: %w", err)
	}
	fmt.Fprintln(opts.Steps, "Stopping: web UI, job queue, database, then the sandbox.")
	return sum, stop()
}

func withDefaults(o Options) Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Steps == nil {
		o.Steps = io.Discard
	}
	return o
}

// writeReady writes the sandbox's ready object; it holds the sandbox's
// (well-known, local) credentials, so it is private to the user.
func writeReady(path string, r sandbox.Ready) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("--ready-file: %w", err)
		}
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("--ready-file: %w", err)
	}
	return nil
}

// openDaemon opens the database, the job queue and the web UI's listener.
// Without an explicit address, a taken default port falls back to a free one
// rather than failing a newcomer's first command.
func openDaemon(ctx context.Context, opts Options, p *printer) (*daemon.Daemon, error) {
	cfg := opts.Config
	if opts.Addr != "" {
		cfg.HTTP.Addr = opts.Addr
	}
	d := daemon.New(cfg, opts.Logger)
	err := d.Open(ctx)
	if err != nil && opts.Addr == "" && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(cfg.HTTP.Addr)
		if host == "" {
			host = "127.0.0.1"
		}
		p.say("%s is taken; the web UI uses a free port instead (choose one with --addr).", cfg.HTTP.Addr)
		cfg.HTTP.Addr = net.JoinHostPort(host, "0")
		d = daemon.New(cfg, opts.Logger)
		err = d.Open(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("open the database and the web UI: %w", err)
	}
	return d, nil
}
