package bc

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coupler/coupler/internal/sandbox/identity"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// apiRoot identifies which API a request addresses and how it authenticates.
type apiRoot struct {
	path       string // e.g. /v2.0/{tenant}/{env}/api/v2.0
	onPrem     bool
	automation bool
}

func (s *Server) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("bc: handler panic", "panic", fmt.Sprint(v), "path", r.URL.Path)
				writeAPIError(w, errf(http.StatusInternalServerError, codeServerError, "An unexpected error occurred in the sandbox: %v", v))
			}
		}()
		s.dispatch(w, r)
	})
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/_sandbox/"); ok {
		s.control(w, r, rest)
		return
	}
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case len(seg) >= 5 && seg[0] == "v2.0" && seg[3] == "api":
		if !strings.EqualFold(seg[1], s.creds.Tenant) || !strings.EqualFold(seg[2], s.creds.Environment) {
			writeAPIError(w, errf(http.StatusNotFound, codeResourceNotFound, "Environment '%s' of tenant '%s' does not exist. Use tenant %s and environment %s.", seg[2], seg[1], s.creds.Tenant, s.creds.Environment))
			return
		}
		s.api(w, r, apiRoot{path: "/" + strings.Join(seg[:3], "/")}, seg[3:])
	case len(seg) >= 4 && seg[0] == "v2.0" && seg[2] == "api":
		// online without the tenant: the token names it
		if !strings.EqualFold(seg[1], s.creds.Environment) {
			writeAPIError(w, errf(http.StatusNotFound, codeResourceNotFound, "Environment '%s' does not exist. Use %s.", seg[1], s.creds.Environment))
			return
		}
		s.api(w, r, apiRoot{path: "/" + strings.Join(seg[:2], "/")}, seg[2:])
	case len(seg) >= 3 && seg[1] == "api":
		if !strings.EqualFold(seg[0], s.creds.Instance) {
			writeAPIError(w, errf(http.StatusNotFound, codeResourceNotFound, "Server instance '%s' does not exist. Use %s.", seg[0], s.creds.Instance))
			return
		}
		s.api(w, r, apiRoot{path: "/" + seg[0], onPrem: true}, seg[1:])
	case len(seg) >= 2 && strings.EqualFold(seg[0], s.creds.Tenant) && strings.EqualFold(seg[1], s.creds.Environment):
		s.webClient(w, r)
	case len(seg) >= 1 && strings.EqualFold(seg[0], s.creds.Instance) && (len(seg) == 1 || seg[1] == ""):
		s.webClient(w, r)
	default:
		writeAPIError(w, errf(http.StatusNotFound, codeNotFound, "No HTTP resource was found that matches the request URI '%s'.", r.URL.String()))
	}
}

// api handles …/api/v2.0/… and …/api/microsoft/automation/v2.0/…; seg starts at "api".
func (s *Server) api(w http.ResponseWriter, r *http.Request, root apiRoot, seg []string) {
	var rest []string
	switch {
	case len(seg) >= 2 && seg[1] == "v2.0":
		root.path += "/api/v2.0"
		rest = seg[2:]
	case len(seg) >= 4 && seg[1] == "microsoft" && seg[2] == "automation" && seg[3] == "v2.0":
		root.path += "/api/microsoft/automation/v2.0"
		root.automation = true
		rest = seg[4:]
	default:
		writeAPIError(w, errf(http.StatusNotFound, codeNotFound, "No HTTP resource was found that matches the request URI '%s'. The simulator serves api/v2.0 and api/microsoft/automation/v2.0.", r.URL.String()))
		return
	}
	user, aerr := s.authenticate(r, root.onPrem)
	if aerr != nil {
		if root.onPrem {
			w.Header().Set("WWW-Authenticate", `Basic realm=""`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/`+s.creds.Tenant+`/oauth2/authorize", resource_id="`+Audience+`"`)
		}
		writeAPIError(w, aerr)
		return
	}
	release, ok := s.admit(w, r, user)
	if !ok {
		return
	}
	defer release()
	s.log.Debug("bc: request", "method", r.Method, "path", r.URL.Path, "user", user)
	s.serveAPI(w, r, root, strings.Join(rest, "/"), nil)
}

// authenticate checks the bearer token (both layouts) or, on-premises, HTTP Basic with the
// user name and web service access key. It returns the caller's user id.
func (s *Server) authenticate(r *http.Request, onPrem bool) (string, *apiError) {
	deny := func(detail string) *apiError {
		return errf(http.StatusUnauthorized, codeInvalidCredentials, "The server has rejected the client credentials. %s", detail)
	}
	if tok, ok := identity.BearerToken(r); ok {
		claims, err := s.issuer.Verify(tok, Audience)
		if errors.Is(err, identity.ErrWrongAudience) {
			claims, err = s.issuer.Verify(tok, "http://"+r.Host)
		}
		switch {
		case errors.Is(err, identity.ErrExpired):
			return "", deny("The access token has expired; request a new one.")
		case errors.Is(err, identity.ErrWrongAudience):
			return "", deny("The access token was issued for another resource; request scope " + Audience + "/.default.")
		case err != nil:
			return "", deny("The access token is not valid.")
		}
		return claims.Subject, nil
	}
	if user, pass, ok := r.BasicAuth(); ok {
		if !onPrem {
			return "", deny("Web service access keys are not accepted by Business Central online; use OAuth 2.0.")
		}
		if !strings.EqualFold(user, s.creds.User) || subtle.ConstantTimeCompare([]byte(pass), []byte(s.creds.WebServiceKey)) != 1 {
			return "", deny("Wrong user name or web service access key.")
		}
		return s.wsUser, nil
	}
	if onPrem {
		return "", deny("Send HTTP Basic credentials: the user name and its web service access key.")
	}
	return "", deny("Send an OAuth 2.0 bearer token in the Authorization header.")
}
