package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	sessionCookie = "coupler_session"
	csrfCookie    = "coupler_csrf"
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "csrf_token"
)

var errNoSession = errors.New("no valid session")

// sessions signs and checks session cookies. A cookie carries the user id
// and expiry, signed with HMAC-SHA256 under a key kept in the database, so
// that any instance sharing the database accepts it.
type sessions struct {
	key    []byte
	ttl    time.Duration
	now    func() time.Time
	secure bool
}

func (s *sessions) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "|")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue sets a fresh session cookie for user id.
func (s *sessions) issue(w http.ResponseWriter, userID int64) {
	exp := s.now().Add(s.ttl).Unix()
	payload := fmt.Sprintf("%d.%d", userID, exp)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: payload + "." + s.sign("session", payload), Path: "/",
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(s.ttl.Seconds()),
	})
}

// read returns the user id of a valid, unexpired session cookie.
func (s *sessions) read(r *http.Request) (int64, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return 0, errNoSession
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return 0, errNoSession
	}
	payload := parts[0] + "." + parts[1]
	if !hmac.Equal([]byte(parts[2]), []byte(s.sign("session", payload))) {
		return 0, errNoSession
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || s.now().Unix() > exp {
		return 0, errNoSession
	}
	return id, nil
}

func (s *sessions) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// csrfToken returns the token forms must echo, creating the per-browser
// CSRF cookie when missing. The token is an HMAC of the cookie, so a page
// on another site can neither read nor forge it.
func (s *sessions) csrfToken(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(csrfCookie)
	val := ""
	if err == nil && len(c.Value) >= 32 {
		val = c.Value
	} else {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		val = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: val, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
		// Make the new cookie visible to checks later in this request.
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: val})
	}
	return s.sign("csrf", val)
}

// checkCSRF verifies the token of an unsafe request (form field or header).
func (s *sessions) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && hmac.Equal([]byte(got), []byte(s.sign("csrf", c.Value)))
}
