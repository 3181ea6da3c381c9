package odata

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// OrderItem is one $orderby key.
type OrderItem struct {
	Property string // a path: "name" or "primarycontactid/fullname"
	Desc     bool
}

// ExpandItem is one $expand navigation with its nested $select.
type ExpandItem struct {
	Property string
	Select   []string
}

// Query holds the system query options of a request.
type Query struct {
	Select     []string // nil = all
	Filter     *Filter  // nil = none
	OrderBy    []OrderItem
	Top, Skip  int // -1 = absent
	Count      bool
	Expand     []ExpandItem
	SkipToken  string
	DeltaToken string
}

// ParseQuery reads the system query options from v. Parameter aliases
// ($filter=name eq @p1&@p1='x') are substituted in $filter and $orderby;
// other parameters (company=, …) are left to the caller. An option given twice, a
// malformed value or an option no simulator implements ($search, $apply,
// …) gives a *QueryError naming the option.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Top: -1, Skip: -1}
	for key, vals := range v {
		if !strings.HasPrefix(key, "$") {
			continue
		}
		if len(vals) > 1 {
			return q, &QueryError{Option: key, Message: fmt.Sprintf("the option is specified %d times; give it once", len(vals))}
		}
		val := vals[0]
		var err error
		switch key {
		case "$select":
			q.Select, err = parseSelect(key, val)
		case "$filter":
			if val, err = substituteAliases(key, val, v); err == nil {
				q.Filter, err = ParseFilter(val)
			}
		case "$orderby":
			if val, err = substituteAliases(key, val, v); err == nil {
				q.OrderBy, err = parseOrderBy(val)
			}
		case "$top":
			q.Top, err = parseCount(key, val)
		case "$skip":
			q.Skip, err = parseCount(key, val)
		case "$count":
			switch strings.ToLower(val) {
			case "true":
				q.Count = true
			case "false":
			default:
				err = &QueryError{Option: key, Message: fmt.Sprintf("%q is not a boolean; use true or false", val)}
			}
		case "$expand":
			q.Expand, err = parseExpand(val)
		case "$skiptoken":
			q.SkipToken = val
		case "$deltatoken":
			q.DeltaToken = val
		case "$format":
			if f := strings.ToLower(val); f != "json" && !strings.HasPrefix(f, "application/json") {
				err = &QueryError{Option: key, Message: fmt.Sprintf("format %q is not supported; only json is", val)}
			}
		default:
			err = &QueryError{Option: key, Message: "this query option is not supported (supported: $select, $filter, $orderby, $top, $skip, $count, $expand, $skiptoken, $deltatoken)"}
		}
		if err != nil {
			return q, err
		}
	}
	return q, nil
}

func parseCount(option, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, &QueryError{Option: option, Message: fmt.Sprintf("%q is not a non-negative integer", s)}
	}
	return n, nil
}

func parseSelect(option, s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			return nil, &QueryError{Option: option, Message: fmt.Sprintf("empty property name in %q", s)}
		case f == "*":
			return nil, nil
		case !validPath(f):
			return nil, &QueryError{Option: option, Message: fmt.Sprintf("%q is not a property name", f)}
		}
		out = append(out, f)
	}
	return out, nil
}

// validPath accepts identifiers and paths of identifiers (a/b), including
// Dataverse's _x_value lookups and qualified names.
func validPath(s string) bool {
	for _, seg := range strings.Split(s, "/") {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

func parseOrderBy(s string) ([]OrderItem, error) {
	var out []OrderItem
	for _, item := range strings.Split(s, ",") {
		fields := strings.Fields(item)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, &QueryError{Option: "$orderby", Message: fmt.Sprintf("%q is not \"property [asc|desc]\"", strings.TrimSpace(item))}
		}
		if !validPath(fields[0]) {
			return nil, &QueryError{Option: "$orderby", Message: fmt.Sprintf("%q is not a property name (expressions are not supported)", fields[0])}
		}
		o := OrderItem{Property: fields[0]}
		if len(fields) == 2 {
			switch strings.ToLower(fields[1]) {
			case "asc":
			case "desc":
				o.Desc = true
			default:
				return nil, &QueryError{Option: "$orderby", Message: fmt.Sprintf("direction %q is not asc or desc", fields[1])}
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// parseExpand reads "nav1($select=a,b),nav2"; nested options other than
// $select are refused.
func parseExpand(s string) ([]ExpandItem, error) {
	var out []ExpandItem
	for _, item := range splitTopLevel(s) {
		item = strings.TrimSpace(item)
		name, rest, hasOpts := strings.Cut(item, "(")
		name = strings.TrimSpace(name)
		if !validPath(name) {
			return nil, &QueryError{Option: "$expand", Message: fmt.Sprintf("%q is not a navigation property name", name)}
		}
		e := ExpandItem{Property: name}
		if hasOpts {
			if !strings.HasSuffix(rest, ")") {
				return nil, &QueryError{Option: "$expand", Message: fmt.Sprintf("unbalanced parentheses in %q", item)}
			}
			for _, opt := range strings.Split(strings.TrimSuffix(rest, ")"), ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(opt), "=")
				if strings.TrimSpace(k) != "$select" {
					return nil, &QueryError{Option: "$expand", Message: fmt.Sprintf("nested option %q in %s is not supported; only $select is", strings.TrimSpace(k), name)}
				}
				sel, err := parseSelect("$expand", val)
				if err != nil {
					return nil, err
				}
				e.Select = sel
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// splitTopLevel splits at commas outside parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// substituteAliases replaces each @alias outside quoted text with the value
// of the query parameter of that name.
func substituteAliases(option, expr string, v url.Values) (string, error) {
	if !strings.Contains(expr, "@") {
		return expr, nil
	}
	var b strings.Builder
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '@' && (i == 0 || !isIdentChar(expr[i-1])):
			j := i + 1
			for j < len(expr) && (isIdentChar(expr[j]) && expr[j] != '@' && expr[j] != '.') {
				j++
			}
			name := expr[i:j]
			if len(name) < 2 {
				break
			}
			vals, ok := v[name]
			if !ok || len(vals) == 0 {
				return "", &QueryError{Option: option, Message: fmt.Sprintf("parameter alias %s is used but no %s= parameter gives its value", name, name)}
			}
			if len(vals) > 1 {
				return "", &QueryError{Option: option, Message: fmt.Sprintf("parameter alias %s is given %d times", name, len(vals))}
			}
			b.WriteString(vals[0])
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}
