package dataverse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

type jsonRaw = json.RawMessage

func unmarshalStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	return d.Decode(v)
}

// parseBody reads a JSON object body.
func parseBody(body []byte) (map[string]json.RawMessage, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, badRequest(codeODataGeneric, "Invalid JSON. The request body is not a JSON object: %v", err)
	}
	return m, nil
}

// writeCtx is one write's parsed payload.
type writeCtx struct {
	vals  map[int]any // column ordinal → value (nil clears)
	setID uuid.UUID   // primary key given in the body
}

// wlock takes the write lock and opens a transaction unless the operation runs in a change
// set; done commits (err == nil) or rolls back and unlocks.
func (s *Server) wlock(op *opRequest) (*tx, func(err error)) {
	if op.tx != nil {
		return op.tx, func(error) {}
	}
	s.db.mu.Lock()
	x := s.db.begin()
	return x, func(err error) {
		if err != nil {
			x.rollback()
		} else {
			x.commit()
		}
		s.db.mu.Unlock()
	}
}

// decodeWrite turns a JSON body into column values, resolving @odata.bind references.
// Callers hold the write lock.
func (s *Server) decodeWrite(op *opRequest, t *Table, body map[string]json.RawMessage, creating bool) (*writeCtx, error) {
	w := &writeCtx{vals: map[int]any{}}
	for k, raw := range body {
		if strings.HasPrefix(k, "@") {
			continue // @odata.type, @odata.etag, …
		}
		if nav, ok := strings.CutSuffix(k, "@odata.bind"); ok {
			n, found := t.nav[nav]
			if !found {
				if _, coll := t.Collections[nav]; coll {
					return nil, badRequest(codeInvalidArgument, "Binding the collection-valued navigation property '%s' is not supported by the simulator; bind the lookup on the %s records instead.", nav, t.Collections[nav].Child)
				}
				return nil, badRequest(codeODataGeneric, "An undeclared property '%s' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.", nav)
			}
			if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				w.vals[n.Col.idx] = nil
				continue
			}
			var target string
			if err := json.Unmarshal(raw, &target); err != nil {
				return nil, badRequest(codeODataGeneric, "The value of '%s' must be a URL string such as \"/%s(<id>)\".", k, s.setOf(n))
			}
			v, err := s.resolveBind(op, n, target)
			if err != nil {
				return nil, err
			}
			w.vals[n.Col.idx] = v
			continue
		}
		if strings.Contains(k, "@") {
			continue // instance annotations on properties are ignored, as the service does
		}
		c := t.col(k)
		if c == nil {
			if rc := t.columnForRead(k); rc != nil && rc.Type == tLookup {
				return nil, badRequest(codeODataGeneric, "The lookup '%s' cannot be written as '%s'; use \"%s@odata.bind\": \"/%s(<id>)\".", rc.Name, k, rc.navFor(rc.Targets[0]), s.setOfTable(rc.Targets[0]))
			}
			return nil, badRequest(codeODataGeneric, "The property '%s' does not exist on type 'Microsoft.Dynamics.CRM.%s'. Make sure to only use property names that are defined by the type.", k, t.Logical)
		}
		if c.Type == tLookup {
			return nil, badRequest(codeODataGeneric, "A 'PrimitiveValue' node with non-null value was found when trying to read the value of the navigation property '%s'; set lookups with \"%s@odata.bind\": \"/%s(<id>)\".", k, c.navFor(c.Targets[0]), s.setOfTable(c.Targets[0]))
		}
		v, err := decodeValue(t, c, raw)
		if err != nil {
			var ve *valueError
			if errors.As(err, &ve) {
				return nil, badRequest(ve.code, "%s", ve.msg)
			}
			return nil, badRequest(codeODataGeneric, "Error identified in Payload provided by the user for Entity :'%s', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293 ----> InnerException : %v", t.Set, err)
		}
		if c.Name == t.Key {
			if creating {
				if id, ok := v.(uuid.UUID); ok {
					w.setID = id
				}
			}
			continue
		}
		if c.Name == "overriddencreatedon" && creating {
			w.vals[c.idx] = v
			continue
		}
		if creating && c.Access&accCreate == 0 || !creating && c.Access&accUpdate == 0 {
			if c.Type != tState && c.Type != tStatus {
				continue // read-only columns are ignored, as the service does
			}
		}
		w.vals[c.idx] = v
	}
	return w, nil
}

func (s *Server) setOf(n navRef) string {
	target := n.Target
	if target == "" {
		target = n.Col.Targets[0]
	}
	return s.setOfTable(target)
}

func (s *Server) setOfTable(logical string) string {
	if t := s.schema.table(logical); t != nil {
		return t.Set
	}
	return logical
}

// resolveBind resolves an @odata.bind URL ("/accounts(id)", absolute, alternate key, or a
// Content-ID reference "$1") to a lookup value. Callers hold the write lock.
func (s *Server) resolveBind(op *opRequest, n navRef, target string) (any, error) {
	path := target
	if strings.HasPrefix(path, "$") && op.contentIDs != nil {
		if loc, ok := op.contentIDs[strings.TrimPrefix(path, "$")]; ok {
			path = loc
		}
	}
	if u, err := url.Parse(path); err == nil && u.IsAbs() {
		path = u.EscapedPath()
	}
	if i := strings.Index(path, "/api/data/"); i >= 0 {
		rest := path[i+len("/api/data/"):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			path = rest[j+1:]
		}
	}
	path = strings.TrimPrefix(path, "/")
	segs, aerr := splitPath(path)
	if aerr != nil || len(segs) != 1 || !segs[0].hasKey {
		return nil, badRequest(codeODataGeneric, "The @odata.bind value '%s' is not a record URL such as /%s(<id>).", target, s.setOf(n))
	}
	tt := s.schema.bySet(segs[0].name)
	if tt == nil {
		return nil, noSegment(segs[0].name)
	}
	allowed := false
	for _, x := range n.Col.Targets {
		if x == tt.Logical && (n.Target == "" || n.Target == x) {
			allowed = true
		}
	}
	if !allowed {
		return nil, badRequest(codeInvalidArgument, "The navigation property '%s' cannot refer to a %s record; it refers to %s.", n.Col.navFor(n.Target), tt.Logical, strings.Join(n.Col.Targets, " or "))
	}
	key, aerr := parseKey(tt, segs[0].key)
	if aerr != nil {
		return nil, aerr
	}
	r, aerr := s.findRow(tt, key)
	if aerr != nil {
		return nil, aerr
	}
	return ref{ID: r.id, Table: tt.Logical}, nil
}

// create answers POST /set.
func (s *Server) create(op *opRequest, t *Table) (*result, error) {
	body, aerr := parseBody(op.body)
	if aerr != nil {
		return nil, aerr
	}
	x, done := s.wlock(op)
	r, err := s.insert(op, x, t, body, uuid.Nil, nil)
	done(err)
	if err != nil {
		return nil, err
	}
	return s.writeResult(op, t, r, true)
}

// writeResult is 204 + OData-EntityId, or the record with return=representation.
func (s *Server) writeResult(op *opRequest, t *Table, r *row, created bool) (*result, error) {
	loc := op.caller.apiURL + t.Set + "(" + r.id.String() + ")"
	if prefersRepresentation(op.header) {
		unlock := s.rlock(op)
		p, _, err := s.buildPlan(t, op.query, op.header)
		if err != nil {
			unlock()
			return nil, err
		}
		b := s.entityBody(op, t, r, p.cols, p.ann, p.expand)
		unlock()
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		res := jsonResult(status, b)
		res.header.Set("ETag", etag(r.version))
		res.header.Set("Preference-Applied", "return=representation")
		return res, nil
	}
	res := newResult(http.StatusNoContent)
	res.header["OData-EntityId"] = []string{loc}
	if created {
		res.header.Set("Location", loc)
	}
	return res, nil
}

func prefersRepresentation(h http.Header) bool {
	for _, v := range h.Values("Prefer") {
		if strings.Contains(strings.ToLower(v), "return=representation") {
			return true
		}
	}
	return false
}

// insert creates a record. id (or the body's primary key, or a new GUID) names it; alt sets
// alternate-key values from an upsert URL. Callers hold the write lock.
func (s *Server) insert(op *opRequest, x *tx, t *Table, body map[string]json.RawMessage, id uuid.UUID, alt map[string]any) (*row, error) {
	w, err := s.decodeWrite(op, t, body, true)
	if err != nil {
		return nil, err
	}
	for name, v := range alt {
		w.vals[t.col(name).idx] = v
	}
	if id == uuid.Nil {
		id = w.setID
	}
	if id == uuid.Nil {
		id = uuid.New()
	}
	ts := s.db.store(t.Logical)
	if ts.byID[id] != nil {
		return nil, errf(http.StatusPreconditionFailed, codeDuplicateRecord, "A record with matching key values already exists.")
	}
	now := s.db.now()
	r := &row{id: id, modified: now.UnixNano()}
	vals := w.vals
	s.systemValues(op, t, vals, now, true)
	if err := s.applyState(t, nil, vals, true); err != nil {
		return nil, err
	}
	s.derive(t, nil, vals)
	r = r.with(vals)
	if err := s.checkAltUnique(ts, r, nil); err != nil {
		return nil, err
	}
	x.put(ts, nil, r)
	return r, nil
}

// update applies a body to an existing row. Callers hold the write lock.
func (s *Server) update(op *opRequest, x *tx, t *Table, old *row, body map[string]json.RawMessage) (*row, error) {
	w, err := s.decodeWrite(op, t, body, false)
	if err != nil {
		return nil, err
	}
	now := s.db.now()
	vals := w.vals
	s.systemValues(op, t, vals, now, false)
	if err := s.applyState(t, old, vals, false); err != nil {
		return nil, err
	}
	s.derive(t, old, vals)
	nr := old.with(vals)
	nr.modified = now.UnixNano()
	ts := s.db.store(t.Logical)
	if err := s.checkAltUnique(ts, nr, old); err != nil {
		return nil, err
	}
	x.put(ts, old, nr)
	return nr, nil
}

// upsert answers PATCH /set(key): update, or create when missing, with If-Match /
// If-None-Match semantics.
func (s *Server) upsert(op *opRequest, t *Table, key keyRef) (*result, error) {
	body, aerr := parseBody(op.body)
	if aerr != nil {
		return nil, aerr
	}
	ifMatch := op.header.Get("If-Match")
	ifNoneMatch := op.header.Get("If-None-Match")
	x, done := s.wlock(op)
	var (
		r       *row
		created bool
		err     error
	)
	func() {
		old, ferr := s.findRow(t, key)
		if ferr != nil && ferr.status != http.StatusNotFound {
			err = ferr
			return
		}
		switch {
		case old == nil && ifMatch != "":
			err = notFound(t, keyText(key))
		case old != nil && ifNoneMatch == "*":
			err = errf(http.StatusPreconditionFailed, codeDuplicateRecord, "A record with matching key values already exists.")
		case old != nil && ifMatch != "" && ifMatch != "*" && ifMatch != etag(old.version):
			err = errf(http.StatusPreconditionFailed, codeConcurrency, "The version of the existing record doesn't match the RowVersion property provided.")
		case old != nil:
			r, err = s.update(op, x, t, old, body)
		default:
			created = true
			r, err = s.insert(op, x, t, body, key.id, key.alt)
		}
	}()
	done(err)
	if err != nil {
		return nil, err
	}
	res, err := s.writeResult(op, t, r, created && prefersRepresentation(op.header))
	if err == nil && res.status == http.StatusNoContent {
		res.header.Del("Location")
	}
	return res, err
}

func keyText(k keyRef) string {
	if k.alt != nil {
		return k.raw
	}
	return k.id.String()
}

// deleteRecord answers DELETE /set(key), applying cascade and restrict rules.
func (s *Server) deleteRecord(op *opRequest, t *Table, key keyRef) (*result, error) {
	x, done := s.wlock(op)
	var err error
	func() {
		r, ferr := s.findRow(t, key)
		if ferr != nil {
			err = ferr
			return
		}
		if im := op.header.Get("If-Match"); im != "" && im != "*" && im != etag(r.version) {
			err = errf(http.StatusPreconditionFailed, codeConcurrency, "The version of the existing record doesn't match the RowVersion property provided.")
			return
		}
		err = s.deleteRow(x, t, r, 0)
	}()
	done(err)
	if err != nil {
		return nil, err
	}
	return newResult(http.StatusNoContent), nil
}

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
