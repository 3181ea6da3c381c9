package dataverse

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
)

var scaleCities = []string{"London", "Cambridge", "Guildford", "Reading", "Bristol", "Leeds", "Manchester", "Edinburgh", "Cardiff", "Belfast"}

// scaleNamespace derives the ids of synthetic records (stable across runs).
var scaleNamespace = uuid.MustParse("0f0a4c1e-7a53-4d6b-9a1c-5a0e2b9f3d71")

// cellsOf turns column values into sorted cells; int is widened to int64.
func cellsOf(t *Table, vals map[string]any) []cell {
	cells := make([]cell, 0, len(vals))
	for name, v := range vals {
		c := t.col(name)
		if c == nil {
			panic(fmt.Sprintf("dataverse: scale seed: %s has no column %s", t.Logical, name))
		}
		if i, ok := v.(int); ok {
			v = int64(i)
		}
		cells = append(cells, cell{c.idx, v})
	}
	sort.Slice(cells, func(i, j int) bool { return cells[i].col < cells[j].col })
	return cells
}

// rowShape lists the columns a family of generated rows sets, in column order, so each row's
// cells are built without maps or sorting.
type rowShape struct {
	cols []int          // column ordinals, ascending
	slot map[string]int // column name → position in cols
}

func newRowShape(t *Table, names ...string) rowShape {
	sh := rowShape{slot: map[string]int{}}
	for _, n := range names {
		c := t.col(n)
		if c == nil {
			panic(fmt.Sprintf("dataverse: scale seed: %s has no column %s", t.Logical, n))
		}
		sh.cols = append(sh.cols, c.idx)
	}
	sort.Ints(sh.cols)
	for _, n := range names {
		for i, idx := range sh.cols {
			if idx == t.col(n).idx {
				sh.slot[n] = i
			}
		}
	}
	return sh
}

// cells returns an empty cell slice for the shape; set fills it.
func (sh rowShape) cells() []cell {
	cs := make([]cell, len(sh.cols))
	for i, idx := range sh.cols {
		cs[i].col = idx
	}
	return cs
}

func (sh rowShape) set(cs []cell, name string, v any) { cs[sh.slot[name]].v = v }

// seedSpan is how far back the synthetic rows' createdon and modifiedon reach. Real tables
// are written over time; rows all stamped at one instant made the first incremental read
// after a full one re-read every one of them (docs/benchmarks.md, finding 4).
const seedSpan = 30 * 24 * time.Hour

// seedStep is the time between consecutive synthetic rows of n: n steps fill the seedSpan.
func seedStep(n int) time.Duration {
	return max((seedSpan / time.Duration(n)).Truncate(time.Millisecond), time.Millisecond)
}

// seedScale generates n synthetic accounts, contacts and products, deterministically (same
// ids and values on every run). The values all rows of a table share live once, in the
// rows' base; each row holds only its own values. Row i (1-based) is stamped n-i+1 steps
// before the seed's time (or the tables' first row), so the times are spread over the past
// and increase with i. No undo log: seeding happens before the server answers anything.
func (s *Server) seedScale(n int) error {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	x := s.db.begin()
	x.noUndo = true
	accounts, contacts, products := s.db.store("account"), s.db.store("contact"), s.db.store("product")
	// The rows end before the tables' earlier rows (the demo seed's), which requeue then
	// moves after them.
	end := s.db.now().UnixNano()
	for _, ts := range []*tableStore{accounts, contacts, products} {
		if len(ts.changes) > 0 {
			end = min(end, ts.changes[0].modified)
		}
	}
	step := seedStep(n)
	start := time.Unix(0, end).Add(-time.Duration(n) * step)
	sys := ref{ID: s.ids.systemUser, Table: "systemuser"}
	bu := ref{ID: s.ids.rootBU, Table: "businessunit"}
	gbp := ref{ID: s.ids.baseCurrency, Table: "transactioncurrency"}
	org := ref{ID: s.ids.org, Table: "organization"}
	base := func(table string, owned bool, vals map[string]any) *[]cell {
		st := seedTime{first: len(s.db.store(table).seqs), start: start.UnixNano(), step: int64(step)}
		vals["createdon"], vals["modifiedon"] = st, st
		vals["createdby"], vals["modifiedby"] = sys, sys
		vals["transactioncurrencyid"], vals["exchangerate"] = gbp, 1.0
		vals["statecode"], vals["statuscode"] = 0, 1
		if owned {
			vals["ownerid"], vals["owninguser"], vals["owningbusinessunit"] = sys, sys, bu
		} else {
			vals["organizationid"] = org
		}
		cs := cellsOf(s.schema.table(table), vals)
		return &cs
	}
	accBase := base("account", true, map[string]any{"customertypecode": 3, "address1_country": "GB", "creditonhold": false})
	conBase := base("contact", true, map[string]any{"creditonhold": false, "isbackofficecustomer": false})
	proBase := base("product", false, map[string]any{"quantitydecimal": 0, "productstructure": 1, "producttypecode": 1})
	before := [...]int{len(accounts.changes), len(contacts.changes), len(products.changes)}
	accounts.reserve(n, "name", "accountnumber", "emailaddress1")
	contacts.reserve(n, "emailaddress1", "parentcustomerid")
	products.reserve(n, "name", "productnumber")
	accShape := newRowShape(accounts.t, "name", "accountnumber", "emailaddress1", "telephone1", "address1_line1",
		"address1_city", "address1_postalcode", "paymenttermscode", "creditlimit")
	conShape := newRowShape(contacts.t, "firstname", "lastname", "fullname", "emailaddress1", "parentcustomerid", "accountid", "address1_city")
	proShape := newRowShape(products.t, "productnumber", "name", "price", "standardcost", "currentcost")
	cities := make([]any, len(scaleCities))
	for i, c := range scaleCities {
		cities[i] = c
	}
	terms := []any{int64(1), int64(2), int64(3), int64(4)}
	for i := 1; i <= n; i++ {
		modified := start.Add(time.Duration(i-1) * step).UnixNano()
		if i%200_000 == 0 {
			// Bound the garbage of generation so the peak heap stays near the live size
			// instead of twice it: a million rows of each table must fit in 4 GB.
			runtime.GC()
		}
		num := fmt.Sprintf("%07d", i)
		accID := uuid.NewSHA1(scaleNamespace, []byte("account:"+num))
		city := cities[i%len(cities)]
		cs := accShape.cells()
		accShape.set(cs, "name", "Synthetic Account "+num)
		accShape.set(cs, "accountnumber", "SYN"+num)
		accShape.set(cs, "emailaddress1", "account"+num+"@example.com")
		accShape.set(cs, "telephone1", "+44 20 7946 "+num[3:])
		accShape.set(cs, "address1_line1", strconv.Itoa(1+i%200)+" High Street")
		accShape.set(cs, "address1_city", city)
		accShape.set(cs, "address1_postalcode", "SY"+num[5:]+" 1AA")
		accShape.set(cs, "paymenttermscode", terms[i%4])
		accShape.set(cs, "creditlimit", float64(1000*(i%50)))
		x.put(accounts, nil, &row{id: accID, modified: modified, base: accBase, cells: cs})

		acc := any(ref{ID: accID, Table: "account"})
		cs = conShape.cells()
		conShape.set(cs, "firstname", "First"+num)
		conShape.set(cs, "lastname", "Last"+num)
		conShape.set(cs, "fullname", "First"+num+" Last"+num)
		conShape.set(cs, "emailaddress1", "contact"+num+"@example.com")
		conShape.set(cs, "parentcustomerid", acc)
		conShape.set(cs, "accountid", acc)
		conShape.set(cs, "address1_city", city)
		x.put(contacts, nil, &row{id: uuid.NewSHA1(scaleNamespace, []byte("contact:"+num)), modified: modified, base: conBase, cells: cs})

		cs = proShape.cells()
		proShape.set(cs, "productnumber", "SYN-"+num)
		proShape.set(cs, "name", "Synthetic Product "+num)
		proShape.set(cs, "price", float64(10+i%990)+0.5)
		cost := any(float64(5 + i%500))
		proShape.set(cs, "standardcost", cost)
		proShape.set(cs, "currentcost", cost)
		x.put(products, nil, &row{id: uuid.NewSHA1(scaleNamespace, []byte("product:"+num)), modified: modified, base: proBase, cells: cs})
	}
	for i, ts := range []*tableStore{accounts, contacts, products} {
		x.requeue(ts, before[i])
	}
	x.commit()
	return nil
}

// requeue moves the first k entries of ts's change log (rows seeded before the synthetic
// ones, stamped later than them) to its end with new versions, so that the log stays in
// modifiedon and version order.
func (x *tx) requeue(ts *tableStore, k int) {
	if k == 0 {
		return
	}
	early := append([]*row(nil), ts.changes[:k]...)
	copy(ts.changes, ts.changes[k:])
	tail := ts.changes[len(ts.changes)-k:]
	for i, r := range early {
		x.d.version++
		r.version = x.d.version
		tail[i] = r
	}
}
