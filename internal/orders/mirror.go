package orders

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
)

// MirrorCursorSetting keeps the lastModifiedDateTime of the newest ERP
// order the bidirectional mode has seen (RFC 3339).
const MirrorCursorSetting = "sales_orders.erp_cursor"

// MirrorResult counts one run of the bidirectional mode.
type MirrorResult struct {
	Created   int `json:"created"`   // CRM orders made from ERP orders
	Existing  int `json:"existing"`  // already mirrored (or made from a CRM order)
	Uncoupled int `json:"uncoupled"` // ERP orders of customers without a coupled account
}

// crmIDFor is the CRM id of the mirror of an ERP order: a name-based UUID
// (version 5 layout over SHA-1), so that a retry after a crash addresses the
// same CRM record and can never create a second one.
func crmIDFor(kind, erpID string) string {
	h := sha1.Sum([]byte("coupler:" + kind + ":" + strings.ToLower(erpID)))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// MirrorERPOrders is the bidirectional sales order mode: ERP orders of
// coupled customers that did not come from the CRM appear as CRM orders
// (with their lines), and are then followed by UpdateStatuses like any other.
func (s *Service) MirrorERPOrders(ctx context.Context) (MirrorResult, error) {
	var res MirrorResult
	var since time.Time
	if v, err := s.setting(ctx, MirrorCursorSetting); err != nil {
		return res, err
	} else if v != "" {
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return res, fmt.Errorf("orders: setting %s holds %q, not a time: delete it to look at every ERP order", MirrorCursorSetting, v)
		}
	}
	var errs []error
	cursor, err := s.o.ERP.ListModifiedSince(ctx, bc.SetSalesOrders, since, bc.Query{Expand: []string{"salesOrderLines"}}, func(page []json.RawMessage) error {
		for _, raw := range page {
			var so bc.SalesDocument
			if err := json.Unmarshal(raw, &so); err != nil {
				return fmt.Errorf("ERP sales order: %w", err)
			}
			if err := s.mirror(ctx, so, &res); err != nil {
				errs = append(errs, err)
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("orders: read ERP orders modified since %s: %w", since.Format(time.RFC3339), err)
	}
	if len(errs) > 0 {
		return res, errors.Join(errs...) // the cursor stays: failed orders are tried again
	}
	if cursor.After(since) {
		if err := s.o.Store.PutSetting(ctx, MirrorCursorSetting, cursor.UTC().Format(time.RFC3339Nano)); err != nil {
			return res, fmt.Errorf("orders: save %s: %w", MirrorCursorSetting, err)
		}
	}
	return res, nil
}

func (s *Service) mirror(ctx context.Context, so bc.SalesDocument, res *MirrorResult) error {
	for _, l := range so.SalesOrderLines {
		if l.LineType == "Comment" && strings.HasPrefix(l.Description, "CRM order ") {
			res.Existing++ // made from a CRM order
			return nil
		}
	}
	cp, err := s.o.Store.GetCouplingByERP(ctx, mapping.Customer, so.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		res.Uncoupled++
		return nil
	}
	if err != nil {
		return fmt.Errorf("orders: coupling of ERP customer %s: %w", so.CustomerNumber, err)
	}
	crmID := crmIDFor("order", so.ID)
	if d, err := s.o.Store.GetDocument(ctx, KindOrder, crmID); err == nil && d.State == store.DocCreated {
		res.Existing++
		return nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("orders: state of ERP order %s: %w", so.Number, err)
	}
	name := so.ExternalDocumentNumber
	if name == "" {
		name = "ERP order " + so.Number
	}
	head := map[string]any{"name": name, "ordernumber": so.Number, "customerid_account@odata.bind": "/accounts(" + cp.CRMID + ")"}
	if err := s.o.CRM.CreateOnly(ctx, "salesorders", dataverse.ID(crmID), head); err != nil && !errors.Is(err, dataverse.ErrPreconditionFailed) {
		return fmt.Errorf("orders: create CRM order for ERP order %s: %w", so.Number, err)
	}
	for _, l := range so.SalesOrderLines {
		line := map[string]any{"salesorderid@odata.bind": "/salesorders(" + crmID + ")", "quantity": l.Quantity, "priceperunit": l.UnitPrice,
			"ispriceoverridden": true, "sequencenumber": l.Sequence}
		switch pc, err := s.o.Store.GetCouplingByERP(ctx, mapping.ItemProduct, l.ItemID); {
		case l.LineType == "Comment":
			continue
		case l.LineType == "Item" && err == nil:
			line["productid@odata.bind"] = "/products(" + pc.CRMID + ")"
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("orders: coupling of ERP item %s: %w", l.LineObjectNumber, err)
		default: // an uncoupled item or another line type: a write-in line
			line["isproductoverridden"] = true
			line["productdescription"] = nonEmpty(l.Description, l.LineObjectNumber)
		}
		if err := s.o.CRM.CreateOnly(ctx, "salesorderdetails", dataverse.ID(crmIDFor("orderline", l.ID)), line); err != nil && !errors.Is(err, dataverse.ErrPreconditionFailed) {
			return fmt.Errorf("orders: create line %d of CRM order for ERP order %s: %w", l.Sequence, so.Number, err)
		}
	}
	if err := s.o.Store.PutDocument(ctx, store.Document{Kind: KindOrder, CRMID: crmID, CRMNumber: so.Number, State: store.DocCreated,
		ERPID: so.ID, ERPNumber: so.Number, ERPStatus: "created", CRMVersion: "erp"}); err != nil {
		return fmt.Errorf("orders: record mirrored ERP order %s: %w", so.Number, err)
	}
	res.Created++
	s.log.Info("ERP order mirrored to the CRM", "erp_number", so.Number, "crm_id", crmID)
	return nil
}
