package ratelimit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/storetest"
)

// BenchmarkSharedTurn is how fast one bucket row hands out turns when the
// budget never makes anyone wait: the ceiling of the shared limiter for one
// (connection, service, user), to compare with the 20 turns per second a
// real user is allowed.
func BenchmarkSharedTurn(b *testing.B) {
	url := storetest.PostgresURL(b)
	st, err := store.Open(b.Context(), store.Options{DatabaseURL: url, Logger: logger()})
	require.NoError(b, err)
	defer st.Close()
	l, err := ratelimit.New(st, logger())
	require.NoError(b, err)
	bk, err := l.Bucket(ratelimit.Key{Connection: "c", Service: ratelimit.ServiceBC, User: "u"},
		ratelimit.Budget{Requests: 1 << 40, Window: time.Second, Burst: 1 << 30})
	require.NoError(b, err)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := bk.Wait(b.Context()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "turns/s")
}
