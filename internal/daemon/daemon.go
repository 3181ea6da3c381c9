// Package daemon runs coupler as a service: it opens the store, starts the
// job queue and serves HTTP, and on stop it does the reverse in order:
// stop accepting, finish in-flight requests and jobs, close the store.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/web"
)

// Daemon is one running coupler instance.
type Daemon struct {
	cfg config.Config
	log *slog.Logger

	ln     net.Listener
	server *http.Server
}

// New prepares a daemon; nothing is opened until Open.
func New(cfg config.Config, log *slog.Logger) *Daemon {
	return &Daemon{cfg: cfg, log: log}
}

// Open binds the listener and opens every dependency. The address actually
// bound (useful with port 0) is available from Addr afterwards.
func (d *Daemon) Open(ctx context.Context) error {
	h, err := web.New(web.Options{Logger: d.log, Checks: map[string]web.ReadyFunc{}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", d.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (http.addr): %w", d.cfg.HTTP.Addr, err)
	}
	d.ln = ln
	d.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// Addr is the bound address.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Run serves until ctx is cancelled, then shuts down gracefully.
func (d *Daemon) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- d.server.Serve(d.ln) }()
	d.log.Info("coupler serving", "addr", "http://"+d.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	d.log.Info("stopping: no new requests, finishing in-flight work")
	sctx, cancel := context.WithTimeout(context.Background(), d.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := d.server.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return d.Close()
}

// Close releases every dependency; safe to call more than once.
func (d *Daemon) Close() error { return nil }
