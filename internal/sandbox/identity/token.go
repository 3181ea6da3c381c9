package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// refreshTTL is how long a refresh token lives (Entra ID: 90 days).
const refreshTTL = 90 * 24 * time.Hour

// Handler serves the token endpoints:
//
//	POST /{tenant}/oauth2/v2.0/token   (scope=<resource>/.default …)
//	POST /{tenant}/oauth2/token        (v1: resource=<resource>)
//
// with the grants client_credentials, password and refresh_token. Failures
// answer in the identity platform's error shape with its AADSTS codes.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) { i.token(w, r, false) })
	mux.HandleFunc("POST /{tenant}/oauth2/token", func(w http.ResponseWriter, r *http.Request) { i.token(w, r, true) })
	onlyPost := func(w http.ResponseWriter, r *http.Request) {
		i.fail(w, r, &aadError{status: http.StatusBadRequest, err: "invalid_request", code: 900561,
			msg: "The endpoint only accepts POST requests. Received a " + r.Method + " request."})
	}
	mux.HandleFunc("/{tenant}/oauth2/v2.0/token", onlyPost)
	mux.HandleFunc("/{tenant}/oauth2/token", onlyPost)
	return mux
}

// aadError is one identity-platform failure.
type aadError struct {
	status int
	err    string // OAuth 2.0 error: invalid_request, invalid_client, invalid_grant, …
	code   int    // AADSTS number
	msg    string
}

func missing(param string) *aadError {
	return &aadError{status: http.StatusBadRequest, err: "invalid_request", code: 900144,
		msg: fmt.Sprintf("The request body must contain the following parameter: '%s'.", param)}
}

// grant is what a successful grant produces before signing.
type grant struct {
	subject, clientID, userName, audience, scope string
	refresh                                      bool // also issue a refresh token
}

func (i *Issuer) token(w http.ResponseWriter, r *http.Request, v1 bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		i.fail(w, r, &aadError{status: http.StatusBadRequest, err: "invalid_request", code: 900144,
			msg: "The request body must be application/x-www-form-urlencoded: " + err.Error()})
		return
	}
	if fail := i.checkTenant(r.PathValue("tenant"), r.PostForm.Get("grant_type")); fail != nil {
		i.fail(w, r, fail)
		return
	}
	var (
		g    grant
		fail *aadError
	)
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "":
		fail = missing("grant_type")
	case "client_credentials":
		g, fail = i.clientCredentials(r, v1)
	case "password":
		g, fail = i.password(r, v1)
	case "refresh_token":
		g, fail = i.refreshToken(r)
	default:
		fail = &aadError{status: http.StatusBadRequest, err: "unsupported_grant_type", code: 70003,
			msg: fmt.Sprintf("The app requested an unsupported grant type '%s'. This sandbox supports client_credentials, password and refresh_token.", gt)}
	}
	if fail != nil {
		i.fail(w, r, fail)
		return
	}
	i.issue(w, g, v1)
}

// checkTenant accepts this sandbox's tenant id, and for user sign-ins the
// multi-tenant aliases "organizations" and "common" as Entra ID does.
func (i *Issuer) checkTenant(t, grantType string) *aadError {
	if strings.EqualFold(t, i.tenant) {
		return nil
	}
	if strings.EqualFold(t, "organizations") || strings.EqualFold(t, "common") {
		if grantType == "password" || grantType == "refresh_token" {
			return nil
		}
		return &aadError{status: http.StatusBadRequest, err: "invalid_request", code: 90009,
			msg: fmt.Sprintf("Application is requesting a token for itself. This scenario is supported only if resource is specified using a tenant-specific endpoint: use /%s/ instead of /%s/.", i.tenant, t)}
	}
	return &aadError{status: http.StatusBadRequest, err: "invalid_request", code: 90002,
		msg: fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. This sandbox's tenant is '%s'.", t, i.tenant)}
}

// clientAuth reads client_id/client_secret from the form or from HTTP Basic
// (client_secret_basic), as golang.org/x/oauth2 may send either.
func clientAuth(r *http.Request) (id, secret string, hasSecret bool) {
	if u, p, ok := r.BasicAuth(); ok {
		return u, p, true
	}
	id = r.PostForm.Get("client_id")
	secret = r.PostForm.Get("client_secret")
	_, hasSecret = r.PostForm["client_secret"]
	return id, secret, hasSecret
}

func (i *Issuer) checkClient(id, secret string, hasSecret, requireSecret bool) (client, *aadError) {
	if id == "" {
		return client{}, missing("client_id")
	}
	c, ok := i.lookupClient(id)
	if !ok {
		return client{}, &aadError{status: http.StatusBadRequest, err: "unauthorized_client", code: 700016,
			msg: fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", id, i.tenant)}
	}
	if c.public && !requireSecret {
		return c, nil
	}
	if c.public || !hasSecret || secret == "" {
		if c.public {
			return client{}, &aadError{status: http.StatusUnauthorized, err: "invalid_client", code: 7000218,
				msg: fmt.Sprintf("The request body must contain the following parameter: 'client_assertion' or 'client_secret'. Application '%s' is a public client and has no secret: use the password grant.", id)}
		}
		return client{}, &aadError{status: http.StatusUnauthorized, err: "invalid_client", code: 7000218,
			msg: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) != 1 {
		return client{}, &aadError{status: http.StatusUnauthorized, err: "invalid_client", code: 7000215,
			msg: fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", id)}
	}
	return c, nil
}

func (i *Issuer) clientCredentials(r *http.Request, v1 bool) (grant, *aadError) {
	id, secret, hasSecret := clientAuth(r)
	var (
		c    client
		fail *aadError
	)
	if r.PostForm.Get("client_assertion_type") != "" || r.PostForm.Get("client_assertion") != "" {
		id, c, fail = i.checkAssertion(r, id)
	} else {
		c, fail = i.checkClient(id, secret, hasSecret, true)
	}
	if fail != nil {
		return grant{}, fail
	}
	aud, scope, fail := audienceOf(r, v1, true)
	if fail != nil {
		return grant{}, fail
	}
	return grant{subject: c.subject, clientID: id, audience: aud, scope: scope}, nil
}

func (i *Issuer) password(r *http.Request, v1 bool) (grant, *aadError) {
	id, secret, hasSecret := clientAuth(r)
	if _, fail := i.checkClient(id, secret, hasSecret, false); fail != nil {
		return grant{}, fail
	}
	name, pw := r.PostForm.Get("username"), r.PostForm.Get("password")
	if name == "" {
		return grant{}, missing("username")
	}
	if pw == "" {
		return grant{}, missing("password")
	}
	aud, scope, fail := audienceOf(r, v1, false)
	if fail != nil {
		return grant{}, fail
	}
	u, ok := i.lookupUser(name)
	if !ok {
		return grant{}, &aadError{status: http.StatusBadRequest, err: "invalid_grant", code: 50034,
			msg: fmt.Sprintf("The user account %s does not exist in the %s directory. To sign into this application, the account must be added to the directory.", name, i.tenant)}
	}
	if subtle.ConstantTimeCompare([]byte(pw), []byte(u.password)) != 1 {
		return grant{}, &aadError{status: http.StatusBadRequest, err: "invalid_grant", code: 50126,
			msg: "Error validating credentials due to invalid username or password."}
	}
	offline := v1 || hasScope(scope, "offline_access")
	return grant{subject: u.subject, clientID: id, userName: name, audience: aud, scope: scope, refresh: offline}, nil
}

func (i *Issuer) refreshToken(r *http.Request) (grant, *aadError) {
	id, secret, hasSecret := clientAuth(r)
	if _, fail := i.checkClient(id, secret, hasSecret, false); fail != nil {
		return grant{}, fail
	}
	rt := r.PostForm.Get("refresh_token")
	if rt == "" {
		return grant{}, missing("refresh_token")
	}
	bad := &aadError{status: http.StatusBadRequest, err: "invalid_grant", code: 9002313,
		msg: "Invalid request. Request is malformed or invalid: the refresh token was not issued by this sandbox."}
	c, err := i.parse(rt)
	if err != nil || !c.Refresh || c.Tid != i.tenant {
		return grant{}, bad
	}
	if !strings.EqualFold(c.AppID, id) {
		return grant{}, &aadError{status: http.StatusBadRequest, err: "invalid_grant", code: 70000,
			msg: fmt.Sprintf("Provided grant is invalid or malformed: the refresh token was issued to application '%s', not '%s'.", c.AppID, id)}
	}
	if !i.clock().Before(time.Unix(c.Exp, 0)) {
		return grant{}, &aadError{status: http.StatusBadRequest, err: "invalid_grant", code: 700082,
			msg: "The refresh token has expired due to inactivity. Sign in again with the password grant."}
	}
	return grant{subject: c.Sub, clientID: c.AppID, userName: c.UPN, audience: c.Aud, scope: c.Scp, refresh: true}, nil
}

// audienceOf derives the token audience from scope (v2) or resource (v1).
// "https://x/.default" and "https://x//user_impersonation" both give
// "https://x"; OpenID scopes are ignored.
func audienceOf(r *http.Request, v1, appOnly bool) (aud, scope string, fail *aadError) {
	if v1 {
		res := r.PostForm.Get("resource")
		if res == "" {
			return "", "", missing("resource")
		}
		return strings.TrimRight(res, "/"), "", nil
	}
	scope = strings.TrimSpace(r.PostForm.Get("scope"))
	if scope == "" {
		return "", "", missing("scope")
	}
	for _, s := range strings.Fields(scope) {
		switch strings.ToLower(s) {
		case "openid", "profile", "email", "offline_access":
			continue
		}
		if appOnly && !strings.HasSuffix(s, "/.default") {
			return "", "", &aadError{status: http.StatusBadRequest, err: "invalid_scope", code: 1002012,
				msg: fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", s)}
		}
		res := s
		if k := strings.LastIndex(s, "/"); k > len("https://") && strings.Contains(s, "://") {
			res = s[:k]
		} else if !strings.Contains(s, "://") {
			res = "https://graph.microsoft.com"
		}
		res = strings.TrimRight(res, "/")
		if aud != "" && !strings.EqualFold(aud, res) {
			return "", "", &aadError{status: http.StatusBadRequest, err: "invalid_scope", code: 28000,
				msg: fmt.Sprintf("Provided value for the input parameter scope '%s' is not valid because it contains more than one resource. Scope %s is not valid.", scope, scope)}
		}
		aud = res
	}
	if aud == "" {
		aud = "https://graph.microsoft.com"
	}
	return aud, scope, nil
}

func hasScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

func (i *Issuer) issue(w http.ResponseWriter, g grant, v1 bool) {
	now := i.clock()
	exp := now.Add(i.ttl)
	c := tokenClaims{
		Aud: g.audience, Iss: "https://sts.windows.net/" + i.tenant + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(),
		AppID: g.clientID, Sub: g.subject, Oid: g.subject, UPN: g.userName, Tid: i.tenant, Ver: "1.0",
	}
	if g.userName != "" {
		c.Scp = "user_impersonation"
	}
	access := i.sign(c)
	secs := int64(i.ttl / time.Second)
	var body map[string]any
	if v1 {
		body = map[string]any{
			"token_type": "Bearer", "expires_in": strconv.FormatInt(secs, 10), "ext_expires_in": strconv.FormatInt(secs, 10),
			"expires_on": strconv.FormatInt(exp.Unix(), 10), "not_before": strconv.FormatInt(now.Unix(), 10),
			"resource": g.audience, "access_token": access,
		}
	} else {
		body = map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": access}
		if g.userName != "" {
			body["scope"] = g.audience + "/user_impersonation"
		}
	}
	if g.refresh {
		rc := c
		rc.Refresh, rc.Scp, rc.Exp = true, g.scope, now.Add(refreshTTL).Unix()
		body["refresh_token"] = i.sign(rc)
	}
	i.log.Debug("token issued", "client_id", g.clientID, "subject", g.subject, "user", g.userName, "audience", g.audience, "expires", exp)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(body)
}

func (i *Issuer) fail(w http.ResponseWriter, r *http.Request, e *aadError) {
	now := i.clock().UTC()
	ts := now.Format("2006-01-02 15:04:05Z")
	trace := newUUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newUUID()
	}
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", e.code, e.msg, trace, corr, ts)
	i.log.Info("token request refused", "error", e.err, "code", fmt.Sprintf("AADSTS%d", e.code), "client_id", r.PostForm.Get("client_id"), "path", r.URL.Path)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("client-request-id", corr)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":             e.err,
		"error_description": desc,
		"error_codes":       []int{e.code},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", e.code),
	})
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
