package dataverse

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"

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

// seedScale generates n synthetic accounts, contacts and products, deterministically (same
// ids and values on every run). The values all rows of a table share live once, in the
// rows' base; each row holds only its own values. No undo log: seeding happens before the
// server answers anything.
func (s *Server) seedScale(n int) error {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	x := s.db.begin()
	x.noUndo = true
	now := s.db.now()
	sys := ref{ID: s.ids.systemUser, Table: "systemuser"}
	bu := ref{ID: s.ids.rootBU, Table: "businessunit"}
	gbp := ref{ID: s.ids.baseCurrency, Table: "transactioncurrency"}
	org := ref{ID: s.ids.org, Table: "organization"}
	base := func(table string, owned bool, vals map[string]any) *[]cell {
		vals["createdon"], vals["modifiedon"] = now, now
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
	accounts, contacts, products := s.db.store("account"), s.db.store("contact"), s.db.store("product")
	accounts.reserve(n, "name", "accountnumber", "emailaddress1")
	contacts.reserve(n, "emailaddress1", "parentcustomerid")
	products.reserve(n, "name", "productnumber")
	put := func(ts *tableStore, id uuid.UUID, b *[]cell, vals map[string]any) {
		r := &row{id: id, modified: now.UnixNano(), base: b, cells: cellsOf(ts.t, vals)}
		x.put(ts, nil, r)
	}
	for i := 1; i <= n; i++ {
		if i%200_000 == 0 {
			// Bound the garbage of generation (about 1.5 KB a row) so the peak heap stays near
			// the live size instead of twice it: 1,000,000 rows of each table must fit 4 GB.
			runtime.GC()
		}
		num := fmt.Sprintf("%07d", i)
		accID := uuid.NewSHA1(scaleNamespace, []byte("account:"+num))
		city := scaleCities[i%len(scaleCities)]
		put(accounts, accID, accBase, map[string]any{
			"name": "Synthetic Account " + num, "accountnumber": "SYN" + num, "emailaddress1": "account" + num + "@example.com",
			"telephone1": "+44 20 7946 " + num[3:], "address1_line1": strconv.Itoa(1+i%200) + " High Street", "address1_city": city,
			"address1_postalcode": "SY" + num[5:] + " 1AA", "paymenttermscode": 1 + i%4, "creditlimit": float64(1000 * (i % 50)),
		})
		acc := ref{ID: accID, Table: "account"}
		put(contacts, uuid.NewSHA1(scaleNamespace, []byte("contact:"+num)), conBase, map[string]any{
			"firstname": "First" + num, "lastname": "Last" + num, "fullname": "First" + num + " Last" + num,
			"emailaddress1": "contact" + num + "@example.com", "parentcustomerid": acc, "accountid": acc, "address1_city": city,
		})
		put(products, uuid.NewSHA1(scaleNamespace, []byte("product:"+num)), proBase, map[string]any{
			"productnumber": "SYN-" + num, "name": "Synthetic Product " + num, "price": float64(10+i%990) + 0.5,
			"standardcost": float64(5 + i%500), "currentcost": float64(5 + i%500),
		})
	}
	x.commit()
	return nil
}
