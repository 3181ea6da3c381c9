package syncer

import "context"

// freshCouplings answers coupling lookups during a full run of a mapping
// that had no coupling when the run began: until its ERP phase is over,
// the only couplings are the pairs its matching made, since each ERP id
// is handled once (unseen) and its own writes couple only ids it has
// handled. Looking every read id up in the store found nothing: 100,000
// CRM ids while the CRM table was read, 100,000 ERP ids twice (matching,
// then the ERP phase) and the CRM ids again after matching, a tenth of a
// first full synchronisation's CPU. A coupling made by hand while such a
// run goes is not seen by it (as one made between a lookup and the
// write always was).
type freshCouplings struct {
	erp, crm map[string]bool // matched pairs' ids
}

func newFreshCouplings(pairs []MatchPair) *freshCouplings {
	f := &freshCouplings{erp: make(map[string]bool, len(pairs)), crm: make(map[string]bool, len(pairs))}
	for _, p := range pairs {
		f.erp[p.ERPID], f.crm[p.CRMID] = true, true
	}
	return f
}

// candidates are the ids of side that may be coupled.
func (f *freshCouplings) candidates(side string, ids []string) []string {
	set := f.crm
	if side == SideERP {
		set = f.erp
	}
	var out []string
	for _, id := range ids {
		if set[id] {
			out = append(out, id)
		}
	}
	return out
}

// lookup is the store's GetCouplings for the run's mapping, answered
// without the store for the ids a fresh run knows to be uncoupled.
func (r *run) lookup(ctx context.Context, side string, ids []string) ([]Coupling, error) {
	if r.fresh != nil {
		if ids = r.fresh.candidates(side, ids); len(ids) == 0 {
			return nil, nil
		}
	}
	return r.e.opts.Store.GetCouplings(ctx, r.m.Name, side, ids)
}

// startFresh tells whether this full run begins with no coupling of its
// mapping; its match index then looks nothing up.
func (r *run) startFresh(ctx context.Context) (bool, error) {
	if !r.ro.Full || r.ro.Closing {
		return false, nil
	}
	n, err := r.e.opts.Store.CountCouplings(ctx, r.m.Name)
	if err != nil {
		return false, err
	}
	return n == 0, nil
}
