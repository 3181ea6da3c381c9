package bc

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/sandbox/limits"
)

// admit applies the request limits and injected faults after authentication. It returns
// false when it has already answered (429, 5xx, dropped connection).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, user string) (func(), bool) {
	release := func() {}
	if s.limiter != nil {
		rel, err := s.limiter.Acquire(r.Context(), user)
		if err != nil {
			var th *limits.Throttled
			if errors.As(err, &th) {
				writeRetryAfter(w, th.RetryAfter)
				msg := "Too many requests reached: the limit of requests per user in the time window is used up; retry after " + strconv.Itoa(int(th.RetryAfter.Seconds())) + " s."
				if th.Reason == "concurrency" {
					msg = "Too many concurrent requests: the running and queued requests of this user are at their limits; retry later."
				}
				writeAPIError(w, errf(http.StatusTooManyRequests, codeTooManyRequests, "%s", msg))
				return nil, false
			}
			writeAPIError(w, errf(http.StatusServiceUnavailable, codeServerError, "The request was not admitted: %v", err))
			return nil, false
		}
		release = rel
	}
	f := s.faults.Next()
	switch f.Kind {
	case faults.ServerError:
		release()
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		writeAPIError(w, errf(status, codeServerError, "Injected fault: the service is temporarily unavailable."))
		return nil, false
	case faults.Throttle:
		release()
		writeRetryAfter(w, f.RetryAfter)
		writeAPIError(w, errf(http.StatusTooManyRequests, codeTooManyRequests, "Injected fault: too many requests reached."))
		return nil, false
	case faults.Slow:
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
		}
	case faults.Drop:
		release()
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return nil, false
			}
		}
		panic(http.ErrAbortHandler) // the standard way to abort a response mid-flight
	}
	return release, true
}

func writeRetryAfter(w http.ResponseWriter, d time.Duration) {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}
