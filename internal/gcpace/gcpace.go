// Package gcpace paces Go's garbage collector for coupler's heap.
//
// A synchronisation keeps a small live heap (tens of MB: indexes, the
// pages in flight) and allocates fast around it (every page decoded, every
// payload built). With the runtime's default (GOGC=100: collect when the
// heap has doubled since the last collection), a live heap of 30 MB is
// collected every 30 MB allocated: about seventy collections in a run of
// 100,000 records, each one scanning the whole live heap again. A floor
// under the heap goal lets such a heap grow to the floor before it is
// collected; a heap whose live part exceeds half the floor is paced as the
// default would pace it, so the floor never makes collections more
// frequent than the default, and memory stays at most max(floor, twice
// the live heap) as before.
package gcpace

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
)

// basePercent is the runtime's default GOGC, which the pacer never goes
// below.
const basePercent = 100

// minLive is the live heap assumed when it is smaller or not known yet:
// the runtime never collects below 4 MB × GOGC/100, so a percentage
// computed from a tinier heap would put the first collection past the
// floor.
const minLive = 4 << 20

// Pacer raises the collector's percentage after each collection so that
// the next one comes when the heap reaches the floor.
type Pacer struct {
	floor uint64

	mu      sync.Mutex
	stopped bool
	percent int
	sample  []metrics.Sample
}

// Start paces the collector with a heap floor of floor bytes until Stop is
// called, and returns nil when it does nothing: floor is 0, or GOGC is set
// in the environment (whoever set it chose the collector's pace). The
// floor is lowered to fit the memory limits the process runs under (see
// capFloor).
func Start(floor uint64, log *slog.Logger) *Pacer {
	if floor == 0 || os.Getenv("GOGC") != "" {
		return nil
	}
	capped := capFloor(floor, debug.SetMemoryLimit(-1), os.ReadFile)
	p := &Pacer{floor: capped, percent: basePercent,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	p.adjust()
	p.arm()
	log.Debug("gc pace: heap floor set", "floor_mb", floor>>20, "effective_mb", capped>>20)
	return p
}

// Stop gives the collector back its default pace. A nil Pacer is fine.
func (p *Pacer) Stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.stopped = true
		debug.SetGCPercent(basePercent)
	}
}

// Percent is the percentage last set (basePercent once stopped).
func (p *Pacer) Percent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return basePercent
	}
	return p.percent
}

// arm asks to be called after the next collection: a cleanup runs once
// the object it is attached to has been found unreachable, and the
// object is unreachable as soon as arm returns.
func (p *Pacer) arm() {
	// 64 bytes: smaller objects may share a tiny block, whose cleanups
	// need not run.
	runtime.AddCleanup(new([64]byte), func(p *Pacer) {
		if p.adjust() {
			p.arm()
		}
	}, p)
}

// adjust sets the percentage from the live heap the last collection
// found, and reports false once the pacer is stopped.
func (p *Pacer) adjust() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	metrics.Read(p.sample)
	var live uint64
	if p.sample[0].Value.Kind() == metrics.KindUint64 {
		live = p.sample[0].Value.Uint64()
	}
	pct := percentFor(p.floor, live)
	if pct != p.percent {
		debug.SetGCPercent(pct)
		p.percent = pct
	}
	return true
}

// percentFor is the GOGC that puts the next collection at the floor, or
// at twice the live heap when that is higher: the goal is
// live × (1 + percent/100).
func percentFor(floor, live uint64) int {
	live = max(live, minLive)
	if live >= floor/2 {
		return basePercent
	}
	return int((floor - live) * 100 / live)
}

// cgroupLimits are the container memory limits, cgroup v2 then v1.
var cgroupLimits = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// capFloor keeps the floor at most a quarter of the container's memory
// limit and half of the runtime's (GOMEMLIMIT, goLimit), so that garbage
// does not fill a small container: the heap reaches about the floor, and
// twice the live heap when that is more.
func capFloor(floor uint64, goLimit int64, readFile func(string) ([]byte, error)) uint64 {
	if goLimit > 0 && goLimit < math.MaxInt64 {
		floor = min(floor, uint64(goLimit)/2)
	}
	for _, path := range cgroupLimits {
		b, err := readFile(path)
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
		if err != nil || n >= 1<<62 {
			break // "max", or v1's way of saying no limit
		}
		floor = min(floor, n/4)
		break
	}
	return floor
}
