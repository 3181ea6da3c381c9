package dataverse

import (
	"fmt"
	"strconv"

	"github.com/google/uuid"
)

var scaleCities = []string{"London", "Cambridge", "Guildford", "Reading", "Bristol", "Leeds", "Manchester", "Edinburgh", "Cardiff", "Belfast"}

// seedScale generates n synthetic accounts, contacts and products, deterministically (same
// ids and values on every run). Rows are built directly, without JSON, so a million of each
// takes seconds.
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
	ns := uuid.MustParse("0f0a4c1e-7a53-4d6b-9a1c-5a0e2b9f3d71")

	build := func(t *Table, vals map[string]any) []cell {
		cells := make([]cell, 0, len(vals))
		for name, v := range vals {
			c := t.col(name)
			if c == nil {
				panic(fmt.Sprintf("scale seed: %s has no column %s", t.Logical, name))
			}
			if i, ok := v.(int); ok {
				v = int64(i)
			}
			cells = append(cells, cell{c.idx, v})
		}
		return cells
	}
	common := func(extra map[string]any, owned bool) map[string]any {
		extra["createdon"], extra["modifiedon"] = now, now
		extra["createdby"], extra["modifiedby"] = sys, sys
		extra["versionnumber"] = nil
		delete(extra, "versionnumber")
		if owned {
			extra["ownerid"], extra["owninguser"], extra["owningbusinessunit"] = sys, sys, bu
		} else {
			extra["organizationid"] = org
		}
		return extra
	}
	put := func(table string, id uuid.UUID, vals map[string]any) {
		ts := s.db.store(table)
		r := (&row{id: id, modified: now.UnixNano()}).with(nil)
		r.cells = build(ts.t, vals)
		sortCells(r.cells)
		x.put(ts, nil, r)
	}
	for i := 1; i <= n; i++ {
		num := fmt.Sprintf("%07d", i)
		accID := uuid.NewSHA1(ns, []byte("account:"+num))
		city := scaleCities[i%len(scaleCities)]
		put("account", accID, common(map[string]any{
			"name": "Synthetic Account " + num, "accountnumber": "SYN" + num, "emailaddress1": "account" + num + "@example.com",
			"telephone1": "+44 20 7946 " + num[3:], "address1_line1": strconv.Itoa(1+i%200) + " High Street", "address1_city": city,
			"address1_postalcode": "SY" + num[5:] + " 1AA", "address1_country": "GB", "customertypecode": 3, "paymenttermscode": 1 + i%4,
			"creditlimit": float64(1000 * (i % 50)), "transactioncurrencyid": gbp, "exchangerate": 1.0, "statecode": 0, "statuscode": 1,
		}, true))
		put("contact", uuid.NewSHA1(ns, []byte("contact:"+num)), common(map[string]any{
			"firstname": "First" + num, "lastname": "Last" + num, "fullname": "First" + num + " Last" + num,
			"emailaddress1": "contact" + num + "@example.com", "parentcustomerid": ref{ID: accID, Table: "account"},
			"accountid": ref{ID: accID, Table: "account"}, "address1_city": city, "transactioncurrencyid": gbp, "exchangerate": 1.0,
			"statecode": 0, "statuscode": 1,
		}, true))
		put("product", uuid.NewSHA1(ns, []byte("product:"+num)), common(map[string]any{
			"productnumber": "SYN-" + num, "name": "Synthetic Product " + num, "price": float64(10+i%990) + 0.5,
			"standardcost": float64(5 + i%500), "currentcost": float64(5 + i%500), "quantitydecimal": 0, "productstructure": 1,
			"producttypecode": 1, "transactioncurrencyid": gbp, "exchangerate": 1.0, "statecode": 0, "statuscode": 1,
		}, false))
	}
	x.commit()
	return nil
}

func sortCells(cs []cell) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].col < cs[j-1].col; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}
