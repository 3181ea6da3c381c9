package syncer

import (
	"context"
	"fmt"

	"github.com/coupler/coupler/internal/mapping"
)

// Recommendation is what the full-synchronisation review proposes for a
// mapping, as Business Central's review page does.
type Recommendation string

const (
	RecommendFullSync Recommendation = "full synchronisation" // only the ERP has records: create them in the CRM
	RecommendCouple   Recommendation = "couple records"       // both sides have records: match them first
	RecommendNone     Recommendation = "no records"
	RecommendDone     Recommendation = "coupled" // every ERP record is coupled
)

// ReviewLine is one mapping of the review.
type ReviewLine struct {
	Mapping        string         `json:"mapping"`
	ERPRecords     int            `json:"erp_records"`
	CRMRecords     int            `json:"crm_records"`
	Couplings      int            `json:"couplings"`
	Recommendation Recommendation `json:"recommendation"`
}

// Review counts each enabled table mapping's records on both sides and its
// couplings, and recommends what to do before the first full run.
func (e *Engine) Review(ctx context.Context) ([]ReviewLine, error) {
	all, err := e.opts.Mappings(ctx)
	if err != nil {
		return nil, err
	}
	ordered, err := mapping.Order(all)
	if err != nil {
		return nil, err
	}
	var out []ReviewLine
	for _, m := range ordered {
		if m.Disabled || m.Kind != mapping.KindTable || m.Parent != "" {
			continue
		}
		l := ReviewLine{Mapping: m.Name}
		count := func(s Side, q ReadQuery, n *int) error {
			return s.Read(ctx, q, func(p []Record) error { *n += len(p); return nil })
		}
		if err := count(e.opts.ERP, ReadQuery{Entity: m.ERPEntity, Key: "id", Modified: m.ERPModifiedField(), Filter: m.ERPFilter}, &l.ERPRecords); err != nil {
			return nil, fmt.Errorf("%s: read ERP %s: %w", m.Name, m.ERPEntity, err)
		}
		if err := count(e.opts.CRM, ReadQuery{Entity: m.CRMEntitySet, Key: m.CRMKey, Modified: m.CRMModifiedField(), Filter: m.CRMFilter}, &l.CRMRecords); err != nil {
			return nil, fmt.Errorf("%s: read CRM %s: %w", m.Name, m.CRMEntitySet, err)
		}
		if l.Couplings, err = e.opts.Store.CountCouplings(ctx, m.Name); err != nil {
			return nil, err
		}
		switch {
		case l.ERPRecords == 0 && l.CRMRecords == 0:
			l.Recommendation = RecommendNone
		case l.ERPRecords > 0 && l.Couplings >= l.ERPRecords:
			l.Recommendation = RecommendDone
		case l.CRMRecords > l.Couplings && len(m.MatchFields()) > 0:
			l.Recommendation = RecommendCouple
		default:
			l.Recommendation = RecommendFullSync
		}
		out = append(out, l)
	}
	return out, nil
}
