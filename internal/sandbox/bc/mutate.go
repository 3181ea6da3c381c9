package bc

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// create validates and stores a new record, running the page's insert logic (numbering,
// lookups, deep insert of lines). parent is the header when posting to a contained line set.
func (c *company) create(u *undo, t *table, vals map[int]any, nested json.RawMessage, parent *row) (*row, *apiError) {
	s := t.set
	if s.readOnly || s.noCreate {
		return nil, errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "'POST' requests for '%s' of EdmType 'Entity' are not allowed within Dynamics 365 Business Central OData web services.", s.name)
	}
	keyPos := s.index[s.keyField]
	for i := range vals {
		f := s.fields[i]
		if f.readOnly && i != keyPos {
			return nil, errf(http.StatusBadRequest, codeInvalidOperation, "Control '%s' is read-only.", f.name)
		}
	}
	id, _ := vals[keyPos].(string)
	if id == "" || id == emptyGUID {
		id = uuid.NewString()
	}
	if _, exists := t.rows[id]; exists {
		return nil, errf(http.StatusConflict, codeSameKeyExists, "The %s already exists. Identification fields and values: SystemId='%s'", s.entity, id)
	}
	if err := c.beforeInsert(u, t, vals, parent); err != nil {
		return nil, err
	}
	if t.byNumber != nil {
		if k, _ := vals[t.sortPos].(string); k != "" {
			if _, dup := t.byNumber[k]; dup {
				return nil, errf(http.StatusConflict, codeSameKeyExists, "The %s already exists. Identification fields and values: %s='%s'", s.entity, s.sortField, k)
			}
		}
	}
	r := c.insertRaw(u, t, id, vals)
	if err := c.afterInsert(u, t, r, nested); err != nil {
		return nil, err
	}
	return r, nil
}

// update applies a PATCH body to a stored record.
func (c *company) update(u *undo, t *table, r *row, vals map[int]any) *apiError {
	s := t.set
	if s.readOnly {
		return errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "'PATCH' requests for '%s' of EdmType 'Entity' are not allowed within Dynamics 365 Business Central OData web services.", s.name)
	}
	for i, v := range vals {
		f := s.fields[i]
		if f.readOnly {
			if f.name == "lastModifiedDateTime" || compareValues(t.val(r, i), v) == 0 {
				delete(vals, i) // echoing an unchanged read-only value is harmless
				continue
			}
			return errf(http.StatusBadRequest, codeInvalidOperation, "Control '%s' is read-only.", f.name)
		}
	}
	if err := c.beforeUpdate(u, t, r, vals); err != nil {
		return err
	}
	if len(vals) > 0 {
		if t.byNumber != nil {
			if k, ok := vals[t.sortPos].(string); ok && k != t.numberKey(r) {
				if k == "" {
					return dialog("The blank \"%s\" is not allowed.", s.sortField)
				}
				if _, dup := t.byNumber[k]; dup {
					return errf(http.StatusConflict, codeSameKeyExists, "The %s already exists. Identification fields and values: %s='%s'", s.entity, s.sortField, k)
				}
			}
		}
		c.set(u, t, r, vals)
		if s.name == "customers" || s.name == "vendors" {
			c.updatePartnerContact(u, t, r, vals)
		}
	}
	return c.afterUpdate(u, t, r)
}

// remove deletes a record (and a document's lines).
func (c *company) remove(u *undo, t *table, r *row) *apiError {
	s := t.set
	if s.readOnly || s.noDelete {
		return errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "'DELETE' requests for '%s' of EdmType 'Entity' are not allowed within Dynamics 365 Business Central OData web services.", s.name)
	}
	switch {
	case s.name == "customers" && c.openDocuments(r) != "":
		return dialog("You cannot delete customer %s because there is at least one outstanding %s for this customer.", t.str(r, "number"), c.openDocuments(r))
	case s.name == "salesInvoices" && isPosted(t, r):
		return dialog("You cannot delete posted invoice %s.", t.str(r, "number"))
	case s.parent != "":
		ht, h := c.lookup(s.parent, t.str(r, "documentId"))
		if h != nil && ht.set.name == "salesInvoices" && isPosted(ht, h) {
			return dialog("You cannot delete lines of posted invoice %s.", ht.str(h, "number"))
		}
		c.del(u, t, r)
		if h != nil {
			c.recalc(u, ht, h)
		}
		return nil
	case s.lines != "":
		lt := c.tables[s.lines]
		for _, l := range lt.lines(r.id) {
			c.del(u, lt, l)
		}
	}
	c.del(u, t, r)
	return nil
}

// refFields are lookups BC validates against their tables when set.
var refFields = []struct{ field, set, label, key string }{
	{"paymentTermsId", "paymentTerms", "Payment Terms", "SystemId"},
	{"shipmentMethodId", "shipmentMethods", "Shipment Method", "SystemId"},
	{"salespersonCode", "salespeoplePurchasers", "Salesperson/Purchaser", "Code"},
	{"salesperson", "salespeoplePurchasers", "Salesperson/Purchaser", "Code"},
}

func (c *company) checkRefs(t *table, vals map[int]any) *apiError {
	for _, rf := range refFields {
		i, ok := t.set.index[rf.field]
		if !ok {
			continue
		}
		v, _ := vals[i].(string)
		if v == "" || v == emptyGUID {
			continue
		}
		rt := c.tables[rf.set]
		found := rt.rows[v] != nil
		if rf.key == "Code" {
			found = rt.byNumber[v] != nil
		}
		if !found {
			return errf(http.StatusNotFound, codeRecordNotFound, "The %s does not exist. Identification fields and values: %s='%s'", rf.label, rf.key, v)
		}
	}
	return nil
}

func (c *company) beforeInsert(u *undo, t *table, vals map[int]any, parent *row) *apiError {
	s := t.set
	if err := c.checkRefs(t, vals); err != nil {
		return err
	}
	str := func(name string) string { v, _ := vals[s.index[name]].(string); return v }
	put := func(name string, v any) { vals[s.index[name]] = v }
	switch s.name {
	case "customers", "vendors", "items", "contacts", "employees":
		if strings.TrimSpace(str("displayName")) == "" && s.name != "employees" {
			return dialog(`A "displayName" must be provided.`)
		}
		if str("number") == "" {
			put("number", c.nextNumber(s.name, t))
		}
	case "salespeoplePurchasers", "currencies", "unitsOfMeasure", "paymentTerms", "shipmentMethods":
		if strings.TrimSpace(str("code")) == "" {
			return dialog(`A "code" must be provided.`)
		}
		put("code", strings.ToUpper(str("code")))
	}
	switch s.name {
	case "customers", "vendors":
		if err := c.resolveCurrency(t, vals, nil); err != nil {
			return err
		}
	case "contacts":
		if _, ok := vals[s.index["type"]]; !ok {
			put("type", "Company")
		}
		c.contactDerived(t, vals)
	case "items":
		if inv, ok := vals[s.index["inventory"]].(float64); ok && inv != 0 {
			return dialog("Inventory cannot be changed during on insert.")
		}
		delete(vals, s.index["inventory"])
		if err := c.resolveUnit(t, vals); err != nil {
			return err
		}
	case "salesOrders", "salesQuotes", "salesInvoices":
		return c.headerInsert(t, vals)
	case "salesOrderLines", "salesQuoteLines", "salesInvoiceLines":
		return c.lineInsert(u, t, vals, parent)
	}
	return nil
}

func (c *company) afterInsert(u *undo, t *table, r *row, nested json.RawMessage) *apiError {
	s := t.set
	if s.name == "customers" || s.name == "vendors" {
		c.createPartnerContact(u, t, r)
		return nil
	}
	if s.lines == "" {
		if s.parent != "" {
			ht, h := c.lookup(s.parent, t.str(r, "documentId"))
			c.recalc(u, ht, h)
		}
		return nil
	}
	if len(nested) > 0 && string(nested) != "null" {
		var items []json.RawMessage
		if err := json.Unmarshal(nested, &items); err != nil {
			return errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: %q must be an array of lines.", s.lines)
		}
		lt := c.tables[s.lines]
		for n, raw := range items {
			vals, _, err := decodeBody(lt.set, raw, "")
			if err != nil {
				err.message = "Line " + strconv.Itoa(n+1) + ": " + err.message
				return err
			}
			if _, err := c.create(u, lt, vals, nil, r); err != nil {
				return err
			}
		}
	}
	c.recalc(u, t, r)
	return nil
}

func (c *company) beforeUpdate(u *undo, t *table, r *row, vals map[int]any) *apiError {
	s := t.set
	if err := c.checkRefs(t, vals); err != nil {
		return err
	}
	has := func(name string) bool { _, ok := vals[s.index[name]]; return ok }
	switch s.name {
	case "customers", "vendors", "items", "contacts":
		if v, ok := vals[s.index["displayName"]].(string); ok && strings.TrimSpace(v) == "" {
			return dialog(`The blank "displayName" is not allowed.`)
		}
	}
	switch s.name {
	case "customers", "vendors":
		if has("currencyCode") || has("currencyId") {
			return c.resolveCurrency(t, vals, r)
		}
	case "contacts":
		c.contactDerived(t, vals)
	case "items":
		if v, ok := vals[s.index["inventory"]].(float64); ok {
			delete(vals, s.index["inventory"])
			if diff := v - c.inventory[t.str(r, "number")]; diff != 0 {
				kind := "Positive_x0020_Adjmt_x002E_"
				if diff < 0 {
					kind = "Negative_x0020_Adjmt_x002E_"
				}
				c.addLedgerEntry(u, r, c.workDate(), kind, "_x0020_", "", "_x0020_", "T00001", diff, 0, diff*t.num(r, "unitCost"))
			}
		}
		if has("number") && t.str(r, "number") != vals[s.index["number"]] {
			return dialog("Renaming an item is not supported by the sandbox: its item ledger entries would have to follow.")
		}
		if has("baseUnitOfMeasureCode") || has("baseUnitOfMeasureId") {
			return c.resolveUnit(t, vals)
		}
	case "salesOrders", "salesQuotes", "salesInvoices":
		return c.headerUpdate(t, r, vals)
	case "salesOrderLines", "salesQuoteLines", "salesInvoiceLines":
		return c.lineUpdate(t, r, vals)
	}
	return nil
}

func (c *company) afterUpdate(u *undo, t *table, r *row) *apiError {
	if t.set.parent != "" {
		ht, h := c.lookup(t.set.parent, t.str(r, "documentId"))
		c.recalc(u, ht, h)
	} else if t.set.lines != "" {
		c.recalc(u, t, r)
	}
	return nil
}

// resolveCurrency keeps currencyId and currencyCode consistent; the local currency has an
// empty id and shows the LCY code.
func (c *company) resolveCurrency(t *table, vals map[int]any, r *row) *apiError {
	s := t.set
	idPos, codePos := s.index["currencyId"], s.index["currencyCode"]
	id, hasID := vals[idPos].(string)
	code, hasCode := vals[codePos].(string)
	ct := c.tables["currencies"]
	var byID *row
	if hasID && id != emptyGUID {
		if byID = ct.rows[id]; byID == nil {
			return errf(http.StatusBadRequest, codeDialog, "The Currency does not exist. Identification fields and values: SystemId='%s'", id)
		}
	}
	switch {
	case hasCode && code != "" && code != c.lcy:
		cur := ct.byNumber[strings.ToUpper(code)]
		if cur == nil {
			return dialog("The Currency does not exist. Identification fields and values: Code='%s'", code)
		}
		if byID != nil && byID != cur {
			return dialog("The currency values do not match to a specific Currency.")
		}
		vals[idPos], vals[codePos] = cur.id, ct.str(cur, "code")
	case hasCode:
		if byID != nil {
			return dialog("The currency values do not match to a specific Currency.")
		}
		vals[idPos], vals[codePos] = emptyGUID, c.lcy
	case byID != nil:
		vals[codePos] = ct.str(byID, "code")
	default:
		vals[idPos], vals[codePos] = emptyGUID, c.lcy
	}
	return nil
}

func (c *company) resolveUnit(t *table, vals map[int]any) *apiError {
	s := t.set
	idPos, codePos := s.index["baseUnitOfMeasureId"], s.index["baseUnitOfMeasureCode"]
	ut := c.tables["unitsOfMeasure"]
	if code, ok := vals[codePos].(string); ok && code != "" {
		u := ut.byNumber[strings.ToUpper(code)]
		if u == nil {
			return dialog("The Unit of Measure does not exist. Identification fields and values: Code='%s'", code)
		}
		vals[idPos], vals[codePos] = u.id, ut.str(u, "code")
		return nil
	}
	if id, ok := vals[idPos].(string); ok && id != emptyGUID {
		u := ut.rows[id]
		if u == nil {
			return dialog("The Unit of Measure does not exist. Identification fields and values: SystemId='%s'", id)
		}
		vals[codePos] = ut.str(u, "code")
	}
	return nil
}

func (c *company) contactDerived(t *table, vals map[int]any) {
	s := t.set
	if n, ok := vals[s.index["displayName"]].(string); ok {
		vals[s.index["searchName"]] = strings.ToUpper(n)
	}
	if cn, ok := vals[s.index["companyNumber"]].(string); ok && cn != "" {
		if co := t.byNumber[cn]; co != nil {
			vals[s.index["companyName"]] = t.str(co, "displayName")
		}
	}
}
