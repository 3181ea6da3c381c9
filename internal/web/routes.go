package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/coupler/coupler/internal/users"
)

// registerRoutes declares every route in one place.
func (h *Handler) registerRoutes() {
	h.public("GET /healthz", h.healthz)
	h.public("GET /readyz", h.readyz)
	h.public("GET /metrics", promhttp.HandlerFor(h.registry, promhttp.HandlerOpts{}).ServeHTTP)
	h.public("GET /static/", staticHandler().ServeHTTP)
	if h.users == nil {
		return
	}
	h.public("GET /signin", h.signinForm)
	h.public("POST /signin", h.signin)
	h.page("POST /signout", users.RoleViewer, h.signout)
	h.page("GET /{$}", users.RoleViewer, h.home)
}

var _ http.Handler = (*Handler)(nil)
