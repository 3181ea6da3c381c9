package bc

import (
	"bytes"
	"net/http"
	"strings"
)

func (s *Server) post(w http.ResponseWriter, r *http.Request, base, ctxBase string, tg target, tx *txn) {
	body, aerr := readBody(r)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	c := s.company
	unlock := c.lockFor(tx, true)
	defer unlock()
	t := tg.t
	var parent *row
	if tg.navSet != nil {
		if parent = tg.t.rows[tg.key]; parent == nil {
			writeAPIError(w, notFound(tg.t, tg.key))
			return
		}
		t = tg.navSet
	}
	vals, nested, aerr := decodeBody(t.set, body, t.set.lines)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	var u *undo
	if tx != nil {
		u = tx.u
	} else {
		u = &undo{} // a deep insert is all or nothing
	}
	x, aerr := c.create(u, t, vals, nested, parent)
	if aerr != nil {
		if tx == nil {
			c.rollback(u)
		}
		writeAPIError(w, aerr)
		return
	}
	var b bytes.Buffer
	p := readPlan{}
	if len(nested) > 0 {
		p.expand = true // a deep insert answers with the created lines
	}
	writeRecord(&b, t, x, nil, ctxBase+t.set.name+"/$entity", s.expander(t, x, &p))
	loc := base + "/companies(" + c.id + ")/" + tg.t.set.name
	if parent != nil {
		loc += "(" + parent.id + ")/" + t.set.name
	}
	w.Header().Set("Location", loc+"("+x.id+")")
	writeJSON(w, http.StatusCreated, b.Bytes(), etag(x))
}

// checkIfMatch enforces BC's concurrency rule: PATCH and DELETE need If-Match (an ETag or *).
func checkIfMatch(r *http.Request, x *row) *apiError {
	m := strings.TrimSpace(r.Header.Get("If-Match"))
	if m == "" {
		return errf(http.StatusBadRequest, codeInvalidToken, "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.")
	}
	if m == "*" {
		return nil
	}
	for _, e := range strings.Split(m, ",") {
		if strings.TrimSpace(e) == etag(x) {
			return nil
		}
	}
	return errf(http.StatusConflict, codeEntityChanged, "Another user has already changed the record.")
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, ctxBase string, tg target, tx *txn) {
	body, aerr := readBody(r)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	c := s.company
	unlock := c.lockFor(tx, true)
	defer unlock()
	if tg.key == "" || tg.navSet != nil && tg.navKey == "" {
		writeAPIError(w, errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "'PATCH' requests need the key of one record."))
		return
	}
	t, x, aerr := s.entity(tg)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	if aerr := checkIfMatch(r, x); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	vals, nested, aerr := decodeBody(t.set, body, t.set.lines)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	if len(nested) > 0 {
		writeAPIError(w, errf(http.StatusBadRequest, codeBadRequest, "Deep update is not supported: PATCH each of the %s separately.", t.set.lines))
		return
	}
	var u *undo
	if tx != nil {
		u = tx.u
	} else {
		u = &undo{}
	}
	if aerr := c.update(u, t, x, vals); aerr != nil {
		if tx == nil {
			c.rollback(u)
		}
		writeAPIError(w, aerr)
		return
	}
	var b bytes.Buffer
	writeRecord(&b, t, x, nil, ctxBase+t.set.name+"/$entity", nil)
	writeJSON(w, http.StatusOK, b.Bytes(), etag(x))
}

func (s *Server) deleteOne(w http.ResponseWriter, r *http.Request, tg target, tx *txn) {
	c := s.company
	unlock := c.lockFor(tx, true)
	defer unlock()
	if tg.key == "" || tg.navSet != nil && tg.navKey == "" {
		writeAPIError(w, errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "'DELETE' requests need the key of one record."))
		return
	}
	t, x, aerr := s.entity(tg)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	if aerr := checkIfMatch(r, x); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	var u *undo
	if tx != nil {
		u = tx.u
	}
	if aerr := c.remove(u, t, x); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// invokeAction runs a bound action; BC answers 204 with no content.
func (s *Server) invokeAction(w http.ResponseWriter, tg target, tx *txn) {
	c := s.company
	unlock := c.lockFor(tx, true)
	defer unlock()
	x := tg.t.rows[tg.key]
	if x == nil {
		writeAPIError(w, notFound(tg.t, tg.key))
		return
	}
	u := &undo{}
	if tx != nil {
		u = tx.u
	}
	var aerr *apiError
	switch tg.t.set.name + "." + tg.action {
	case "salesOrders.shipAndInvoice":
		aerr = c.shipAndInvoice(u, tg.t, x)
	case "salesQuotes.makeOrder":
		_, aerr = c.makeOrder(u, tg.t, x)
	case "salesQuotes.makeInvoice":
		_, aerr = c.makeInvoice(u, tg.t, x)
	case "salesQuotes.send":
		aerr = c.sendQuote(u, tg.t, x)
	case "salesInvoices.post":
		aerr = c.postInvoice(u, tg.t, x)
	default:
		aerr = errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment 'Microsoft.NAV.%s'.", tg.action)
	}
	if aerr != nil {
		if tx == nil {
			c.rollback(u)
		}
		writeAPIError(w, aerr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
