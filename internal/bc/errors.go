package bc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors, matched with errors.Is against the *APIError a call
// returns. They name what the caller can do something about.
var (
	// ErrNotFound: the record (or the entity set) does not exist (404,
	// Internal_RecordNotFound).
	ErrNotFound = errors.New("bc: not found")
	// ErrEntityChanged: the ETag given in If-Match is stale; someone else
	// changed the record (409 Request_EntityChanged). Refetch and reapply.
	ErrEntityChanged = errors.New("bc: record changed by another user")
	// ErrInvalidToken: If-Match was missing or not a valid ETag
	// (400 BadRequest_InvalidToken).
	ErrInvalidToken = errors.New("bc: concurrency token missing or invalid")
	// ErrBadRequest: any 400; the message names the field.
	ErrBadRequest = errors.New("bc: bad request")
	// ErrAlreadyExists: a record with the same key exists
	// (Internal_EntityWithSameKeyExists).
	ErrAlreadyExists = errors.New("bc: record already exists")
	// ErrUnauthorized: credentials rejected (401).
	ErrUnauthorized = errors.New("bc: unauthorized")
	// ErrForbidden: authenticated but not permitted (403).
	ErrForbidden = errors.New("bc: forbidden")
	// ErrThrottled: request limits exceeded (429) and retries ran out.
	ErrThrottled = errors.New("bc: throttled")
	// ErrServer: 5xx from the service.
	ErrServer = errors.New("bc: server error")
)

// APIError is an error answer of Business Central:
// {"error":{"code":"…","message":"…  CorrelationId:  <guid>."}}.
type APIError struct {
	Status        int
	Code          string // e.g. BadRequest_InvalidToken, Request_EntityChanged
	Message       string // without the CorrelationId suffix
	CorrelationID string
	Method        string
	URL           string // path of the request, without the query (it may hold data)
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bc: %s %s: %d", e.Method, e.URL, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.CorrelationID != "" {
		b.WriteString(" (CorrelationId " + e.CorrelationID + ")")
	}
	return b.String()
}

// Is maps BC's status/code pairs onto the sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound || e.Code == "Internal_RecordNotFound"
	case ErrEntityChanged:
		return e.Code == "Request_EntityChanged" || e.Status == http.StatusPreconditionFailed ||
			(e.Status == http.StatusConflict && e.Code == "")
	case ErrInvalidToken:
		return e.Code == "BadRequest_InvalidToken"
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrAlreadyExists:
		return e.Code == "Internal_EntityWithSameKeyExists"
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrThrottled:
		return e.Status == http.StatusTooManyRequests
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// ThrottledError is returned when BC kept answering 429 (or 503 with
// Retry-After) beyond the retry budget. RetryAfter is the last wait BC asked for.
type ThrottledError struct {
	RetryAfter time.Duration
	Err        *APIError
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.RetryAfter)
}

func (e *ThrottledError) Unwrap() error { return e.Err }

// Is makes every ThrottledError match ErrThrottled, even for a 503.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

const correlationMarker = "CorrelationId:"

// decodeError builds an *APIError from a response; non-JSON bodies (proxies,
// HTML error pages) keep their first bytes as the message.
func decodeError(status int, body []byte, method, path string) *APIError {
	e := &APIError{Status: status, Method: method, URL: path}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err == nil && (env.Error.Code != "" || env.Error.Message != "") {
		e.Code = env.Error.Code
		e.Message, e.CorrelationID = splitCorrelation(env.Error.Message)
	} else {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
		e.Message = msg
	}
	return e
}

// splitCorrelation separates "text  CorrelationId:  <guid>." into its parts.
func splitCorrelation(msg string) (string, string) {
	i := strings.LastIndex(msg, correlationMarker)
	if i < 0 {
		return strings.TrimSpace(msg), ""
	}
	id := strings.TrimSpace(msg[i+len(correlationMarker):])
	id = strings.TrimSuffix(id, ".")
	return strings.TrimSpace(msg[:i]), strings.TrimSpace(id)
}

// parseRetryAfter reads delay-seconds or an HTTP date; ok is false when absent
// or unreadable.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
