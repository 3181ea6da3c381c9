package bc

import (
	"time"
)

// TEMPORARY stand-ins until internal/sandbox/limits and faults land.
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
