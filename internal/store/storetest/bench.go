package storetest

import (
	"testing"

	"github.com/coupler/coupler/internal/store"
)

// BenchmarkPutCouplings writes 1,000 new couplings per iteration, the
// engine's batch size; ns/op is the cost of one batch.
func BenchmarkPutCouplings(b *testing.B, s store.Store) {
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.PutCouplings(ctx, bulk("BENCH", i*1000, 1000, "C")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
}
