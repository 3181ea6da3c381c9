package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
)

type mappingsView struct {
	Mappings []mapping.TableMapping
	Problem  string
}

type mappingView struct {
	M          mapping.TableMapping
	Schedule   string
	FieldsJSON string
	Errors     []string
	Directions []mapping.Direction
	Conflicts  []mapping.ConflictRule
	Deletions  []mapping.DeletionRule
}

func (h *Handler) mappingsList(w http.ResponseWriter, r *http.Request) {
	ms, err := h.mappings(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if o, err := mapping.Order(ms); err == nil {
		ms = o
	}
	h.view(w, r, "mappings", pageData{Title: "Table mappings", NavActive: "mappings", Flash: r.URL.Query().Get("done"), Data: mappingsView{Mappings: ms}})
}

func (h *Handler) findMapping(ctx context.Context, name string) (mapping.TableMapping, []mapping.TableMapping, error) {
	ms, err := h.mappings(ctx)
	if err != nil {
		return mapping.TableMapping{}, nil, err
	}
	for _, m := range ms {
		if strings.EqualFold(m.Name, name) {
			return m, ms, nil
		}
	}
	return mapping.TableMapping{}, nil, notFound("name", "mapping %q does not exist", name)
}

func newMappingView(m mapping.TableMapping, fieldsJSON string, errs []string) mappingView {
	if fieldsJSON == "" {
		b, _ := json.MarshalIndent(m.Fields, "", "  ")
		fieldsJSON = string(b)
	}
	return mappingView{M: m, Schedule: m.Schedule().String(), FieldsJSON: fieldsJSON, Errors: errs,
		Directions: []mapping.Direction{mapping.ToCRM, mapping.FromCRM, mapping.Bidirectional},
		Conflicts:  []mapping.ConflictRule{mapping.ConflictFail, mapping.ConflictERP, mapping.ConflictCRM, mapping.ConflictMerge},
		Deletions:  []mapping.DeletionRule{mapping.DeletionFail, mapping.DeletionRestore, mapping.DeletionUncouple}}
}

func (h *Handler) mappingDetail(w http.ResponseWriter, r *http.Request) {
	m, _, err := h.findMapping(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, statusOf(err), err.Error())
		return
	}
	h.view(w, r, "mapping", pageData{Title: "Mapping " + m.Name, NavActive: "mappings", Data: newMappingView(m, "", nil)})
}

// saveMapping validates a changed mapping alone and within the set, then
// saves it.
func (h *Handler) saveMapping(ctx context.Context, m mapping.TableMapping, all []mapping.TableMapping) error {
	for i := range all {
		if all[i].Name == m.Name {
			all[i] = m
		}
	}
	if err := mapping.Validate(m, mapping.Catalog); err != nil {
		return badInput("", "%s", err.Error())
	}
	if err := mapping.ValidateSet(all, mapping.Catalog); err != nil {
		return badInput("", "%s", err.Error())
	}
	m.UpdatedAt = time.Now().UTC()
	// Saving one mapping of the default set stores the whole set, so that
	// what runs is what the pages show.
	stored, err := h.st.ListMappings(ctx)
	if err != nil {
		return err
	}
	if len(stored) == 0 {
		return h.st.InTx(ctx, func(ctx context.Context, tx store.Store) error {
			for _, x := range all {
				x.UpdatedAt = m.UpdatedAt
				if err := tx.PutMapping(ctx, x); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return h.st.PutMapping(ctx, m)
}

func (h *Handler) mappingEdit(w http.ResponseWriter, r *http.Request) {
	m, all, err := h.findMapping(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, statusOf(err), err.Error())
		return
	}
	f := r.PostFormValue
	var problems []string
	m.Direction = mapping.Direction(f("direction"))
	m.Conflict = mapping.ConflictRule(f("conflict"))
	m.Deletion = mapping.DeletionRule(f("deletion"))
	m.ERPFilter, m.CRMFilter = strings.TrimSpace(f("erp_filter")), strings.TrimSpace(f("crm_filter"))
	m.OnlyCoupled, m.Disabled = f("only_coupled") == "yes", f("disabled") == "yes"
	if d, err := time.ParseDuration(strings.TrimSpace(f("interval"))); err != nil || d <= 0 {
		problems = append(problems, "interval: "+strconv.Quote(f("interval"))+" is not a positive duration such as 30m or 1h")
	} else {
		m.Interval = mapping.Duration(d)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(f("skip_after"))); err != nil || n < 0 {
		problems = append(problems, "skip after: "+strconv.Quote(f("skip_after"))+" is not a count ≥ 0 (0 = never skip)")
	} else {
		m.SkipAfter = n
	}
	fieldsJSON := f("fields")
	dec := json.NewDecoder(bytes.NewReader([]byte(fieldsJSON)))
	dec.DisallowUnknownFields()
	var fields []mapping.FieldMapping
	if err := dec.Decode(&fields); err != nil {
		problems = append(problems, "field list: not valid JSON for field mappings: "+err.Error())
	} else {
		m.Fields = fields
	}
	if len(problems) == 0 {
		if err := h.saveMapping(r.Context(), m, all); err != nil {
			var ie *inputError
			if !errors.As(err, &ie) {
				h.fail(w, r, http.StatusInternalServerError, err.Error())
				return
			}
			problems = append(problems, strings.Split(err.Error(), "; ")...)
		}
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusUnprocessableEntity)
		h.view(w, r, "mapping", pageData{Title: "Mapping " + m.Name, NavActive: "mappings", Data: newMappingView(m, fieldsJSON, problems)})
		return
	}
	h.view(w, r, "mapping", pageData{Title: "Mapping " + m.Name, NavActive: "mappings", Flash: "Mapping " + m.Name + " saved.", Data: newMappingView(m, "", nil)})
}

// resetMappings replaces every mapping with the default set; couplings stay.
func (h *Handler) resetMappings(ctx context.Context) (int, error) {
	defs := mapping.Defaults()
	err := h.st.InTx(ctx, func(ctx context.Context, tx store.Store) error {
		old, err := tx.ListMappings(ctx)
		if err != nil {
			return err
		}
		for _, m := range old {
			if err := tx.DeleteMapping(ctx, m.Name); err != nil {
				return err
			}
		}
		now := time.Now().UTC()
		for _, m := range defs {
			m.UpdatedAt = now
			if err := tx.PutMapping(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	return len(defs), err
}

func (h *Handler) mappingsReset(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("confirm") != "yes" {
		ms, _ := h.mappings(r.Context())
		w.WriteHeader(http.StatusUnprocessableEntity)
		h.view(w, r, "mappings", pageData{Title: "Table mappings", NavActive: "mappings",
			Data: mappingsView{Mappings: ms, Problem: "Tick “I understand” to confirm: custom mappings and changes are lost (couplings are kept)."}})
		return
	}
	n, err := h.resetMappings(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	http.Redirect(w, r, "/mappings?done="+urlQueryEscape(strconv.Itoa(n)+" default mappings are in place (couplings are kept)."), http.StatusSeeOther)
}
