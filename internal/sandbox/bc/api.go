package bc

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// txn is an atomic $batch in progress: the company's write lock is held and every change
// goes to one undo log.
type txn struct{ u *undo }

// target is a parsed resource path below companies({id}).
type target struct {
	t       *table
	key     string // entity key ("" = collection)
	navSet  *table // contained line set
	navKey  string
	action  string // Microsoft.NAV.{action}
	count   bool   // …/$count
	parent  *row   // header when navSet is used
	rawPath string
}

const (
	jsonType = "application/json; odata.metadata=minimal; odata.streaming=true"
	maxBody  = 32 << 20
)

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, root apiRoot, rest string, tx *txn) {
	w.Header().Set("OData-Version", "4.0")
	base := "http://" + r.Host + root.path
	switch rest {
	case "", "/":
		s.serviceDocument(w, base, root)
		return
	case "$metadata":
		s.metadata(w, r, root)
		return
	case "$batch":
		if tx != nil {
			writeAPIError(w, errf(http.StatusBadRequest, codeBadRequest, "A $batch cannot contain another $batch."))
			return
		}
		s.batch(w, r, root)
		return
	}
	segs, err := splitPath(rest)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	c := s.company
	if segs[0].name == "companies" {
		if len(segs) == 1 {
			if r.Method != http.MethodGet {
				writeAPIError(w, errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "'%s' requests for 'companies' of EdmType 'Entity' are not allowed within Dynamics 365 Business Central OData web services.", r.Method))
				return
			}
			s.companies(w, base, segs[0].key)
			return
		}
		if !strings.EqualFold(segs[0].key, c.id) {
			writeAPIError(w, errf(http.StatusNotFound, codeRecordNotFound, "The company with id '%s' does not exist. Use companies to list them.", segs[0].key))
			return
		}
		segs = segs[1:]
	} else if !s.companyFromRequest(r) {
		writeAPIError(w, errf(http.StatusBadRequest, codeBadRequest, "Specify the company: companies({id})/%s, ?company= or the Company header.", segs[0].name))
		return
	}
	tg, aerr := s.resolve(root, segs)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	ctxBase := base + "/$metadata#companies(" + c.id + ")/"
	switch {
	case tg.count && r.Method == http.MethodGet:
		s.count(w, r, tg, tx)
	case tg.action != "":
		if r.Method != http.MethodPost {
			writeAPIError(w, errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "Actions must be invoked with POST."))
			return
		}
		s.invokeAction(w, tg, tx)
	case r.Method == http.MethodGet && (tg.key == "" || tg.navSet != nil && tg.navKey == ""):
		s.list(w, r, base, ctxBase, tg, tx)
	case r.Method == http.MethodGet:
		s.getOne(w, r, ctxBase, tg, tx)
	case r.Method == http.MethodPost && (tg.key == "" || tg.navSet != nil && tg.navKey == ""):
		s.post(w, r, base, ctxBase, tg, tx)
	case r.Method == http.MethodPatch || r.Method == http.MethodPut:
		s.patch(w, r, ctxBase, tg, tx)
	case r.Method == http.MethodDelete:
		s.deleteOne(w, r, tg, tx)
	default:
		writeAPIError(w, errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "'%s' requests for '%s' are not allowed within Dynamics 365 Business Central OData web services.", r.Method, tg.rawPath))
	}
}

// companyFromRequest accepts ?company= or the Company header (name or id) for paths that
// omit companies({id}).
func (s *Server) companyFromRequest(r *http.Request) bool {
	v := r.URL.Query().Get("company")
	if v == "" {
		v = r.Header.Get("Company")
	}
	return v != "" && (strings.EqualFold(v, s.company.id) || v == s.company.name)
}

type pathSeg struct {
	name, key string
	hasKey    bool
}

// splitPath parses "customers(…)/salesOrderLines" into segments with optional keys;
// keys may be written (guid), (id=guid) or ('guid').
func splitPath(p string) ([]pathSeg, *apiError) {
	var out []pathSeg
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if part == "" {
			continue
		}
		seg := pathSeg{name: part}
		if i := strings.IndexByte(part, '('); i >= 0 {
			if !strings.HasSuffix(part, ")") {
				return nil, errf(http.StatusBadRequest, codeNotFound, "Bad Request - Error in query syntax: segment '%s' has no closing parenthesis.", part)
			}
			seg.name, seg.hasKey = part[:i], true
			k := part[i+1 : len(part)-1]
			if _, v, ok := strings.Cut(k, "="); ok {
				k = v
			}
			seg.key = strings.ToLower(strings.Trim(k, "'"))
		}
		out = append(out, seg)
	}
	if len(out) == 0 {
		return nil, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment ''.")
	}
	return out, nil
}

func (s *Server) resolve(root apiRoot, segs []pathSeg) (target, *apiError) {
	tg := target{}
	names := make([]string, 0, len(segs))
	for _, sg := range segs {
		names = append(names, sg.name)
	}
	tg.rawPath = strings.Join(names, "/")
	if len(segs) == 0 {
		return tg, errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "Only GET is allowed on a company.")
	}
	set, ok := s.sets[segs[0].name]
	if !ok || set.automation != root.automation {
		return tg, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", segs[0].name)
	}
	tg.t = s.company.tables[set.name]
	if segs[0].hasKey {
		if segs[0].key == "" {
			return tg, errf(http.StatusBadRequest, codeNotFound, "Bad Request - Error in query syntax: empty key in '%s()'.", segs[0].name)
		}
		tg.key = segs[0].key
	}
	if len(segs) == 1 {
		return tg, nil
	}
	next := segs[1]
	switch {
	case next.name == "$count" && !segs[0].hasKey && len(segs) == 2:
		tg.count = true
		return tg, nil
	case !segs[0].hasKey:
		return tg, errf(http.StatusBadRequest, codeNotFound, "Bad Request - Error in query syntax: '%s' needs a key before '%s'.", segs[0].name, next.name)
	case strings.HasPrefix(next.name, "Microsoft.NAV."):
		a := strings.TrimPrefix(next.name, "Microsoft.NAV.")
		for _, x := range set.actions {
			if x == a {
				tg.action = a
				if len(segs) > 2 {
					return tg, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", segs[2].name)
				}
				return tg, nil
			}
		}
		return tg, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", next.name)
	case next.name == set.lines:
		tg.navSet = s.company.tables[set.lines]
		if next.hasKey {
			tg.navKey = next.key
		}
		if len(segs) == 3 && segs[2].name == "$count" && !next.hasKey {
			tg.count = true
			return tg, nil
		}
		if len(segs) > 2 {
			return tg, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", segs[2].name)
		}
		return tg, nil
	}
	return tg, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", next.name)
}

// lock takes the company lock unless an atomic batch already holds it.
func (c *company) lockFor(tx *txn, write bool) func() {
	if tx != nil {
		return func() {}
	}
	if write {
		c.mu.Lock()
		return c.mu.Unlock
	}
	c.mu.RLock()
	return c.mu.RUnlock
}

func readBody(r *http.Request) ([]byte, *apiError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: %v", err)
	}
	if len(b) > maxBody {
		return nil, errf(http.StatusRequestEntityTooLarge, codeBadRequest, "The request body exceeds %d bytes.", maxBody)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: the body is empty; send a JSON object.")
	}
	return b, nil
}

func writeJSON(w http.ResponseWriter, status int, body []byte, etag string) {
	h := w.Header()
	h.Set("Content-Type", jsonType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if etag != "" {
		h.Set("ETag", etag)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) serviceDocument(w http.ResponseWriter, base string, root apiRoot) {
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":`)
	appendJSONString(&b, base+"/$metadata")
	b.WriteString(`,"value":[`)
	first := true
	add := func(name string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`{"name":"` + name + `","kind":"EntitySet","url":"` + name + `"}`)
	}
	add("companies")
	for _, n := range s.setOrder {
		if s.sets[n].automation == root.automation {
			add(n)
		}
	}
	b.WriteString("]}")
	writeJSON(w, http.StatusOK, b.Bytes(), "")
}

func (s *Server) companies(w http.ResponseWriter, base, key string) {
	c := s.company
	var b bytes.Buffer
	rec := func() {
		b.WriteString(`"id":"` + c.id + `","systemVersion":"27.0.38460.0","timestamp":1,"name":`)
		appendJSONString(&b, c.name)
		b.WriteString(`,"displayName":`)
		appendJSONString(&b, c.displayName)
		created := formatMillis(c.created.UnixMilli())
		b.WriteString(`,"businessProfileId":"","systemCreatedAt":"` + created + `","systemCreatedBy":"` + emptyGUID +
			`","systemModifiedAt":"` + created + `","systemModifiedBy":"` + emptyGUID + `"}`)
	}
	if key != "" {
		if !strings.EqualFold(key, c.id) {
			writeAPIError(w, errf(http.StatusNotFound, codeRecordNotFound, "The company with id '%s' does not exist.", key))
			return
		}
		b.WriteString(`{"@odata.context":`)
		appendJSONString(&b, base+"/$metadata#companies/$entity")
		b.WriteByte(',')
		rec()
	} else {
		b.WriteString(`{"@odata.context":`)
		appendJSONString(&b, base+"/$metadata#companies")
		b.WriteString(`,"value":[{`)
		rec()
		b.WriteString("]}")
	}
	writeJSON(w, http.StatusOK, b.Bytes(), "")
}
