package bc

import (
	"net/http"
)

// lineInsert completes a new document line: its header, sequence, item and amounts.
func (c *company) lineInsert(u *undo, t *table, vals map[int]any, parent *row) *apiError {
	s := t.set
	ht := c.tables[s.parent]
	docPos := s.index["documentId"]
	if parent == nil {
		id, _ := vals[docPos].(string)
		if id == "" || id == emptyGUID {
			return dialog("You must specify an Id or a Document Id to get the lines.")
		}
		if parent = ht.rows[id]; parent == nil {
			return notFound(ht, id)
		}
	}
	if isPosted(ht, parent) {
		return dialog("Invoice %s has been posted; its lines cannot be changed.", ht.str(parent, "number"))
	}
	vals[docPos] = parent.id
	seqPos := s.index["sequence"]
	if _, ok := vals[seqPos]; !ok {
		var max int64
		for _, l := range t.byDoc[parent.id] {
			if v := t.val(l, seqPos).(int64); v > max {
				max = v
			}
		}
		vals[seqPos] = max + 10000
	} else {
		for _, l := range t.byDoc[parent.id] {
			if t.val(l, seqPos) == vals[seqPos] {
				return errf(http.StatusConflict, codeSameKeyExists, "The %s already exists. Identification fields and values: Document No.='%s',Line No.='%v'", s.entity, ht.str(parent, "number"), vals[seqPos])
			}
		}
	}
	if err := c.resolveLineObject(t, vals, nil); err != nil {
		return err
	}
	if p, ok := s.index["shipQuantity"]; ok {
		q, _ := vals[s.index["quantity"]].(float64)
		if _, given := vals[p]; !given {
			vals[p] = q
		}
		if _, given := vals[s.index["invoiceQuantity"]]; !given {
			vals[s.index["invoiceQuantity"]] = q
		}
	}
	if p, ok := s.index["shipmentDate"]; ok {
		if _, given := vals[p]; !given {
			d := ht.str(parent, "requestedDeliveryDate")
			if d == "" || d == blankDate {
				d = ht.str(parent, "postingDate")
			}
			vals[p] = d
		}
	}
	c.lineAmounts(t, vals, nil, vatPercent(ht.str(parent, "billToCountry")))
	return nil
}

// resolveLineObject fills the line's item (or resource) from itemId or lineObjectNumber.
func (c *company) resolveLineObject(t *table, vals map[int]any, cur *row) *apiError {
	s := t.set
	get := func(name string) (any, bool) { v, ok := vals[s.index[name]]; return v, ok }
	itemID, hasItem := get("itemId")
	accID, hasAcc := get("accountId")
	if hasItem && hasAcc && itemID != emptyGUID && accID != emptyGUID {
		return dialog(`Both "itemId" and "accountId" are specified. Specify only one of them.`)
	}
	objNo, hasNo := get("lineObjectNumber")
	lt, hasType := get("lineType")
	if !hasType && cur == nil {
		switch {
		case hasItem && itemID != emptyGUID:
			lt = "Item"
		case hasAcc && accID != emptyGUID:
			lt = "Account"
		case hasNo && objNo != "":
			lt = "Item"
		default:
			lt = "Comment"
		}
		vals[s.index["lineType"]] = lt
	}
	if cur != nil && !hasType {
		lt = t.str(cur, "lineType")
	}
	if lt == "Resource" {
		return c.resolveResource(t, vals, cur)
	}
	if lt != "Item" {
		return nil
	}
	it := c.tables["items"]
	var item *row
	switch {
	case hasItem && itemID != emptyGUID:
		item = it.rows[itemID.(string)]
	case hasNo && objNo != "":
		item = it.byNumber[objNo.(string)]
	case cur != nil:
		return nil
	default:
		return dialog("Item does not exist.")
	}
	if item == nil {
		return dialog("Item does not exist.")
	}
	if cur != nil && t.str(cur, "itemId") != item.id && t.str(cur, "itemId") != emptyGUID {
		return dialog(`The value for "lineObjectNumber" cannot be modified.`)
	}
	vals[s.index["itemId"]] = item.id
	vals[s.index["lineObjectNumber"]] = it.str(item, "number")
	def := func(name string, v any) {
		if _, given := vals[s.index[name]]; !given {
			vals[s.index[name]] = v
		}
	}
	def("description", it.str(item, "displayName"))
	def("unitOfMeasureId", it.str(item, "baseUnitOfMeasureId"))
	def("unitOfMeasureCode", it.str(item, "baseUnitOfMeasureCode"))
	def("unitPrice", it.num(item, "unitPrice"))
	def("taxCode", "STANDARD")
	return nil
}

// lineAmounts computes a line's amounts from its quantity, price and discount. cur is the
// stored line (nil on insert); vals receives the computed fields.
func (c *company) lineAmounts(t *table, vals map[int]any, cur *row, vat float64) {
	s := t.set
	num := func(name string) float64 {
		i := s.index[name]
		if v, ok := vals[i]; ok {
			f, _ := v.(float64)
			return f
		}
		if cur != nil {
			return t.num(cur, name)
		}
		return 0
	}
	lineType, _ := vals[s.index["lineType"]].(string)
	if lineType == "" && cur != nil {
		lineType = t.str(cur, "lineType")
	}
	put := func(name string, v any) {
		if i, ok := s.index[name]; ok {
			vals[i] = v
		}
	}
	gross := round2(num("quantity") * num("unitPrice"))
	disc := num("discountAmount")
	if pct := num("discountPercent"); pct > 0 {
		disc = round2(gross * pct / 100)
		put("discountAmount", disc)
	}
	if lineType == "Comment" {
		gross, disc, vat = 0, 0, 0
	}
	net := round2(gross - disc)
	tax := round2(net * vat / 100)
	put("amountExcludingTax", net)
	put("netAmount", net)
	put("taxPercent", vat)
	put("totalTaxAmount", tax)
	put("netTaxAmount", tax)
	put("amountIncludingTax", round2(net+tax))
	put("netAmountIncludingTax", round2(net+tax))
}

func (c *company) lineUpdate(t *table, r *row, vals map[int]any) *apiError {
	s := t.set
	ht, h := c.lookup(s.parent, t.str(r, "documentId"))
	if h != nil && isPosted(ht, h) {
		return dialog("Invoice %s has been posted; its lines cannot be changed.", ht.str(h, "number"))
	}
	if v, ok := vals[s.index["documentId"]]; ok && v != t.str(r, "documentId") {
		return dialog(`The value for "documentId" cannot be modified.`)
	}
	if v, ok := vals[s.index["sequence"]]; ok && v != t.val(r, s.index["sequence"]) {
		return dialog("The value for sequence cannot be modified. Delete and insert the line again.")
	}
	if v, ok := vals[s.index["lineObjectNumber"]]; ok && v != t.str(r, "lineObjectNumber") {
		return dialog(`The value for "lineObjectNumber" cannot be modified.`)
	}
	if err := c.resolveLineObject(t, vals, r); err != nil {
		return err
	}
	if q, ok := vals[s.index["quantity"]].(float64); ok {
		if p, ok := s.index["shippedQuantity"]; ok {
			shipped := t.num(r, "shippedQuantity")
			if q < shipped {
				return dialog("Quantity %v must not be less than the quantity already shipped (%v).", q, shipped)
			}
			if _, given := vals[s.index["shipQuantity"]]; !given {
				vals[s.index["shipQuantity"]] = q - shipped
			}
			if _, given := vals[s.index["invoiceQuantity"]]; !given {
				vals[s.index["invoiceQuantity"]] = q - t.num(r, "invoicedQuantity")
			}
			_ = p
		}
	}
	vat := 0.0
	if h != nil {
		vat = vatPercent(ht.str(h, "billToCountry"))
	}
	c.lineAmounts(t, vals, r, vat)
	return nil
}

// recalc sums a document's lines into its header totals.
func (c *company) recalc(u *undo, ht *table, h *row) {
	if h == nil || h.deleted {
		return
	}
	lt := c.tables[ht.set.lines]
	var net, tax, incl float64
	fully := true
	for _, l := range lt.byDoc[h.id] {
		net += lt.num(l, "amountExcludingTax")
		tax += lt.num(l, "totalTaxAmount")
		incl += lt.num(l, "amountIncludingTax")
		if _, ok := lt.set.index["shippedQuantity"]; ok && lt.str(l, "lineType") == "Item" && lt.num(l, "shippedQuantity") < lt.num(l, "quantity") {
			fully = false
		}
	}
	s := ht.set
	vals := map[int]any{
		s.index["totalAmountExcludingTax"]: round2(net),
		s.index["totalTaxAmount"]:          round2(tax),
		s.index["totalAmountIncludingTax"]: round2(incl),
	}
	if p, ok := s.index["fullyShipped"]; ok {
		vals[p] = fully && len(lt.byDoc[h.id]) > 0
	}
	changed := false
	for i, v := range vals {
		if compareValues(ht.val(h, i), v) != 0 {
			changed = true
		}
	}
	if changed {
		c.set(u, ht, h, vals)
	}
}
