package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

type errorsView struct {
	Errors  []syncer.SyncError
	Mapping string
	All     bool
	Skipped []syncer.Coupling
}

type errorView struct {
	Err      syncer.SyncError
	Coupling *syncer.Coupling
	Problem  string
}

func (h *Handler) errorsList(w http.ResponseWriter, r *http.Request) {
	v := errorsView{Mapping: r.URL.Query().Get("mapping"), All: r.URL.Query().Get("all") == "yes"}
	var err error
	v.Errors, err = h.st.ListErrors(r.Context(), store.ErrorFilter{Mapping: v.Mapping, OpenOnly: !v.All, Limit: 200})
	if err == nil {
		v.Skipped, err = h.st.ListCouplings(r.Context(), store.CouplingFilter{Mapping: v.Mapping, SkippedOnly: true, Limit: 200})
	}
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	h.view(w, r, "errors", pageData{Title: "Errors", NavActive: "errors", Flash: r.URL.Query().Get("done"), Data: v})
}

// findError looks an error up by id (the store lists, newest first).
func (h *Handler) findError(ctx context.Context, raw string) (syncer.SyncError, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return syncer.SyncError{}, badInput("id", "error id %q is not a positive number", raw)
	}
	es, err := h.st.ListErrors(ctx, store.ErrorFilter{})
	if err != nil {
		return syncer.SyncError{}, err
	}
	for _, e := range es {
		if e.ID == id {
			return e, nil
		}
	}
	return syncer.SyncError{}, notFound("id", "no synchronisation error %d", id)
}

func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, flash, problem string) {
	e, err := h.findError(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, statusOf(err), err.Error())
		return
	}
	v := errorView{Err: e, Problem: problem}
	if e.ERPID != "" {
		if c, err := h.st.GetCouplingByERP(r.Context(), e.Mapping, e.ERPID); err == nil {
			v.Coupling = &c
		}
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	h.view(w, r, "errordetail", pageData{Title: fmt.Sprintf("Error %d", e.ID), NavActive: "errors", Flash: flash, Data: v})
}

func (h *Handler) errorDetail(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusOK, "", "")
}

// retryError queues a run of the failed record (or of its mapping when the
// failure names no ERP record).
func (h *Handler) retryError(ctx context.Context, raw string) (int64, syncer.SyncError, error) {
	e, err := h.findError(ctx, raw)
	if err != nil {
		return 0, e, err
	}
	var recs []string
	if e.ERPID != "" {
		recs = []string{e.ERPID}
		// A retried record is back in synchronisation even if it was skipped.
		if c, err := h.st.GetCouplingByERP(ctx, e.Mapping, e.ERPID); err == nil && c.Skipped {
			c.Skipped, c.FailCount = false, 0
			if err := h.st.PutCouplings(ctx, []syncer.Coupling{c}); err != nil {
				return 0, e, err
			}
		}
	}
	id, err := h.startSync(ctx, []string{e.Mapping}, false, recs, "retry")
	return id, e, err
}

func (h *Handler) errorRetry(w http.ResponseWriter, r *http.Request) {
	id, e, err := h.retryError(r.Context(), r.PathValue("id"))
	if err != nil {
		h.errorPage(w, r, statusOf(err), "", err.Error())
		return
	}
	what := "mapping " + e.Mapping
	if e.ERPID != "" {
		what = "record " + e.ERPID + " of " + e.Mapping
	}
	h.errorPage(w, r, http.StatusOK, retryFlash(e, what, id), "")
}

func retryFlash(e syncer.SyncError, what string, id int64) string {
	if e.ERPID != "" {
		return fmt.Sprintf("Retry of %s ran now (job %d): see Synchronisation for its counts.", what, id)
	}
	return fmt.Sprintf("Retry of %s queued (job %d): see Synchronisation for the result.", what, id)
}

// restoreSkipped puts skipped records of a mapping (all when empty) back
// into synchronisation.
func (h *Handler) restoreSkipped(ctx context.Context, m string) (int, error) {
	if m != "" {
		ms, err := h.mappings(ctx)
		if err != nil {
			return 0, err
		}
		found := false
		for _, x := range ms {
			if strings.EqualFold(x.Name, m) {
				m, found = x.Name, true
			}
		}
		if !found {
			return 0, badInput("mapping", "mapping %q does not exist", m)
		}
	}
	cs, err := h.st.ListCouplings(ctx, store.CouplingFilter{Mapping: m, SkippedOnly: true})
	if err != nil {
		return 0, err
	}
	for i := range cs {
		cs[i].Skipped, cs[i].FailCount = false, 0
	}
	if len(cs) > 0 {
		if err := h.st.PutCouplings(ctx, cs); err != nil {
			return 0, err
		}
	}
	return len(cs), nil
}

func (h *Handler) errorsRestore(w http.ResponseWriter, r *http.Request) {
	n, err := h.restoreSkipped(r.Context(), r.PostFormValue("mapping"))
	if err != nil {
		h.fail(w, r, statusOf(err), err.Error())
		return
	}
	http.Redirect(w, r, "/errors?done="+urlQueryEscape(fmt.Sprintf("%d skipped record(s) restored; the next run retries them.", n)), http.StatusSeeOther)
}
