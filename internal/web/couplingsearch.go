package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/odata"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
)

// searchERP looks records up by name or number in the ERP itself (the
// couplings hold ids only) and returns them with their couplings, coupled
// or not, so that a user can find "Adatum" without knowing its id.
func (h *Handler) searchERP(ctx context.Context, m mapping.TableMapping, q string) ([]couplingRow, error) {
	fields, ok := mapping.Catalog.ERPFields(m.ERPEntity)
	if !ok || m.Kind != mapping.KindTable {
		return nil, nil
	}
	conn, err := h.st.GetConnection(ctx, setup.DefaultName)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	lit, err := odata.Literal(q)
	if err != nil {
		return nil, badInput("q", "search text %q cannot be sent to the ERP: %v", q, err)
	}
	// Business Central refuses `or` across properties: one query each.
	var filters []string
	if fields["displayName"] {
		filters = append(filters, "contains(displayName,"+lit+")")
	}
	if m.ERPCodeField != "" && fields[m.ERPCodeField] {
		filters = append(filters, "startswith("+m.ERPCodeField+","+lit+")")
	}
	if len(filters) == 0 {
		return nil, nil
	}
	opts := setup.DialOptions{Logger: h.log, Interactive: true}
	if h.setup != nil {
		opts.Pacers = h.setup.Options.Pacers // the instance's request budgets
	}
	erp, err := setup.DialERP(ctx, conn, h.box, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to the ERP to search: %w", err)
	}
	seen := map[string]bool{}
	var rows []couplingRow
	for _, f := range filters {
		err := erp.List(ctx, m.ERPEntity, bc.Query{Filter: f, Top: couplingsPage}, func(page []json.RawMessage) error {
			for _, raw := range page {
				var rec map[string]any
				if err := json.Unmarshal(raw, &rec); err != nil {
					return err
				}
				id, _ := rec["id"].(string)
				if id == "" || seen[id] || len(rows) >= couplingsPage {
					continue
				}
				seen[id] = true
				row := couplingRow{ERPLink: erpLink(conn, m, id)}
				row.Mapping, row.ERPID = m.Name, id
				row.Name, _ = rec["displayName"].(string)
				if m.ERPCodeField != "" {
					row.Number, _ = rec[m.ERPCodeField].(string)
				}
				if c, err := h.st.GetCouplingByERP(ctx, m.Name, id); err == nil {
					row.Coupling, row.CRMLink = c, crmLink(conn, m, c.CRMID)
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				rows = append(rows, row)
			}
			return nil
		})
		if err != nil {
			return rows, fmt.Errorf("search the ERP's %s (%s): %w", m.ERPEntity, f, err)
		}
	}
	return rows, nil
}
