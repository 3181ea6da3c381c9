package dataverse

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// segment is one path segment: a name with an optional parenthesised key.
type segment struct {
	name   string
	key    string // raw text inside (...), "" when absent
	hasKey bool
}

// splitPath splits an OData resource path into segments, keeping '/' inside quoted keys.
func splitPath(p string) ([]segment, *apiError) {
	var segs []segment
	var cur strings.Builder
	inQuote, depth := false, 0
	flush := func() {
		if cur.Len() == 0 {
			return
		}
		segs = append(segs, parseSegment(cur.String()))
		cur.Reset()
	}
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '\'':
			inQuote = !inQuote
		case ch == '(' && !inQuote:
			depth++
		case ch == ')' && !inQuote:
			depth--
		case ch == '/' && !inQuote && depth == 0:
			flush()
			continue
		}
		cur.WriteByte(ch)
	}
	if inQuote || depth != 0 {
		return nil, badRequest(codeODataGeneric, "Bad Request - Error in query syntax: unbalanced quote or parenthesis in '%s'.", p)
	}
	flush()
	return segs, nil
}

func parseSegment(s string) segment {
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	i := strings.IndexByte(s, '(')
	if i < 0 || !strings.HasSuffix(s, ")") {
		return segment{name: s}
	}
	return segment{name: s[:i], key: s[i+1 : len(s)-1], hasKey: true}
}

// keyRef identifies one record: by primary key or by alternate key values.
type keyRef struct {
	id  uuid.UUID
	alt map[string]any // column → value, when an alternate key is used
	raw string
}

// parseKey reads "guid", "{guid}", "accountid=guid" or "name='x',num=1".
func parseKey(t *Table, raw string) (keyRef, *apiError) {
	k := keyRef{raw: raw}
	if id, err := uuid.Parse(strings.Trim(raw, "{}")); err == nil && !strings.Contains(raw, "=") {
		k.id = id
		return k, nil
	}
	parts, err := splitKeyParts(raw)
	if err != nil {
		return k, badRequest(codeODataGeneric, "Bad Request - Error in query syntax: key '%s' of %s: %v.", raw, t.Set, err)
	}
	k.alt = map[string]any{}
	for _, p := range parts {
		name, lit, ok := strings.Cut(p, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return k, badRequest(codeODataGeneric, "Bad Request - Error in query syntax: key '%s' of %s is not a GUID nor name=value pairs.", raw, t.Set)
		}
		c := t.col(name)
		if c == nil {
			return k, badProperty(t, name)
		}
		v, perr := parseLiteral(strings.TrimSpace(lit))
		if perr != nil {
			return k, badRequest(codeODataGeneric, "Bad Request - Error in query syntax: value of key property '%s': %v.", name, perr)
		}
		if name == t.Key {
			id, ok := v.(uuid.UUID)
			if !ok {
				return k, badRequest(codeODataGeneric, "The key value of '%s' must be a GUID.", name)
			}
			k.id = id
			continue
		}
		if c.Type == tLookup {
			if id, ok := v.(uuid.UUID); ok {
				v = ref{ID: id}
			}
		}
		k.alt[name] = v
	}
	if len(k.alt) == 0 {
		k.alt = nil
	}
	return k, nil
}

func splitKeyParts(s string) ([]string, error) {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			if inQuote && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			inQuote = !inQuote
		case s[i] == ',' && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if inQuote {
		return nil, errUnterminated
	}
	return append(out, s[start:]), nil
}

type literalError string

func (e literalError) Error() string { return string(e) }

const errUnterminated = literalError("unterminated string literal")

// parseLiteral reads an OData URL literal: 'string', GUID, integer, decimal, true/false, null.
func parseLiteral(s string) (any, error) {
	switch {
	case strings.HasPrefix(s, "'") && strings.HasSuffix(s, "'") && len(s) >= 2:
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	case s == "null":
		return nil, nil
	}
	if id, err := uuid.Parse(strings.Trim(s, "{}")); err == nil {
		return id, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSuffix(s, "m"), "M"), 64); err == nil {
		return f, nil
	}
	return nil, literalError("'" + s + "' is not a valid literal")
}

// route dispatches one operation by its path.
func (s *Server) route(op *opRequest) (*result, error) {
	segs, aerr := splitPath(op.path)
	if aerr != nil {
		return nil, aerr
	}
	if len(segs) == 0 {
		return s.serviceDocument(op)
	}
	first := segs[0]
	switch first.name {
	case "$metadata":
		return s.metadataDocument(op)
	case "WhoAmI", "WhoAmI()":
		return s.whoAmI(op)
	case "RetrieveVersion", "RetrieveVersion()":
		return s.retrieveVersion(op)
	case "ImportSolution", "ImportSolutionAsync":
		return s.importSolution(op, first.name == "ImportSolutionAsync")
	case "EntityDefinitions":
		return s.entityDefinitions(op, segs)
	}
	unlock := s.rlock(op)
	t := s.schema.bySet(first.name)
	unlock()
	if t == nil {
		return nil, noSegment(first.name)
	}
	if !first.hasKey {
		if len(segs) == 2 && segs[1].name == "$count" && op.method == http.MethodGet {
			return s.countSegment(op, t)
		}
		if len(segs) > 1 {
			return nil, noSegment(segs[1].name)
		}
		switch op.method {
		case http.MethodGet:
			return s.readCollection(op, t)
		case http.MethodPost:
			return s.create(op, t)
		}
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "The HTTP method '%s' is not allowed on the entity set '%s'.", op.method, t.Set)
	}
	unlock = s.rlock(op)
	key, aerr := parseKey(t, first.key)
	unlock()
	if aerr != nil {
		return nil, aerr
	}
	if len(segs) == 1 {
		switch op.method {
		case http.MethodGet:
			return s.readOne(op, t, key)
		case http.MethodPatch, http.MethodPut:
			return s.upsert(op, t, key)
		case http.MethodDelete:
			return s.deleteRecord(op, t, key)
		}
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "The HTTP method '%s' is not allowed on a %s record.", op.method, t.Logical)
	}
	return s.navigate(op, t, key, segs[1:])
}
