// Package web serves coupler's HTTP surface: health probes now, and the UI,
// REST API and metrics as they land. All routes are declared in routes.
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// ReadyFunc reports whether a dependency (the store, the job queue) is usable.
type ReadyFunc func(ctx context.Context) error

// Options are the dependencies of the handler.
type Options struct {
	Logger *slog.Logger
	// Checks are run by /readyz, by name.
	Checks map[string]ReadyFunc
}

// Handler holds the dependencies of every route.
type Handler struct {
	log    *slog.Logger
	checks map[string]ReadyFunc
	mux    *http.ServeMux
}

// New builds the handler with every route registered.
func New(opts Options) *Handler {
	h := &Handler{log: opts.Logger, checks: opts.Checks, mux: http.NewServeMux()}
	h.routes()
	return h
}

func (h *Handler) routes() {
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Mux exposes the router so that later features register their routes.
func (h *Handler) Mux() *http.ServeMux { return h.mux }

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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
