package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/coupler/coupler/internal/users"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are every view; each is parsed with the layout at start.
var pageNames = []string{"signin", "home", "error", "connection", "setup", "sync", "errors", "errordetail",
	"mappings", "mapping", "couplings", "users", "tokens", "orders", "availability"}

type pages struct{ views map[string]*template.Template }

func parsePages() (*pages, error) {
	p := &pages{views: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.views[name] = t
	}
	return p, nil
}

// pageData is what every view receives.
type pageData struct {
	Title     string
	User      *users.User
	CSRF      string
	Message   string
	Error     string
	Email     string
	Next      string
	NavActive string
	// Flash is a success message shown at the top of a page.
	Flash string
	// Data is the page's own content.
	Data any
}

// Can says whether the signed-in user holds at least role (templates show
// only the buttons a user may press; the handlers enforce it anyway).
func (d pageData) Can(role string) bool {
	return d.User != nil && d.User.Role.Can(users.Role(role))
}

func (p *pages) render(w http.ResponseWriter, name string, d pageData) {
	var buf bytes.Buffer
	if err := p.views[name].Execute(&buf, d); err != nil {
		http.Error(w, "page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = buf.WriteTo(w)
}

// renderPart executes one named template of a view (an htmx fragment).
func (p *pages) renderPart(w http.ResponseWriter, view, part string, d any) {
	var buf bytes.Buffer
	if err := p.views[view].ExecuteTemplate(&buf, part, d); err != nil {
		http.Error(w, "fragment could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = buf.WriteTo(w)
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		fsrv.ServeHTTP(w, r)
	})
}

func (h *Handler) view(w http.ResponseWriter, r *http.Request, name string, d pageData) {
	d.CSRF = h.sessions.csrfToken(w, r)
	if u, ok := currentUser(r.Context()); ok {
		d.User = &u
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	h.pages.render(w, name, d)
}

// part answers an htmx request with one fragment of a view; d is what the
// fragment's template receives.
func (h *Handler) part(w http.ResponseWriter, r *http.Request, view, part string, d any) {
	if pd, ok := d.(pageData); ok {
		pd.CSRF = h.sessions.csrfToken(w, r)
		if u, ok := currentUser(r.Context()); ok {
			pd.User = &u
		}
		d = pd
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	h.pages.renderPart(w, view, part, d)
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request) {
	h.view(w, r, "signin", pageData{Title: "Sign in", Next: safeNext(r.URL.Query().Get("next"))})
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("next"))
	again := func(status int, msg string) {
		w.WriteHeader(status)
		h.view(w, r, "signin", pageData{Title: "Sign in", Error: msg, Email: email, Next: next})
	}
	if !h.sessions.checkCSRF(r) {
		again(http.StatusForbidden, "Your sign-in form expired. Please try again.")
		return
	}
	if !h.limiter.allow(r) {
		h.log.Warn("sign-in rate limited", "remote", r.RemoteAddr, "email", email)
		w.Header().Set("Retry-After", "10")
		again(http.StatusTooManyRequests, "Too many sign-in attempts from your address. Wait a minute and try again.")
		return
	}
	u, err := h.users.Authenticate(r.Context(), email, r.PostFormValue("password"))
	if errors.Is(err, users.ErrBadCredentials) {
		h.log.Info("sign-in refused", "remote", r.RemoteAddr, "email", email)
		again(http.StatusUnauthorized, "Wrong e-mail or password.")
		return
	}
	if err != nil {
		h.log.Error("sign-in failed", "err", err)
		again(http.StatusInternalServerError, "Sign-in failed on the server; see the server log.")
		return
	}
	h.sessions.issue(w, u.ID)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	h.sessions.clear(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	h.view(w, r, "home", pageData{Title: "Overview", NavActive: "home"})
}

// safeNext keeps redirects after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
