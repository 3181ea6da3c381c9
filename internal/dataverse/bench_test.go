package dataverse

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// BenchmarkSimReadPages reports records/s of paged reads (5,000-row pages)
// through the client against the simulator over loopback HTTP.
func BenchmarkSimReadPages(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	const n = 5000
	seed(b, f, n)
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		err := f.c.List(ctx, "accounts", Query{Select: []string{"name", "accountnumber"}, Filter: "startswith(name,'Bench ')", PageSize: 5000},
			func(p Page) error { rows += len(p.Records); return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSimBatchWrites reports records/s of upserts sent in $batch of 1,000.
func BenchmarkSimBatchWrites(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	written := 0
	for i := 0; b.Loop(); i++ {
		reqs := make([]BatchRequest, MaxBatchRequests)
		for j := range reqs {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i*MaxBatchRequests+j)
			reqs[j] = BatchRequest{Method: http.MethodPatch, Path: "accounts(" + id + ")", Body: map[string]any{"name": "Bench write", "accountnumber": id[24:]}}
		}
		res, err := f.c.Batch(ctx, reqs, BatchOptions{ContinueOnError: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
		written += len(reqs)
	}
	b.ReportMetric(float64(written)/b.Elapsed().Seconds(), "records/s")
}

func seed(b *testing.B, f *fixture, n int) {
	ctx := context.Background()
	for start := 0; start < n; start += MaxBatchRequests {
		reqs := make([]BatchRequest, 0, MaxBatchRequests)
		for j := start; j < n && j < start+MaxBatchRequests; j++ {
			reqs = append(reqs, BatchRequest{Method: http.MethodPost, Path: "accounts", Body: map[string]any{"name": fmt.Sprintf("Bench %06d", j)}})
		}
		if _, err := f.c.Batch(ctx, reqs, BatchOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSimBatchWritesParallel is BenchmarkSimBatchWrites with 4 batches in
// flight, as the syncer runs them.
func BenchmarkSimBatchWritesParallel(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	var written atomic.Int64
	var next atomic.Int64
	b.SetParallelism(2) // 2 × GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			reqs := make([]BatchRequest, MaxBatchRequests)
			for j := range reqs {
				id := fmt.Sprintf("00000000-0000-4000-9000-%012d", int(i)*MaxBatchRequests+j)
				reqs[j] = BatchRequest{Method: http.MethodPatch, Path: "accounts(" + id + ")", Body: map[string]any{"name": "Bench write"}}
			}
			res, err := f.c.Batch(ctx, reqs, BatchOptions{ContinueOnError: true})
			if err != nil {
				b.Error(err)
				return
			}
			for _, r := range res {
				if r.Err != nil {
					b.Error(r.Err)
					return
				}
			}
			written.Add(int64(len(reqs)))
		}
	})
	b.ReportMetric(float64(written.Load())/b.Elapsed().Seconds(), "records/s")
}
