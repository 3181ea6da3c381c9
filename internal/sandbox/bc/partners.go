package bc

// Business Central keeps a company contact for every customer and vendor (Marketing Setup's
// business relations): creating one creates its contact, and changing the name, address or
// communication fields changes the contact too (CustCont-Update / VendCont-Update).

// partnerContactFields are copied from a customer or vendor to its contact.
var partnerContactFields = []string{"displayName", "addressLine1", "addressLine2", "city", "state", "country", "postalCode", "phoneNumber", "email", "website"}

// partnerContact finds the company contact linked to a customer or vendor.
func (c *company) partnerContact(set string, r *row) *row {
	no, ok := c.contactOf[set+"/"+r.id]
	if !ok {
		return nil
	}
	return c.tables["contacts"].byNumber[no]
}

func (c *company) createPartnerContact(u *undo, t *table, r *row) {
	kt := c.tables["contacts"]
	ks := kt.set
	no := c.nextNumber("contacts", kt)
	vals := map[int]any{ks.index["number"]: no, ks.index["type"]: "Company", ks.index["companyNumber"]: no}
	for _, f := range partnerContactFields {
		vals[ks.index[f]] = t.val(r, t.set.index[f])
	}
	name := t.str(r, "displayName")
	vals[ks.index["companyName"]] = name
	vals[ks.index["searchName"]] = upper(name)
	rel := "Customer"
	if t.set.name == "vendors" {
		rel = "Vendor"
	}
	vals[ks.index["contactBusinessRelation"]] = rel
	c.insertRaw(u, kt, seedID("contacts", t.set.name+"/"+r.id), vals)
	c.linkContact(u, t.set.name, r.id, no)
}

// linkContact records the business relation (not undone: a rolled-back contact is deleted,
// and a dangling link finds nothing).
func (c *company) linkContact(_ *undo, set, id, contactNo string) {
	c.contactOf[set+"/"+id] = contactNo
}

func (c *company) updatePartnerContact(u *undo, t *table, r *row, changed map[int]any) {
	k := c.partnerContact(t.set.name, r)
	if k == nil {
		return
	}
	kt := c.tables["contacts"]
	vals := map[int]any{}
	for _, f := range partnerContactFields {
		if _, ok := changed[t.set.index[f]]; ok {
			vals[kt.set.index[f]] = t.val(r, t.set.index[f])
		}
	}
	if v, ok := vals[kt.set.index["displayName"]].(string); ok {
		vals[kt.set.index["companyName"]] = v
		vals[kt.set.index["searchName"]] = upper(v)
	}
	if len(vals) > 0 {
		c.set(u, kt, k, vals)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'a' <= ch && ch <= 'z' {
			b[i] = ch - 32
		}
	}
	return string(b)
}

// openDocuments says why a customer cannot be deleted, as BC does.
func (c *company) openDocuments(r *row) string {
	for _, set := range []string{"salesQuotes", "salesOrders", "salesInvoices"} {
		t := c.tables[set]
		for _, d := range t.rows {
			if t.str(d, "customerId") == r.id && !isPosted(t, d) {
				return t.set.entity
			}
		}
	}
	return ""
}
