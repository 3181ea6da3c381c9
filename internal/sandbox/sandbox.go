// Package sandbox runs the offline stand-ins for both services coupler
// connects: the Dataverse simulator (with the identity platform's token
// endpoint) on the CRM listener and the Business Central simulator on the
// ERP listener, with optional request limits and fault injection.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/sandbox/bc"
	"github.com/coupler/coupler/internal/sandbox/dataverse"
	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/coupler/coupler/internal/sandbox/limits"
)

// DefaultAddr is where each simulator listens unless told otherwise: a free
// port on the loopback interface.
const DefaultAddr = "127.0.0.1:0"

// Limit names accepted in Options.Limits.
const (
	LimitsDataverse = "dataverse"
	LimitsBC        = "bc"
)

// Options configures a sandbox.
type Options struct {
	CRMAddr, ERPAddr string   // default DefaultAddr
	Seed             string   // "demo" (default) or "none"
	Scale            int      // synthetic records added on both sides
	Limits           []string // LimitsDataverse and/or LimitsBC
	Faults           string   // faults.Parse syntax; "" = none
	TimeScale        float64  // compresses the limits' windows; 0 = 1
	// AllowRemote permits listening on non-loopback addresses. The
	// simulators accept well-known demo credentials: exposing them on a
	// network is a deliberate choice.
	AllowRemote bool
	Logger      *slog.Logger
}

// Ready is what a client needs to use the sandbox; the JSON form is the
// first line `coupler sandbox` prints.
type Ready struct {
	CRMURL              string   `json:"crm_url"`
	CRMAPIURL           string   `json:"crm_api_url"`
	CRMScope            string   `json:"crm_scope"`
	ERPURL              string   `json:"erp_url"`
	ERPOnPremURL        string   `json:"erp_onprem_url"`
	ERPScope            string   `json:"erp_scope"`
	ERPWebClientURL     string   `json:"erp_web_client_url"`
	TokenURL            string   `json:"token_url"`
	Tenant              string   `json:"tenant"`
	CRMClientID         string   `json:"crm_client_id"`
	CRMClientSecret     string   `json:"crm_client_secret"`
	IntegrationUser     string   `json:"integration_user"`
	IntegrationPassword string   `json:"integration_password"`
	CRMAdminUser        string   `json:"crm_admin_user"`
	CRMAdminPassword    string   `json:"crm_admin_password"`
	CRMOrgName          string   `json:"crm_org_name"`
	ERPClientID         string   `json:"erp_client_id"`
	ERPClientSecret     string   `json:"erp_client_secret"`
	ERPEnvironment      string   `json:"erp_environment"`
	ERPCompanyID        string   `json:"erp_company_id"`
	ERPCompanyName      string   `json:"erp_company_name"`
	ERPUser             string   `json:"erp_user"`
	ERPWebServiceKey    string   `json:"erp_web_service_key"`
	Limits              []string `json:"limits"`
	Faults              string   `json:"faults,omitempty"`
}

// Sandbox is a running pair of simulators.
type Sandbox struct {
	log    *slog.Logger
	issuer *identity.Issuer
	dv     *dataverse.Server
	bc     *bc.Server
	crm    *http.Server
	erp    *http.Server
	ready  Ready

	crmLimiter, erpLimiter *limits.Limiter  // nil when off
	crmFaults, erpFaults   *faults.Injector // nil when off

	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

// Start listens on both addresses, builds and seeds both simulators and
// serves them until Close is called or ctx ends.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	log := opts.Logger
	if log == nil {
		return nil, errors.New("sandbox: Options.Logger is required")
	}
	if opts.CRMAddr == "" {
		opts.CRMAddr = DefaultAddr
	}
	if opts.ERPAddr == "" {
		opts.ERPAddr = DefaultAddr
	}
	if opts.Seed == "" {
		opts.Seed = "demo"
	}
	if opts.Seed != "demo" && opts.Seed != "none" {
		return nil, fmt.Errorf("sandbox: seed %q is unknown: use demo or none", opts.Seed)
	}
	if opts.Scale < 0 {
		return nil, fmt.Errorf("sandbox: scale %d is negative: give 0 or more synthetic records", opts.Scale)
	}
	if opts.TimeScale < 0 {
		return nil, fmt.Errorf("sandbox: time scale %g is negative: give 1 for real time, 60 for a window 60 times shorter", opts.TimeScale)
	}
	if opts.TimeScale == 0 {
		opts.TimeScale = 1
	}
	for _, l := range opts.Limits {
		if l != LimitsDataverse && l != LimitsBC {
			return nil, fmt.Errorf("sandbox: limits %q is unknown: use %s, %s or both", l, LimitsDataverse, LimitsBC)
		}
	}
	spec, err := faults.Parse(opts.Faults)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if !opts.AllowRemote {
		for _, a := range []struct{ name, addr string }{{"CRM", opts.CRMAddr}, {"ERP", opts.ERPAddr}} {
			if err := CheckLoopback(a.addr); err != nil {
				return nil, fmt.Errorf("sandbox: %s address: %w", a.name, err)
			}
		}
	}

	issuer := identity.New(identity.Options{Logger: log.With("component", "identity")})
	dvOpts := dataverse.Options{Identity: issuer, Seed: opts.Seed, Scale: opts.Scale, Logger: log.With("component", "dataverse")}
	bcOpts := bc.Options{Identity: issuer, Seed: opts.Seed, Scale: opts.Scale, Logger: log.With("component", "bc")}
	if slices.Contains(opts.Limits, LimitsDataverse) {
		cfg := limits.DataverseDefaults()
		cfg.TimeScale = opts.TimeScale
		dvOpts.Limiter = limits.New(cfg, nil)
	}
	if slices.Contains(opts.Limits, LimitsBC) {
		cfg := limits.BCDefaults()
		cfg.TimeScale = opts.TimeScale
		bcOpts.Limiter = limits.New(cfg, nil)
	}
	if spec.Enabled() {
		dvOpts.Faults = faults.New(spec)
		erpSpec := spec
		erpSpec.Seed++ // independent sequences, both reproducible
		bcOpts.Faults = faults.New(erpSpec)
	}

	dv, err := dataverse.New(dvOpts)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	erpSim, err := bc.New(bcOpts)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}

	crmLn, err := net.Listen("tcp", opts.CRMAddr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: CRM listener on %s: %w", opts.CRMAddr, err)
	}
	erpLn, err := net.Listen("tcp", opts.ERPAddr)
	if err != nil {
		_ = crmLn.Close()
		return nil, fmt.Errorf("sandbox: ERP listener on %s: %w", opts.ERPAddr, err)
	}

	s := &Sandbox{log: log, issuer: issuer, dv: dv, bc: erpSim, done: make(chan struct{}),
		crmLimiter: dvOpts.Limiter, erpLimiter: bcOpts.Limiter, crmFaults: dvOpts.Faults, erpFaults: bcOpts.Faults}
	s.crm = newServer(s.withStats(crmHandler(issuer, dv.Handler())), log.With("listener", "crm"))
	s.erp = newServer(s.withStats(erpSim.Handler()), log.With("listener", "erp"))
	s.ready = s.buildReady(urlOf(crmLn.Addr()), urlOf(erpLn.Addr()), opts, spec)

	go s.serve(s.crm, crmLn, "crm")
	go s.serve(s.erp, erpLn, "erp")
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()

	scope := "loopback only"
	if opts.AllowRemote {
		scope = "remote connections allowed"
	}
	log.Info("sandbox ready ("+scope+")", "crm_url", s.ready.CRMURL, "erp_url", s.ready.ERPURL,
		"token_url", s.ready.TokenURL, "seed", opts.Seed, "scale", opts.Scale, "limits", s.ready.Limits,
		"faults", spec.String(), "time_scale", opts.TimeScale)
	return s, nil
}

func (s *Sandbox) buildReady(crmURL, erpURL string, opts Options, spec faults.Spec) Ready {
	dc, bcc := s.dv.Credentials(), s.bc.Credentials()
	tenant := s.issuer.Tenant()
	lim := slices.Clone(opts.Limits)
	if lim == nil {
		lim = []string{}
	}
	return Ready{
		CRMURL:              crmURL,
		CRMAPIURL:           crmURL + "/api/data/v9.2/",
		CRMScope:            crmURL + "/.default",
		ERPURL:              erpURL + s.bc.APIRootPath(),
		ERPOnPremURL:        erpURL + "/" + bcc.Instance + "/api/v2.0",
		ERPScope:            bcc.Scope,
		ERPWebClientURL:     erpURL + "/" + tenant + "/" + bcc.Environment + "/",
		TokenURL:            crmURL + "/" + tenant + "/oauth2/v2.0/token",
		Tenant:              tenant,
		CRMClientID:         dc.ClientID,
		CRMClientSecret:     dc.ClientSecret,
		IntegrationUser:     dc.IntegrationUser,
		IntegrationPassword: dc.IntegrationPassword,
		CRMAdminUser:        dc.AdminUser,
		CRMAdminPassword:    dc.AdminPassword,
		ERPClientID:         bcc.ClientID,
		ERPClientSecret:     bcc.ClientSecret,
		ERPEnvironment:      bcc.Environment,
		ERPCompanyID:        bcc.CompanyID,
		ERPCompanyName:      bcc.CompanyName,
		ERPUser:             bcc.User,
		ERPWebServiceKey:    bcc.WebServiceKey,
		CRMOrgName:          dc.OrgName,
		Limits:              lim,
		Faults:              spec.String(),
	}
}

// crmHandler serves the token endpoints (/{tenant}/oauth2/…/token) from the
// issuer and everything else from the Dataverse simulator, the way
// login.microsoftonline.com and the organisation are reached by clients.
func crmHandler(issuer *identity.Issuer, dv http.Handler) http.Handler {
	id := issuer.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if len(seg) >= 3 && seg[1] == "oauth2" && seg[len(seg)-1] == "token" {
			id.ServeHTTP(w, r)
			return
		}
		dv.ServeHTTP(w, r)
	})
}

func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func (s *Sandbox) serve(srv *http.Server, ln net.Listener, name string) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("sandbox listener stopped", "listener", name, "error", err)
	}
}

// urlOf turns a listener address into a base URL, naming the loopback
// address when the listener is on all interfaces.
func urlOf(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// CheckLoopback refuses an address that would listen beyond this machine.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if host == "" {
		host = "all interfaces"
	}
	return fmt.Errorf("%s listens on %s, not on loopback; the sandbox serves well-known demo credentials, so use 127.0.0.1 or pass --allow-remote deliberately", addr, host)
}

// Ready returns the connection values.
func (s *Sandbox) Ready() Ready { return s.ready }

// Issuer returns the token issuer shared by both simulators.
func (s *Sandbox) Issuer() *identity.Issuer { return s.issuer }

// Dataverse returns the CRM simulator, e.g. for control calls in tests.
func (s *Sandbox) Dataverse() *dataverse.Server { return s.dv }

// BC returns the ERP simulator.
func (s *Sandbox) BC() *bc.Server { return s.bc }

// Done is closed once the sandbox has stopped.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// Close stops both listeners, letting requests in flight finish for up to
// five seconds. It is safe to call more than once.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		for _, srv := range []*http.Server{s.crm, s.erp} {
			// In-flight requests get a grace period; a simulator answering
			// slowly on purpose (slow faults, queued requests) is then cut
			// off, which is what stopping a sandbox means, not a failure.
			if err := srv.Shutdown(ctx); err != nil {
				s.log.Warn("sandbox: requests still running after the grace period were cut off", "addr", srv.Addr, "err", err)
				if cerr := srv.Close(); cerr != nil {
					errs = append(errs, cerr)
				}
			}
		}
		s.closeErr = errors.Join(errs...)
		close(s.done)
		s.log.Info("sandbox stopped")
	})
	return s.closeErr
}
