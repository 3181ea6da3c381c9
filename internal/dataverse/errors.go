package dataverse

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinels matched with errors.Is against any error the client returns.
var (
	ErrNotFound           = errors.New("dataverse: record not found")
	ErrPreconditionFailed = errors.New("dataverse: precondition failed")
	ErrUnauthorized       = errors.New("dataverse: unauthorized")
	ErrForbidden          = errors.New("dataverse: forbidden")
	ErrThrottled          = errors.New("dataverse: throttled")
	ErrValidation         = errors.New("dataverse: request rejected")
	// ErrNotExecuted marks a $batch request the service never ran because an
	// earlier request stopped the batch.
	ErrNotExecuted = errors.New("dataverse: not executed (the batch stopped at an earlier error)")
)

// APIError is an error answer of the Web API, with Dataverse's own code
// (e.g. "0x80040217") and message.
type APIError struct {
	Status  int
	Code    string
	Message string
	Method  string
	URL     string
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.Status)
	}
	msg := e.Message
	if msg == "" {
		msg = "(no message)"
	}
	return fmt.Sprintf("dataverse: %s %s: %d %s: %s", e.Method, e.URL, e.Status, code, msg)
}

// Is maps HTTP statuses onto the package's sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrPreconditionFailed:
		return e.Status == http.StatusPreconditionFailed
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrThrottled:
		return e.Status == http.StatusTooManyRequests
	case ErrValidation:
		return e.Status == http.StatusBadRequest
	}
	return false
}

// ThrottledError is a 429 from the service protection limits; RetryAfter is
// the server's Retry-After (0 when absent).
type ThrottledError struct {
	*APIError
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%s (retry after %s)", e.APIError.Error(), e.RetryAfter)
}
func (e *ThrottledError) Unwrap() error { return e.APIError }

// ValidationError is a 400: the request was well-formed HTTP but the service
// refused its content (unknown column, bad value, failed plug-in…).
type ValidationError struct{ *APIError }

func (e *ValidationError) Unwrap() error { return e.APIError }

// Service protection error codes (api-limits).
const (
	CodeRequestLimit     = "0x80072322"
	CodeExecutionTime    = "0x80072321"
	CodeConcurrencyLimit = "0x80072326"
	CodeObjectNotFound   = "0x80040217"
)

// decodeAPIError builds the typed error for a non-2xx answer. It tolerates
// bodies that are not Dataverse JSON (proxies, gateways) by quoting them.
func decodeAPIError(method, rawURL string, status int, h http.Header, body []byte) error {
	e := &APIError{Status: status, Method: method, URL: rawURL}
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &doc); err == nil && (doc.Error.Code != "" || doc.Error.Message != "") {
		e.Code, e.Message = doc.Error.Code, doc.Error.Message
	} else {
		txt := strings.TrimSpace(string(body))
		if len(txt) > 300 {
			txt = txt[:300] + "…"
		}
		e.Message = txt
	}
	if status == http.StatusUnauthorized && e.Message == "" {
		e.Message = h.Get("WWW-Authenticate")
	}
	switch status {
	case http.StatusTooManyRequests:
		return &ThrottledError{APIError: e, RetryAfter: parseRetryAfter(h.Get("Retry-After"), time.Now())}
	case http.StatusBadRequest:
		return &ValidationError{APIError: e}
	}
	return e
}

// parseRetryAfter reads delta-seconds (what Dataverse sends, possibly
// fractional) or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 {
			return 0
		}
		return time.Duration(f * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
