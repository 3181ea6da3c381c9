package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/availability"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
)

type availabilityView struct {
	ServiceURL string // what the CRM calls
	EntityURL  string
	UserName   string // the ERP user name of the setup
	Enabled    bool
	Keys       []store.ServiceKey
	NewKey     string // shown once, right after creation
	NewUser    string
	Problem    string
}

// serviceURL is the OData root the CRM is given: the setup's field when
// set, else coupler's public URL, else the address this request came to.
func (h *Handler) serviceURL(c setup.ConnectionSetup, r *http.Request) string {
	if c.Availability.ODataURL != "" {
		return c.Availability.ODataURL
	}
	if h.publicURL != "" {
		return strings.TrimRight(h.publicURL, "/") + "/odata/v4/"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/odata/v4/"
}

func (h *Handler) loadAvailability(r *http.Request) (availabilityView, error) {
	ctx := r.Context()
	var v availabilityView
	c, err := h.st.GetConnection(ctx, setup.DefaultName)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	v.ServiceURL, v.UserName, v.Enabled = h.serviceURL(c, r), c.Availability.UserName, c.Availability.Enabled
	// The setup's field holds the entity set's URL (as BC's OData URL).
	if root, ok := strings.CutSuffix(strings.TrimRight(v.ServiceURL, "/"), "/"+availability.EntitySet); ok {
		v.ServiceURL = root + "/"
	}
	v.EntityURL = strings.TrimRight(v.ServiceURL, "/") + "/" + availability.EntitySet
	v.Keys, err = h.st.ListServiceKeys(ctx)
	return v, err
}

func (h *Handler) availabilityPage(w http.ResponseWriter, r *http.Request, status int, v availabilityView, flash string) {
	loaded, err := h.loadAvailability(r)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "read the web service keys: "+err.Error())
		return
	}
	loaded.NewKey, loaded.NewUser, loaded.Problem = v.NewKey, v.NewUser, v.Problem
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	h.view(w, r, "availability", pageData{Title: "Item availability", NavActive: "availability", Flash: flash, Data: loaded})
}

func (h *Handler) availabilityShow(w http.ResponseWriter, r *http.Request) {
	h.availabilityPage(w, r, http.StatusOK, availabilityView{}, "")
}

// createServiceKey issues a key for an ERP user name (the setup's when
// none is given).
func (h *Handler) createServiceKey(ctx context.Context, userName string) (string, store.ServiceKey, error) {
	userName = strings.TrimSpace(userName)
	if userName == "" {
		if c, err := h.st.GetConnection(ctx, setup.DefaultName); err == nil {
			userName = c.Availability.UserName
		}
	}
	if userName == "" {
		return "", store.ServiceKey{}, badInput("user_name", "give the ERP user name the CRM will send with the key (or set it in the assisted setup)")
	}
	return availability.CreateKey(ctx, h.st, userName)
}

func (h *Handler) revokeServiceKey(ctx context.Context, raw string) error {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return badInput("id", "web service key id %q is not a positive number", raw)
	}
	err = availability.RevokeKey(ctx, h.st, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("id", "no valid web service key %d (unknown or already revoked)", id)
	}
	return err
}

func (h *Handler) availabilityKeyCreate(w http.ResponseWriter, r *http.Request) {
	key, k, err := h.createServiceKey(r.Context(), r.PostFormValue("user_name"))
	if err != nil {
		h.availabilityPage(w, r, statusOf(err), availabilityView{Problem: err.Error()}, "")
		return
	}
	h.availabilityPage(w, r, http.StatusOK, availabilityView{NewKey: key, NewUser: k.UserName},
		"Key created for "+k.UserName+": copy it now, it is not shown again.")
}

func (h *Handler) availabilityKeyRevoke(w http.ResponseWriter, r *http.Request) {
	if err := h.revokeServiceKey(r.Context(), r.PathValue("id")); err != nil {
		h.availabilityPage(w, r, statusOf(err), availabilityView{Problem: err.Error()}, "")
		return
	}
	h.availabilityPage(w, r, http.StatusOK, availabilityView{}, "Key "+r.PathValue("id")+" revoked: the CRM can no longer use it.")
}

type serviceKeyJSON struct {
	ID         int64      `json:"id"`
	UserName   string     `json:"user_name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Key        string     `json:"key,omitempty"` // only in the creation answer
}

func toServiceKey(k store.ServiceKey) serviceKeyJSON {
	o := serviceKeyJSON{ID: k.ID, UserName: k.UserName, Prefix: k.Prefix, CreatedAt: k.CreatedAt}
	if !k.RevokedAt.IsZero() {
		o.RevokedAt = &k.RevokedAt
	}
	if !k.LastUsedAt.IsZero() {
		o.LastUsedAt = &k.LastUsedAt
	}
	return o
}

func (h *Handler) apiAvailability(w http.ResponseWriter, r *http.Request) {
	v, err := h.loadAvailability(r)
	if err != nil {
		apiErr(w, err)
		return
	}
	keys := make([]serviceKeyJSON, len(v.Keys))
	for i, k := range v.Keys {
		keys[i] = toServiceKey(k)
	}
	writeJSON(w, http.StatusOK, map[string]any{"service_url": v.ServiceURL, "entity_url": v.EntityURL, "user_name": v.UserName, "enabled": v.Enabled, "keys": keys})
}

func (h *Handler) apiServiceKeyCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserName string `json:"user_name"`
	}
	if err := decodeBody(r, &req); err != nil {
		apiErr(w, err)
		return
	}
	key, k, err := h.createServiceKey(r.Context(), req.UserName)
	if err != nil {
		apiErr(w, err)
		return
	}
	o := toServiceKey(k)
	o.Key = key
	writeJSON(w, http.StatusCreated, o)
}

func (h *Handler) apiServiceKeyRevoke(w http.ResponseWriter, r *http.Request) {
	if err := h.revokeServiceKey(r.Context(), r.PathValue("id")); err != nil {
		apiErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
