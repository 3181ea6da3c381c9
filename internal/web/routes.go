package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/coupler/coupler/internal/users"
)

const (
	viewer   = users.RoleViewer
	operator = users.RoleOperator
	admin    = users.RoleAdmin
)

// registerRoutes declares every route in one place, with the least role it
// needs: viewers read, operators synchronise, retry and couple, admins edit
// the setup, the mappings and see the users.
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
	h.page("POST /signout", viewer, h.signout)
	h.page("GET /{$}", viewer, h.home)
	if h.st == nil {
		return
	}
	h.page("GET /connection", viewer, h.connection)
	h.page("POST /connection/test", admin, h.connectionTest)
	h.page("POST /connection/enable", admin, h.connectionEnable)
	h.page("POST /connection/disable", admin, h.connectionDisable)
	h.page("POST /connection/reset-web-client-url", admin, h.connectionResetWebClient)
	h.page("POST /encryption/enable", admin, h.encryptionEnable)
	h.page("GET /setup", admin, h.setupForm)
	h.page("POST /setup", admin, h.setupSubmit)

	h.page("GET /mappings", viewer, h.mappingsList)
	h.page("GET /mappings/{name}", viewer, h.mappingDetail)
	h.page("POST /mappings/{name}", admin, h.mappingEdit)
	h.page("POST /mappings/reset", admin, h.mappingsReset)

	h.page("GET /couplings", viewer, h.couplings)
	h.page("POST /couplings/couple", operator, h.couplingsCouple)
	h.page("POST /couplings/decouple", operator, h.couplingsDecouple)
	h.page("POST /couplings/match", operator, h.couplingsMatch)

	h.page("GET /sync", viewer, h.syncOverview)
	h.page("GET /sync/runs", viewer, h.syncRuns)
	h.page("POST /sync/run", operator, h.syncNow)

	h.page("GET /errors", viewer, h.errorsList)
	h.page("GET /errors/{id}", viewer, h.errorDetail)
	h.page("POST /errors/{id}/retry", operator, h.errorRetry)
	h.page("POST /errors/restore", operator, h.errorsRestore)

	h.page("GET /users", admin, h.usersList)
	h.page("GET /tokens", viewer, h.tokens)
	h.page("POST /tokens", viewer, h.tokenCreate)
	h.page("POST /tokens/{id}/delete", viewer, h.tokenDelete)
	h.page("POST /users/map", admin, h.usersMap)
	h.page("GET /orders", viewer, h.ordersList)
	h.page("POST /orders/create", operator, h.ordersCreate)
	h.page("GET /availability", viewer, h.availabilityShow)
	h.page("POST /availability/keys", admin, h.availabilityKeyCreate)
	h.page("POST /availability/keys/{id}/revoke", admin, h.availabilityKeyRevoke)

	h.public("GET /api/v1/openapi.json", h.openAPI)
	h.api("GET /api/v1/connection", viewer, h.apiConnection)
	h.api("POST /api/v1/connection/test", admin, h.apiConnectionTest)
	h.api("POST /api/v1/connection/enable", admin, h.apiConnectionEnable)
	h.api("POST /api/v1/connection/disable", admin, h.apiConnectionDisable)
	h.api("POST /api/v1/connection/reset-web-client-url", admin, h.apiResetWebClient)
	h.api("GET /api/v1/mappings", viewer, h.apiMappings)
	h.api("POST /api/v1/mappings/reset", admin, h.apiMappingsReset)
	h.api("GET /api/v1/mappings/{name}", viewer, h.apiMapping)
	h.api("PUT /api/v1/mappings/{name}", admin, h.apiMappingPut)
	h.api("GET /api/v1/jobs", viewer, h.apiJobs)
	h.api("POST /api/v1/sync", operator, h.apiSync)
	h.api("GET /api/v1/errors", viewer, h.apiErrors)
	h.api("POST /api/v1/errors/{id}/retry", operator, h.apiErrorRetry)
	h.api("POST /api/v1/errors/restore", operator, h.apiRestore)
	h.api("GET /api/v1/couplings", viewer, h.apiCouplings)
	h.api("POST /api/v1/couplings", operator, h.apiCouple)
	h.api("DELETE /api/v1/couplings/{mapping}/{erp_id}", operator, h.apiDecouple)
	h.api("POST /api/v1/couplings/match", operator, h.apiMatch)
	h.api("GET /api/v1/users", admin, h.apiUsers)
	h.api("POST /api/v1/users/map", admin, h.apiUsersMap)
	h.api("GET /api/v1/orders/pending", viewer, h.apiOrdersPending)
	h.api("POST /api/v1/orders/create", operator, h.apiOrdersCreate)
	h.api("GET /api/v1/availability", viewer, h.apiAvailability)
	h.api("POST /api/v1/availability/keys", admin, h.apiServiceKeyCreate)
	h.api("DELETE /api/v1/availability/keys/{id}", admin, h.apiServiceKeyRevoke)
}

// api registers a REST route authenticated by API token.
func (h *Handler) api(pattern string, role users.Role, fn http.HandlerFunc) {
	h.routes = append(h.routes, Route{Pattern: pattern, Role: role})
	h.mux.HandleFunc(pattern, h.requireToken(role, fn))
}

var _ http.Handler = (*Handler)(nil)
