// Package metrics exposes coupler's Prometheus metrics. Synchronisation
// figures are read from the store at scrape time, so that every instance
// sharing a database reports the same totals and nothing is lost when an
// instance restarts; API request counts come from the live clients.
package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
)

// Sources are where the figures come from; any may be nil.
type Sources struct {
	Store store.Store
	// CRM and ERP return the counters of every client built since start.
	CRM func() []dataverse.Stats
	ERP func() []bc.Stats
	// QueueDepth is the number of jobs waiting in the job queue.
	QueueDepth func(ctx context.Context) (int, error)
	Logger     *slog.Logger
}

var (
	recordsDesc = prometheus.NewDesc("coupler_sync_records_total",
		"Records handled by synchronisation runs, by mapping, direction of the mapping and outcome (inserted, modified, deleted, unchanged, skipped, failed).",
		[]string{"mapping", "direction", "outcome"}, nil)
	durationDesc = prometheus.NewDesc("coupler_sync_job_duration_seconds",
		"Duration of finished synchronisation runs, by mapping.", []string{"mapping"}, nil)
	jobsDesc = prometheus.NewDesc("coupler_sync_jobs_total",
		"Synchronisation runs by mapping and status (running, succeeded, failed, cancelled).", []string{"mapping", "status"}, nil)
	openErrorsDesc = prometheus.NewDesc("coupler_sync_open_errors",
		"Failed records not yet resolved, by mapping.", []string{"mapping"}, nil)
	apiDesc = prometheus.NewDesc("coupler_api_requests_total",
		"HTTP requests sent to the CRM (Dataverse) and ERP (Business Central) APIs, by service and status (429 = throttled; 0 = no answer; for the ERP, 5xx groups server errors and 2xx-4xx the rest).",
		[]string{"service", "status"}, nil)
	retriesDesc = prometheus.NewDesc("coupler_api_retries_total",
		"Requests to the APIs that were retries, by service.", []string{"service"}, nil)
	queueDesc = prometheus.NewDesc("coupler_job_queue_depth",
		"Jobs waiting in the job queue.", nil, nil)
	scrapeErrDesc = prometheus.NewDesc("coupler_metrics_scrape_errors",
		"1 when a source of these metrics could not be read during this scrape.", []string{"source"}, nil)
)

// DurationBuckets are the job duration histogram's upper bounds in seconds.
var DurationBuckets = []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600}

// Register adds coupler's collector (and the Go and process collectors)
// to reg.
func Register(reg *prometheus.Registry, src Sources) error {
	if src.Logger == nil {
		src.Logger = slog.New(slog.DiscardHandler)
	}
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &collector{src: src},
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

type collector struct{ src Sources }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{recordsDesc, durationDesc, jobsDesc, openErrorsDesc, apiDesc, retriesDesc, queueDesc, scrapeErrDesc} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c.src.Store != nil {
		c.collectSync(ctx, ch)
	}
	c.collectAPI(ch)
	if c.src.QueueDepth != nil {
		n, err := c.src.QueueDepth(ctx)
		c.scrapeErr(ch, "queue", err)
		if err == nil {
			ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n))
		}
	}
}

func (c *collector) scrapeErr(ch chan<- prometheus.Metric, source string, err error) {
	v := 0.0
	if err != nil {
		v = 1
		c.src.Logger.Warn("metrics: source unreadable", "source", source, "err", err)
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, v, source)
}

type histo struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64
}

func (c *collector) collectSync(ctx context.Context, ch chan<- prometheus.Metric) {
	st := c.src.Store
	ms, err := st.ListMappings(ctx)
	c.scrapeErr(ch, "mappings", err)
	dir := map[string]mapping.Direction{}
	for _, m := range ms {
		dir[m.Name] = m.Direction
	}
	jobs, err := st.ListJobs(ctx, store.JobFilter{})
	c.scrapeErr(ch, "jobs", err)
	type key struct{ m, outcome string }
	records := map[key]int{}
	status := map[[2]string]int{}
	hs := map[string]*histo{}
	for _, j := range jobs {
		n := j.Counts
		for outcome, v := range map[string]int{"inserted": n.Inserted, "modified": n.Modified, "deleted": n.Deleted,
			"unchanged": n.Unchanged, "skipped": n.Skipped, "failed": n.Failed} {
			records[key{j.Mapping, outcome}] += v
		}
		status[[2]string{j.Mapping, j.Status}]++
		if j.FinishedAt.IsZero() {
			continue
		}
		h := hs[j.Mapping]
		if h == nil {
			h = &histo{buckets: map[float64]uint64{}}
			hs[j.Mapping] = h
		}
		d := j.FinishedAt.Sub(j.StartedAt).Seconds()
		h.count++
		h.sum += d
		for _, b := range DurationBuckets {
			if d <= b {
				h.buckets[b]++
			}
		}
	}
	for k, v := range records {
		ch <- prometheus.MustNewConstMetric(recordsDesc, prometheus.CounterValue, float64(v), k.m, string(dir[k.m]), k.outcome)
	}
	for k, v := range status {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.CounterValue, float64(v), k[0], k[1])
	}
	for m, h := range hs {
		ch <- prometheus.MustNewConstHistogram(durationDesc, h.count, h.sum, h.buckets, m)
	}
	errs, err := st.ListErrors(ctx, store.ErrorFilter{OpenOnly: true})
	c.scrapeErr(ch, "errors", err)
	open := map[string]int{}
	for _, m := range ms {
		open[m.Name] = 0
	}
	for _, e := range errs {
		open[e.Mapping]++
	}
	for m, n := range open {
		ch <- prometheus.MustNewConstMetric(openErrorsDesc, prometheus.GaugeValue, float64(n), m)
	}
}

func (c *collector) collectAPI(ch chan<- prometheus.Metric) {
	if c.src.CRM != nil {
		byStatus := map[int]int64{}
		var retries int64
		for _, s := range c.src.CRM() {
			for _, r := range s.Requests {
				byStatus[r.Status] += r.Count
			}
			retries += s.Retries
		}
		for st, n := range byStatus {
			ch <- prometheus.MustNewConstMetric(apiDesc, prometheus.CounterValue, float64(n), "crm", strconv.Itoa(st))
		}
		ch <- prometheus.MustNewConstMetric(retriesDesc, prometheus.CounterValue, float64(retries), "crm")
	}
	if c.src.ERP != nil {
		var t bc.Stats
		for _, s := range c.src.ERP() {
			t.Requests += s.Requests
			t.Retries += s.Retries
			t.Throttled += s.Throttled
			t.ServerErrors += s.ServerErrors
			t.TransportErrors += s.TransportErrors
		}
		other := t.Requests - t.Throttled - t.ServerErrors - t.TransportErrors
		for status, n := range map[string]int64{"429": t.Throttled, "5xx": t.ServerErrors, "0": t.TransportErrors, "2xx-4xx": other} {
			ch <- prometheus.MustNewConstMetric(apiDesc, prometheus.CounterValue, float64(n), "erp", status)
		}
		ch <- prometheus.MustNewConstMetric(retriesDesc, prometheus.CounterValue, float64(t.Retries), "erp")
	}
}
