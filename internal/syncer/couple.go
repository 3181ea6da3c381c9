package syncer

import (
	"context"
	"errors"
	"fmt"

	"github.com/coupler/coupler/internal/mapping"
)

// Couple couples one ERP record with one CRM record by hand. Both must
// exist and neither may be coupled to another record under the mapping.
func (e *Engine) Couple(ctx context.Context, name, erpID, crmID string) (Coupling, error) {
	m, err := e.mapping(ctx, name)
	if err != nil {
		return Coupling{}, err
	}
	st := e.opts.Store
	if c, err := st.GetCouplingByERP(ctx, m.Name, erpID); err == nil && c.CRMID != crmID {
		return Coupling{}, fmt.Errorf("ERP %s %s is already coupled to CRM %s under %s: decouple it first: %w", m.ERPEntity, erpID, c.CRMID, m.Name, ErrTaken)
	}
	if c, err := st.GetCouplingByCRM(ctx, m.Name, crmID); err == nil && c.ERPID != erpID {
		return Coupling{}, fmt.Errorf("CRM %s %s is already coupled to ERP %s under %s: decouple it first: %w", m.CRMEntity, crmID, c.ERPID, m.Name, ErrTaken)
	}
	if m.ERPEntity != "" {
		recs, err := e.opts.ERP.Get(ctx, m.ERPEntity, "id", []string{erpID})
		if err != nil {
			return Coupling{}, fmt.Errorf("check ERP %s %s: %w", m.ERPEntity, erpID, err)
		}
		if len(recs) == 0 {
			return Coupling{}, fmt.Errorf("ERP %s %s: %w", m.ERPEntity, erpID, ErrNotFound)
		}
	}
	recs, err := e.opts.CRM.Get(ctx, m.CRMEntitySet, m.CRMKey, []string{crmID})
	if err != nil {
		return Coupling{}, fmt.Errorf("check CRM %s %s: %w", m.CRMEntitySet, crmID, err)
	}
	if len(recs) == 0 {
		return Coupling{}, fmt.Errorf("CRM %s %s: %w", m.CRMEntitySet, crmID, ErrNotFound)
	}
	return st.PutCoupling(ctx, Coupling{Mapping: m.Name, ERPID: erpID, CRMID: crmID, LastResult: ResultSuccess})
}

// Decouple removes a coupling; both records stay as they are.
func (e *Engine) Decouple(ctx context.Context, name, erpID string) error {
	m, err := e.mapping(ctx, name)
	if err != nil {
		return err
	}
	if err := e.opts.Store.DeleteCoupling(ctx, m.Name, erpID); err != nil {
		if errors.Is(err, ErrNoRow) {
			return fmt.Errorf("ERP %s %s is not coupled under %s", m.ERPEntity, erpID, m.Name)
		}
		return err
	}
	return nil
}

// RestoreSkipped puts skipped records of a mapping ("" = all) back into
// synchronisation; the next run retries them. It returns how many.
func (e *Engine) RestoreSkipped(ctx context.Context, name string) (int, error) {
	if name != "" {
		m, err := e.mapping(ctx, name)
		if err != nil {
			return 0, err
		}
		name = m.Name
	}
	st := e.opts.Store
	cs, err := st.ListCouplings(ctx, CouplingQuery{Mapping: name, SkippedOnly: true})
	if err != nil {
		return 0, err
	}
	for i := range cs {
		cs[i].Skipped, cs[i].FailCount = false, 0
	}
	if len(cs) > 0 {
		if err := st.PutCouplings(ctx, cs); err != nil {
			return 0, err
		}
	}
	// Records skipped before they were ever coupled have no coupling: their
	// skip is the open Skipped error, closed here with their failures (so
	// that the count of identical failures starts again).
	es, err := st.ListErrors(ctx, ErrorQuery{Mapping: name, OpenOnly: true})
	if err != nil {
		return len(cs), err
	}
	n := len(cs)
	done := map[string]bool{}
	now := e.now().UTC()
	for _, se := range es {
		k := se.Mapping + "\x00" + sourceKey(se)
		if se.Code != CodeSkipped || sourceKey(se) == "" || done[k] {
			continue
		}
		done[k] = true
		erpID, crmID := se.ERPID, ""
		var cerr error
		if se.Direction == string(mapping.FromCRM) {
			erpID, crmID = "", se.CRMID
			_, cerr = st.GetCouplingByCRM(ctx, se.Mapping, crmID)
		} else {
			_, cerr = st.GetCouplingByERP(ctx, se.Mapping, erpID)
		}
		if !errors.Is(cerr, ErrNoRow) {
			continue // coupled: its coupling carries the skip (restored above)
		}
		if err := st.ResolveErrors(ctx, se.Mapping, erpID, crmID, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
