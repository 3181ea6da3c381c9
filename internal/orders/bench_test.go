package orders_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkCreateOrders measures CRM orders of 5 lines turned into ERP
// orders per second, end to end over HTTP against the sandbox (read order,
// lines and notes, resolve couplings, claim, POST with deep insert, record,
// write back lastbackofficesubmit and a post).
func BenchmarkCreateOrders(b *testing.B) {
	e := setup(b)
	addOrders(b, e, "BENCH", b.N, 5)
	b.ResetTimer()
	start := time.Now()
	out, err := e.svc.CreateOrders(context.Background(), "")
	require.NoError(b, err)
	b.StopTimer()
	created := 0
	for _, o := range out {
		if o.Result == "created" && strings.HasPrefix(o.CRMNumber, "BENCH-") {
			created++
		}
	}
	require.Equal(b, b.N, created)
	b.ReportMetric(float64(created)/time.Since(start).Seconds(), "orders/s")
}
