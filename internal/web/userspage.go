package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/users"
)

func (h *Handler) usersList(w http.ResponseWriter, r *http.Request) {
	us, err := h.users.List(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	h.view(w, r, "users", pageData{Title: "Users", NavActive: "users", Data: us})
}

type tokensView struct {
	Tokens []store.APIToken
	New    string // shown once, right after creation
}

// tokenPrefix starts every API token, so that a leaked one is recognisable
// by secret scanners.
const tokenPrefix = "cpl_"

func hashToken(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// createToken makes a token for the user; only its hash is stored.
func (h *Handler) createToken(ctx context.Context, u users.User, name string) (string, store.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", store.APIToken{}, badInput("name", "give the token a name of 1 to 100 characters (what it is for)")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", store.APIToken{}, err
	}
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	t, err := h.st.CreateAPIToken(ctx, store.APIToken{UserID: u.ID, Name: name, Hash: hashToken(tok), Prefix: tok[:10], CreatedAt: h.now()})
	return tok, t, err
}

func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request, status int, v tokensView, flash string) {
	u, _ := currentUser(r.Context())
	ts, err := h.st.ListAPITokens(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	v.Tokens = ts
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	w.Header().Set("Cache-Control", "no-store")
	h.view(w, r, "tokens", pageData{Title: "API tokens", NavActive: "tokens", Flash: flash, Data: v})
}

func (h *Handler) tokens(w http.ResponseWriter, r *http.Request) {
	h.tokensPage(w, r, http.StatusOK, tokensView{}, "")
}

func (h *Handler) tokenCreate(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r.Context())
	tok, _, err := h.createToken(r.Context(), u, r.PostFormValue("name"))
	if err != nil {
		h.fail(w, r, statusOf(err), err.Error())
		return
	}
	h.tokensPage(w, r, http.StatusOK, tokensView{New: tok}, "Token created: copy it now, it is not shown again.")
}

func (h *Handler) tokenDelete(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "token id "+strconv.Quote(r.PathValue("id"))+" is not a number")
		return
	}
	if err := h.st.DeleteAPIToken(r.Context(), u.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			h.fail(w, r, http.StatusNotFound, "you have no token "+strconv.FormatInt(id, 10))
			return
		}
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	h.tokensPage(w, r, http.StatusOK, tokensView{}, "Token revoked.")
}
