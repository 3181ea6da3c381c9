package bc

import (
	"github.com/google/uuid"
)

// copyFields lists the header fields carried from a quote or order to the next document.
var copyHeader = []string{"externalDocumentNumber", "customerId", "customerNumber", "customerName", "billToName",
	"billToCustomerId", "billToCustomerNumber", "shipToName", "shipToContact", "sellToAddressLine1", "sellToAddressLine2",
	"sellToCity", "sellToCountry", "sellToState", "sellToPostCode", "billToAddressLine1", "billToAddressLine2", "billToCity",
	"billToCountry", "billToState", "billToPostCode", "shipToAddressLine1", "shipToAddressLine2", "shipToCity", "shipToCountry",
	"shipToState", "shipToPostCode", "shortcutDimension1Code", "shortcutDimension2Code", "currencyId", "currencyCode",
	"paymentTermsId", "shipmentMethodId", "salesperson", "discountAmount", "phoneNumber", "email"}

var copyLine = []string{"sequence", "itemId", "accountId", "lineType", "lineObjectNumber", "description", "description2",
	"unitOfMeasureId", "unitOfMeasureCode", "quantity", "unitPrice", "discountAmount", "discountPercent", "taxCode",
	"itemVariantId", "locationId"}

// copyDocument creates a document in dst from src's header and lines (quote → order/invoice,
// order → posted invoice). lineQty, when set, gives each source line's quantity on the copy.
func (c *company) copyDocument(u *undo, st *table, src *row, dt *table, id string, extra map[string]any, lineQty func(*row) float64) *row {
	vals := map[int]any{}
	for _, f := range copyHeader {
		if i, ok := dt.set.index[f]; ok {
			if j, ok := st.set.index[f]; ok {
				vals[i] = st.val(src, j)
			}
		}
	}
	for k, v := range extra {
		vals[dt.set.index[k]] = v
	}
	h := c.insertRaw(u, dt, id, vals)
	slt, dlt := c.tables[st.set.lines], c.tables[dt.set.lines]
	vat := vatPercent(dt.str(h, "billToCountry"))
	for _, l := range slt.lines(src.id) {
		lv := map[int]any{dlt.set.index["documentId"]: h.id}
		for _, f := range copyLine {
			if i, ok := dlt.set.index[f]; ok {
				lv[i] = slt.val(l, slt.set.index[f])
			}
		}
		q := slt.num(l, "quantity")
		if lineQty != nil {
			q = lineQty(l)
			if q == 0 && slt.str(l, "lineType") != "Comment" {
				continue
			}
			lv[dlt.set.index["quantity"]] = q
		}
		if p, ok := dlt.set.index["shipQuantity"]; ok {
			lv[p], lv[dlt.set.index["invoiceQuantity"]] = q, q
		}
		if p, ok := dlt.set.index["shipmentDate"]; ok {
			lv[p] = c.workDate()
		}
		c.lineAmounts(dlt, lv, nil, vat)
		c.insertRaw(u, dlt, uuid.NewString(), lv)
	}
	c.recalc(u, dt, h)
	return h
}

func (c *company) deleteDocument(u *undo, t *table, r *row) {
	lt := c.tables[t.set.lines]
	for _, l := range lt.lines(r.id) {
		c.del(u, lt, l)
	}
	c.del(u, t, r)
}

// makeOrder turns a quote into an order; the quote is deleted, as BC does.
func (c *company) makeOrder(u *undo, qt *table, q *row) (*row, *apiError) {
	if len(qt.lines(q.id)) == 0 && len(c.tables["salesQuoteLines"].byDoc[q.id]) == 0 {
		return nil, dialog("Please add at least one line item to the quote.")
	}
	ot := c.tables["salesOrders"]
	today := c.workDate()
	o := c.copyDocument(u, qt, q, ot, uuid.NewString(), map[string]any{
		"number": c.nextNumber("salesOrders", ot), "orderDate": today, "postingDate": today, "status": "Draft",
	}, nil)
	c.deleteDocument(u, qt, q)
	return o, nil
}

// makeInvoice turns a quote into a draft invoice; the quote is deleted.
func (c *company) makeInvoice(u *undo, qt *table, q *row) (*row, *apiError) {
	if len(c.tables["salesQuoteLines"].byDoc[q.id]) == 0 {
		return nil, dialog("Please add at least one line item to the quote.")
	}
	it := c.tables["salesInvoices"]
	today := c.workDate()
	inv := c.copyDocument(u, qt, q, it, uuid.NewString(), map[string]any{
		"number": c.nextNumber("salesInvoices", it), "invoiceDate": today, "postingDate": today, "status": "Draft",
		"dueDate": c.dueDate(today, qt.str(q, "paymentTermsId")),
	}, nil)
	c.deleteDocument(u, qt, q)
	return inv, nil
}

// send marks a quote as sent to the customer (the e-mail itself is not simulated).
func (c *company) sendQuote(u *undo, qt *table, q *row) *apiError {
	if len(c.tables["salesQuoteLines"].byDoc[q.id]) == 0 {
		return dialog("Please add at least one line item to the quote.")
	}
	if qt.str(q, "email") == "" {
		return dialog("You must specify an e-mail address for customer %s before sending the quote.", qt.str(q, "customerNumber"))
	}
	c.set(u, qt, q, map[int]any{
		qt.set.index["status"]:   "Sent",
		qt.set.index["sentDate"]: formatMillis(c.nowMillis()),
	})
	return nil
}

// postInvoice posts a draft invoice: item ledger entries, posted number, status Open; same id.
func (c *company) postInvoice(u *undo, t *table, inv *row) *apiError {
	if isPosted(t, inv) {
		return dialog("The action can be applied to a draft invoice only.")
	}
	lt := c.tables["salesInvoiceLines"]
	ls := lt.lines(inv.id)
	hasQty := false
	for _, l := range ls {
		if lt.str(l, "lineType") != "Comment" && lt.num(l, "quantity") != 0 {
			hasQty = true
		}
	}
	if !hasQty {
		return dialog("Please add at least one line item to the invoice.")
	}
	number := c.nextNumber("postedInvoice", t)
	date := t.str(inv, "postingDate")
	if date == blankDate {
		date = c.workDate()
	}
	if err := c.postItems(u, lt, ls, func(l *row) float64 { return lt.num(l, "quantity") }, t.str(inv, "customerNumber"), number, "Sales_x0020_Shipment", date); err != nil {
		return err
	}
	c.set(u, t, inv, map[int]any{
		t.set.index["number"]:          number,
		t.set.index["status"]:          "Open",
		t.set.index["remainingAmount"]: t.num(inv, "totalAmountIncludingTax"),
	})
	c.addBalance(u, t.str(inv, "customerId"), t.num(inv, "totalAmountIncludingTax"))
	return nil
}

// postItems writes the sale item ledger entries of some lines.
func (c *company) postItems(u *undo, lt *table, ls []*row, qty func(*row) float64, customer, docNo, docType, date string) *apiError {
	it := c.tables["items"]
	for _, l := range ls {
		q := qty(l)
		if lt.str(l, "lineType") != "Item" || q == 0 {
			continue
		}
		item := it.rows[lt.str(l, "itemId")]
		if item == nil {
			return dialog("Item %s on line %v does not exist.", lt.str(l, "lineObjectNumber"), lt.val(l, lt.set.index["sequence"]))
		}
		if it.str(item, "type") != "Inventory" {
			continue
		}
		sales := 0.0
		if lq := lt.num(l, "quantity"); lq != 0 {
			sales = lt.num(l, "amountExcludingTax") * q / lq
		}
		c.addLedgerEntry(u, item, date, "Sale", "Customer", customer, docType, docNo, -q, sales, -q*it.num(item, "unitCost"))
	}
	return nil
}

// shipAndInvoice posts an order's quantities to ship and to invoice. A fully shipped and
// invoiced order is deleted; the posted invoice keeps orderId/orderNumber.
func (c *company) shipAndInvoice(u *undo, ot *table, o *row) *apiError {
	lt := c.tables["salesOrderLines"]
	ls := lt.lines(o.id)
	hasLines := false
	for _, l := range ls {
		if lt.str(l, "lineType") != "Comment" && lt.num(l, "quantity") != 0 {
			hasLines = true
		}
	}
	if !hasLines {
		return dialog("Please add at least one line item to the estimate.")
	}
	for _, l := range ls {
		shipped, ship, inv := lt.num(l, "shippedQuantity"), lt.num(l, "shipQuantity"), lt.num(l, "invoiceQuantity")
		if shipped+ship > lt.num(l, "quantity") {
			return dialog("You cannot ship more than %v units on line %v.", lt.num(l, "quantity")-shipped, lt.val(l, lt.set.index["sequence"]))
		}
		if inv > shipped+ship-lt.num(l, "invoicedQuantity") {
			return dialog("You cannot invoice more than %v units on line %v.", shipped+ship-lt.num(l, "invoicedQuantity"), lt.val(l, lt.set.index["sequence"]))
		}
	}
	today := c.workDate()
	if err := c.shipLines(u, ot, o, ls, func(l *row) float64 { return lt.num(l, "shipQuantity") }); err != nil {
		return err
	}
	invQty := func(l *row) float64 { return lt.num(l, "invoiceQuantity") }
	total := 0.0
	for _, l := range ls {
		total += invQty(l)
	}
	if total > 0 {
		it := c.tables["salesInvoices"]
		inv := c.copyDocument(u, ot, o, it, uuid.NewString(), map[string]any{
			"number": c.nextNumber("postedInvoice", it), "invoiceDate": today, "postingDate": today,
			"dueDate": c.dueDate(today, ot.str(o, "paymentTermsId")), "orderId": o.id, "orderNumber": ot.str(o, "number"),
			"status": "Open",
		}, invQty)
		c.set(u, it, inv, map[int]any{it.set.index["remainingAmount"]: it.num(inv, "totalAmountIncludingTax")})
		c.addBalance(u, it.str(inv, "customerId"), it.num(inv, "totalAmountIncludingTax"))
		for _, l := range ls {
			if q := invQty(l); q != 0 {
				inv := lt.num(l, "invoicedQuantity") + q
				c.set(u, lt, l, map[int]any{lt.set.index["invoicedQuantity"]: inv, lt.set.index["invoiceQuantity"]: float64(0)})
			}
		}
	}
	done := true
	for _, l := range ls {
		if lt.str(l, "lineType") != "Comment" && lt.num(l, "invoicedQuantity") < lt.num(l, "quantity") {
			done = false
		}
	}
	if done {
		c.deleteDocument(u, ot, o)
		return nil
	}
	c.recalc(u, ot, o)
	return nil
}

// shipLines posts shipments of order lines (qty per line), as the warehouse does by hand.
func (c *company) shipLines(u *undo, ot *table, o *row, ls []*row, qty func(*row) float64) *apiError {
	lt := c.tables["salesOrderLines"]
	total := 0.0
	for _, l := range ls {
		q := qty(l)
		if q < 0 || lt.num(l, "shippedQuantity")+q > lt.num(l, "quantity") {
			return dialog("You cannot ship %v units on line %v: %v remain to ship.", q, lt.val(l, lt.set.index["sequence"]), lt.num(l, "quantity")-lt.num(l, "shippedQuantity"))
		}
		total += q
	}
	if total == 0 {
		return nil
	}
	shipment := c.nextNumber("postedShipment", c.tables["salesOrders"])
	if err := c.postItems(u, lt, ls, qty, ot.str(o, "customerNumber"), shipment, "Sales_x0020_Shipment", c.workDate()); err != nil {
		return err
	}
	for _, l := range ls {
		if q := qty(l); q != 0 {
			shipped := lt.num(l, "shippedQuantity") + q
			c.set(u, lt, l, map[int]any{
				lt.set.index["shippedQuantity"]: shipped,
				lt.set.index["shipQuantity"]:    lt.num(l, "quantity") - shipped,
				lt.set.index["invoiceQuantity"]: shipped - lt.num(l, "invoicedQuantity"),
			})
		}
	}
	// Posting releases the document (status Open in the API).
	c.set(u, ot, o, map[int]any{ot.set.index["status"]: "Open"})
	c.recalc(u, ot, o)
	return nil
}
