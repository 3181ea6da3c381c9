package dataverse

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

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
	if err := s.checkRepresentation(op, t); err != nil {
		return nil, err
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
		p, err := s.representationPlan(op, t)
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

// checkRepresentation refuses, before anything is written, a write whose
// representation cannot be built (an unknown column in $select…): the
// Web API validates the query options first, and a write done but
// answered 400 would make a client write again.
func (s *Server) checkRepresentation(op *opRequest, t *Table) error {
	if !prefersRepresentation(op.header) {
		return nil
	}
	unlock := s.rlock(op)
	defer unlock()
	_, err := s.representationPlan(op, t)
	return err
}

// representationPlan is the plan of the representation op asks for, built
// once per $batch for each table, query and Prefer header.
func (s *Server) representationPlan(op *opRequest, t *Table) (*plan, error) {
	if op.plans == nil {
		p, _, err := s.buildPlan(t, op.query, op.header)
		return p, err
	}
	key := t.Logical + "\x00" + op.query + "\x00" + strings.Join(op.header.Values("Prefer"), "\x00")
	if p, ok := op.plans[key]; ok {
		return p, nil
	}
	p, _, err := s.buildPlan(t, op.query, op.header)
	if err == nil {
		op.plans[key] = p
	}
	return p, err
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
	if err := s.checkRepresentation(op, t); err != nil {
		return nil, err
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
