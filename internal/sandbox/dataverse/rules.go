package dataverse

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// systemValues sets the columns the server owns: created/modified on/by, owner, organisation.
func (s *Server) systemValues(op *opRequest, t *Table, vals map[int]any, now time.Time, creating bool) {
	set := func(name string, v any) {
		if c := t.col(name); c != nil {
			vals[c.idx] = v
		}
	}
	user := ref{ID: op.caller.user, Table: "systemuser"}
	set("modifiedon", now)
	set("modifiedby", user)
	if op.caller.user != op.caller.token {
		set("modifiedonbehalfby", ref{ID: op.caller.token, Table: "systemuser"})
	} else {
		set("modifiedonbehalfby", nil)
	}
	if !creating {
		return
	}
	created := now
	if c := t.col("overriddencreatedon"); c != nil {
		if v, ok := vals[c.idx].(time.Time); ok {
			created = v
		}
	}
	set("createdon", created)
	set("createdby", user)
	if op.caller.user != op.caller.token {
		set("createdonbehalfby", ref{ID: op.caller.token, Table: "systemuser"})
	}
	if c := t.col("ownerid"); c != nil {
		owner, ok := vals[c.idx].(ref)
		if !ok {
			owner = user
			vals[c.idx] = owner
		}
		if owner.Table == "team" {
			set("owningteam", owner)
		} else {
			set("owninguser", owner)
		}
		set("owningbusinessunit", s.businessUnitOf(owner))
	} else if c := t.col("owningbusinessunit"); c != nil {
		set("owningbusinessunit", s.businessUnitOf(user))
	}
	if t.Ownership == "OrganizationOwned" {
		set("organizationid", ref{ID: s.ids.org, Table: "organization"})
	}
}

func (s *Server) businessUnitOf(owner ref) any {
	ts := s.db.store(owner.Table)
	if ts != nil {
		if r := ts.byID[owner.ID]; r != nil {
			if c := ts.t.col("businessunitid"); c != nil {
				if bu, ok := r.get(c.idx).(ref); ok {
					return bu
				}
			}
		}
	}
	return ref{ID: s.ids.rootBU, Table: "businessunit"}
}

// applyState validates statecode/statuscode and fills the one not given.
func (s *Server) applyState(t *Table, old *row, vals map[int]any, creating bool) error {
	sc, uc := t.col("statecode"), t.col("statuscode")
	if sc == nil {
		return nil
	}
	state, hasState := vals[sc.idx].(int64)
	status, hasStatus := vals[uc.idx].(int64)
	if _, given := vals[sc.idx]; given && !hasState {
		return badRequest(codeInvalidArgument, "statecode of %s cannot be null.", t.Logical)
	}
	if creating && !hasState {
		state = int64(t.DefaultState)
		if hasStatus {
			if si, ok := t.Statuses[int(status)]; ok {
				state = int64(si.State)
			}
		}
		hasState = true
	}
	if !hasState && !hasStatus {
		return nil
	}
	if !hasState {
		if si, ok := t.Statuses[int(status)]; ok {
			state = int64(si.State)
		} else {
			state, _ = old.get(sc.idx).(int64)
		}
	}
	st, ok := t.States[int(state)]
	if !ok {
		return badRequest(codeInvalidArgument, "%d is not a valid statecode for %s; valid values: %s.", state, t.Logical, optionList(sc.Options))
	}
	if !hasStatus {
		status = int64(st.DefaultStatus)
	}
	si, ok := t.Statuses[int(status)]
	if !ok || si.State != int(state) {
		return badRequest(codeInvalidArgument, "%d is not a valid status code for state code %s.%s (%d %s).", status, t.Logical, "statecode", state, st.Label)
	}
	vals[sc.idx], vals[uc.idx] = state, status
	return nil
}

// checkAltUnique enforces alternate keys on a new or changed row.
func (s *Server) checkAltUnique(ts *tableStore, nr, old *row) error {
	for _, k := range ts.altKeys(nr) {
		name, val, _ := strings.Cut(k, "\x00")
		if id, ok := ts.alt[name][val]; ok && (old == nil || id != old.id) {
			return errf(http.StatusPreconditionFailed, codeDuplicateRecord,
				"A record that has the attribute values %s already exists. The entity key requires that this set of attributes contains unique values. Select unique values and try again.",
				strings.ReplaceAll(val, "\x00", ", "))
		}
	}
	return nil
}

func (s *Server) getRow(table string, id uuid.UUID) *row {
	if ts := s.db.stores[table]; ts != nil {
		return ts.byID[id]
	}
	return nil
}

// derive computes read-only columns from the ones written.
func (s *Server) derive(t *Table, old *row, vals map[int]any) {
	get := func(name string) any {
		c := t.col(name)
		if c == nil {
			return nil
		}
		if v, ok := vals[c.idx]; ok {
			return v
		}
		if old != nil {
			return old.get(c.idx)
		}
		return nil
	}
	set := func(name string, v any) {
		if c := t.col(name); c != nil {
			if v == "" {
				v = nil
			}
			vals[c.idx] = v
		}
	}
	switch t.Logical {
	case "contact", "systemuser":
		first, _ := get("firstname").(string)
		last, _ := get("lastname").(string)
		set("fullname", strings.TrimSpace(first+" "+last))
	}
	if c := t.col("customerid"); c != nil {
		cust, _ := get("customerid").(ref)
		set("accountid", nil)
		set("contactid", nil)
		if cust.Table == "account" || cust.Table == "contact" {
			set(cust.Table+"id", cust)
		}
	}
	if t.Logical == "contact" {
		pc, _ := get("parentcustomerid").(ref)
		if pc.Table == "account" {
			set("accountid", pc)
		} else {
			set("accountid", nil)
		}
	}
	if t.Logical == "annotation" {
		if o, ok := get("objectid").(ref); ok {
			set("objecttypecode", o.Table)
		}
		if body, ok := get("documentbody").(string); ok {
			set("filesize", int64(len(body)*3/4))
		}
	}
	if t.Logical == "productpricelevel" {
		if p, ok := get("productid").(ref); ok {
			if pr := s.getRow("product", p.ID); pr != nil {
				pt := s.schema.table("product")
				set("productidname", pr.get(pt.col("name").idx))
				set("productnumber", pr.get(pt.col("productnumber").idx))
			}
		}
	}
	if cur, ok := get("transactioncurrencyid").(ref); ok && t.Logical != "transactioncurrency" {
		if cr := s.getRow("transactioncurrency", cur.ID); cr != nil {
			set("exchangerate", cr.get(s.schema.table("transactioncurrency").col("exchangerate").idx))
		}
	}
	if old == nil {
		// Two-option columns have a default value (false for every built-in one).
		for _, c := range t.cols {
			if c.Type == tBool && c.Access != accRead {
				if _, given := vals[c.idx]; !given {
					vals[c.idx] = false
				}
			}
		}
		for _, auto := range [][2]string{{"salesorder", "ordernumber"}, {"quote", "quotenumber"}, {"invoice", "invoicenumber"}} {
			if t.Logical == auto[0] && get(auto[1]) == nil {
				prefix := map[string]string{"salesorder": "ORD", "quote": "QUO", "invoice": "INV"}[auto[0]]
				n := len(s.db.store(t.Logical).seqs) + 1000
				set(auto[1], fmt.Sprintf("%s-%05d-%s", prefix, n, strings.ToUpper(uuid.NewString()[:6])))
			}
		}
		if t.Logical == "quote" && get("revisionnumber") == nil {
			set("revisionnumber", int64(0))
		}
	}
}
