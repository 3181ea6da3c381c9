package bc

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// newCompany creates an empty company with every entity set.
func newCompany(sets map[string]*entitySet, id, name string, clock func() time.Time, ver *atomic.Uint64) *company {
	c := &company{id: id, name: name, displayName: name, created: clock(), tables: map[string]*table{},
		inventory: map[string]float64{}, balance: map[string]float64{}, resources: map[string]resource{}, primaryContact: map[string]string{}, contactOf: map[string]string{}, series: map[string]int64{}, nextEntry: 1, clock: clock, ver: ver}
	for n, s := range sets {
		c.tables[n] = newTable(s)
	}
	ct := c.tables["customers"]
	ct.computed = map[int]func(*row) any{ct.set.index["balanceDue"]: func(r *row) any { return round2(c.balance[r.id]) }}
	it := c.tables["items"]
	numPos := it.set.index["number"]
	it.computed = map[int]func(*row) any{it.set.index["inventory"]: func(r *row) any {
		n, _ := r.vals[numPos].(string)
		return round4(c.inventory[n])
	}}
	return c
}

func (c *company) nowMillis() int64 { return c.clock().UTC().UnixMilli() }

func (c *company) workDate() string { return c.clock().UTC().Format(time.DateOnly) }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// numberSeries are the simulator's no. series for sets whose number the server assigns.
var numberSeries = map[string]struct {
	prefix string
	width  int
	start  int64
	step   int64
}{
	"customers":      {"C", 5, 10, 10},
	"vendors":        {"V", 5, 10, 10},
	"items":          {"I", 5, 10, 10},
	"contacts":       {"CT", 6, 1, 1},
	"employees":      {"E", 5, 10, 10},
	"salesQuotes":    {"", 0, 1001, 1},
	"salesOrders":    {"", 0, 101001, 1},
	"salesInvoices":  {"", 0, 102001, 1},
	"postedInvoice":  {"", 0, 103001, 1},
	"postedShipment": {"", 0, 102001, 1},
}

// nextNumber returns the next free number of a series, skipping numbers already used.
func (c *company) nextNumber(series string, t *table) string {
	ns := numberSeries[series]
	n, ok := c.series[series]
	if !ok {
		n = ns.start
	}
	for {
		var s string
		if ns.width > 0 {
			s = fmt.Sprintf("%s%0*d", ns.prefix, ns.width, n)
		} else {
			s = fmt.Sprintf("%s%d", ns.prefix, n)
		}
		n += ns.step
		if _, used := t.byNumber[s]; !used {
			c.series[series] = n
			return s
		}
	}
}

// insertRaw stores a new row from field values already validated and completed.
func (c *company) insertRaw(u *undo, t *table, id string, vals map[int]any) *row {
	r := &row{id: id, vals: make([]any, len(t.set.fields)), mod: c.nowMillis(), ver: c.ver.Add(1), deleted: true}
	for i, v := range vals {
		r.vals[i] = v
	}
	if ki, ok := t.set.index[t.set.keyField]; ok {
		r.vals[ki] = id
	}
	u.save(t, r)
	t.add(r)
	return r
}

// insertSlice stores a new row whose values are already laid out by field position.
func (c *company) insertSlice(t *table, id string, vals []any) *row {
	r := &row{id: id, vals: vals, mod: c.nowMillis(), ver: c.ver.Add(1), deleted: true}
	if ki, ok := t.set.index[t.set.keyField]; ok {
		r.vals[ki] = id
	}
	t.add(r)
	return r
}

// touch records a change of r (values already saved to the undo log by the caller).
func (c *company) touch(t *table, r *row) {
	r.mod = c.nowMillis()
	r.ver = c.ver.Add(1)
}

// set changes fields of a stored row, keeping the indexes right.
func (c *company) set(u *undo, t *table, r *row, vals map[int]any) {
	u.save(t, r)
	oldKey := t.numberKey(r)
	var oldDoc string
	if t.docPos >= 0 {
		oldDoc, _ = t.val(r, t.docPos).(string)
	}
	for i, v := range vals {
		r.vals[i] = v
	}
	if k := t.numberKey(r); k != oldKey {
		if t.byNumber[oldKey] == r {
			delete(t.byNumber, oldKey)
		}
		t.byNumber[k] = r
		t.dirty = true
	}
	if t.docPos >= 0 {
		if d, _ := t.val(r, t.docPos).(string); d != oldDoc {
			t.dirty = true
		}
	}
	if _, ok := vals[t.sortPos]; ok {
		t.dirty = true
	}
	c.touch(t, r)
}

// del removes a row.
func (c *company) del(u *undo, t *table, r *row) {
	u.save(t, r)
	t.remove(r)
}

// lookup finds a row by key (GUID) in a table.
func (c *company) lookup(set, id string) (*table, *row) {
	t := c.tables[set]
	return t, t.rows[strings.ToLower(id)]
}

// byCode finds a master record by its number/code.
func (c *company) byCode(set, code string) *row {
	return c.tables[set].byNumber[code]
}

func notFound(t *table, id string) *apiError {
	return errf(http.StatusNotFound, codeRecordNotFound, "The %s does not exist. Identification fields and values: Id='%s'", t.set.entity, id)
}

// vatPercent is the VAT rate of a sales document: W1 Contoso charges DOMESTIC (GB) 25 %,
// EU and EXPORT customers 0 % (reverse charge / export).
func vatPercent(country string) float64 {
	if country == "" || country == "GB" {
		return 25
	}
	return 0
}

// addLedgerEntry posts an item ledger entry and keeps the inventory total in step.
func (c *company) addLedgerEntry(u *undo, item *row, date, entryType, sourceType, sourceNo, docType, docNo string, qty, salesAmt, costAmt float64) {
	t := c.tables["itemLedgerEntries"]
	it := c.tables["items"]
	number := it.str(item, "number")
	s := t.set
	vals := map[int]any{
		s.index["entryNumber"]:       c.nextEntry,
		s.index["itemNumber"]:        number,
		s.index["postingDate"]:       date,
		s.index["entryType"]:         entryType,
		s.index["sourceNumber"]:      sourceNo,
		s.index["sourceType"]:        sourceType,
		s.index["documentNumber"]:    docNo,
		s.index["documentType"]:      docType,
		s.index["description"]:       it.str(item, "displayName"),
		s.index["quantity"]:          qty,
		s.index["salesAmountActual"]: round2(salesAmt),
		s.index["costAmountActual"]:  round2(costAmt),
	}
	id := seedID("itemLedgerEntries", strconv.FormatInt(c.nextEntry, 10))
	c.nextEntry++
	c.insertRaw(u, t, id, vals)
	c.inventory[number] += qty
	// inventory is a FlowField: the item's own lastModifiedDateTime does not change.
	u.saveInventory(number, qty)
}

// addBalance changes a customer's balance due when a posted invoice opens or is paid.
func (c *company) addBalance(u *undo, customerID string, delta float64) {
	if delta == 0 {
		return
	}
	c.balance[customerID] += delta
	u.saveBalance(customerID, delta)
}

func round4(v float64) float64 { return math.Round(v*10000) / 10000 }
