package web

import (
	"context"
	"time"

	"github.com/coupler/coupler/internal/links"
	"github.com/coupler/coupler/internal/mapping"
)

// linkedRows is how many rows of a coupling list get their deep links
// from the ERP (one read each for the record's number): a page shows a
// few, and a long list must not cost a hundred ERP calls.
const linkedRows = 25

// deepLinks replaces the rows' links with the ones the CRM records carry
// (links.ForCoupling): the ERP web client card filtered on the record's
// number, and the CRM form. Rows it cannot link keep the links they had;
// the ERP being unreachable never fails the page.
func (h *Handler) deepLinks(ctx context.Context, m mapping.TableMapping, rows []couplingRow) {
	if h.dial == nil || len(rows) == 0 {
		return
	}
	if _, ok := links.TargetFor(m.Name); !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := h.dial(ctx)
	if err != nil {
		return // disabled or unreachable: the stored links stay
	}
	for i := range rows[:min(len(rows), linkedRows)] {
		r := &rows[i]
		if r.CRMID == "" {
			continue
		}
		p, err := links.ForCoupling(ctx, c.ERP, c.Setup, m, r.Coupling, "")
		if err != nil {
			h.log.Warn("deep link not built", "mapping", m.Name, "erp_id", r.ERPID, "err", err)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if p.ERP != "" {
			r.ERPLink = p.ERP
		}
		if p.CRM != "" {
			r.CRMLink = p.CRM
		}
	}
}
