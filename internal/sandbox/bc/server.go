// Package bc simulates the Business Central API v2.0 (online and on-premises URL layouts)
// over real HTTP: entity sets with BC's names and fields, OData queries with server-driven
// paging, ETag-guarded writes, bound actions with their effects on stock and documents,
// JSON $batch, BC's error shapes, OAuth and web-service-key authentication, limits and
// faults, a minimal web client, and a /_sandbox/ control surface for what an ERP user does
// by hand.
package bc

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/coupler/coupler/internal/sandbox/limits"
)

// Options configures a simulator.
type Options struct {
	Identity *identity.Issuer // required: verifies bearer tokens; New registers its app in it
	Seed     string           // "demo" (CRONUS International Ltd.) or "none"/"" (empty company)
	Scale    int              // synthetic customers/contacts (and Scale/10 items) added to the seed
	Limiter  *limits.Limiter  // nil = no request limits
	Faults   *faults.Injector // nil = no injected faults
	Logger   *slog.Logger
	Clock    func() time.Time
	// Environment and Instance name the online environment and the on-premises server
	// instance in URLs; defaults "production" and "BC".
	Environment, Instance string
}

// Credentials are what a client needs to reach the simulator.
type Credentials struct {
	ClientID, ClientSecret string // OAuth client credentials (online layout)
	Tenant, Environment    string
	CompanyID              string
	CompanyName            string
	User, WebServiceKey    string // HTTP Basic on the on-premises layout
	Instance               string // on-premises server instance
	Scope                  string // https://api.businesscentral.dynamics.com/.default
}

// Audience is the resource of Business Central online tokens.
const Audience = "https://api.businesscentral.dynamics.com"

// Server is one simulated Business Central tenant/environment with one company.
type Server struct {
	log      *slog.Logger
	clock    func() time.Time
	issuer   *identity.Issuer
	limiter  *limits.Limiter
	faults   *faults.Injector
	sets     map[string]*entitySet
	setOrder []string
	creds    Credentials
	appUser  string // userSecurityId of the OAuth application user
	wsUser   string // userSecurityId of the web-service-key user
	ver      atomic.Uint64
	company  *company
	handler  http.Handler
}

// New builds a simulator, seeds it and registers its application in the issuer.
func New(opts Options) (*Server, error) {
	if opts.Identity == nil {
		return nil, fmt.Errorf("bc: Options.Identity is required (the issuer that signs bearer tokens)")
	}
	if opts.Scale < 0 {
		return nil, fmt.Errorf("bc: Options.Scale must be >= 0, got %d", opts.Scale)
	}
	s := &Server{log: opts.Logger, clock: opts.Clock, issuer: opts.Identity, limiter: opts.Limiter, faults: opts.Faults}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	sets, order, err := buildSchema()
	if err != nil {
		return nil, fmt.Errorf("bc: %w", err)
	}
	s.sets, s.setOrder = sets, order
	env, inst := opts.Environment, opts.Instance
	if env == "" {
		env = "production"
	}
	if inst == "" {
		inst = "BC"
	}
	name := "CRONUS International Ltd."
	c := newCompany(sets, seedID("companies", name), name, s.clock, &s.ver)
	c.lcy = "GBP"
	switch opts.Seed {
	case "demo":
		if err := c.seedDemo(); err != nil {
			return nil, fmt.Errorf("bc: demo seed: %w", err)
		}
	case "", "none":
	default:
		return nil, fmt.Errorf("bc: unknown seed %q: use \"demo\" or \"none\"", opts.Seed)
	}
	if err := c.seedScale(opts.Scale); err != nil {
		return nil, fmt.Errorf("bc: %w", err)
	}
	s.company = c
	s.creds = Credentials{
		ClientID: seedID("applications", "coupler"), ClientSecret: randomClientSecret(),
		Tenant: opts.Identity.Tenant(), Environment: env, CompanyID: c.id, CompanyName: c.name,
		User: "ADMIN", WebServiceKey: randomSecret(32), Instance: inst, Scope: Audience + "/.default",
	}
	s.appUser, s.wsUser = seedID("users", "coupler-app"), seedID("users", "ADMIN")
	s.seedUsers()
	opts.Identity.RegisterClient(s.creds.ClientID, s.creds.ClientSecret, s.appUser)
	s.handler = s.routes()
	return s, nil
}

// randomClientSecret looks like an Entra ID secret: 40 URL-safe characters.
func randomClientSecret() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomSecret is standard base64 (a 32-byte web service access key gives BC's 44 characters).
func randomSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b)
}

// seedUsers creates the automation API's users: the application, the web-service user and
// one user per salesperson (so user mapping by e-mail has something to match).
func (s *Server) seedUsers() {
	c := s.company
	t := c.tables["users"]
	us := t.set
	add := func(id, name, display, email string) {
		c.insertRaw(nil, t, id, map[int]any{us.index["userName"]: name, us.index["displayName"]: display,
			us.index["state"]: "Enabled", us.index["contactEmail"]: email})
	}
	add(s.appUser, "COUPLER-APP", "coupler integration application", "")
	add(s.wsUser, s.creds.User, "Administrator", "admin@cronus.example")
	sp := c.tables["salespeoplePurchasers"]
	for _, r := range sp.sorted() {
		code := sp.str(r, "code")
		add(seedID("users", code), code, sp.str(r, "displayName"), strings.ToLower(sp.str(r, "email")))
	}
}

// Handler serves the whole simulator: both API layouts, the web client and /_sandbox/.
func (s *Server) Handler() http.Handler { return s.handler }

// Credentials returns the secrets and names clients need.
func (s *Server) Credentials() Credentials { return s.creds }

// APIRootPath is the online API root: /v2.0/{tenant}/{environment}/api/v2.0.
func (s *Server) APIRootPath() string {
	return "/v2.0/" + s.creds.Tenant + "/" + s.creds.Environment + "/api/v2.0"
}

// AutomationRootPath is the online automation API root (users).
func (s *Server) AutomationRootPath() string {
	return "/v2.0/" + s.creds.Tenant + "/" + s.creds.Environment + "/api/microsoft/automation/v2.0"
}

// OnPremAPIRootPath is the on-premises API root: /{instance}/api/v2.0.
func (s *Server) OnPremAPIRootPath() string { return "/" + s.creds.Instance + "/api/v2.0" }

// WebClientPath is the web client's base path: /{tenant}/{environment}/.
func (s *Server) WebClientPath() string {
	return "/" + s.creds.Tenant + "/" + s.creds.Environment + "/"
}

// WebClientRecordPath is the deep link of one record: page 21 customer card, 30 item card,
// 42 sales order, 41 sales quote, 43 sales invoice, 5050 contact, 26 vendor.
func (s *Server) WebClientRecordPath(page int, number string) string {
	return s.WebClientPath() + "?company=" + urlQueryEscape(s.company.name) + "&page=" + fmt.Sprint(page) +
		"&filter=" + urlQueryEscape("'No.' IS '"+number+"'")
}
