package dataverse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/odata"
	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/google/uuid"
)

// maxBody bounds a request body (Dataverse refuses bodies over its own limits; a $batch of
// 1,000 records fits well within this).
const maxBody = 64 << 20

// result is one operation's answer, written to the wire or into a $batch part.
type result struct {
	status int
	header http.Header
	body   []byte
}

func newResult(status int) *result { return &result{status: status, header: http.Header{}} }

func errorResult(e *apiError) *result {
	r := newResult(e.status)
	r.header.Set("Content-Type", "application/json; odata.metadata=minimal")
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": e.code, "message": e.msg}})
	r.body = b
	return r
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	odata.WriteError(w, e.status, e.code, e.msg)
}

func (res *result) write(w http.ResponseWriter) {
	for k, v := range res.header {
		w.Header()[k] = v
	}
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(res.status)
	if len(res.body) > 0 {
		_, _ = w.Write(res.body)
	}
}

// caller is who a request runs as.
type caller struct {
	token  uuid.UUID // the authenticated user (token subject)
	user   uuid.UUID // the effective user (impersonated when MSCRMCallerID / CallerObjectId is set)
	apiURL string    // absolute base, e.g. http://127.0.0.1:5555/api/data/v9.2/
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	version := r.PathValue("version")
	if !validVersion(version) {
		writeAPIError(w, noSegment(version))
		return
	}
	c, aerr := s.authenticate(w, r)
	if aerr != nil {
		return
	}
	release, ok := s.admit(w, r, c.token.String())
	if !ok {
		return
	}
	defer release()
	c.apiURL = "http://" + r.Host + "/api/data/" + version + "/"
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeAPIError(w, errf(http.StatusRequestEntityTooLarge, codeInvalidArgument, "request body could not be read (limit %d bytes): %v", maxBody, err))
		return
	}
	path := r.PathValue("path")
	if r.URL.RawPath != "" {
		// keep percent-encoding inside keys intact: parse from the raw path
		raw := strings.TrimPrefix(r.URL.EscapedPath(), "/api/data/"+version+"/")
		path = raw
	}
	if path == "$batch" {
		if r.Method != http.MethodPost {
			writeAPIError(w, errf(http.StatusMethodNotAllowed, codeODataGeneric, "The HTTP method '%s' is not allowed for $batch; use POST.", r.Method))
			return
		}
		s.serveBatch(w, r, c, body)
		return
	}
	op := &opRequest{method: r.Method, path: path, query: r.URL.RawQuery, header: r.Header, body: body, caller: c, ctx: r.Context()}
	s.do(op).write(w)
}

// authenticate checks the bearer token (audience = this host's URL) and resolves
// impersonation. On failure it has already answered 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (caller, error) {
	fail := func(desc string) (caller, error) {
		tenant := s.opts.Identity.Tenant()
		v := fmt.Sprintf("Bearer authorization_uri=http://%s/%s/oauth2/authorize, resource_id=http://%s/", r.Host, tenant, r.Host)
		if desc != "" {
			v += `, error="invalid_token", error_description="` + strings.ReplaceAll(desc, `"`, `'`) + `"`
		}
		w.Header().Set("WWW-Authenticate", v)
		w.WriteHeader(http.StatusUnauthorized)
		return caller{}, errors.New("unauthorized")
	}
	tok, ok := identity.BearerToken(r)
	if !ok {
		return fail("")
	}
	claims, err := s.opts.Identity.Verify(tok, "http://"+r.Host)
	if err != nil {
		s.log.Debug("dataverse: token rejected", "error", err)
		return fail(err.Error())
	}
	uid, err := uuid.Parse(claims.Subject)
	if err != nil {
		return fail("token subject is not a user of this organisation")
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	users := s.db.store("systemuser")
	u := users.byID[uid]
	if u == nil {
		return fail("the user of this token does not exist in this organisation")
	}
	if disabled, _ := u.get(users.t.col("isdisabled").idx).(bool); disabled {
		writeAPIError(w, errf(http.StatusUnauthorized, "0x80040225", "The user with SystemUserId=%s is disabled. Disabled users cannot access the system.", uid))
		return caller{}, errors.New("disabled")
	}
	c := caller{token: uid, user: uid}
	if h := r.Header.Get("MSCRMCallerID"); h != "" {
		id, err := uuid.Parse(strings.Trim(h, "{}"))
		if err != nil || users.byID[id] == nil {
			writeAPIError(w, notFound(users.t, h))
			return caller{}, errors.New("bad caller")
		}
		c.user = id
	} else if h := r.Header.Get("CallerObjectId"); h != "" {
		aad, err := uuid.Parse(strings.Trim(h, "{}"))
		var found uuid.UUID
		if err == nil {
			if ids, _ := users.lookupEq(users.t.col("azureactivedirectoryobjectid").idx, aad); len(ids) > 0 {
				found = ids[0]
			}
		}
		if found == uuid.Nil {
			writeAPIError(w, errf(http.StatusNotFound, codeObjectDoesNotExist, "systemuser With azureactivedirectoryobjectid = %s Does Not Exist", h))
			return caller{}, errors.New("bad caller")
		}
		c.user = found
	}
	return c, nil
}

// admit applies fault injection and the service protection limits. It answers the request
// itself (and returns false) when the request must not run.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, user string) (func(), bool) {
	if ok := s.injectFault(w, r); !ok {
		return nil, false
	}
	release, th := s.acquire(r.Context(), user)
	if th != nil {
		secs := int((th.retryAfter + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		code, msg := codeRequestsExceeded, "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
		switch th.reason {
		case "concurrency":
			code, msg = codeConcurrentExceeded, "Number of concurrent requests exceeded the limit of 52."
		case "time":
			code, msg = codeExecutionTime, "Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later."
		}
		if th.message != "" {
			msg = th.message
		}
		writeAPIError(w, errf(http.StatusTooManyRequests, code, "%s", msg))
		return nil, false
	}
	return release, true
}

// opRequest is one Web API operation: a direct request or a part of a $batch.
type opRequest struct {
	ctx    context.Context
	method string
	path   string // after /api/data/vX/, still percent-encoded
	query  string
	header http.Header
	body   []byte
	caller caller
	tx     *tx // non-nil inside a change set: the batch holds the write lock
	// contentIDs maps a $batch Content-ID to the URL of the record its operation wrote.
	contentIDs map[string]string
	// plans are the representation plans of the $batch this operation is part of, by
	// table, query and Prefer header (nil outside a $batch: nothing to share).
	plans map[string]*plan
}

// do runs one operation; it never panics outward (a panic becomes a 500 in Dataverse's shape,
// logged with the request, because a simulator bug must not take the sandbox down).
func (s *Server) do(op *opRequest) (res *result) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("dataverse: operation panicked", "method", op.method, "path", op.path, "panic", p)
			res = errorResult(errf(http.StatusInternalServerError, codeUnexpected, "An unexpected error occurred: %v", p))
		}
	}()
	res, err := s.route(op)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return errorResult(ae)
		}
		return errorResult(errf(http.StatusBadRequest, codeInvalidArgument, "%v", err))
	}
	return res
}
