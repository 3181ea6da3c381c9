package web

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/syncer"
)

// chartSVG is an inline SVG drawn on the server: no script, no external
// asset, readable by screen readers through its title and table fallback.
type chartSVG struct {
	SVG     template.HTML
	Buckets []chartBucket
}

type chartBucket struct {
	Start          time.Time
	Synced, Failed int
}

const (
	chartW, chartH    = 640, 220
	chartL, chartB    = 48, 30
	chartT, chartR    = 16, 12
	chartBucketsCount = 24
)

// renderChart buckets runs by start time into 24 equal intervals between
// the oldest and the newest run (one point per run when they span less
// than 24 minutes) and draws records synchronised (inserted + modified +
// deleted) and failures as two lines.
func renderChart(jobs []syncer.Job) chartSVG {
	if len(jobs) == 0 {
		return chartSVG{}
	}
	js := slices.Clone(jobs)
	slices.SortFunc(js, func(a, b syncer.Job) int { return a.StartedAt.Compare(b.StartedAt) })
	first, last := js[0].StartedAt, js[len(js)-1].StartedAt
	span := last.Sub(first)
	var bs []chartBucket
	if span < chartBucketsCount*time.Minute {
		// A short history (a first full run): one point per run reads
		// better than one bucket holding everything.
		for _, j := range js {
			bs = append(bs, chartBucket{Start: j.StartedAt, Synced: j.Counts.Inserted + j.Counts.Modified + j.Counts.Deleted, Failed: j.Counts.Failed})
		}
		if len(bs) == 1 {
			bs = append(bs, bs[0])
		}
	} else {
		step := span / chartBucketsCount
		bs = make([]chartBucket, chartBucketsCount+1)
		for i := range bs {
			bs[i].Start = first.Add(time.Duration(i) * step)
		}
		for _, j := range js {
			i := min(int(j.StartedAt.Sub(first)/step), chartBucketsCount)
			bs[i].Synced += j.Counts.Inserted + j.Counts.Modified + j.Counts.Deleted
			bs[i].Failed += j.Counts.Failed
		}
	}
	top := 1
	for _, b := range bs {
		top = max(top, b.Synced, b.Failed)
	}
	pw, ph := float64(chartW-chartL-chartR), float64(chartH-chartT-chartB)
	x := func(i int) float64 { return float64(chartL) + pw*float64(i)/float64(len(bs)-1) }
	y := func(v int) float64 { return float64(chartT) + ph - ph*float64(v)/float64(top) }
	line := func(get func(chartBucket) int) string {
		var sb strings.Builder
		for i, b := range bs {
			fmt.Fprintf(&sb, "%.1f,%.1f ", x(i), y(get(b)))
		}
		return strings.TrimSpace(sb.String())
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	fmt.Fprintf(&sb, `<title id="chart-title">Records synchronised and failures from %s to %s (peak %d)</title>`,
		template.HTMLEscapeString(first.Local().Format("2006-01-02 15:04")), template.HTMLEscapeString(last.Local().Format("2006-01-02 15:04")), top)
	fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="#fff" stroke="#d0d0d0"/>`, chartL, chartT, pw, ph)
	for _, v := range []int{0, top / 2, top} {
		fmt.Fprintf(&sb, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#444">%d</text>`, chartL-4, y(v)+4, v)
		fmt.Fprintf(&sb, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`, chartL, chartW-chartR, y(v), y(v))
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="11" fill="#444">%s</text>`, chartL, chartH-10, template.HTMLEscapeString(first.Local().Format("01-02 15:04")))
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#444">%s</text>`, chartW-chartR, chartH-10, template.HTMLEscapeString(last.Local().Format("01-02 15:04")))
	fmt.Fprintf(&sb, `<polyline class="synced" fill="none" stroke="#0b57d0" stroke-width="2" points="%s"/>`, line(func(b chartBucket) int { return b.Synced }))
	fmt.Fprintf(&sb, `<polyline class="failed" fill="none" stroke="#b00020" stroke-width="2" stroke-dasharray="5 3" points="%s"/>`, line(func(b chartBucket) int { return b.Failed }))
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="12" fill="#0b57d0">— synchronised</text>`, chartL+8, chartT+14)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="12" fill="#b00020">- - failed</text>`, chartL+120, chartT+14)
	sb.WriteString(`</svg>`)
	return chartSVG{SVG: template.HTML(sb.String()), Buckets: bs}
}
