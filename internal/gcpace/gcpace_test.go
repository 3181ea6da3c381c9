package gcpace

import (
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The tests below change the process's collector settings, so they do not
// run in parallel with each other.

func TestPercentFor(t *testing.T) {
	t.Parallel()
	const mb = 1 << 20
	tests := []struct {
		name        string
		floor, live uint64
		want        int
	}{
		{"not known yet", 192 * mb, 0, 4700},
		{"smaller than the runtime's minimum", 192 * mb, 1 * mb, 4700},
		{"small", 192 * mb, 32 * mb, 500},
		{"just under half the floor", 192 * mb, 90 * mb, 113},
		{"half the floor", 192 * mb, 96 * mb, 100},
		{"past the floor", 192 * mb, 500 * mb, 100},
		{"floor under the runtime's minimum", 4 * mb, 0, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := percentFor(tt.floor, tt.live)
			require.Equal(t, tt.want, got)
			if got > basePercent {
				goal := max(tt.live, minLive) * uint64(100+got) / 100
				require.InDelta(t, float64(tt.floor), float64(goal), float64(mb), "the next collection comes at the floor")
			}
		})
	}
}

func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var sink []byte

// churn allocates n bytes of garbage in blocks of 64 KB.
func churn(n int) {
	for i := 0; i < n; i += 64 << 10 {
		sink = make([]byte, 64<<10)
	}
	sink = nil
}

// waitPercent waits for the pacer's cleanup, which runs after a
// collection on its own goroutine, to set want.
func waitPercent(t *testing.T, p *Pacer, want func(int) bool) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		if got := p.Percent(); want(got) && gogc() == got {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pacer's percentage is %d (GOGC reads %d) ten seconds after collections", p.Percent(), gogc())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPacerFollowsTheLiveHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 200 MB")
	}
	const floor = 128 << 20
	p := Start(floor, slog.New(slog.DiscardHandler))
	require.NotNil(t, p)
	defer p.Stop()

	small := waitPercent(t, p, func(pct int) bool { return pct > 1000 })
	t.Logf("small live heap: GOGC %d", small)

	// A live heap past half the floor gets the default pace back.
	live := make([]byte, 80<<20)
	for i := range live {
		live[i] = 1
	}
	waitPercent(t, p, func(pct int) bool { return pct == basePercent })
	runtime.KeepAlive(live)
	live = nil

	waitPercent(t, p, func(pct int) bool { return pct > 1000 })
	p.Stop()
	require.Equal(t, basePercent, gogc(), "Stop gives the default back")
	require.Equal(t, basePercent, p.Percent())
}

func TestPacerCollectsLessOften(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 512 MB")
	}
	// 256 MB of garbage over a small live heap: about one collection per
	// 4 MB by default (the runtime's minimum heap), about one per 64 MB
	// with the floor.
	runtime.GC()
	before := gcCycles()
	churn(256 << 20)
	without := gcCycles() - before

	p := Start(64<<20, slog.New(slog.DiscardHandler))
	require.NotNil(t, p)
	defer p.Stop()
	waitPercent(t, p, func(pct int) bool { return pct > basePercent })
	before = gcCycles()
	churn(256 << 20)
	with := gcCycles() - before
	t.Logf("collections for 256 MB of garbage: %d by default, %d with a 64 MB floor", without, with)
	require.Less(t, with*4, without, "the floor spaces collections out")
}

func TestStartStandsAside(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	require.Nil(t, Start(0, log), "a floor of 0 turns pacing off")
	t.Setenv("GOGC", "200")
	require.Nil(t, Start(64<<20, log), "GOGC set in the environment is the operator's choice")
	var p *Pacer
	p.Stop() // a nil pacer stops without harm
}

func TestCapFloor(t *testing.T) {
	t.Parallel()
	const mb = 1 << 20
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if v, ok := m[p]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
	}
	tests := []struct {
		name    string
		goLimit int64
		files   map[string]string
		want    uint64
	}{
		{"no limit anywhere", math.MaxInt64, nil, 192 * mb},
		{"cgroup v2 without limit", math.MaxInt64, map[string]string{"/sys/fs/cgroup/memory.max": "max\n"}, 192 * mb},
		{"cgroup v2 of 256 MB", math.MaxInt64, map[string]string{"/sys/fs/cgroup/memory.max": "268435456\n"}, 64 * mb},
		{"cgroup v2 of 4 GB", math.MaxInt64, map[string]string{"/sys/fs/cgroup/memory.max": "4294967296\n"}, 192 * mb},
		{"cgroup v1 without limit", math.MaxInt64, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 192 * mb},
		{"cgroup v1 of 512 MB", math.MaxInt64, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912"}, 128 * mb},
		{"GOMEMLIMIT of 200 MB", 200 * mb, nil, 100 * mb},
		{"both", 300 * mb, map[string]string{"/sys/fs/cgroup/memory.max": "400000000"}, 100_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, capFloor(192*mb, tt.goLimit, files(tt.files)))
		})
	}
}
