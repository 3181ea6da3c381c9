package web

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/coupler/coupler/internal/users"
)

type ctxKey int

const userKey ctxKey = iota

// currentUser is the signed-in user of a request that passed requireRole.
func currentUser(ctx context.Context) (users.User, bool) {
	u, ok := ctx.Value(userKey).(users.User)
	return u, ok
}

// SecurityHeaders wraps a handler served beside the UI (the item
// availability OData service) with the UI's security headers.
func SecurityHeaders(next http.Handler) http.Handler { return securityHeaders(next) }

// securityHeaders applies to every answer: no inline script may run, no
// other site may frame coupler.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// requireRole refuses requests without a valid session (pages redirect to
// sign-in, everything else gets 401), with a role below min (403), and
// unsafe methods without a valid CSRF token (403).
func (h *Handler) requireRole(min users.Role, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := h.sessions.read(r)
		var u users.User
		if err == nil && h.users != nil {
			u, err = h.users.Get(r.Context(), id)
		}
		if err != nil || u.Disabled {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.fail(w, r, http.StatusUnauthorized, "sign in first")
			return
		}
		if !u.Role.Can(min) {
			h.fail(w, r, http.StatusForbidden, "your role ("+string(u.Role)+") may not do this; it needs "+string(min))
			return
		}
		if !safeMethod(r.Method) && !h.sessions.checkCSRF(r) {
			h.fail(w, r, http.StatusForbidden, "missing or invalid CSRF token: reload the page and try again")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), userKey, u)))
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// loginLimiter slows down password guessing: a few attempts per minute per
// client address, with a small burst for typos.
type loginLimiter struct {
	mu      sync.Mutex
	perAddr map[string]*rate.Limiter
	every   time.Duration
	burst   int
}

func newLoginLimiter(every time.Duration, burst int) *loginLimiter {
	return &loginLimiter{perAddr: map[string]*rate.Limiter{}, every: every, burst: burst}
}

func (l *loginLimiter) allow(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.perAddr[host]
	if !ok {
		if len(l.perAddr) > 10000 { // bound memory under a spray of addresses
			l.perAddr = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.perAddr[host] = lim
	}
	return lim.Allow()
}
