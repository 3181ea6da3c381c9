package syncer_test

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// BenchmarkLiveFullSyncCustomers times a full synchronisation of the
// CUSTOMER mapping against a fresh sandbox holding COUPLER_BENCH_SCALE
// synthetic customers (default 5,000), after its dependencies are synced
// (untimed), and reports records/s.
// cpuTime is the user+system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkLiveFullSyncCustomers(b *testing.B) {
	scale := 5000
	if v := os.Getenv("COUPLER_BENCH_SCALE"); v != "" {
		var err error
		scale, err = strconv.Atoi(v)
		require.NoError(b, err, "COUPLER_BENCH_SCALE")
	}
	ctx := context.Background()
	deps := []string{mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod}
	var recs, ns, cpu float64
	for b.Loop() {
		b.StopTimer()
		l := setupLive(b, scale)
		_, err := l.eng.Run(ctx, deps, syncer.RunOptions{Full: true})
		require.NoError(b, err)
		c0 := cpuTime()
		b.StartTimer()
		jobs, err := l.eng.Run(ctx, []string{mapping.Customer}, syncer.RunOptions{Full: true})
		b.StopTimer()
		cpu += (cpuTime() - c0).Seconds()
		require.NoError(b, err)
		require.Len(b, jobs, 1)
		j := jobs[0]
		require.Equal(b, "succeeded", j.Status, j.Message)
		require.Zero(b, j.Counts.Failed, j.Message)
		n := j.Counts.Inserted + j.Counts.Modified + j.Counts.Unchanged
		recs += float64(n)
		ns += float64(j.FinishedAt.Sub(j.StartedAt).Nanoseconds())
		b.StartTimer()
	}
	b.ReportMetric(recs/(ns/1e9), "records/s")
	// CPU of the whole process (engine, clients, both simulators, SQLite)
	// per record: the figure that holds when the machine is shared.
	b.ReportMetric(cpu*1e6/recs, "cpu-µs/record")
}
