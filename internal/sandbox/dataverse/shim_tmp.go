package dataverse

import (
	"context"
	"time"
)

// TEMPORARY stand-ins for internal/sandbox/limits and internal/sandbox/faults (being written
// concurrently); replaced by the real types when they land.

// Limiter is the service-protection limiter (limits.Limiter).
type Limiter = *limitsLimiter

// FaultSource is the fault injector (faults.Injector).
type FaultSource = *faultsInjector

type limitsLimiter struct{}

func (*limitsLimiter) Acquire(ctx context.Context, user string) (func(), error) {
	return func() {}, nil
}

type limitsThrottled struct {
	RetryAfter time.Duration
	Reason     string
}

func (t *limitsThrottled) Error() string { return "throttled" }

type faultKind int

const (
	faultNone faultKind = iota
	faultServerError
	faultThrottle
	faultSlow
	faultDrop
)

type faultT struct {
	Kind              faultKind
	Status            int
	Delay, RetryAfter time.Duration
}

type faultsInjector struct{}

func (*faultsInjector) Next() faultT { return faultT{} }
