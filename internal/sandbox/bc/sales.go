package bc

import (
	"strconv"
	"strings"
	"time"
)

func isPosted(t *table, r *row) bool {
	if t.set.name != "salesInvoices" {
		return false
	}
	switch t.str(r, "status") {
	case "Open", "Paid", "Canceled", "Corrective":
		return true
	}
	return false
}

// customerFields maps a customer's fields to the sell-to/bill-to/ship-to block of a header.
var customerFields = [][2]string{
	{"displayName", "customerName"}, {"displayName", "billToName"}, {"displayName", "shipToName"},
	{"addressLine1", "sellToAddressLine1"}, {"addressLine2", "sellToAddressLine2"}, {"city", "sellToCity"},
	{"country", "sellToCountry"}, {"state", "sellToState"}, {"postalCode", "sellToPostCode"},
	{"addressLine1", "billToAddressLine1"}, {"addressLine2", "billToAddressLine2"}, {"city", "billToCity"},
	{"country", "billToCountry"}, {"state", "billToState"}, {"postalCode", "billToPostCode"},
	{"addressLine1", "shipToAddressLine1"}, {"addressLine2", "shipToAddressLine2"}, {"city", "shipToCity"},
	{"country", "shipToCountry"}, {"state", "shipToState"}, {"postalCode", "shipToPostCode"},
	{"currencyId", "currencyId"}, {"currencyCode", "currencyCode"}, {"paymentTermsId", "paymentTermsId"},
	{"shipmentMethodId", "shipmentMethodId"}, {"salespersonCode", "salesperson"}, {"email", "email"},
	{"phoneNumber", "phoneNumber"},
}

func (c *company) findCustomer(vals map[int]any, s *entitySet) (*row, *apiError) {
	ct := c.tables["customers"]
	if id, ok := vals[s.index["customerId"]].(string); ok && id != emptyGUID {
		if r := ct.rows[id]; r != nil {
			return r, nil
		}
		return nil, dialog("The Customer does not exist. Identification fields and values: SystemId='%s'", id)
	}
	if n, ok := vals[s.index["customerNumber"]].(string); ok && n != "" {
		if r := ct.byNumber[n]; r != nil {
			return r, nil
		}
		return nil, dialog("The Customer does not exist. Identification fields and values: No.='%s'", n)
	}
	return nil, nil
}

// fillCustomer copies the customer's data into a header, keeping values the client sent.
func (c *company) fillCustomer(s *entitySet, vals map[int]any, cust *row, override bool) {
	ct := c.tables["customers"]
	set := func(name string, v any) {
		i := s.index[name]
		if _, given := vals[i]; !given || override {
			vals[i] = v
		}
	}
	vals[s.index["customerId"]] = cust.id
	vals[s.index["customerNumber"]] = ct.str(cust, "number")
	vals[s.index["billToCustomerId"]] = cust.id
	vals[s.index["billToCustomerNumber"]] = ct.str(cust, "number")
	for _, m := range customerFields {
		if _, ok := s.index[m[1]]; ok {
			set(m[1], ct.val(cust, ct.set.index[m[0]]))
		}
	}
	set("shipToContact", c.primaryContact[ct.str(cust, "number")])
}

func (c *company) headerInsert(t *table, vals map[int]any) *apiError {
	s := t.set
	cust, err := c.findCustomer(vals, s)
	if err != nil {
		return err
	}
	if cust == nil {
		return dialog(`A "customerNumber" or a "customerId" must be provided.`)
	}
	c.fillCustomer(s, vals, cust, false)
	vals[s.index["number"]] = c.nextNumber(s.name, t)
	today := c.workDate()
	def := func(name string, v any) {
		if i, ok := s.index[name]; ok {
			if _, given := vals[i]; !given {
				vals[i] = v
			}
		}
	}
	for _, d := range []string{"orderDate", "documentDate", "invoiceDate", "postingDate"} {
		def(d, today)
	}
	status := "Draft"
	vals[s.index["status"]] = status
	if _, ok := s.index["dueDate"]; ok {
		base, _ := vals[s.index["postingDate"]].(string)
		if d, ok := s.index["documentDate"]; ok {
			base, _ = vals[d].(string)
		}
		def("dueDate", c.dueDate(base, vals[s.index["paymentTermsId"]]))
	}
	if s.name == "salesQuotes" {
		d, _ := vals[s.index["documentDate"]].(string)
		def("validUntilDate", addFormula(d, "30D"))
	}
	return nil
}

func (c *company) headerUpdate(t *table, r *row, vals map[int]any) *apiError {
	s := t.set
	if isPosted(t, r) {
		return dialog("Invoice %s has been posted and cannot be changed.", t.str(r, "number"))
	}
	idPos, noPos := s.index["customerId"], s.index["customerNumber"]
	if id, ok := vals[idPos].(string); ok && id == t.str(r, "customerId") {
		delete(vals, idPos)
	}
	if n, ok := vals[noPos].(string); ok && n == t.str(r, "customerNumber") {
		delete(vals, noPos)
	}
	cust, err := c.findCustomer(vals, s)
	if err != nil {
		return err
	}
	if cust != nil {
		c.fillCustomer(s, vals, cust, true)
	}
	return nil
}

// dueDate evaluates the payment terms' due date formula from a base date.
func (c *company) dueDate(base string, termsID any) string {
	id, _ := termsID.(string)
	pt := c.tables["paymentTerms"]
	r := pt.rows[id]
	if r == nil {
		return base
	}
	return addFormula(base, pt.str(r, "dueDateCalculation"))
}

// addFormula applies a simple BC date formula (nD, nW, nM, nY, CM) to a date.
func addFormula(base, f string) string {
	d, err := time.Parse(time.DateOnly, base)
	if err != nil || base == blankDate {
		return base
	}
	f = strings.ToUpper(strings.Trim(f, "<>"))
	if f == "CM" {
		return time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	if len(f) < 2 {
		return base
	}
	n, err := strconv.Atoi(f[:len(f)-1])
	if err != nil {
		return base
	}
	switch f[len(f)-1] {
	case 'D':
		d = d.AddDate(0, 0, n)
	case 'W':
		d = d.AddDate(0, 0, 7*n)
	case 'M':
		d = d.AddDate(0, n, 0)
	case 'Y':
		d = d.AddDate(n, 0, 0)
	}
	return d.Format(time.DateOnly)
}
