package orders

import (
	"context"
	"errors"
	"fmt"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/store"
)

// ERP progress of an order, in order; each is posted to the CRM once.
var statusRank = map[string]int{"created": 0, "released": 1, "shipped": 2, "invoiced": 3}

// erpStatus reads where the ERP order is. BC deletes a fully shipped and
// invoiced order; its posted invoice keeps orderId.
func (s *Service) erpStatus(ctx context.Context, d store.Document) (string, error) {
	so, err := bc.GetAs[bc.SalesDocument](ctx, s.o.ERP, bc.SetSalesOrders, d.ERPID, bc.Query{Expand: []string{"salesOrderLines"}})
	if errors.Is(err, bc.ErrNotFound) {
		n, err := s.o.ERP.Count(ctx, bc.SetSalesInvoices, "orderId eq "+d.ERPID)
		if err != nil {
			return "", fmt.Errorf("orders: invoices of ERP order %s: %w", d.ERPNumber, err)
		}
		if n > 0 {
			return "invoiced", nil
		}
		return "", fmt.Errorf("orders: ERP order %s (of CRM order %s) was deleted without an invoice", d.ERPNumber, d.CRMNumber)
	}
	if err != nil {
		return "", fmt.Errorf("orders: read ERP order %s: %w", d.ERPNumber, err)
	}
	shipped, invoiced := false, false
	for _, l := range so.SalesOrderLines {
		shipped = shipped || l.ShippedQuantity > 0
		invoiced = invoiced || l.InvoicedQuantity > 0
	}
	switch {
	case invoiced:
		return "invoiced", nil
	case shipped || so.FullyShipped:
		return "shipped", nil
	case so.Status == "Open" || so.Status == "Released":
		return "released", nil
	}
	return "created", nil
}

// crmState is the CRM salesorder state a status puts the order in
// (Fulfilled 3 / Complete 100001, Invoiced 4 / Invoiced 100003), if any.
func crmState(status string) (state, reason int, ok bool) {
	switch status {
	case "shipped":
		return 3, 100001, true
	case "invoiced":
		return 4, 100003, true
	}
	return 0, 0, false
}

var statusText = map[string]string{
	"released": "Sales order %s was released in the ERP.",
	"shipped":  "A shipment of sales order %s was posted in the ERP.",
	"invoiced": "An invoice for sales order %s was posted in the ERP.",
}

// UpdateStatuses reports ERP progress of every created order to its CRM
// order: a post on its wall per new status, and its state. It returns how
// many orders changed.
func (s *Service) UpdateStatuses(ctx context.Context) (int, error) {
	ds, err := s.o.Store.ListDocuments(ctx, store.DocumentFilter{Kind: KindOrder, State: store.DocCreated})
	if err != nil {
		return 0, fmt.Errorf("orders: list created orders: %w", err)
	}
	changed := 0
	var errs []error
	for _, d := range ds {
		if d.ERPStatus == "invoiced" || d.ERPStatus == "" { // "" = the order job has not told the CRM yet
			continue
		}
		st, err := s.erpStatus(ctx, d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if statusRank[st] <= statusRank[d.ERPStatus] {
			continue
		}
		for _, step := range []string{"released", "shipped", "invoiced"} {
			if statusRank[step] > statusRank[d.ERPStatus] && statusRank[step] <= statusRank[st] {
				if err := s.post(ctx, d.CRMID, fmt.Sprintf(statusText[step], d.ERPNumber)); err != nil {
					errs = append(errs, err)
					break
				}
			}
		}
		if state, reason, ok := crmState(st); ok {
			if err := s.o.CRM.Update(ctx, "salesorders", dataverse.ID(d.CRMID), map[string]any{"statecode": state, "statuscode": reason}, ""); err != nil {
				errs = append(errs, fmt.Errorf("orders: set state of CRM order %s to %s: %w", d.CRMNumber, st, err))
				continue
			}
		}
		d.ERPStatus = st
		if err := s.o.Store.PutDocument(ctx, d); err != nil {
			return changed, fmt.Errorf("orders: record status of CRM order %s: %w", d.CRMNumber, err)
		}
		changed++
		s.log.Info("ERP order status reported to the CRM", "order", d.CRMNumber, "erp_number", d.ERPNumber, "status", st)
	}
	return changed, errors.Join(errs...)
}
