package dataverse

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/sandbox/limits"
)

// throttle is a refused admission.
type throttle struct {
	retryAfter time.Duration
	reason     string // "requests", "concurrency" or "time"
	message    string
}

// acquire applies the service protection limits for user.
func (s *Server) acquire(ctx context.Context, user string) (func(), *throttle) {
	if s.opts.Limiter == nil {
		return func() {}, nil
	}
	release, err := s.opts.Limiter.Acquire(ctx, user)
	if err != nil {
		var th *limits.Throttled
		if errors.As(err, &th) {
			return nil, &throttle{retryAfter: th.RetryAfter, reason: th.Reason}
		}
		return nil, &throttle{retryAfter: time.Second, reason: "requests", message: "The request was not admitted: " + err.Error()}
	}
	return release, nil
}

// injectFault applies the configured fault, if any; false means the request was answered
// (or the connection dropped) and must not run.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Faults == nil {
		return true
	}
	f := s.opts.Faults.Next()
	switch f.Kind {
	case faults.ServerError:
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		writeAPIError(w, errf(status, codeUnexpected, "An unexpected error occurred (injected fault)."))
		return false
	case faults.Throttle:
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeAPIError(w, errf(http.StatusTooManyRequests, codeRequestsExceeded, "Number of requests exceeded the limit of 6000 over time window of 300 seconds."))
		return false
	case faults.Slow:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		}
	case faults.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return false
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without a response
	}
	return true
}
