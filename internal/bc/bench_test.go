package bc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/bc"
	simbc "github.com/coupler/coupler/internal/sandbox/bc"
)

// benchSetup is setup for benchmarks: a simulator with scale synthetic
// customers and a client without its own request budget, so the figures
// are the simulator's and the client's, not the 6,000/5 min pacing.
func benchSetup(b *testing.B, scale int) *testBundle {
	b.Helper()
	tb := setup(b, setupOpt{
		sim: func(o *simbc.Options) { o.Scale = scale; o.Logger = nil },
		cfg: func(c *bc.Config) { c.RequestsPerWindow, c.Window = 1_000_000_000, time.Second },
	})
	return tb
}

// BenchmarkListCustomers pages every customer (20,000 per page, BC's
// default) and reports records read per second: raw, as List gives them;
// raw+maps, each then decoded into a map (the engine's two passes before
// ListFields); fields, decoded into maps in one pass by ListFields.
func BenchmarkListCustomers(b *testing.B) {
	tb := benchSetup(b, 50_000)
	ctx := b.Context()
	run := func(b *testing.B, list func(count func(int)) error) {
		records := 0
		start := time.Now()
		for b.Loop() {
			if err := list(func(n int) { records += n }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
	}
	b.Run("raw", func(b *testing.B) {
		run(b, func(count func(int)) error {
			return tb.client.List(ctx, bc.SetCustomers, bc.Query{}, func(p []json.RawMessage) error { count(len(p)); return nil })
		})
	})
	b.Run("raw+maps", func(b *testing.B) {
		run(b, func(count func(int)) error {
			return tb.client.List(ctx, bc.SetCustomers, bc.Query{}, func(p []json.RawMessage) error {
				for _, raw := range p {
					dec := json.NewDecoder(bytes.NewReader(raw))
					dec.UseNumber()
					var f map[string]any
					if err := dec.Decode(&f); err != nil {
						return err
					}
				}
				count(len(p))
				return nil
			})
		})
	})
	b.Run("fields", func(b *testing.B) {
		run(b, func(count func(int)) error {
			return tb.client.ListFields(ctx, bc.SetCustomers, bc.Query{}, func(p []map[string]any) error { count(len(p)); return nil })
		})
	})
}

// BenchmarkBatchCreateCustomers writes 500 customers per call through
// Batch, which sends five JSON $batch requests of 100 creates side by side
// (BC's concurrency), and reports records written per second.
func BenchmarkBatchCreateCustomers(b *testing.B) {
	tb := benchSetup(b, 0)
	ctx := b.Context()
	written, n := 0, 0
	start := time.Now()
	for b.Loop() {
		ops := make([]bc.BatchOp, 500)
		for i := range ops {
			ops[i] = bc.CreateOp(bc.SetCustomers, map[string]any{"displayName": fmt.Sprintf("Bench %d-%d", n, i), "city": "Reading"})
		}
		res, err := tb.client.Batch(ctx, ops, bc.BatchOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
		written += len(ops)
		n++
	}
	b.ReportMetric(float64(written)/time.Since(start).Seconds(), "records/s")
}
