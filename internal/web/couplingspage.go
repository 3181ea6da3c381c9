package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
)

type couplingRow struct {
	syncer.Coupling
	ERPLink, CRMLink string
	Name, Number     string // from the ERP, when found by an ERP search
}

type couplingsView struct {
	Mappings []mapping.TableMapping
	Mapping  string
	Query    string
	Rows     []couplingRow
	More     bool
	Match    *syncer.MatchResult
	Problem  string
	Found    []couplingRow // ERP records found by name or number
	SearchIn string        // "ids" or "erp"
}

// erpPages are the web client's card pages of the entities coupler maps.
var erpPages = map[string]int{"customers": 21, "vendors": 26, "items": 30, "contacts": 5050, "salesQuotes": 41,
	"salesOrders": 42, "salesInvoices": 43, "salespeoplePurchasers": 14, "currencies": 4, "paymentTerms": 4, "shipmentMethods": 11}

func erpLink(c setup.ConnectionSetup, m mapping.TableMapping, id string) string {
	p, ok := erpPages[m.ERPEntity]
	if !ok || c.ERP.WebClientURL == "" || id == "" {
		return ""
	}
	return fmt.Sprintf("%s?company=%s&page=%d&bookmark=%s", c.ERP.WebClientURL, url.QueryEscape(c.ERP.CompanyID), p, url.QueryEscape(id))
}

func crmLink(c setup.ConnectionSetup, m mapping.TableMapping, id string) string {
	if c.CRM.URL == "" || id == "" || m.Kind == mapping.KindOption {
		return ""
	}
	return fmt.Sprintf("%s/main.aspx?etn=%s&id=%s&pagetype=entityrecord", c.CRM.URL, url.QueryEscape(m.CRMEntity), url.QueryEscape(id))
}

const couplingsPage = 100

// searchCouplings lists a mapping's couplings whose ERP or CRM id contains q.
func (h *Handler) searchCouplings(ctx context.Context, name, q string) (mapping.TableMapping, []couplingRow, bool, error) {
	m, _, err := h.findMapping(ctx, name)
	if err != nil {
		return m, nil, false, err
	}
	conn, _ := h.st.GetConnection(ctx, setup.DefaultName)
	q = strings.ToLower(strings.TrimSpace(q))
	var rows []couplingRow
	after := int64(0)
	for len(rows) <= couplingsPage {
		cs, err := h.st.ListCouplings(ctx, store.CouplingFilter{Mapping: m.Name, AfterID: after, Limit: 1000})
		if err != nil {
			return m, nil, false, err
		}
		for _, c := range cs {
			if q == "" || strings.Contains(strings.ToLower(c.ERPID), q) || strings.Contains(strings.ToLower(c.CRMID), q) {
				rows = append(rows, couplingRow{Coupling: c, ERPLink: erpLink(conn, m, c.ERPID), CRMLink: crmLink(conn, m, c.CRMID)})
			}
		}
		if len(cs) < 1000 {
			break
		}
		after = cs[len(cs)-1].ID
	}
	more := len(rows) > couplingsPage
	return m, rows[:min(len(rows), couplingsPage)], more, nil
}

func (h *Handler) couplingsPage(w http.ResponseWriter, r *http.Request, status int, v couplingsView, flash string) {
	ms, err := h.mappings(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	v.Mappings = ms
	if v.Mapping == "" && len(ms) > 0 {
		v.Mapping = ms[0].Name
		for _, m := range ms {
			if m.Name == "CUSTOMER" {
				v.Mapping = m.Name
			}
		}
	}
	if v.SearchIn == "erp" && v.Query != "" {
		v.Rows = v.Found
		if m, _, err := h.findMapping(r.Context(), v.Mapping); err == nil {
			h.deepLinks(r.Context(), m, v.Rows)
		}
	} else if v.Mapping != "" {
		var m mapping.TableMapping
		m, v.Rows, v.More, err = h.searchCouplings(r.Context(), v.Mapping, v.Query)
		if err != nil && v.Problem == "" {
			v.Problem = err.Error()
			status = statusOf(err)
		}
		if err == nil {
			v.Mapping = m.Name
			h.deepLinks(r.Context(), m, v.Rows)
		}
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	h.view(w, r, "couplings", pageData{Title: "Coupled records", NavActive: "couplings", Flash: flash, Data: v})
}

func (h *Handler) couplings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := couplingsView{Mapping: q.Get("mapping"), Query: q.Get("q"), SearchIn: q.Get("in")}
	if v.SearchIn == "erp" && strings.TrimSpace(v.Query) != "" {
		m, _, err := h.findMapping(r.Context(), v.Mapping)
		if err == nil {
			v.Found, err = h.searchERP(r.Context(), m, strings.TrimSpace(v.Query))
		}
		if err != nil {
			v.Problem = err.Error()
		}
	}
	h.couplingsPage(w, r, http.StatusOK, v, "")
}

func (h *Handler) engineFor(ctx context.Context) (*syncer.Engine, error) {
	if h.engine == nil {
		return nil, errors.New("no synchronisation engine is wired")
	}
	eng, err := h.engine(ctx)
	if errors.Is(err, syncjobs.ErrDisabled) {
		return nil, conflict("", "the connection is not enabled: enable it on the connection page first")
	}
	return eng, err
}

func (h *Handler) couple(ctx context.Context, name, erpID, crmID string) (syncer.Coupling, error) {
	erpID, crmID = strings.TrimSpace(erpID), strings.TrimSpace(crmID)
	if erpID == "" {
		return syncer.Coupling{}, badInput("erp_id", "give the ERP record's id")
	}
	if crmID == "" {
		return syncer.Coupling{}, badInput("crm_id", "give the CRM record's id")
	}
	m, _, err := h.findMapping(ctx, name)
	if err != nil {
		return syncer.Coupling{}, err
	}
	eng, err := h.engineFor(ctx)
	if err != nil {
		return syncer.Coupling{}, err
	}
	actx, err := h.actAs(ctx)
	if err != nil {
		return syncer.Coupling{}, err
	}
	c, err := eng.Couple(actx, m.Name, erpID, crmID)
	if errors.Is(err, syncer.ErrTaken) {
		return c, conflict("erp_id", "%s", err.Error())
	}
	return c, err
}

func (h *Handler) decouple(ctx context.Context, name, erpID string) error {
	m, _, err := h.findMapping(ctx, name)
	if err != nil {
		return err
	}
	eng, err := h.engineFor(ctx)
	if err != nil {
		return err
	}
	err = eng.Decouple(ctx, m.Name, erpID)
	if errors.Is(err, syncer.ErrNoRow) {
		return notFound("erp_id", "ERP record %q is not coupled under %s", erpID, m.Name)
	}
	return err
}

func (h *Handler) match(ctx context.Context, name string, dry bool) (syncer.MatchResult, error) {
	m, _, err := h.findMapping(ctx, name)
	if err != nil {
		return syncer.MatchResult{}, err
	}
	eng, err := h.engineFor(ctx)
	if err != nil {
		return syncer.MatchResult{}, err
	}
	res, err := eng.Match(ctx, m.Name, dry)
	if err != nil && !errors.Is(err, syncer.ErrUnknownMapping) && strings.Contains(err.Error(), "match_priority") {
		return res, badInput("mapping", "%s", err.Error())
	}
	return res, err
}

func (h *Handler) couplingsCouple(w http.ResponseWriter, r *http.Request) {
	v := couplingsView{Mapping: r.PostFormValue("mapping")}
	c, err := h.couple(r.Context(), v.Mapping, r.PostFormValue("erp_id"), r.PostFormValue("crm_id"))
	if err != nil {
		v.Problem = err.Error()
		h.couplingsPage(w, r, statusOf(err), v, "")
		return
	}
	h.couplingsPage(w, r, http.StatusOK, v, fmt.Sprintf("ERP %s is coupled with CRM %s; the next run synchronises them.", c.ERPID, c.CRMID))
}

func (h *Handler) couplingsDecouple(w http.ResponseWriter, r *http.Request) {
	v := couplingsView{Mapping: r.PostFormValue("mapping")}
	erpID := r.PostFormValue("erp_id")
	if err := h.decouple(r.Context(), v.Mapping, erpID); err != nil {
		v.Problem = err.Error()
		h.couplingsPage(w, r, statusOf(err), v, "")
		return
	}
	h.couplingsPage(w, r, http.StatusOK, v, "ERP "+erpID+" is no longer coupled.")
}

func (h *Handler) couplingsMatch(w http.ResponseWriter, r *http.Request) {
	v := couplingsView{Mapping: r.PostFormValue("mapping")}
	dry := r.PostFormValue("apply") != "yes"
	res, err := h.match(r.Context(), v.Mapping, dry)
	if err != nil {
		v.Problem = err.Error()
		h.couplingsPage(w, r, statusOf(err), v, "")
		return
	}
	v.Match = &res
	flash := fmt.Sprintf("Preview: %d pair(s) would be coupled; nothing was changed.", len(res.Pairs))
	if !dry {
		flash = fmt.Sprintf("%d pair(s) coupled.", len(res.Pairs))
	}
	h.couplingsPage(w, r, http.StatusOK, v, flash)
}
