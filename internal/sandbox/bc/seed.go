package bc

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

//go:embed fixtures/*.json
var fixtures embed.FS

// seedNS makes seeded ids deterministic: uuid v5 of "set/key" in this namespace.
var seedNS = uuid.MustParse("6f1c1f7e-2d0a-4d4b-9b8e-3c5e1c0b7a11")

func seedID(set, key string) string { return uuid.NewSHA1(seedNS, []byte(set+"/"+key)).String() }

func readFixture(name string, v any) error {
	b, err := fixtures.ReadFile("fixtures/" + name)
	if err != nil {
		return fmt.Errorf("fixture %s: %w", name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("fixture %s: %w", name, err)
	}
	return nil
}

type fixtureCompany struct {
	Name, DisplayName, LocalCurrency string
}

// seedRecord stores a fixture record through the field table (no API checks: the fixture is
// trusted data, but its field names are still validated).
func (c *company) seedRecord(set, key string, rec map[string]any) (*row, error) {
	t := c.tables[set]
	vals := map[int]any{}
	for k, v := range rec {
		f, i, ok := t.set.field(k)
		if !ok {
			return nil, fmt.Errorf("seed %s %s: unknown field %q", set, key, k)
		}
		switch x := v.(type) {
		case float64:
			if f.kind == kInt32 || f.kind == kInt64 {
				vals[i] = int64(x)
				continue
			}
		case int:
			if f.kind == kDecimal {
				vals[i] = float64(x)
				continue
			}
			vals[i] = int64(x)
			continue
		}
		vals[i] = v
	}
	return c.insertRaw(nil, t, seedID(set, key), vals), nil
}

// seedDemo loads the Contoso demo company (CRONUS International Ltd.) from the fixtures.
func (c *company) seedDemo() error {
	var simple = []struct{ set, file string }{
		{"currencies", "currencies.json"}, {"unitsOfMeasure", "unitsOfMeasure.json"},
		{"paymentTerms", "paymentTerms.json"}, {"shipmentMethods", "shipmentMethods.json"},
		{"salespeoplePurchasers", "salespeoplePurchasers.json"},
	}
	for _, s := range simple {
		var recs []map[string]any
		if err := readFixture(s.file, &recs); err != nil {
			return err
		}
		for _, r := range recs {
			code, _ := r["code"].(string)
			delete(r, "isoNumber")
			delete(r, "rate")
			if s.set == "currencies" {
				r["amountDecimalPlaces"] = "2:2"
				r["amountRoundingPrecision"] = 0.01
			}
			if _, err := c.seedRecord(s.set, code, r); err != nil {
				return err
			}
		}
	}
	// Contacts follow BC's creation order: bank accounts, vendors, then customers.
	var banks []map[string]any
	if err := readFixture("bankAccounts.json", &banks); err != nil {
		return err
	}
	for _, b := range banks {
		code, _ := b["code"].(string)
		name, _ := b["contactName"].(string)
		if _, err := c.seedContact("Company", name, "", b, ""); err != nil {
			return fmt.Errorf("bank account %s: %w", code, err)
		}
	}
	for _, set := range []string{"vendors", "customers"} {
		var recs []map[string]any
		if err := readFixture(set+".json", &recs); err != nil {
			return err
		}
		for _, r := range recs {
			if err := c.seedPartner(set, r); err != nil {
				return err
			}
		}
	}
	if err := c.seedItems(); err != nil {
		return err
	}
	if err := c.seedResources(); err != nil {
		return err
	}
	if err := c.seedDocuments(); err != nil {
		return err
	}
	// Numbers already consumed by the dataset's posted history (not loaded): S-INV up to
	// 102221, posted S-INV+ up to 103214.
	c.series["salesInvoices"], c.series["postedInvoice"] = 102222, 103215
	return nil
}

func (c *company) seedContact(typ, name, companyNo string, addr map[string]any, email string) (*row, error) {
	ct := c.tables["contacts"]
	no := c.nextNumber("contacts", ct)
	rec := map[string]any{"number": no, "type": typ, "displayName": name, "searchName": strings.ToUpper(name),
		"email": email, "companyNumber": no, "companyName": name}
	if typ == "Person" {
		rec["companyNumber"] = companyNo
		rec["companyName"] = ct.str(ct.byNumber[companyNo], "displayName")
	}
	for _, k := range []string{"addressLine1", "addressLine2", "city", "state", "country", "postalCode"} {
		if v, ok := addr[k]; ok {
			rec[k] = v
		}
	}
	return c.seedRecord("contacts", no, rec)
}

// seedPartner stores a customer or vendor with its company contact and person contact.
func (c *company) seedPartner(set string, r map[string]any) error {
	no, _ := r["number"].(string)
	contact, _ := r["contact"].(string)
	terms, _ := r["paymentTerms"].(string)
	delete(r, "contact")
	delete(r, "paymentTerms")
	delete(r, "vatBusPostingGroup")
	if pt := c.byCode("paymentTerms", terms); pt != nil {
		r["paymentTermsId"] = pt.id
	} else {
		return fmt.Errorf("seed %s %s: payment terms %q do not exist", set, no, terms)
	}
	r["currencyId"], r["currencyCode"] = emptyGUID, c.lcy
	if set == "customers" {
		r["type"] = "Company"
	}
	if _, err := c.seedRecord(set, no, r); err != nil {
		return err
	}
	email, _ := r["email"].(string)
	name, _ := r["displayName"].(string)
	co, err := c.seedContact("Company", name, "", r, email)
	if err != nil {
		return err
	}
	rel := "Customer"
	if set == "vendors" {
		rel = "Vendor"
	}
	ct := c.tables["contacts"]
	co.vals[ct.set.index["contactBusinessRelation"]] = rel
	c.linkContact(nil, set, seedID(set, no), ct.str(co, "number"))
	if contact != "" {
		p, err := c.seedContact("Person", contact, ct.str(co, "number"), r, email)
		if err != nil {
			return err
		}
		p.vals[ct.set.index["contactBusinessRelation"]] = rel
		if set == "customers" {
			c.primaryContact[no] = contact
		}
	}
	return nil
}

func (c *company) seedItems() error {
	var recs []map[string]any
	if err := readFixture("items.json", &recs); err != nil {
		return err
	}
	date := fmt.Sprintf("%d-06-01", c.startingYear())
	for _, r := range recs {
		no, _ := r["number"].(string)
		stock, _ := r["openingStock"].(float64)
		delete(r, "openingStock")
		if u := c.byCode("unitsOfMeasure", r["baseUnitOfMeasureCode"].(string)); u != nil {
			r["baseUnitOfMeasureId"] = u.id
		}
		if cat, _ := r["itemCategoryCode"].(string); cat != "" {
			r["itemCategoryId"] = seedID("itemCategories", cat)
		}
		r["generalProductPostingGroupId"] = seedID("generalProductPostingGroups", r["generalProductPostingGroupCode"].(string))
		r["inventoryPostingGroupId"] = seedID("inventoryPostingGroups", r["inventoryPostingGroupCode"].(string))
		item, err := c.seedRecord("items", no, r)
		if err != nil {
			return err
		}
		if stock != 0 {
			it := c.tables["items"]
			c.addLedgerEntry(nil, item, date, "Positive_x0020_Adjmt_x002E_", "_x0020_", "", "_x0020_", "START", stock, 0, stock*it.num(item, "unitCost"))
		}
	}
	return nil
}

// startingYear is Contoso's "SY": the year of generation minus one.
func (c *company) startingYear() int { return c.clock().UTC().Year() - 1 }

// demoDate turns "SY+1-02-04" into a date of the simulated company's calendar.
func (c *company) demoDate(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "SY")
	if !ok {
		return "", fmt.Errorf("demo date %q does not start with SY", s)
	}
	year := c.startingYear()
	if strings.HasPrefix(rest, "+") || strings.HasPrefix(rest, "-") && len(rest) > 6 && rest[2] == '-' {
		n, err := strconv.Atoi(rest[:2])
		if err != nil {
			return "", fmt.Errorf("demo date %q: %w", s, err)
		}
		year += n
		rest = rest[2:]
	}
	return fmt.Sprintf("%d%s", year, rest), nil
}

type fixtureDoc struct {
	Number, CustomerNumber, Date, RequestedDeliveryDate, PaymentTerms, ShippingAgent string
	Lines                                                                            []struct {
		Item     string
		Quantity float64
		Comment  string
	}
}

func (c *company) seedDocuments() error {
	var docs map[string]json.RawMessage
	if err := readFixture("documents.json", &docs); err != nil {
		return err
	}
	for _, set := range []string{"salesQuotes", "salesOrders", "salesInvoices"} {
		var list []fixtureDoc
		if err := json.Unmarshal(docs[set], &list); err != nil {
			return fmt.Errorf("fixture documents.json %s: %w", set, err)
		}
		t := c.tables[set]
		s := t.set
		for _, d := range list {
			date, err := c.demoDate(d.Date)
			if err != nil {
				return err
			}
			vals := map[int]any{s.index["customerNumber"]: d.CustomerNumber}
			for _, f := range []string{"orderDate", "documentDate", "invoiceDate", "postingDate"} {
				if i, ok := s.index[f]; ok {
					vals[i] = date
				}
			}
			if d.RequestedDeliveryDate != "" {
				rd, err := c.demoDate(d.RequestedDeliveryDate)
				if err != nil {
					return err
				}
				vals[s.index["requestedDeliveryDate"]] = rd
			}
			pt := c.byCode("paymentTerms", d.PaymentTerms)
			if pt == nil {
				return fmt.Errorf("seed %s %s: payment terms %q do not exist", set, d.Number, d.PaymentTerms)
			}
			vals[s.index["paymentTermsId"]] = pt.id
			if err := c.headerInsert(t, vals); err != nil {
				return fmt.Errorf("seed %s %s: %w", set, d.Number, err)
			}
			vals[s.index["number"]] = d.Number
			if i, ok := s.index["dueDate"]; ok {
				vals[i] = c.dueDate(date, pt.id)
			}
			h := c.insertRaw(nil, t, seedID(set, d.Number), vals)
			lt := c.tables[s.lines]
			for n, l := range d.Lines {
				lv := map[int]any{lt.set.index["sequence"]: int64(10000 * (n + 1))}
				if l.Comment != "" {
					lv[lt.set.index["lineType"]] = "Comment"
					lv[lt.set.index["description"]] = l.Comment
				} else {
					lv[lt.set.index["lineObjectNumber"]] = l.Item
					lv[lt.set.index["quantity"]] = l.Quantity
				}
				if err := c.lineInsert(nil, lt, lv, h); err != nil {
					return fmt.Errorf("seed %s %s line %d: %w", set, d.Number, n+1, err)
				}
				c.insertRaw(nil, lt, seedID(s.lines, d.Number+"/"+strconv.Itoa(n+1)), lv)
			}
			c.recalc(nil, t, h)
		}
	}
	return nil
}
