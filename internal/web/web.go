// Package web serves coupler's HTTP surface: health probes, metrics, the
// signed-in web UI (html/template + embedded htmx) and, as features land,
// their pages and REST routes. All routes are declared in routes.go.
package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/coupler/coupler/internal/orders"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
	"github.com/coupler/coupler/internal/users"
)

// ReadyFunc reports whether a dependency (the store, the job queue) is usable.
type ReadyFunc func(ctx context.Context) error

// Options are the dependencies of the handler.
type Options struct {
	Logger *slog.Logger
	// Checks are run by /readyz, by name.
	Checks map[string]ReadyFunc
	// Users signs people in; nil serves only the probes and metrics.
	Users *users.Service
	// SessionKey signs session and CSRF cookies (32 random bytes, kept in
	// the database so that every instance accepts the same cookies). Nil
	// generates a key that lasts as long as the process.
	SessionKey []byte
	// SecureCookies marks cookies Secure; set when served over https.
	SecureCookies bool
	// Registry collects Prometheus metrics; nil uses a private registry.
	Registry *prometheus.Registry
	// Now is the clock (tests inject one).
	Now func() time.Time

	// Store, Setup and Secrets serve the feature pages and the REST API;
	// with a nil Store only sign-in and the overview are served.
	Store   store.Store
	Setup   *setup.Service
	Secrets *secret.Box
	// Engine returns the synchronisation engine of the enabled connection
	// (syncjobs.ErrDisabled otherwise): coupling and matching use it.
	Engine syncjobs.EngineFunc
	// Enqueue puts a "sync now" job on the job queue and returns its id.
	Enqueue func(ctx context.Context, a syncjobs.SyncArgs) (int64, error)
	// Dial returns the enabled connection's clients (orders.ErrDisabled
	// otherwise): the sales order, availability and links pages use it.
	Dial orders.DialFunc
	// InsertJob puts any feature's job on the queue (a links refresh after
	// the web client URL changed).
	InsertJob func(ctx context.Context, a river.JobArgs) (int64, error)
	// PublicURL is coupler's own URL (for the availability OData URL).
	PublicURL string
}

// Handler holds the dependencies of every route.
type Handler struct {
	log      *slog.Logger
	checks   map[string]ReadyFunc
	users    *users.Service
	sessions *sessions
	pages    *pages
	registry *prometheus.Registry
	limiter  *loginLimiter
	mux      *http.ServeMux
	root     http.Handler
	routes   []Route

	st        store.Store
	setup     *setup.Service
	box       *secret.Box
	engine    syncjobs.EngineFunc
	enqueue   func(ctx context.Context, a syncjobs.SyncArgs) (int64, error)
	publicURL string
	now       func() time.Time
	dial      orders.DialFunc
	insertJob func(ctx context.Context, a river.JobArgs) (int64, error)
}

// Route is one registered route and the least role it needs ("" = public).
type Route struct {
	Pattern string
	Role    users.Role
}

// New builds the handler with every route registered; it fails when a
// template does not parse, so a broken page stops the start, not a user.
func New(opts Options) (*Handler, error) {
	key := opts.SessionKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		log: opts.Logger, checks: opts.Checks, users: opts.Users, pages: p, registry: reg,
		sessions: &sessions{key: key, ttl: 12 * time.Hour, now: now, secure: opts.SecureCookies},
		limiter:  newLoginLimiter(6*time.Second, 5),
		mux:      http.NewServeMux(),
		st:       opts.Store, setup: opts.Setup, box: opts.Secrets, engine: opts.Engine, enqueue: opts.Enqueue,
		publicURL: opts.PublicURL, now: now, dial: opts.Dial, insertJob: opts.InsertJob,
	}
	h.registerRoutes()
	h.root = securityHeaders(h.mux)
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.root.ServeHTTP(w, r) }

// Routes lists every registered route with the role it needs, so a test can
// walk them all and check that none answers a stranger.
func (h *Handler) Routes() []Route { return append([]Route(nil), h.routes...) }

// public registers a route anyone may call.
func (h *Handler) public(pattern string, fn http.HandlerFunc) {
	h.routes = append(h.routes, Route{Pattern: pattern})
	h.mux.HandleFunc(pattern, fn)
}

// page registers a route that needs a signed-in user with at least role.
func (h *Handler) page(pattern string, role users.Role, fn http.HandlerFunc) {
	h.routes = append(h.routes, Route{Pattern: pattern, Role: role})
	h.mux.HandleFunc(pattern, h.requireRole(role, fn))
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	status, failed := http.StatusOK, map[string]string{}
	for name, check := range h.checks {
		if err := check(ctx); err != nil {
			status = http.StatusServiceUnavailable
			failed[name] = err.Error()
		}
	}
	body := map[string]any{"status": "ready"}
	if len(failed) > 0 {
		body = map[string]any{"status": "not ready", "failed": failed}
	}
	writeJSON(w, status, body)
}

// fail answers an error as JSON to API and htmx callers and as a page to
// browsers.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, APIError{Code: errorCode(status), Message: msg})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	h.pages.render(w, "error", pageData{Title: http.StatusText(status), Message: msg})
}

func wantsJSON(r *http.Request) bool {
	return r.Header.Get("HX-Request") != "" || len(r.URL.Path) >= 5 && r.URL.Path[:5] == "/api/" ||
		r.Header.Get("Accept") == "application/json"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
