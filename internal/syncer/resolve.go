package syncer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/coupler/coupler/internal/mapping"
)

// resolver answers the mapping package's lookups through couplings, with
// per-run caches (referenced mappings run before the ones that use them).
type resolver struct {
	e  *Engine
	ms map[string]*mapping.TableMapping

	mu      sync.Mutex
	toCRM   map[string]string            // mapping\x00erpID → crmID
	toERP   map[string]string            // mapping\x00crmID → erpID
	byField map[string]map[string]string // mapping\x00field → value → erp id
	ofID    map[string]map[string]string // mapping\x00field → erp id → value
	baseUoM map[string]string            // uomschedule id → base uom id
}

func newResolver(e *Engine, ms []mapping.TableMapping) *resolver {
	r := &resolver{e: e, ms: map[string]*mapping.TableMapping{}, toCRM: map[string]string{}, toERP: map[string]string{},
		byField: map[string]map[string]string{}, ofID: map[string]map[string]string{}, baseUoM: map[string]string{}}
	for i := range ms {
		r.ms[ms[i].Name] = &ms[i]
	}
	return r
}

func (r *resolver) Mapping(name string) (*mapping.TableMapping, bool) {
	m, ok := r.ms[name]
	return m, ok
}

// forget drops cached couplings of a mapping (after it was written).
func (r *resolver) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.toCRM {
		if strings.HasPrefix(k, name+"\x00") {
			delete(r.toCRM, k)
		}
	}
	for k := range r.toERP {
		if strings.HasPrefix(k, name+"\x00") {
			delete(r.toERP, k)
		}
	}
}

func (r *resolver) CRMRef(ctx context.Context, l mapping.Lookup, v string) (string, error) {
	tm, ok := r.ms[l.Mapping]
	if !ok {
		return "", fmt.Errorf("lookup mapping %q does not exist", l.Mapping)
	}
	erpID := v
	if l.By != "" && l.By != "id" {
		idx, _, err := r.index(ctx, tm, l.By)
		if err != nil {
			return "", err
		}
		if erpID, ok = idx[v]; !ok {
			return "", &unresolvedError{tm: tm, by: l.By, value: v}
		}
	}
	crmID, err := r.coupledCRM(ctx, tm, erpID)
	if err != nil {
		return "", err
	}
	if crmID == "" {
		return "", &unresolvedError{tm: tm, value: v}
	}
	if l.Follow == "baseuom" {
		return r.baseUnit(ctx, crmID)
	}
	return crmID, nil
}

func (r *resolver) ERPRef(ctx context.Context, l mapping.Lookup, crmValue string) (string, error) {
	tm, ok := r.ms[l.Mapping]
	if !ok {
		return "", fmt.Errorf("lookup mapping %q does not exist", l.Mapping)
	}
	key := tm.Name + "\x00" + crmValue
	r.mu.Lock()
	erpID, cached := r.toERP[key]
	r.mu.Unlock()
	if !cached {
		c, err := r.e.opts.Store.GetCouplingByCRM(ctx, tm.Name, crmValue)
		switch {
		case err == nil:
			erpID = c.ERPID
		case errors.Is(err, ErrNoRow):
		default:
			return "", err
		}
		r.mu.Lock()
		r.toERP[key] = erpID
		r.mu.Unlock()
	}
	if erpID == "" {
		return "", fmt.Errorf("the CRM %s %q is not coupled to an ERP %s (mapping %s): couple it with coupler couple %q <erp-id> <crm-id>: %w",
			tm.CRMEntity, crmValue, entityOf(tm), tm.Name, tm.Name, mapping.ErrUnresolved)
	}
	if l.By == "" || l.By == "id" {
		return erpID, nil
	}
	_, ofID, err := r.index(ctx, tm, l.By)
	if err != nil {
		return "", err
	}
	if v, ok := ofID[erpID]; ok {
		return v, nil
	}
	return "", fmt.Errorf("the ERP %s %s coupled to CRM %s no longer exists (mapping %s): %w", entityOf(tm), erpID, crmValue, tm.Name, mapping.ErrUnresolved)
}

func (r *resolver) coupledCRM(ctx context.Context, tm *mapping.TableMapping, erpID string) (string, error) {
	key := tm.Name + "\x00" + erpID
	r.mu.Lock()
	id, ok := r.toCRM[key]
	r.mu.Unlock()
	if ok {
		return id, nil
	}
	c, err := r.e.opts.Store.GetCouplingByERP(ctx, tm.Name, erpID)
	switch {
	case err == nil:
		id = c.CRMID
	case errors.Is(err, ErrNoRow):
	default:
		return "", err
	}
	r.mu.Lock()
	r.toCRM[key] = id
	r.mu.Unlock()
	return id, nil
}

// index reads the referenced ERP entity once per run to look records up
// by a field other than the id (salesperson code, currency code, …).
func (r *resolver) index(ctx context.Context, tm *mapping.TableMapping, field string) (byValue, byID map[string]string, err error) {
	key := tm.Name + "\x00" + field
	r.mu.Lock()
	bv, ok := r.byField[key]
	bi := r.ofID[key]
	r.mu.Unlock()
	if ok {
		return bv, bi, nil
	}
	bv, bi = map[string]string{}, map[string]string{}
	addRec := func(id string, fields map[string]any) {
		s, _ := fields[field].(string)
		if s == "" {
			return
		}
		bi[id] = s
		if _, dup := bv[s]; !dup {
			bv[s] = id
		}
	}
	if tm.Kind == mapping.KindStatic {
		for _, rec := range tm.Records {
			id, _ := rec["id"].(string)
			addRec(id, rec)
		}
	} else {
		q := ReadQuery{Entity: tm.ERPEntity, Key: "id", Modified: tm.ERPModifiedField()}
		err = r.e.opts.ERP.Read(ctx, q, func(page []Record) error {
			for _, rec := range page {
				addRec(rec.ID, rec.Fields)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("read ERP %s to look up by %s: %w", tm.ERPEntity, field, err)
		}
	}
	r.mu.Lock()
	r.byField[key], r.ofID[key] = bv, bi
	r.mu.Unlock()
	return bv, bi, nil
}

// baseUnit finds the base unit of a CRM unit group.
func (r *resolver) baseUnit(ctx context.Context, scheduleID string) (string, error) {
	r.mu.Lock()
	id, ok := r.baseUoM[scheduleID]
	r.mu.Unlock()
	if ok {
		return id, nil
	}
	recs, err := r.e.opts.CRM.Find(ctx, "uoms", "uomid", fmt.Sprintf("_uomscheduleid_value eq %s and isschedulebaseuom eq true", scheduleID))
	if err != nil {
		return "", fmt.Errorf("find the base unit of CRM unit group %s: %w", scheduleID, err)
	}
	if len(recs) == 0 {
		return "", fmt.Errorf("the CRM unit group %s has no base unit: %w", scheduleID, mapping.ErrUnresolved)
	}
	r.mu.Lock()
	r.baseUoM[scheduleID] = recs[0].ID
	r.mu.Unlock()
	return recs[0].ID, nil
}

func entityOf(m *mapping.TableMapping) string {
	if m.ERPEntity != "" {
		return m.ERPEntity
	}
	return "record"
}

// unresolvedError is a reference to an ERP record that has no CRM
// counterpart. An optional reference left empty meets it for every record
// (a customer without a coupled currency): its message is only written
// when read.
type unresolvedError struct {
	tm    *mapping.TableMapping
	by    string // the field looked up by; "" for the id
	value string
}

func (e *unresolvedError) Error() string {
	tm := e.tm
	if e.by != "" {
		return fmt.Sprintf("no ERP %s has %s %q (mapping %s): %v", entityOf(tm), e.by, e.value, tm.Name, mapping.ErrUnresolved)
	}
	return fmt.Sprintf("the ERP %s %q is not coupled to a CRM %s (mapping %s): couple it with coupler couple %q <erp-id> <crm-id> or coupler match %q, or synchronise %s first: %v",
		entityOf(tm), e.value, tm.CRMEntity, tm.Name, tm.Name, tm.Name, tm.Name, mapping.ErrUnresolved)
}

func (e *unresolvedError) Unwrap() error { return mapping.ErrUnresolved }
