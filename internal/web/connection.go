package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/coupler/coupler/internal/links"
	"github.com/coupler/coupler/internal/orders"

	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/users"
)

// connectionView is what the connection page shows: the setup, which
// secrets are stored (never their values), encryption at rest, and the
// last checklist when one was just run.
type connectionView struct {
	Conn       setup.ConnectionSetup
	Exists     bool
	Secrets    []secretState
	Encryption secret.Status
	Checklist  *setup.Checklist
	Error      string
	// Mapped is "Current user is mapped": the CRM user id, or why not.
	MappedTo  string
	NotMapped string
	Mappings  []users.Mapping // after "Map users"
}

type secretState struct {
	Name string
	Set  bool
}

func (h *Handler) loadConnection(ctx context.Context) (connectionView, error) {
	var v connectionView
	c, err := h.setup.Load(ctx, setup.DefaultName)
	switch {
	case errors.Is(err, setup.ErrNoConnection):
	case err != nil:
		return v, err
	default:
		v.Conn, v.Exists = c, true
	}
	set, err := h.setup.ExistingSecrets(ctx, setup.DefaultName)
	if err != nil {
		return v, err
	}
	for _, n := range setup.SecretNames {
		v.Secrets = append(v.Secrets, secretState{Name: n, Set: set[n]})
	}
	if h.box != nil {
		if v.Encryption, err = h.box.Status(ctx); err != nil {
			return v, err
		}
	}
	return v, nil
}

func (h *Handler) connectionPage(w http.ResponseWriter, r *http.Request, status int, flash string, list *setup.Checklist, problem string) {
	v, err := h.loadConnection(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "read the connection: "+err.Error())
		return
	}
	v.Checklist, v.Error = list, problem
	if u, ok := currentUser(r.Context()); ok {
		_, err := users.ActAs(r.Context(), u, true)
		switch {
		case err != nil && !v.Conn.UsersMustMapToCRM && !u.Disabled:
			// Not required: say so instead of the refusal a required
			// mapping would give.
			v.NotMapped = "no CRM user is mapped to " + u.Email + "; not required by this connection: CRM changes go as the integration user (`coupler users map` maps users by e-mail)"
		case err != nil:
			v.NotMapped = err.Error()
		default:
			v.MappedTo = u.CRMUserID
		}
	}
	if m, ok := r.Context().Value(mappingsKey).([]users.Mapping); ok {
		v.Mappings = m
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	h.view(w, r, "connection", pageData{Title: "Connection", NavActive: "connection", Flash: flash, Data: v})
}

func (h *Handler) connection(w http.ResponseWriter, r *http.Request) {
	h.connectionPage(w, r, http.StatusOK, "", nil, "")
}

// connectionTest runs the checklist; htmx gets the checklist alone.
func (h *Handler) connectionTest(w http.ResponseWriter, r *http.Request) {
	list, err := h.setup.Test(r.Context(), setup.DefaultName)
	if err != nil {
		h.connectionPage(w, r, statusOf(err), "", nil, err.Error())
		return
	}
	if isHTMX(r) {
		h.part(w, r, "connection", "checklist", &list)
		return
	}
	h.connectionPage(w, r, http.StatusOK, "", &list, "")
}

func (h *Handler) connectionEnable(w http.ResponseWriter, r *http.Request) {
	list, err := h.setup.Enable(r.Context(), setup.DefaultName)
	if err != nil {
		h.connectionPage(w, r, statusOf(err), "", &list, err.Error()+": see the checklist")
		return
	}
	h.connectionPage(w, r, http.StatusOK, "The connection is enabled: synchronisation runs on schedule.", &list, "")
}

func (h *Handler) connectionDisable(w http.ResponseWriter, r *http.Request) {
	reason := "disabled by " + userName(r)
	if _, err := h.setup.Disable(r.Context(), setup.DefaultName, reason); err != nil {
		h.connectionPage(w, r, statusOf(err), "", nil, err.Error())
		return
	}
	h.connectionPage(w, r, http.StatusOK, "The connection is disabled: nothing synchronises; every setting is kept.", nil, "")
}

func (h *Handler) connectionResetWebClient(w http.ResponseWriter, r *http.Request) {
	u, err := h.setup.ResetWebClientURL(r.Context(), setup.DefaultName)
	if err != nil {
		h.connectionPage(w, r, statusOf(err), "", nil, err.Error())
		return
	}
	msg := "Web client URL reset to " + u + "."
	if err := h.refreshLinks(r.Context()); err != nil {
		h.log.Warn("ERP links refresh not queued", "err", err)
		msg += " The ERP links of coupled CRM records could not be queued for rewriting (" + err.Error() + "); they are rewritten at the next scheduled refresh."
	} else {
		msg += " The ERP links of coupled CRM records are being rewritten."
	}
	h.connectionPage(w, r, http.StatusOK, msg, nil, "")
}

// refreshLinks queues a rewrite of the ERP links after the web client URL
// changed.
func (h *Handler) refreshLinks(ctx context.Context) error {
	if h.insertJob == nil {
		return errors.New("no job queue is running")
	}
	_, err := h.insertJob(ctx, links.RefreshArgs{})
	return err
}

const mappingsKey ctxKey = 200

// mapUsers matches every coupler user to a CRM user by e-mail.
func (h *Handler) mapUsers(ctx context.Context) ([]users.Mapping, error) {
	if h.dial == nil {
		return nil, errors.New("no connection dialer is wired")
	}
	c, err := h.dial(ctx)
	if errors.Is(err, orders.ErrDisabled) {
		return nil, conflict("", "the connection is not enabled: enable it on the connection page first")
	}
	if err != nil {
		return nil, err
	}
	return h.users.MapAll(ctx, users.CRMDirectory{Client: c.CRM})
}

func (h *Handler) usersMap(w http.ResponseWriter, r *http.Request) {
	ms, err := h.mapUsers(r.Context())
	if err != nil {
		h.connectionPage(w, r, statusOf(err), "", nil, "map users: "+err.Error())
		return
	}
	mapped := 0
	for _, m := range ms {
		if m.Problem == nil {
			mapped++
		}
	}
	// The signed-in user may just have been mapped: read it again.
	ctx := context.WithValue(r.Context(), mappingsKey, ms)
	if u, ok := currentUser(ctx); ok {
		if fresh, err := h.users.Get(ctx, u.ID); err == nil {
			ctx = context.WithValue(ctx, userKey, fresh)
		}
	}
	h.connectionPage(w, r.WithContext(ctx), http.StatusOK, fmt.Sprintf("%d of %d user(s) mapped to CRM users.", mapped, len(ms)), nil, "")
}

func (h *Handler) apiUsersMap(w http.ResponseWriter, r *http.Request) {
	ms, err := h.mapUsers(r.Context())
	if err != nil {
		apiErr(w, err)
		return
	}
	out := make([]map[string]any, len(ms))
	for i, m := range ms {
		o := map[string]any{"email": m.User.Email, "crm_user_id": m.User.CRMUserID, "changed": m.Changed}
		if m.Problem != nil {
			o["problem"] = m.Problem.Error()
		}
		out[i] = o
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (h *Handler) encryptionEnable(w http.ResponseWriter, r *http.Request) {
	rep, err := h.box.Enable(r.Context())
	if err != nil {
		h.connectionPage(w, r, http.StatusInternalServerError, "", nil, "enable encryption: "+err.Error())
		return
	}
	msg := "Encryption at rest is enabled."
	if rep.KeyCreated {
		msg += " A key file was created at " + h.box.KeyPath() + ": back it up."
	}
	h.connectionPage(w, r, http.StatusOK, msg, nil, "")
}

func userName(r *http.Request) string {
	if u, ok := currentUser(r.Context()); ok {
		return u.Email
	}
	if u, ok := apiUser(r.Context()); ok {
		return u.Email + " (API)"
	}
	return "unknown"
}

// statusOf maps domain errors to HTTP statuses.
func statusOf(err error) int {
	var fe *setup.FieldError
	switch {
	case errors.Is(err, setup.ErrNoConnection), errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.As(err, &fe), errors.Is(err, errBadInput):
		return http.StatusUnprocessableEntity
	case errors.Is(err, users.ErrNotMapped), errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, setup.ErrTestFailed), errors.Is(err, errConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}
