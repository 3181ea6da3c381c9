// Package daemon runs coupler as a service: it opens the store, starts the
// job queue and serves HTTP, and on stop it does the reverse in order:
// stop accepting, finish in-flight requests and jobs, close the store.
package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coupler/coupler/internal/availability"
	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/links"
	"github.com/coupler/coupler/internal/metrics"
	"github.com/coupler/coupler/internal/orders"
	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/statistics"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/postgres" // store.Open by --database-url
	_ "github.com/coupler/coupler/internal/store/sqlite"   // store.Open by --data-dir
	"github.com/coupler/coupler/internal/syncer/syncjobs"
	"github.com/coupler/coupler/internal/syncer/syncstore"
	"github.com/coupler/coupler/internal/users"
	"github.com/coupler/coupler/internal/web"
	"github.com/riverqueue/river"
)

// Daemon is one running coupler instance.
type Daemon struct {
	cfg config.Config
	log *slog.Logger

	st      store.Store
	queue   *jobs.Queue
	engines *engines
	ln      net.Listener
	server  *http.Server

	// wrap, when set (tests), wraps the HTTP handler.
	wrap func(http.Handler) http.Handler

	closeOnce sync.Once
	closeErr  error
}

// New prepares a daemon; nothing is opened until Open.
func New(cfg config.Config, log *slog.Logger) *Daemon {
	return &Daemon{cfg: cfg, log: log}
}

// Open opens the store (migrating it), starts the job queue and binds the
// listener. On error everything opened so far is closed again. The address
// actually bound (useful with port 0) is available from Addr afterwards.
func (d *Daemon) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	d.st, err = store.Open(ctx, store.Options{DataDir: d.cfg.DataDir, DatabaseURL: d.cfg.DatabaseURL, Logger: d.log})
	if err != nil {
		return err
	}

	box, err := secret.New(secret.Options{Store: d.st, DataDir: d.cfg.DataDir, Logger: d.log})
	if err != nil {
		return err
	}
	// Every API client of this instance takes its turns from the same
	// per-user budgets, shared with the other instances on PostgreSQL.
	pacers, err := ratelimit.ClientPacers(d.st, d.log, ratelimit.ClientBudget())
	if err != nil {
		return fmt.Errorf("the API request budgets: %w", err)
	}
	d.engines = &engines{st: d.st, box: box, log: d.log, pacers: pacers}
	if d.st.Dialect() == "postgres" {
		// Only several instances' workers gain from dividing a table.
		d.engines.chunks = d.cfg.Sync.ChunkRecords
	}

	// Features add their workers and schedules to reg here, before the
	// queue starts (see jobs.Registry).
	reg := jobs.NewRegistry()
	if err := syncjobs.Register(reg, d.engines.get, syncstore.New(d.st), d.log); err != nil {
		return fmt.Errorf("register the synchronisation jobs: %w", err)
	}
	// The features below share one dialer: it rebuilds the clients only
	// when the stored setup changed.
	dialer := orders.NewDialer(d.st, box, d.log)
	for name, register := range map[string]func(*jobs.Registry, orders.DialFunc, store.Store, *slog.Logger) error{
		"sales order": orders.Register, "item availability": availability.Register,
		"ERP links": links.Register, "account statistics": statistics.Register,
	} {
		if err := register(reg, dialer.Dial, d.st, d.log); err != nil {
			return fmt.Errorf("register the %s jobs: %w", name, err)
		}
	}
	d.queue, err = jobs.New(ctx, d.st, jobs.Options{Logger: d.log, Workers: d.cfg.Sync.Workers, Registry: reg})
	if err != nil {
		return err
	}
	if err := d.queue.Start(ctx); err != nil {
		return err
	}

	key, err := sessionKey(ctx, box, d.log)
	if err != nil {
		return err
	}
	reg2 := prometheus.NewRegistry()
	if err := metrics.Register(reg2, metrics.Sources{Store: d.st, CRM: d.engines.crmStats, ERP: d.engines.erpStats, QueueDepth: queueDepth(d.st), Logger: d.log}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	svc := &setup.Service{Conns: d.st, Secrets: box, NotFound: store.ErrNotFound, Log: d.log,
		Options: setup.DialOptions{Logger: d.log, Interactive: true, Pacers: pacers}}
	queue := d.queue
	h, err := web.New(web.Options{
		Logger:     d.log,
		Checks:     map[string]web.ReadyFunc{"store": d.st.Ping, "jobs": d.queue.Ready},
		Users:      users.NewService(d.st, d.log, users.KDF{}),
		SessionKey: key,
		Registry:   reg2,
		Store:      d.st,
		Setup:      svc,
		Secrets:    box,
		Engine:     d.engines.get,
		Enqueue: func(ctx context.Context, a syncjobs.SyncArgs) (int64, error) {
			return queue.Insert(ctx, a, nil)
		},
		Dial:          dialer.Dial,
		InsertJob:     d.insertNow,
		PublicURL:     d.cfg.HTTP.PublicURL,
		SecureCookies: strings.HasPrefix(d.cfg.HTTP.PublicURL, "https://"),
	})
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	// The item availability service is called by the CRM with HTTP Basic
	// and a web service key, not a session: it is mounted beside the UI,
	// outside its session and CSRF checks, under the same security headers.
	avail, err := availability.New(availability.Options{ERP: availability.ERPFrom(dialer.Dial), Store: d.st, Logger: d.log})
	if err != nil {
		return fmt.Errorf("item availability service: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/odata/v4/", web.SecurityHeaders(avail.Handler()))
	mux.Handle("/", h)
	var handler http.Handler = mux
	if d.wrap != nil {
		handler = d.wrap(handler)
	}
	d.ln, err = net.Listen("tcp", d.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (http.addr): %w", d.cfg.HTTP.Addr, err)
	}
	d.server = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}
	return nil
}

// insertNow queues a job asked for by a user (a links refresh after the
// web client URL changed). Unique only among unfinished jobs: the args'
// own uniqueness also counts jobs completed in the last day, which would
// silently skip a request made after a scheduled run.
func (d *Daemon) insertNow(ctx context.Context, a river.JobArgs) (int64, error) {
	return d.queue.Insert(ctx, a, &river.InsertOpts{UniqueOpts: jobs.UniqueWhileActive()})
}

// Addr is the bound address.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Store is the open store, for features wired next to the daemon.
func (d *Daemon) Store() store.Store { return d.st }

// Queue is the running job queue.
func (d *Daemon) Queue() *jobs.Queue { return d.queue }

// Run serves until ctx is cancelled, then shuts down gracefully within
// http.shutdown_timeout: no new connections, in-flight requests finish,
// running jobs finish, the store closes.
func (d *Daemon) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- d.server.Serve(d.ln) }()
	d.log.Info("coupler serving", "addr", "http://"+d.Addr(), "database", d.st.Dialect())
	select {
	case err := <-errc:
		return errors.Join(fmt.Errorf("http server: %w", err), d.Close())
	case <-ctx.Done():
	}
	d.log.Info("stopping: no new requests, finishing in-flight requests and jobs")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.shutdownTimeout())
	defer cancel()
	var errs []error
	if err := d.server.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := d.queue.Stop(sctx); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, d.Close())
	if err := errors.Join(errs...); err != nil {
		return err
	}
	d.log.Info("stopped")
	return nil
}

// Close releases every dependency, in reverse order of Open; safe to call
// more than once and after a partial Open.
func (d *Daemon) Close() error {
	d.closeOnce.Do(func() {
		var errs []error
		if d.server != nil {
			errs = append(errs, ignoreClosed(d.server.Close()))
		} else if d.ln != nil {
			errs = append(errs, ignoreClosed(d.ln.Close()))
		}
		if d.queue != nil {
			ctx, cancel := context.WithTimeout(context.Background(), d.shutdownTimeout())
			errs = append(errs, d.queue.Stop(ctx))
			cancel()
		}
		if d.st != nil {
			errs = append(errs, d.st.Close())
		}
		d.closeErr = errors.Join(errs...)
	})
	return d.closeErr
}

func (d *Daemon) shutdownTimeout() time.Duration {
	return cmp.Or(d.cfg.HTTP.ShutdownTimeout, 30*time.Second)
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
