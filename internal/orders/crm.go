package orders

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/odata"
)

// crmOrder is what coupler reads of a CRM salesorder (or quote).
type crmOrder struct {
	ID, Number, Name       string
	CustomerID, CustomerIs string // account or contact
	CurrencyID             string
	RequestDeliveryBy      string
	Discount, Freight      float64
	ShipTo                 map[string]string
	Revision               int
	State                  int
	Lines                  []crmLine
	Notes                  []crmNote
	expanded               bool // Lines and Notes came with the order
}

type crmLine struct {
	ProductID, WriteIn        string
	Quantity, Price, Discount float64
	Seq                       int
}

type crmNote struct{ Subject, Text string }

var orderColumns = []string{"salesorderid", "ordernumber", "name", "_customerid_value", "_transactioncurrencyid_value",
	"requestdeliveryby", "discountamount", "freightamount", "statecode",
	"shipto_name", "shipto_line1", "shipto_line2", "shipto_city", "shipto_stateorprovince", "shipto_postalcode", "shipto_country"}

func num(r dataverse.Record, col string) float64 {
	switch v := r[col].(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case float64:
		return v
	}
	return 0
}

func parseOrder(r dataverse.Record, idCol, numberCol string) crmOrder {
	o := crmOrder{ID: r.String(idCol), Number: r.String(numberCol), Name: r.String("name"),
		CustomerID: r.String("_customerid_value"), CustomerIs: r.String("_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"),
		CurrencyID: r.String("_transactioncurrencyid_value"), RequestDeliveryBy: r.String("requestdeliveryby"),
		Discount: num(r, "discountamount"), Freight: num(r, "freightamount"), Revision: int(num(r, "revisionnumber")),
		State: int(num(r, "statecode")), ShipTo: map[string]string{}}
	for _, c := range []string{"name", "line1", "line2", "city", "stateorprovince", "postalcode", "country"} {
		if v := r.String("shipto_" + c); v != "" {
			o.ShipTo[c] = v
		}
	}
	return o
}

// submittedOrders lists CRM orders in state Submitted (1), optionally one by number.
func (s *Service) submittedOrders(ctx context.Context, number string) ([]crmOrder, error) {
	// Like BC's job 5349, a run looks only at orders the ERP has not
	// acknowledged (lastbackofficesubmit empty), so its cost follows the new
	// orders, not every submitted order ever; one order by number is looked
	// at whatever its state, so that asking about it says "existing".
	f := "statecode eq 1 and lastbackofficesubmit eq null"
	if number != "" {
		f = "statecode eq 1"
		lit, err := odata.Literal(number)
		if err != nil {
			return nil, fmt.Errorf("orders: order number %q: %w", number, err)
		}
		f += " and ordernumber eq " + lit
	}
	var out []crmOrder
	for r, err := range s.o.CRM.All(ctx, "salesorders", dataverse.Query{Select: orderColumns, Filter: f, OrderBy: "ordernumber asc",
		Expand:      "order_details($select=" + strings.Join(lineColumns, ",") + "),SalesOrder_Annotation($select=subject,notetext)",
		Annotations: "Microsoft.Dynamics.CRM.lookuplogicalname"}) {
		if err != nil {
			return nil, fmt.Errorf("orders: list submitted CRM orders: %w", err)
		}
		o := parseOrder(r, "salesorderid", "ordernumber")
		o.expanded = expanded(&o, r, "order_details", "SalesOrder_Annotation")
		out = append(out, o)
	}
	return out, nil
}

var lineColumns = []string{"_productid_value", "productdescription", "quantity", "priceperunit", "manualdiscountamount", "sequencenumber"}

func parseLine(r dataverse.Record) crmLine {
	return crmLine{ProductID: r.String("_productid_value"), WriteIn: r.String("productdescription"),
		Quantity: num(r, "quantity"), Price: num(r, "priceperunit"), Discount: num(r, "manualdiscountamount"), Seq: int(num(r, "sequencenumber"))}
}

// expanded takes lines and notes read with $expand; false when the answer
// has no such collections (then details reads them).
func expanded(o *crmOrder, r dataverse.Record, linesNav, notesNav string) bool {
	ls, ok1 := r[linesNav].([]any)
	ns, ok2 := r[notesNav].([]any)
	if !ok1 || !ok2 {
		return false
	}
	for _, l := range ls {
		if m, ok := l.(map[string]any); ok {
			o.Lines = append(o.Lines, parseLine(dataverse.Record(m)))
		}
	}
	slices.SortStableFunc(o.Lines, func(a, b crmLine) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, n := range ns {
		if m, ok := n.(map[string]any); ok {
			r := dataverse.Record(m)
			o.Notes = append(o.Notes, crmNote{Subject: r.String("subject"), Text: r.String("notetext")})
		}
	}
	return true
}

// details reads the lines and notes of a CRM document.
func (s *Service) details(ctx context.Context, o *crmOrder, lineSet, parentCol, objectCol string) error {
	if o.expanded {
		return nil
	}
	q := dataverse.Query{Select: lineColumns, Filter: "_" + parentCol + "_value eq " + o.ID, OrderBy: "sequencenumber asc"}
	for r, err := range s.o.CRM.All(ctx, lineSet, q) {
		if err != nil {
			return fmt.Errorf("orders: read lines of CRM %s %s: %w", objectCol, o.Number, err)
		}
		o.Lines = append(o.Lines, parseLine(r))
	}
	nq := dataverse.Query{Select: []string{"subject", "notetext"}, Filter: "_objectid_value eq " + o.ID, OrderBy: "createdon asc"}
	for r, err := range s.o.CRM.All(ctx, "annotations", nq) {
		if err != nil {
			return fmt.Errorf("orders: read notes of CRM %s %s: %w", objectCol, o.Number, err)
		}
		o.Notes = append(o.Notes, crmNote{Subject: r.String("subject"), Text: r.String("notetext")})
	}
	return nil
}

// currencyCode is the ISO code of a CRM transactioncurrency.
func (s *Service) currencyCode(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	if v, ok := s.currencies.Load(id); ok {
		return v.(string), nil
	}
	r, err := s.o.CRM.Retrieve(ctx, "transactioncurrencies", dataverse.ID(id), "isocurrencycode")
	if err != nil {
		return "", fmt.Errorf("orders: read CRM currency %s: %w", id, err)
	}
	s.currencies.Store(id, r.String("isocurrencycode")) // ISO codes of a currency do not change
	return r.String("isocurrencycode"), nil
}

// postReq is the $batch request of a status post on an order's wall.
func postReq(orderID, text string) dataverse.BatchRequest {
	return dataverse.BatchRequest{Method: "POST", Path: "posts", ChangeSet: "cs", Body: map[string]any{
		"regardingobjectid_salesorder@odata.bind": "/salesorders(" + orderID + ")", "text": text, "source": 1, "type": 7}}
}

// post writes a status post on the wall of a CRM order.
func (s *Service) post(ctx context.Context, orderID, text string) error {
	_, err := s.o.CRM.Create(ctx, "posts", map[string]any{
		"regardingobjectid_salesorder@odata.bind": "/salesorders(" + orderID + ")",
		"text": text, "source": 1, "type": 7,
	})
	if err != nil {
		return fmt.Errorf("orders: post on CRM order %s: %w", orderID, err)
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
