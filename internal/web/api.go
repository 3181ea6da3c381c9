package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/users"
)

const apiUserKey ctxKey = 100

func apiUser(ctx context.Context) (users.User, bool) {
	u, ok := ctx.Value(apiUserKey).(users.User)
	return u, ok
}

// requireToken authenticates an API call by its bearer token (hashed and
// looked up) and checks the user's role. Tokens are not cookies, so no
// CSRF token is needed.
func (h *Handler) requireToken(min users.Role, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || !strings.HasPrefix(tok, tokenPrefix) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="coupler"`)
			apiFail(w, http.StatusUnauthorized, "", "send an API token as Authorization: Bearer cpl_… (create one on the API tokens page)")
			return
		}
		t, err := h.st.GetAPITokenByHash(r.Context(), hashToken(strings.TrimSpace(tok)))
		var u users.User
		if err == nil {
			u, err = h.users.Get(r.Context(), t.UserID)
		}
		if err != nil || u.Disabled {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				h.log.Error("API token lookup failed", "err", err)
				apiFail(w, http.StatusInternalServerError, "", "the token could not be checked; see the server log")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="coupler", error="invalid_token"`)
			apiFail(w, http.StatusUnauthorized, "", "the API token is unknown, revoked or its user is disabled")
			return
		}
		if !u.Role.Can(min) {
			apiFail(w, http.StatusForbidden, "", "your role ("+string(u.Role)+") may not do this; it needs "+string(min))
			return
		}
		if err := h.st.TouchAPIToken(r.Context(), t.ID, h.now()); err != nil {
			h.log.Warn("API token use not recorded", "err", err)
		}
		next(w, r.WithContext(context.WithValue(r.Context(), apiUserKey, u)))
	}
}

func apiFail(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, APIError{Code: errorCode(status), Message: msg, Field: field})
}

// apiErr answers a domain error with its status and field.
func apiErr(w http.ResponseWriter, err error) {
	var fe *setup.FieldError
	field := fieldOf(err)
	if errors.As(err, &fe) {
		field = fe.Field
	}
	apiFail(w, statusOf(err), field, err.Error())
}

// decodeBody reads a JSON body strictly: unknown fields are refused.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badInput("", "the request body is not the expected JSON: %v", err)
	}
	return nil
}

type jobJSON struct {
	ID         int64         `json:"id"`
	Mapping    string        `json:"mapping"`
	Trigger    string        `json:"trigger"`
	Status     string        `json:"status"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt *time.Time    `json:"finished_at,omitempty"`
	Counts     syncer.Counts `json:"counts"`
	Message    string        `json:"message,omitempty"`
}

func toJob(j syncer.Job) jobJSON {
	o := jobJSON{ID: j.ID, Mapping: j.Mapping, Trigger: j.Trigger, Status: j.Status, StartedAt: j.StartedAt, Counts: j.Counts, Message: j.Message}
	if !j.FinishedAt.IsZero() {
		o.FinishedAt = &j.FinishedAt
	}
	return o
}

type errorJSON struct {
	ID         int64      `json:"id"`
	JobID      int64      `json:"job_id"`
	Mapping    string     `json:"mapping"`
	Direction  string     `json:"direction"`
	ERPID      string     `json:"erp_id,omitempty"`
	CRMID      string     `json:"crm_id,omitempty"`
	Field      string     `json:"field,omitempty"`
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	Payload    string     `json:"payload,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
}

func toError(e syncer.SyncError) errorJSON {
	o := errorJSON{e.ID, e.JobID, e.Mapping, e.Direction, e.ERPID, e.CRMID, e.Field, e.Code, e.Message, e.Payload, e.CreatedAt, nil}
	if !e.ResolvedAt.IsZero() {
		o.ResolvedAt = &e.ResolvedAt
	}
	return o
}

type couplingJSON struct {
	Mapping    string    `json:"mapping"`
	ERPID      string    `json:"erp_id"`
	CRMID      string    `json:"crm_id"`
	LastResult string    `json:"last_result,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	Skipped    bool      `json:"skipped"`
	FailCount  int       `json:"fail_count"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func toCoupling(c syncer.Coupling) couplingJSON {
	return couplingJSON{c.Mapping, c.ERPID, c.CRMID, c.LastResult, c.LastError, c.Skipped, c.FailCount, c.UpdatedAt}
}

func (h *Handler) apiConnection(w http.ResponseWriter, r *http.Request) {
	v, err := h.loadConnection(r.Context())
	if err != nil {
		apiErr(w, err)
		return
	}
	secrets := map[string]bool{}
	for _, s := range v.Secrets {
		secrets[s.Name] = s.Set
	}
	var conn any
	if v.Exists {
		conn = v.Conn
	}
	writeJSON(w, http.StatusOK, map[string]any{"connection": conn, "secrets": secrets,
		"encryption": map[string]any{"state": string(v.Encryption.State), "key_id": v.Encryption.CurrentKeyID, "plaintext_secrets": v.Encryption.Plaintext, "warning": v.Encryption.Warning}})
}

func (h *Handler) apiConnectionTest(w http.ResponseWriter, r *http.Request) {
	list, err := h.setup.Test(r.Context(), setup.DefaultName)
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": list.OK(), "checklist": list})
}

func (h *Handler) apiConnectionEnable(w http.ResponseWriter, r *http.Request) {
	list, err := h.setup.Enable(r.Context(), setup.DefaultName)
	if errors.Is(err, setup.ErrTestFailed) {
		writeJSON(w, http.StatusConflict, map[string]any{"code": "conflict", "message": err.Error() + ": see the checklist", "checklist": list})
		return
	}
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "checklist": list})
}

func (h *Handler) apiConnectionDisable(w http.ResponseWriter, r *http.Request) {
	c, err := h.setup.Disable(r.Context(), setup.DefaultName, "disabled by "+userName(r))
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"connection": c})
}

func (h *Handler) apiResetWebClient(w http.ResponseWriter, r *http.Request) {
	u, err := h.setup.ResetWebClientURL(r.Context(), setup.DefaultName)
	if err != nil {
		apiErr(w, err)
		return
	}
	queued := h.refreshLinks(r.Context()) == nil
	writeJSON(w, http.StatusOK, map[string]any{"web_client_url": u, "links_refresh_queued": queued})
}

func (h *Handler) apiMappings(w http.ResponseWriter, r *http.Request) {
	ms, err := h.mappings(r.Context())
	if err != nil {
		apiErr(w, err)
		return
	}
	if o, err := mapping.Order(ms); err == nil {
		ms = o
	}
	writeJSON(w, http.StatusOK, map[string]any{"mappings": ms})
}

func (h *Handler) apiMapping(w http.ResponseWriter, r *http.Request) {
	m, _, err := h.findMapping(r.Context(), r.PathValue("name"))
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (h *Handler) apiMappingPut(w http.ResponseWriter, r *http.Request) {
	old, all, err := h.findMapping(r.Context(), r.PathValue("name"))
	if err != nil {
		apiErr(w, err)
		return
	}
	var m mapping.TableMapping
	if err := decodeBody(r, &m); err != nil {
		apiErr(w, err)
		return
	}
	if m.Name != old.Name {
		apiFail(w, http.StatusUnprocessableEntity, "name", "the body describes mapping "+strconv.Quote(m.Name)+", not "+strconv.Quote(old.Name)+": a mapping cannot be renamed")
		return
	}
	if err := h.saveMapping(r.Context(), m, all); err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (h *Handler) apiMappingsReset(w http.ResponseWriter, r *http.Request) {
	n, err := h.resetMappings(r.Context())
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"mappings": n})
}

func queryLimit(r *http.Request, def int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, badInput("limit", "limit %q is not a number from 1 to 1000", s)
	}
	return n, nil
}

func (h *Handler) apiJobs(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r, 50)
	if err != nil {
		apiErr(w, err)
		return
	}
	js, err := h.st.ListJobs(r.Context(), store.JobFilter{Mapping: r.URL.Query().Get("mapping"), Limit: limit})
	if err != nil {
		apiErr(w, err)
		return
	}
	out := make([]jobJSON, len(js))
	for i, j := range js {
		out[i] = toJob(j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": out})
}

type syncRequest struct {
	Mappings []string `json:"mappings"`
	Full     bool     `json:"full"`
	Records  []string `json:"records"`
}

func (h *Handler) apiSync(w http.ResponseWriter, r *http.Request) {
	var req syncRequest
	if err := decodeBody(r, &req); err != nil {
		apiErr(w, err)
		return
	}
	if len(req.Records) > 0 && (len(req.Mappings) != 1 || req.Full) {
		apiFail(w, http.StatusUnprocessableEntity, "records", "records need exactly one mapping and no full synchronisation")
		return
	}
	trigger := "manual"
	switch {
	case req.Full:
		trigger = "full"
	case len(req.Records) > 0:
		trigger = "record"
	}
	id, err := h.startSync(r.Context(), req.Mappings, req.Full, req.Records, trigger)
	if err != nil {
		apiErr(w, err)
		return
	}
	status := http.StatusAccepted
	if len(req.Records) > 0 {
		status = http.StatusOK // ran in the request, as the caller
	}
	writeJSON(w, status, map[string]int64{"job_id": id})
}

func (h *Handler) apiErrors(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r, 100)
	if err != nil {
		apiErr(w, err)
		return
	}
	q := r.URL.Query()
	es, err := h.st.ListErrors(r.Context(), store.ErrorFilter{Mapping: q.Get("mapping"), OpenOnly: q.Get("all") != "true", Limit: limit})
	if err != nil {
		apiErr(w, err)
		return
	}
	out := make([]errorJSON, len(es))
	for i, e := range es {
		out[i] = toError(e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"errors": out})
}

func (h *Handler) apiErrorRetry(w http.ResponseWriter, r *http.Request) {
	id, _, err := h.retryError(r.Context(), r.PathValue("id"))
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int64{"job_id": id})
}

func (h *Handler) apiRestore(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mapping string `json:"mapping"`
	}
	if err := decodeBody(r, &req); err != nil {
		apiErr(w, err)
		return
	}
	n, err := h.restoreSkipped(r.Context(), req.Mapping)
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"restored": n})
}

func (h *Handler) apiCouplings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("mapping") == "" {
		apiFail(w, http.StatusUnprocessableEntity, "mapping", "give ?mapping=NAME")
		return
	}
	_, rows, more, err := h.searchCouplings(r.Context(), q.Get("mapping"), q.Get("q"))
	if err != nil {
		apiErr(w, err)
		return
	}
	out := make([]couplingJSON, len(rows))
	for i, c := range rows {
		out[i] = toCoupling(c.Coupling)
	}
	writeJSON(w, http.StatusOK, map[string]any{"couplings": out, "more": more})
}

func (h *Handler) apiCouple(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mapping string `json:"mapping"`
		ERPID   string `json:"erp_id"`
		CRMID   string `json:"crm_id"`
	}
	if err := decodeBody(r, &req); err != nil {
		apiErr(w, err)
		return
	}
	c, err := h.couple(r.Context(), req.Mapping, req.ERPID, req.CRMID)
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, toCoupling(c))
}

func (h *Handler) apiDecouple(w http.ResponseWriter, r *http.Request) {
	if err := h.decouple(r.Context(), r.PathValue("mapping"), r.PathValue("erp_id")); err != nil {
		apiErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) apiMatch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mapping string `json:"mapping"`
		DryRun  *bool  `json:"dry_run"`
	}
	if err := decodeBody(r, &req); err != nil {
		apiErr(w, err)
		return
	}
	dry := req.DryRun == nil || *req.DryRun
	res, err := h.match(r.Context(), req.Mapping, dry)
	if err != nil {
		apiErr(w, err)
		return
	}
	pairs := make([]map[string]string, len(res.Pairs))
	for i, p := range res.Pairs {
		pairs[i] = map[string]string{"erp_id": p.ERPID, "crm_id": p.CRMID, "on": p.On}
	}
	writeJSON(w, http.StatusOK, map[string]any{"mapping": res.Mapping, "dry_run": res.DryRun, "pairs": pairs,
		"ambiguous": res.Ambiguous, "unmatched_erp": res.UnmatchedER})
}

func (h *Handler) apiUsers(w http.ResponseWriter, r *http.Request) {
	us, err := h.users.List(r.Context())
	if err != nil {
		apiErr(w, err)
		return
	}
	out := make([]map[string]any, len(us))
	for i, u := range us {
		out[i] = map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "role": u.Role, "crm_user_id": u.CRMUserID, "disabled": u.Disabled}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) {
	b, err := staticFS.ReadFile("static/openapi.json")
	if err != nil {
		apiFail(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
