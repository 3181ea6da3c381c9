package web

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/syncer"
)

func TestRenderChart(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	job := func(at time.Duration, synced, failed int) syncer.Job {
		return syncer.Job{StartedAt: t0.Add(at), Counts: syncer.Counts{Inserted: synced, Failed: failed}}
	}
	tests := []struct {
		name    string
		jobs    []syncer.Job
		points  int
		peak    int
		synced  int // total over the buckets
		failed  int
		noChart bool
	}{
		{name: "no run", noChart: true},
		{name: "one run", jobs: []syncer.Job{job(0, 7, 1)}, points: 2, peak: 7, synced: 14, failed: 2},
		{name: "short history: one point per run", jobs: []syncer.Job{job(0, 5, 0), job(time.Minute, 3, 2), job(2*time.Minute, 0, 9)}, points: 3, peak: 9, synced: 8, failed: 11},
		{name: "a day: 25 buckets", jobs: []syncer.Job{job(0, 5, 0), job(12*time.Hour, 3, 2), job(24*time.Hour, 4, 1)}, points: 25, peak: 5, synced: 12, failed: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := renderChart(tt.jobs)
			if tt.noChart {
				require.Empty(t, c.SVG)
				return
			}
			svg := string(c.SVG)
			require.Len(t, c.Buckets, tt.points)
			require.Contains(t, svg, `role="img"`)
			require.Contains(t, svg, "(peak "+strconv.Itoa(tt.peak)+")")
			for _, cls := range []string{"synced", "failed"} {
				i := strings.Index(svg, `class="`+cls+`"`)
				require.Positive(t, i)
				pts := svg[strings.Index(svg[i:], `points="`)+i+8:]
				pts = pts[:strings.Index(pts, `"`)]
				require.Len(t, strings.Fields(pts), tt.points, cls)
			}
			s, f := 0, 0
			for _, b := range c.Buckets {
				s, f = s+b.Synced, f+b.Failed
			}
			require.Equal(t, tt.synced, s)
			require.Equal(t, tt.failed, f)
		})
	}
}
