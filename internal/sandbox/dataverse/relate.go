package dataverse

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/google/uuid"
)

// Relationship behaviour on delete (reference/dataverse-tables.md §5).
type relRule struct {
	child, column string
}

var (
	cascadeRules = map[string][]relRule{
		"quote":       {{"quotedetail", "quoteid"}, {"annotation", "objectid"}},
		"salesorder":  {{"salesorderdetail", "salesorderid"}, {"annotation", "objectid"}},
		"invoice":     {{"invoicedetail", "invoiceid"}, {"annotation", "objectid"}},
		"product":     {{"productpricelevel", "productid"}, {"annotation", "objectid"}},
		"uomschedule": {{"uom", "uomscheduleid"}},
		"account":     {{"quote", "customerid"}, {"opportunity", "customerid"}, {"post", "regardingobjectid"}, {"annotation", "objectid"}},
		"contact":     {{"quote", "customerid"}, {"opportunity", "customerid"}, {"post", "regardingobjectid"}, {"annotation", "objectid"}},
		"opportunity": {{"quote", "opportunityid"}, {"annotation", "objectid"}},
	}
	restrictRules = map[string][]relRule{
		"pricelevel":  {{"productpricelevel", "pricelevelid"}, {"salesorder", "pricelevelid"}, {"quote", "pricelevelid"}, {"invoice", "pricelevelid"}},
		"account":     {{"salesorder", "customerid"}, {"invoice", "customerid"}},
		"contact":     {{"salesorder", "customerid"}, {"invoice", "customerid"}},
		"product":     {{"salesorderdetail", "productid"}, {"quotedetail", "productid"}, {"invoicedetail", "productid"}},
		"uom":         {{"salesorderdetail", "uomid"}, {"quotedetail", "uomid"}, {"invoicedetail", "uomid"}},
		"opportunity": {{"salesorder", "opportunityid"}, {"invoice", "opportunityid"}},
	}
)

// children returns the live rows of child whose column refers to id.
func (s *Server) children(child, column string, id uuid.UUID) []*row {
	ts := s.db.store(child)
	if ts == nil {
		return nil
	}
	c := ts.t.col(column)
	if c == nil {
		return nil
	}
	ids, indexed := ts.lookupEq(c.idx, ref{ID: id})
	if indexed {
		return rowsBySeq(ts, ids)
	}
	var out []*row
	for _, r := range ts.byID {
		if v, ok := r.get(c.idx).(ref); ok && v.ID == id {
			out = append(out, r)
		}
	}
	sortRowsBySeq(out)
	return out
}

// deleteRow deletes r after checking restrict rules and cascading. Callers hold the write lock.
func (s *Server) deleteRow(x *tx, t *Table, r *row, depth int) error {
	if depth > 8 {
		return badRequest(codeInvalidArgument, "Delete of %s %s cascades too deep.", t.Logical, r.id)
	}
	for _, rule := range restrictRules[t.Logical] {
		if kids := s.children(rule.child, rule.column, r.id); len(kids) > 0 {
			return badRequest(codeDeleteRestricted, "The record cannot be deleted because it is associated with another record. Entity: %s, ReferencingEntity: %s, ReferencingAttribute: %s (%d record(s), e.g. %s).",
				t.Logical, rule.child, rule.column, len(kids), kids[0].id)
		}
	}
	for _, rule := range cascadeRules[t.Logical] {
		ct := s.schema.table(rule.child)
		for _, kid := range s.children(rule.child, rule.column, r.id) {
			if cur := s.db.store(rule.child).byID[kid.id]; cur != nil {
				if err := s.deleteRow(x, ct, cur, depth+1); err != nil {
					return err
				}
			}
		}
	}
	if t.Logical == "systemuser" || t.Logical == "role" {
		s.dropAssociations(x, t.Logical, r.id)
	}
	x.remove(s.db.store(t.Logical), r, s.db.now())
	return nil
}

// setReference answers PUT/DELETE /set(id)/nav/$ref for a single-valued navigation property.
func (s *Server) setReference(op *opRequest, t *Table, key keyRef, n navRef) (*result, error) {
	var patch string
	switch op.method {
	case http.MethodPut, http.MethodPost:
		var body struct {
			ID string `json:"@odata.id"`
		}
		if err := json.Unmarshal(op.body, &body); err != nil || body.ID == "" {
			return nil, badRequest(codeODataGeneric, "The body of a $ref request must be {\"@odata.id\": \"<record URL>\"}.")
		}
		b, _ := json.Marshal(map[string]string{n.Col.navFor(n.Target) + "@odata.bind": body.ID})
		patch = string(b)
	case http.MethodDelete:
		b, _ := json.Marshal(map[string]any{n.Col.navFor(n.Target) + "@odata.bind": nil})
		patch = string(b)
	default:
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "The HTTP method '%s' is not allowed on $ref.", op.method)
	}
	sub := *op
	sub.method, sub.body = http.MethodPatch, []byte(patch)
	sub.header = op.header.Clone()
	sub.header.Set("If-Match", "*")
	sub.header.Del("Prefer")
	if _, err := s.upsert(&sub, t, key); err != nil {
		return nil, err
	}
	return newResult(http.StatusNoContent), nil
}

// manyToMany serves systemuserroles_association: GET the related records, POST …/$ref to
// associate, DELETE …(id)/$ref or …/$ref?$id=<url> to disassociate.
func (s *Server) manyToMany(op *opRequest, t *Table, key keyRef, nav segment, isRef bool) (*result, error) {
	other := map[string]string{"systemuser": "role", "role": "systemuser"}[t.Logical]
	ot := s.schema.table(other)
	if op.method == http.MethodGet && !isRef {
		unlock := s.rlock(op)
		r, aerr := s.findRow(t, key)
		if aerr != nil {
			unlock()
			return nil, aerr
		}
		set := s.db.userRoles[r.id]
		if t.Logical == "role" {
			set = s.db.roleUsers[r.id]
		}
		ids := make([]uuid.UUID, 0, len(set))
		for id := range set {
			ids = append(ids, id)
		}
		p, _, err := s.buildPlan(ot, op.query, op.header)
		if err != nil {
			unlock()
			return nil, err
		}
		rd := &renderer{s: s, t: ot, cols: p.cols, ann: p.ann, expand: p.expand}
		b := []byte(`{"@odata.context":`)
		b = appendString(b, contextURL(op, ot.Set, p.cols, ""))
		b = append(b, `,"value":[`...)
		for i, rr := range rowsBySeq(s.db.store(other), ids) {
			if i > 0 {
				b = append(b, ',')
			}
			b = rd.appendRow(b, rr)
		}
		unlock()
		return jsonResult(http.StatusOK, append(b, "]}"...)), nil
	}
	if !isRef {
		return nil, badRequest(codeODataGeneric, "Use %s(<id>)/systemuserroles_association/$ref to associate or disassociate.", t.Set)
	}
	var otherKey string
	switch op.method {
	case http.MethodPost:
		var body struct {
			ID string `json:"@odata.id"`
		}
		if err := json.Unmarshal(op.body, &body); err != nil || body.ID == "" {
			return nil, badRequest(codeODataGeneric, "The body of a $ref request must be {\"@odata.id\": \"<record URL>\"}.")
		}
		otherKey = body.ID
	case http.MethodDelete:
		if nav.hasKey {
			otherKey = ot.Set + "(" + nav.key + ")"
		} else if v, err := url.ParseQuery(op.query); err == nil && v.Get("$id") != "" {
			otherKey = v.Get("$id")
		} else {
			return nil, badRequest(codeODataGeneric, "DELETE of a $ref needs the related record: systemuserroles_association(<id>)/$ref or ?$id=<record URL>.")
		}
	default:
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "The HTTP method '%s' is not allowed on $ref.", op.method)
	}
	x, done := s.wlock(op)
	var err error
	func() {
		r, aerr := s.findRow(t, key)
		if aerr != nil {
			err = aerr
			return
		}
		v, berr := s.resolveBind(op, navRef{Col: &Column{Name: "systemuserroles_association", Targets: []string{other}}, Target: other}, otherKey)
		if berr != nil {
			err = berr
			return
		}
		oid := v.(ref).ID
		user, role := r.id, oid
		if t.Logical == "role" {
			user, role = oid, r.id
		}
		if op.method == http.MethodPost {
			if s.db.userRoles[user][role] {
				err = errf(http.StatusPreconditionFailed, codeDuplicateRecord, "Cannot insert duplicate key: systemuser %s already has role %s.", user, role)
				return
			}
			s.associate(x, user, role)
		} else {
			if !s.db.userRoles[user][role] {
				err = errf(http.StatusNotFound, codeObjectDoesNotExist, "systemuserroles With Id = %s,%s Does Not Exist", user, role)
				return
			}
			s.disassociate(x, user, role)
		}
	}()
	done(err)
	if err != nil {
		return nil, err
	}
	return newResult(http.StatusNoContent), nil
}

func (s *Server) associate(x *tx, user, role uuid.UUID) {
	add := func(m map[uuid.UUID]map[uuid.UUID]bool, a, b uuid.UUID) {
		if m[a] == nil {
			m[a] = map[uuid.UUID]bool{}
		}
		m[a][b] = true
	}
	add(s.db.userRoles, user, role)
	add(s.db.roleUsers, role, user)
	if x != nil {
		x.undos = append(x.undos, func() {
			delete(s.db.userRoles[user], role)
			delete(s.db.roleUsers[role], user)
		})
	}
}

func (s *Server) disassociate(x *tx, user, role uuid.UUID) {
	delete(s.db.userRoles[user], role)
	delete(s.db.roleUsers[role], user)
	if x != nil {
		x.undos = append(x.undos, func() { s.associate(nil, user, role) })
	}
}

func (s *Server) dropAssociations(x *tx, table string, id uuid.UUID) {
	if table == "systemuser" {
		for role := range s.db.userRoles[id] {
			s.disassociate(x, id, role)
		}
		return
	}
	for user := range s.db.roleUsers[id] {
		s.disassociate(x, user, id)
	}
}
