package metrics_test

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/logging"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/metrics"
	"github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
)

func TestCollector(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), logging.Discard())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	m, ok := mapping.Default("CUSTOMER")
	require.True(t, ok)
	require.NoError(t, st.PutMapping(ctx, m))
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	for _, j := range []syncer.Job{
		{Mapping: "CUSTOMER", Trigger: "full", Status: "succeeded", StartedAt: t0, FinishedAt: t0.Add(2 * time.Second), Counts: syncer.Counts{Inserted: 5, Failed: 1}},
		{Mapping: "CUSTOMER", Trigger: "schedule", Status: "failed", StartedAt: t0.Add(time.Hour), FinishedAt: t0.Add(time.Hour + 30*time.Second), Counts: syncer.Counts{Inserted: 2, Modified: 3}},
	} {
		created, err := st.CreateJob(ctx, j)
		require.NoError(t, err)
		j.ID = created.ID
		require.NoError(t, st.UpdateJob(ctx, j))
	}
	require.NoError(t, st.AddErrors(ctx, []syncer.SyncError{{JobID: 1, Mapping: "CUSTOMER", Direction: "ToCRM", ERPID: "x", Code: "400", Message: "bad"}}))

	reg := prometheus.NewRegistry()
	require.NoError(t, metrics.Register(reg, metrics.Sources{
		Store: st,
		CRM: func() []dataverse.Stats {
			return []dataverse.Stats{{Requests: []dataverse.RequestCount{{Method: "GET", Status: 200, Count: 7}, {Method: "POST", Status: 429, Count: 2}}, Retries: 2}}
		},
		ERP:        func() []bc.Stats { return []bc.Stats{{Requests: 10, Throttled: 3, ServerErrors: 1, Retries: 4}} },
		QueueDepth: func(context.Context) (int, error) { return 4, nil },
	}))
	got := gather(t, reg)
	for k, v := range map[string]float64{
		`coupler_sync_records_total{direction="Bidirectional",mapping="CUSTOMER",outcome="inserted"}`: 7,
		`coupler_sync_records_total{direction="Bidirectional",mapping="CUSTOMER",outcome="modified"}`: 3,
		`coupler_sync_records_total{direction="Bidirectional",mapping="CUSTOMER",outcome="failed"}`:   1,
		`coupler_sync_records_total{direction="Bidirectional",mapping="CUSTOMER",outcome="deleted"}`:  0,
		`coupler_api_requests_total{service="crm",status="200"}`:                                      7,
		`coupler_api_requests_total{service="crm",status="429"}`:                                      2,
		`coupler_api_requests_total{service="erp",status="429"}`:                                      3,
		`coupler_api_requests_total{service="erp",status="5xx"}`:                                      1,
		`coupler_api_requests_total{service="erp",status="2xx-4xx"}`:                                  6,
		`coupler_api_retries_total{service="erp"}`:                                                    4,
		`coupler_job_queue_depth{}`:                                                                   4,
		`coupler_sync_open_errors{mapping="CUSTOMER"}`:                                                1,
		`coupler_sync_jobs_total{mapping="CUSTOMER",status="failed"}`:                                 1,
		`coupler_sync_jobs_total{mapping="CUSTOMER",status="succeeded"}`:                              1,
		`coupler_sync_job_duration_seconds_count{mapping="CUSTOMER"}`:                                 2,
		`coupler_sync_job_duration_seconds_sum{mapping="CUSTOMER"}`:                                   32,
		`coupler_sync_job_duration_seconds_bucket{le="5",mapping="CUSTOMER"}`:                         1,
		`coupler_sync_job_duration_seconds_bucket{le="60",mapping="CUSTOMER"}`:                        2,
		`coupler_metrics_scrape_errors{source="jobs"}`:                                                0,
	} {
		require.Contains(t, got, k)
		require.InDelta(t, v, got[k], 1e-9, k)
	}
}

// gather flattens the registry into "name{label="value",…}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	key := func(name string, m *dto.Metric, extra ...string) string {
		var parts []string
		for _, l := range m.GetLabel() {
			parts = append(parts, l.GetName()+`="`+l.GetValue()+`"`)
		}
		parts = append(parts, extra...)
		sort.Strings(parts)
		return name + "{" + strings.Join(parts, ",") + "}"
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				out[key(f.GetName(), m)] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key(f.GetName(), m)] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				h := m.GetHistogram()
				out[key(f.GetName()+"_count", m)] = float64(h.GetSampleCount())
				out[key(f.GetName()+"_sum", m)] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					out[key(f.GetName()+"_bucket", m, `le="`+strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)+`"`)] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}
