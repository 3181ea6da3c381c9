package syncer

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/coupler/coupler/internal/mapping"
)

// syncOptions couples the rows of an ERP code table with CRM option values
// through the mapping's option map. A code without an option is counted
// as skipped and named in the job message, never dropped silently.
func (r *run) syncOptions(ctx context.Context) error {
	st := r.e.opts.Store
	existing, err := st.ListCouplings(ctx, CouplingQuery{Mapping: r.m.Name})
	if err != nil {
		return err
	}
	old := map[string]Coupling{}
	for _, c := range existing {
		old[c.ERPID] = c
	}
	var unmapped []string
	keep := map[string]bool{}
	var puts []Coupling
	q := ReadQuery{Entity: r.m.ERPEntity, Key: "id", Modified: r.m.ERPModifiedField(), Filter: r.m.ERPFilter}
	err = r.e.opts.ERP.Read(ctx, q, func(page []Record) error {
		for _, rec := range page {
			code, _ := rec.Fields[r.m.ERPCodeField].(string)
			v, ok := r.m.Options[code]
			if !ok {
				unmapped = append(unmapped, code)
				r.add(func(c *Counts) { c.Skipped++ })
				continue
			}
			keep[rec.ID] = true
			crm := strconv.Itoa(v)
			if c, ok := old[rec.ID]; ok && c.CRMID == crm {
				r.add(func(c *Counts) { c.Unchanged++ })
				continue
			}
			puts = append(puts, Coupling{Mapping: r.m.Name, ERPID: rec.ID, CRMID: crm, ERPModifiedAt: rec.ModifiedAt, LastResult: ResultSuccess, LastJobID: r.job.ID})
		}
		r.progress(len(page))
		return nil
	})
	if err != nil {
		return fmt.Errorf("read ERP %s: %w", r.m.ERPEntity, err)
	}
	err = st.Atomically(ctx, func(ctx context.Context, tx Store) error {
		for id := range old {
			if !keep[id] {
				if err := tx.DeleteCoupling(ctx, r.m.Name, id); err != nil && !errors.Is(err, ErrNoRow) {
					return err
				}
				r.add(func(c *Counts) { c.Uncoupled++ })
			}
		}
		for _, c := range puts {
			if _, err := tx.PutCoupling(ctx, c); err != nil {
				return fmt.Errorf("couple %s %s with option %s: %w", r.m.ERPEntity, c.ERPID, c.CRMID, err)
			}
			r.add(func(c *Counts) { c.Coupled++ })
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(unmapped) > 0 {
		r.note("%d code(s) have no CRM option and are left empty on CRM records: %v (add them to the mapping's options with coupler mappings edit %q)", len(unmapped), unmapped, r.m.Name)
	}
	return nil
}

// syncStatic writes the mapping's own records to the CRM (e.g. the base
// price list) with deterministic ids.
func (r *run) syncStatic(ctx context.Context) error {
	var page []Record
	for i, rec := range r.m.Records {
		id, _ := rec["id"].(string)
		if id == "" {
			return fmt.Errorf("records[%d] of mapping %s has no id", i, r.m.Name)
		}
		page = append(page, Record{ID: id, ModifiedAt: r.m.UpdatedAt, Fields: rec})
	}
	if r.ro.Full {
		// a full run rewrites them even when nothing changed
		for i := range page {
			page[i].ModifiedAt = r.started
		}
	}
	return r.processERP(ctx, page, map[string]Record{}, false)
}

// syncLines writes the lines of the given ERP headers (every coupled
// header when nil). Lines have no modification time of their own in the
// ERP API: they are read whenever their header is written.
func (r *run) syncLines(ctx context.Context, headers []string) error {
	if headers == nil {
		cs, err := r.e.opts.Store.ListCouplings(ctx, CouplingQuery{Mapping: r.m.Parent})
		if err != nil {
			return err
		}
		for _, c := range cs {
			headers = append(headers, c.ERPID)
		}
	}
	for _, h := range headers {
		q := ReadQuery{Entity: r.m.ERPEntity, Key: "id", Modified: r.m.ERPModifiedField(), Filter: r.m.ERPFilter, Equal: map[string]string{r.m.ParentField: h}}
		err := r.e.opts.ERP.Read(ctx, q, func(page []Record) error {
			for i := range page {
				// no modification time on lines: always send them
				page[i].ModifiedAt = r.started
			}
			return r.processERP(ctx, page, map[string]Record{}, true)
		})
		if err != nil {
			return fmt.Errorf("lines of ERP header %s: %w", h, err)
		}
	}
	return nil
}

// mappingKindName is for messages.
func mappingKindName(m *mapping.TableMapping) string {
	switch m.Kind {
	case mapping.KindOption:
		return "option mapping"
	case mapping.KindStatic:
		return "static mapping"
	}
	return "table mapping"
}
