package scaleout_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/jobs"
)

type tickArgs struct {
	Schedule string `json:"schedule"`
}

func (tickArgs) Kind() string { return "scaleout_tick" }

// ticks counts the runs of each schedule on each instance.
type ticks struct {
	mu sync.Mutex
	n  map[string]map[string]int // schedule → instance → runs
}

func (c *ticks) add(schedule, inst string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[schedule] == nil {
		c.n[schedule] = map[string]int{}
	}
	c.n[schedule][inst]++
}

func (c *ticks) total(schedule string) (sum int, perInstance map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	perInstance = map[string]int{}
	for k, v := range c.n[schedule] {
		perInstance[k] = v
		sum += v
	}
	return sum, perInstance
}

type tickWorker struct {
	river.WorkerDefaults[tickArgs]
	name  string
	count *ticks
}

func (w *tickWorker) Work(_ context.Context, job *river.Job[tickArgs]) error {
	w.count.add(job.Args.Schedule, w.name)
	return nil
}

// TestPeriodicFiresOnce: two instances on one database both declare the
// same every-second schedules; over six seconds from its first run each
// schedule fires about six times in all, not twelve, because only the elected leader
// inserts periodic jobs, and any instance may work them. It also shows why
// periodic and "sync now" jobs must use jobs.UniqueWhileActive rather than
// River's default unique states: a job unique by args whose first run has
// completed blocks every later one (for the day completed jobs are kept).
func TestPeriodicFiresOnce(t *testing.T) {
	t.Parallel()
	url := setup(t)
	count := &ticks{n: map[string]map[string]int{}}
	schedules := map[string]*river.InsertOpts{
		"plain":          nil,
		"active-unique":  {UniqueOpts: jobs.UniqueWhileActive()},
		"default-unique": {UniqueOpts: river.UniqueOpts{ByArgs: true}},
	}
	for _, name := range []string{"a", "b"} {
		reg := jobs.NewRegistry()
		require.NoError(t, jobs.Register(reg, &tickWorker{name: name, count: count}))
		for s, opts := range schedules {
			require.NoError(t, reg.Schedule("tick-"+s, river.PeriodicInterval(time.Second),
				func() (river.JobArgs, *river.InsertOpts) { return tickArgs{Schedule: s}, opts }, true))
		}
		start(t, url, reg, jobs.Options{})
	}
	// Count over six seconds from the first tick: electing the leader
	// takes a moment, longer on a busy machine.
	require.Eventually(t, func() bool {
		a, _ := count.total("plain")
		b, _ := count.total("active-unique")
		return a > 0 && b > 0
	}, 30*time.Second, 20*time.Millisecond, "no schedule fired: no instance was elected")
	first := map[string]int{}
	for _, s := range []string{"plain", "active-unique"} {
		first[s], _ = count.total(s)
	}
	time.Sleep(6 * time.Second)
	for _, s := range []string{"plain", "active-unique"} {
		n, per := count.total(s)
		t.Logf("%s: %d runs in 6 s after the first, %d in all %v", s, n-first[s], n, per)
		require.GreaterOrEqual(t, n-first[s], 3, "%s: the schedule did not keep firing", s)
		require.LessOrEqual(t, n-first[s], 8, "%s: fired more than once a second: each instance scheduled it", s)
	}
	n, _ := count.total("default-unique")
	require.Equal(t, 1, n, "River's default unique states count completed jobs: only the first tick runs")
}
