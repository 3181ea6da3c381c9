// Package dataverse is the sandbox's simulator of the Dataverse (Dynamics 365 Sales) Web API
// v9.x: the tables coupler synchronises with their real names, types and state models, OData
// reads with paging and change tracking, writes with upsert, ETags and $batch, the metadata
// API, and bearer authentication against the sandbox identity issuer. Everything lives in
// memory, indexed so that reads over a million rows stay fast.
package dataverse

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/coupler/coupler/internal/sandbox/limits"
	"github.com/google/uuid"
)

// Options configures the simulator (same shape as the BC simulator's).
type Options struct {
	Identity *identity.Issuer
	Seed     string           // "demo" (default) or "none"
	Scale    int              // synthetic accounts/contacts/products to generate
	Limiter  *limits.Limiter  // nil = no service protection limits
	Faults   *faults.Injector // nil = no injected faults
	Logger   *slog.Logger
	Clock    func() time.Time
}

// Credentials are what a client needs to connect to the simulator.
type Credentials struct {
	ClientID            string // application (client credentials) registered in the issuer
	ClientSecret        string
	IntegrationUser     string // user name of the integration user (password grant)
	IntegrationPassword string
	AdminUser           string // a System Administrator (password grant), e.g. to import the solution
	AdminPassword       string
	OrgName             string // organization unique name
	Tenant              string
}

// Fixed identities, so the demo and tests see the same values on every run.
const (
	appClientID         = "7d0c4a39-5f3e-4b8e-9a51-2c6e1f0b8d42"
	appClientSecret     = "sandbox-crm-client-secret-4f9a2b7c"
	integrationUser     = "integration@cronus-sandbox.onmicrosoft.com"
	integrationPassword = "Sandbox!Integration1"
	adminUser           = "admin@cronus-sandbox.onmicrosoft.com"
	adminPassword       = "Sandbox!Admin1"
	orgName             = "cronus"
	crmVersion          = "9.2.25113.00171"
)

// Server is one simulated Dataverse organisation.
type Server struct {
	opts   Options
	log    *slog.Logger
	clock  func() time.Time
	schema *Schema
	db     *db
	ids    wellKnown
	mux    *http.ServeMux

	requests atomic.Int64
}

// wellKnown are the ids of records the simulator itself refers to.
type wellKnown struct {
	org, rootBU, baseCurrency, appUser, integrationUser, admin, systemUser uuid.UUID
	roleSysAdmin, roleIntegrationAdmin, roleIntegrationUser                uuid.UUID
}

// New builds the simulator, seeds it and registers its application and users in
// opts.Identity.
func New(opts Options) (*Server, error) {
	if opts.Identity == nil {
		return nil, errors.New("dataverse: Options.Identity is required (the issuer whose tokens the simulator accepts)")
	}
	if opts.Logger == nil {
		return nil, errors.New("dataverse: Options.Logger is required")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Seed == "" {
		opts.Seed = "demo"
	}
	if opts.Seed != "demo" && opts.Seed != "none" {
		return nil, fmt.Errorf("dataverse: seed %q is unknown: use \"demo\" or \"none\"", opts.Seed)
	}
	if opts.Scale < 0 || opts.Scale > 10_000_000 {
		return nil, fmt.Errorf("dataverse: scale %d is out of range: use 0 to 10000000", opts.Scale)
	}
	s := &Server{opts: opts, log: opts.Logger, clock: opts.Clock}
	s.schema = &Schema{tables: map[string]*Table{}, sets: map[string]*Table{}}
	for _, t := range builtinTables() {
		if err := s.schema.add(t); err != nil {
			return nil, fmt.Errorf("dataverse: built-in schema: %w", err)
		}
		t.MetadataID = deterministicID("entity:" + t.Logical).String()
	}
	s.db = &db{schema: s.schema, stores: map[string]*tableStore{}, clock: opts.Clock,
		userRoles: map[uuid.UUID]map[uuid.UUID]bool{}, roleUsers: map[uuid.UUID]map[uuid.UUID]bool{}}
	if err := s.seedBase(); err != nil {
		return nil, fmt.Errorf("dataverse: seeding organisation: %w", err)
	}
	if opts.Seed == "demo" {
		if err := s.seedDemo(); err != nil {
			return nil, fmt.Errorf("dataverse: seeding demo data: %w", err)
		}
	}
	if opts.Scale > 0 {
		if err := s.seedScale(opts.Scale); err != nil {
			return nil, fmt.Errorf("dataverse: generating %d synthetic records: %w", opts.Scale, err)
		}
	}
	opts.Identity.RegisterClient(appClientID, appClientSecret, s.ids.appUser.String())
	opts.Identity.RegisterUser(integrationUser, integrationPassword, s.ids.integrationUser.String())
	opts.Identity.RegisterUser(adminUser, adminPassword, s.ids.admin.String())
	s.mux = http.NewServeMux()
	s.routes()
	return s, nil
}

// Credentials returns the connection values of the simulated organisation.
func (s *Server) Credentials() Credentials {
	return Credentials{ClientID: appClientID, ClientSecret: appClientSecret,
		IntegrationUser: integrationUser, IntegrationPassword: integrationPassword,
		AdminUser: adminUser, AdminPassword: adminPassword, OrgName: orgName, Tenant: s.opts.Identity.Tenant()}
}

// Handler serves the Web API under /api/data/v9.0|v9.1|v9.2/, the identity issuer's token
// endpoint, and control endpoints under /_sandbox/.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() {
	s.mux.HandleFunc("/api/data/{version}/{path...}", s.serveAPI)
	s.mux.HandleFunc("GET /_sandbox/stats", s.serveStats)
	s.mux.HandleFunc("GET /_sandbox/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	id := s.opts.Identity.Handler()
	s.mux.HandleFunc("/{tenant}/oauth2/{rest...}", func(w http.ResponseWriter, r *http.Request) { id.ServeHTTP(w, r) })
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, noSegment(strings.TrimPrefix(r.URL.Path, "/")))
	})
}

func validVersion(v string) bool { return v == "v9.0" || v == "v9.1" || v == "v9.2" }
