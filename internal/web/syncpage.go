package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
)

// mappingHealth is one line of the synchronisation page.
type mappingHealth struct {
	Mapping    mapping.TableMapping
	Last       *syncer.Job
	OpenErrors int
	Couplings  int
	Skipped    int
	Health     string // "ok", "failing", "never run", "disabled"
}

type syncView struct {
	Mappings []mappingHealth
	Runs     []syncer.Job
	Chart    chartSVG
	Running  bool
	Enabled  bool
	Error    string
}

func (h *Handler) loadSync(ctx context.Context, withMappings bool) (syncView, error) {
	var v syncView
	jobs, err := h.st.ListJobs(ctx, store.JobFilter{Limit: 500})
	if err != nil {
		return v, err
	}
	for _, j := range jobs {
		if j.Status == "running" {
			v.Running = true
		}
	}
	v.Runs = jobs[:min(len(jobs), 25)]
	if c, err := h.st.GetConnection(ctx, "default"); err == nil {
		v.Enabled = c.Enabled
	}
	if !withMappings {
		return v, nil
	}
	v.Chart = renderChart(jobs)
	ms, err := h.mappings(ctx)
	if err != nil {
		return v, err
	}
	errs, err := h.st.ListErrors(ctx, store.ErrorFilter{OpenOnly: true})
	if err != nil {
		return v, err
	}
	open := map[string]int{}
	for _, e := range errs {
		open[e.Mapping]++
	}
	last := map[string]*syncer.Job{}
	for i := range jobs {
		if _, ok := last[jobs[i].Mapping]; !ok {
			last[jobs[i].Mapping] = &jobs[i]
		}
	}
	ordered, err := mapping.Order(ms)
	if err != nil {
		ordered = ms
	}
	for _, m := range ordered {
		mh := mappingHealth{Mapping: m, Last: last[m.Name], OpenErrors: open[m.Name]}
		if mh.Couplings, err = h.st.CountCouplings(ctx, m.Name); err != nil {
			return v, err
		}
		switch {
		case m.Disabled:
			mh.Health = "disabled"
		case mh.Last == nil:
			mh.Health = "never run"
		case mh.Last.Status == "failed" || mh.OpenErrors > 0:
			mh.Health = "failing"
		default:
			mh.Health = "ok"
		}
		v.Mappings = append(v.Mappings, mh)
	}
	return v, nil
}

// mappings are the stored mappings, or the default set when none is stored
// yet (what the engine would run).
func (h *Handler) mappings(ctx context.Context) ([]mapping.TableMapping, error) {
	ms, err := h.st.ListMappings(ctx)
	if err != nil || len(ms) > 0 {
		return ms, err
	}
	return mapping.Defaults(), nil
}

func (h *Handler) syncPage(w http.ResponseWriter, r *http.Request, status int, flash, problem string) {
	v, err := h.loadSync(r.Context(), true)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "read the synchronisation status: "+err.Error())
		return
	}
	v.Error = problem
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	h.view(w, r, "sync", pageData{Title: "Synchronisation", NavActive: "sync", Flash: flash, Data: v})
}

func (h *Handler) syncOverview(w http.ResponseWriter, r *http.Request) {
	h.syncPage(w, r, http.StatusOK, "", "")
}

// syncRuns is the runs table alone, polled by htmx while runs are going.
func (h *Handler) syncRuns(w http.ResponseWriter, r *http.Request) {
	v, err := h.loadSync(r.Context(), false)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	h.part(w, r, "sync", "runs", pageData{Data: v})
}

// startSync validates the request and queues a sync job.
func (h *Handler) startSync(ctx context.Context, names []string, full bool, records []string, trigger string) (int64, error) {
	ms, err := h.mappings(ctx)
	if err != nil {
		return 0, err
	}
	for i, n := range names {
		found := false
		for _, m := range ms {
			if strings.EqualFold(m.Name, n) {
				names[i], found = m.Name, true
			}
		}
		if !found {
			return 0, badInput("mapping", "mapping %q does not exist; see the mappings page", n)
		}
	}
	if c, err := h.st.GetConnection(ctx, "default"); err != nil || !c.Enabled {
		return 0, conflict("", "the connection is not enabled, so nothing would synchronise: enable it on the connection page first")
	}
	if len(records) > 0 {
		return h.syncRecords(ctx, names, records, trigger)
	}
	if h.enqueue == nil {
		return 0, fmt.Errorf("no job queue is running")
	}
	return h.enqueue(ctx, syncjobs.SyncArgs{Mappings: names, Full: full, Records: records, Trigger: trigger})
}

// syncRecords synchronises a few records of one mapping now, in the request,
// as the signed-in user: the CRM records who made the change (and refuses
// an unmapped user before anything is sent when mapping is required).
func (h *Handler) syncRecords(ctx context.Context, names, records []string, trigger string) (int64, error) {
	actx, err := h.actAs(ctx)
	if err != nil {
		return 0, err
	}
	eng, err := h.engineFor(ctx)
	if err != nil {
		return 0, err
	}
	jobs, err := eng.Run(actx, names, syncer.RunOptions{ERPIDs: records, Trigger: trigger})
	if err != nil {
		return 0, err
	}
	if len(jobs) == 0 {
		return 0, fmt.Errorf("the synchronisation of %s ran no job", strings.Join(names, ", "))
	}
	return jobs[0].ID, nil
}

func (h *Handler) syncNow(w http.ResponseWriter, r *http.Request) {
	var names []string
	if m := strings.TrimSpace(r.PostFormValue("mapping")); m != "" {
		names = []string{m}
	}
	full := r.PostFormValue("full") == "yes"
	trigger := "manual"
	if full {
		trigger = "full"
	}
	id, err := h.startSync(r.Context(), names, full, nil, trigger)
	if err != nil {
		h.syncPage(w, r, statusOf(err), "", err.Error())
		return
	}
	what := "every mapping"
	if len(names) > 0 {
		what = names[0]
	}
	h.syncPage(w, r, http.StatusOK, fmt.Sprintf("Synchronisation of %s queued (job %d); progress appears below.", what, id), "")
}
