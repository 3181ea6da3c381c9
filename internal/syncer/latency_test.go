package syncer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/memstore"
)

// slowSide adds a service's latency to a fake side: each page read and
// each batch written waits before it is answered.
type slowSide struct {
	*fakeSide
	page, batch time.Duration
}

func (s slowSide) Read(ctx context.Context, q syncer.ReadQuery, fn func([]syncer.Record) error) error {
	return s.fakeSide.Read(ctx, q, func(p []syncer.Record) error {
		time.Sleep(s.page)
		return fn(p)
	})
}

func (s slowSide) Write(ctx context.Context, entity, key string, ops []syncer.Op) ([]syncer.Result, error) {
	time.Sleep(s.batch)
	return s.fakeSide.Write(ctx, entity, key, ops)
}

// BenchmarkFullLatencyBound is a full run of 5,000 customers when the
// services, not the machine, set the pace, as real ones do: the CRM
// answers a batch of 100 in 20 ms, the ERP a page of 500 in 2 ms, four
// batches in flight. A page is five batches: a run that waits for each
// page's batches before the next page leaves slots idle.
func BenchmarkFullLatencyBound(b *testing.B) {
	const n = 5000
	for b.Loop() {
		b.StopTimer()
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		erp, crm := newFakeSide("erp", c, "", 100), newFakeSide("crm", c, integrationUser, 100)
		erp.pageSize, crm.pageSize = 500, 5000
		for i := range n {
			no := fmt.Sprint(100000 + i)
			erp.put("customers", "c-"+no, customer(no, "Customer "+no, "", ""))
		}
		m, ok := mapping.Default(mapping.Customer)
		require.True(b, ok)
		for i := range m.Fields { // no lookup mappings: the customers alone
			m.Fields[i].Lookup = nil
		}
		eng, err := syncer.New(syncer.Options{
			Store: memstore.New(), CRM: slowSide{crm, 0, 20 * time.Millisecond}, ERP: slowSide{erp, 2 * time.Millisecond, 0},
			Clock: c.Now, Concurrency: 4, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Mappings: func(context.Context) ([]mapping.TableMapping, error) { return []mapping.TableMapping{m}, nil },
		})
		require.NoError(b, err)
		b.StartTimer()
		jobs, err := eng.Run(context.Background(), []string{mapping.Customer}, syncer.RunOptions{Full: true})
		b.StopTimer()
		require.NoError(b, err)
		require.Equal(b, "succeeded", jobs[0].Status, "%+v", jobs[0])
		require.Equal(b, n, jobs[0].Counts.Inserted, "%+v", jobs[0].Counts)
		b.StartTimer()
	}
}
