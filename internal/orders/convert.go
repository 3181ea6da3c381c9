package orders

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/odata"
	"github.com/coupler/coupler/internal/store"
)

// refMarker is the first (comment) line of every ERP document coupler makes:
// BC's API v2.0 has no "Your Reference" field, so the CRM number travels in
// a comment line, where users see it and where a retry finds it.
func refMarker(kind, number string) string { return "CRM " + kind + " " + number }

// erpDoc is the deep-insert body of a salesOrders or salesQuotes POST.
type erpDoc map[string]any

func refusedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...)
}

// customer finds the ERP customer of a CRM order: the coupled account, or
// the coupled parent account of a contact.
func (s *Service) customer(ctx context.Context, o crmOrder) (bc.Customer, error) {
	accountID := o.CustomerID
	if o.CustomerID == "" {
		return bc.Customer{}, refusedf("CRM order %s has no customer: set its Customer to a coupled account", o.Number)
	}
	if o.CustomerIs == "contact" {
		c, err := s.o.CRM.Retrieve(ctx, "contacts", dataverseID(o.CustomerID), "_parentcustomerid_value", "fullname")
		if err != nil {
			return bc.Customer{}, fmt.Errorf("orders: read contact of CRM order %s: %w", o.Number, err)
		}
		accountID = c.String("_parentcustomerid_value")
		if accountID == "" {
			return bc.Customer{}, refusedf("CRM order %s: its customer is the contact %q, which has no parent account: give the contact an account coupled to an ERP customer", o.Number, c.String("fullname"))
		}
	}
	cp, err := s.o.Store.GetCouplingByCRM(ctx, mapping.Customer, accountID)
	if errors.Is(err, store.ErrNotFound) {
		name := accountID
		if a, aerr := s.o.CRM.Retrieve(ctx, "accounts", dataverseID(accountID), "name"); aerr == nil {
			name = fmt.Sprintf("%q (%s)", a.String("name"), accountID)
		}
		return bc.Customer{}, refusedf("CRM order %s: the account %s is not coupled to an ERP customer: couple it (coupler couple, mapping %s) and run the order again", o.Number, name, mapping.Customer)
	}
	if err != nil {
		return bc.Customer{}, fmt.Errorf("orders: coupling of account %s: %w", accountID, err)
	}
	cust, err := s.erpCustomer(ctx, cp.ERPID)
	if errors.Is(err, bc.ErrNotFound) {
		return bc.Customer{}, refusedf("CRM order %s: the account %s is coupled to ERP customer %s, which no longer exists: couple the account again", o.Number, accountID, cp.ERPID)
	}
	if err != nil {
		return bc.Customer{}, fmt.Errorf("orders: read ERP customer %s: %w", cp.ERPID, err)
	}
	if cust.Blocked != "" && cust.Blocked != "_x0020_" && cust.Blocked != " " {
		return bc.Customer{}, refusedf("CRM order %s: ERP customer %s %q is blocked (%s): unblock it in the ERP", o.Number, cust.Number, cust.DisplayName, cust.Blocked)
	}
	return cust, nil
}

// build makes the ERP document of a CRM order or quote, with the service
// lines it holds (to explain the ERP's refusal of a resource).
func (s *Service) build(ctx context.Context, kind string, o crmOrder, cust bc.Customer) (erpDoc, []serviceLine, error) {
	code, err := s.currencyCode(ctx, o.CurrencyID)
	if err != nil {
		return nil, nil, err
	}
	custCur := cust.CurrencyCode
	if custCur == "" {
		if custCur, err = s.setting(ctx, SettingLocalCurrency); err != nil {
			return nil, nil, err
		}
	}
	if code != "" && custCur != "" && !strings.EqualFold(code, custCur) {
		return nil, nil, refusedf("CRM %s %s is in %s but ERP customer %s bills in %s: change the order's currency or the customer's", kind, o.Number, code, cust.Number, custCur)
	}
	writeIn, err := s.setting(ctx, SettingWriteInItem)
	if err != nil {
		return nil, nil, err
	}
	lines := []map[string]any{{"lineType": "Comment", "description": trunc(refMarker(kind, o.Number), 100)}}
	var services []serviceLine
	for i, l := range o.Lines {
		line := map[string]any{"quantity": l.Quantity, "unitPrice": l.Price}
		if l.Quantity <= 0 {
			return nil, nil, refusedf("CRM %s %s line %d: quantity %v must be positive", kind, o.Number, i+1, l.Quantity)
		}
		if l.Discount != 0 {
			line["discountAmount"] = round2(l.Discount)
		}
		switch {
		case l.ProductID != "":
			// A product coupled to an ERP item (ITEM-PRODUCT couples Sales
			// Inventory products) is an Item line; only the others are read.
			cp, err := s.o.Store.GetCouplingByCRM(ctx, mapping.ItemProduct, l.ProductID)
			if errors.Is(err, store.ErrNotFound) {
				sl, err := s.uncoupledProductLine(ctx, kind, o, i, l, line)
				if err != nil {
					return nil, nil, err
				}
				services = append(services, sl)
				break
			}
			if err != nil {
				return nil, nil, fmt.Errorf("orders: coupling of product %s: %w", l.ProductID, err)
			}
			line["lineType"], line["itemId"] = "Item", cp.ERPID
		default:
			if writeIn == "" {
				return nil, nil, refusedf("CRM %s %s line %d is a write-in product (%q) and no ERP item is configured for write-in lines: set one with `coupler orders create --write-in-item NUMBER` (setting %s)", kind, o.Number, i+1, l.WriteIn, SettingWriteInItem)
			}
			line["lineType"], line["lineObjectNumber"], line["description"] = "Item", writeIn, trunc(l.WriteIn, 100)
		}
		lines = append(lines, line)
	}
	if o.Freight > 0 {
		fi, err := s.setting(ctx, SettingFreightItem)
		if err != nil {
			return nil, nil, err
		}
		if fi == "" {
			return nil, nil, refusedf("CRM %s %s has freight %.2f and no ERP item is configured for freight (setting %s)", kind, o.Number, o.Freight, SettingFreightItem)
		}
		lines = append(lines, map[string]any{"lineType": "Item", "lineObjectNumber": fi, "description": "Freight", "quantity": 1.0, "unitPrice": round2(o.Freight)})
	}
	for _, n := range o.Notes {
		text := strings.TrimSpace(strings.TrimSpace(n.Subject) + ": " + strings.TrimSpace(n.Text))
		for _, chunk := range chunks(text, 100) {
			lines = append(lines, map[string]any{"lineType": "Comment", "description": chunk})
		}
	}
	doc := erpDoc{"customerId": cust.ID, "externalDocumentNumber": trunc(o.Name, 35)}
	if o.Discount != 0 {
		doc["discountAmount"] = round2(o.Discount)
	}
	if kind == KindOrder && o.RequestDeliveryBy != "" {
		doc["requestedDeliveryDate"] = o.RequestDeliveryBy
	}
	for crm, erp := range map[string]string{"name": "shipToName", "line1": "shipToAddressLine1", "line2": "shipToAddressLine2",
		"city": "shipToCity", "stateorprovince": "shipToState", "postalcode": "shipToPostCode", "country": "shipToCountry"} {
		if v := o.ShipTo[crm]; v != "" {
			doc[erp] = v
		}
	}
	if kind == KindOrder {
		doc["salesOrderLines"] = lines
	} else {
		doc["salesQuoteLines"] = lines
	}
	return doc, services, nil
}

// findExisting looks for an ERP document made from this CRM document by an
// earlier attempt whose outcome was lost (crash after the POST).
func (s *Service) findExisting(ctx context.Context, set, lineNav, kind string, o crmOrder, customerID string) (bc.SalesDocument, bool, error) {
	ext, err := odata.Literal(trunc(o.Name, 35))
	if err != nil {
		return bc.SalesDocument{}, false, err
	}
	var found bc.SalesDocument
	ok := false
	marker := trunc(refMarker(kind, o.Number), 100)
	err = bc.ListAs(ctx, s.o.ERP, set, bc.Query{Filter: "externalDocumentNumber eq " + ext + " and customerId eq " + customerID, Expand: []string{lineNav}},
		func(page []bc.SalesDocument) error {
			for _, d := range page {
				ls := d.SalesOrderLines
				if kind == KindQuote {
					ls = d.SalesQuoteLines
				}
				for _, l := range ls {
					if l.LineType == "Comment" && l.Description == marker {
						found, ok = d, true
					}
				}
			}
			return nil
		})
	if err != nil {
		return bc.SalesDocument{}, false, fmt.Errorf("orders: look up ERP %s of CRM %s %s: %w", set, kind, o.Number, err)
	}
	return found, ok, nil
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func chunks(s string, n int) []string {
	r := []rune(s)
	var out []string
	for len(r) > n {
		out = append(out, string(r[:n]))
		r = r[n:]
	}
	if len(r) > 0 {
		out = append(out, string(r))
	}
	return out
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// customerTTL is how long a read ERP customer is reused within a run of
// many orders (a customer blocked meanwhile is seen by the next run).
const customerTTL = 30 * time.Second

type cachedCustomer struct {
	c  bc.Customer
	at time.Time
}

func (s *Service) erpCustomer(ctx context.Context, id string) (bc.Customer, error) {
	if v, ok := s.customers.Load(id); ok {
		if cc := v.(cachedCustomer); s.o.Now().Sub(cc.at) < customerTTL {
			return cc.c, nil
		}
	}
	c, err := bc.GetAs[bc.Customer](ctx, s.o.ERP, bc.SetCustomers, id, bc.Query{})
	if err != nil {
		return c, err
	}
	s.customers.Store(id, cachedCustomer{c: c, at: s.o.Now()})
	return c, nil
}
