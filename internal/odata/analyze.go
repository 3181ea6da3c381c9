package odata

// Properties lists every property path the filter references ("a/b" for a
// navigation), each once, in order of appearance, so that a service can
// refuse unknown ones with its own error.
func (f *Filter) Properties() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		if n.op == opProp && !seen[n.name] {
			seen[n.name] = true
			out = append(out, n.name)
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(f.root)
	return out
}

// conjuncts returns the top-level AND-ed conditions.
func (f *Filter) conjuncts() []*node {
	var out []*node
	var walk func(n *node)
	walk = func(n *node) {
		if n.op == opAnd {
			walk(n.kids[0])
			walk(n.kids[1])
			return
		}
		out = append(out, n)
	}
	walk(f.root)
	return out
}

// propAndLiteral splits a comparison into its property and literal sides;
// flipped is true when the literal came first ("5 lt a").
func propAndLiteral(n *node) (prop *node, lit value, flipped, ok bool) {
	if len(n.kids) != 2 {
		return nil, value{}, false, false
	}
	a, b := n.kids[0], n.kids[1]
	switch {
	case a.op == opProp && b.op == opLit:
		return a, b.lit, false, true
	case a.op == opLit && b.op == opProp:
		return b, a.lit, true, true
	}
	return nil, value{}, false, false
}

// Equalities returns the top-level AND-ed `prop eq literal` conditions, for
// index lookups. Values are string (GUIDs lower-cased, dates YYYY-MM-DD),
// int64, float64, bool, nil or time.Time. The caller must still Match each
// candidate: the rest of the filter (and IgnoreCase) is not reflected here.
func (f *Filter) Equalities() map[string]any {
	out := map[string]any{}
	for _, c := range f.conjuncts() {
		if c.op != opEq {
			continue
		}
		if p, lit, _, ok := propAndLiteral(c); ok {
			if _, dup := out[p.name]; !dup {
				out[p.name] = lit.goValue()
			}
		}
	}
	return out
}

// OneOf returns the property and values of a filter made only of
// `prop eq literal` conditions on one property joined by or ("id eq 1 or
// id eq 2"): the shape of a read by ids, for index lookups. Values are as
// Equalities gives them; the caller must still Match each candidate.
func (f *Filter) OneOf() (prop string, vals []any, ok bool) {
	if f == nil || f.root == nil {
		return "", nil, false
	}
	var walk func(n *node) bool
	walk = func(n *node) bool {
		if n.op == opOr {
			return walk(n.kids[0]) && walk(n.kids[1])
		}
		if n.op != opEq {
			return false
		}
		p, lit, _, ok := propAndLiteral(n)
		if !ok || prop != "" && p.name != prop {
			return false
		}
		prop = p.name
		vals = append(vals, lit.goValue())
		return true
	}
	if !walk(f.root) {
		return "", nil, false
	}
	return prop, vals, true
}

// Lower returns the lower bound a top-level AND-ed `prop gt|ge literal`
// (or `literal lt|le prop`) puts on prop, for cursor reads such as
// lastModifiedDateTime gt … or modifiedon ge …. With several bounds the
// first wins; the caller must still Match each candidate.
func (f *Filter) Lower(prop string) (v any, inclusive bool, ok bool) {
	for _, c := range f.conjuncts() {
		p, lit, flipped, isCmp := propAndLiteral(c)
		if !isCmp || p.name != prop || lit.kind == valNull {
			continue
		}
		switch {
		case c.op == opGt && !flipped, c.op == opLt && flipped:
			return lit.goValue(), false, true
		case c.op == opGe && !flipped, c.op == opLe && flipped:
			return lit.goValue(), true, true
		}
	}
	return nil, false, false
}

// OrAcrossProperties reports whether an `or` anywhere in the filter
// combines conditions on different properties, which Business Central
// refuses ("or" is only allowed on one field).
func (f *Filter) OrAcrossProperties() bool {
	found := false
	// props returns the properties under n (nil for none, a one-element
	// slice for one, two elements for "more than one"), bottom-up so that a
	// long chain of ors costs linear time.
	var props func(n *node) []string
	props = func(n *node) []string {
		var set []string
		if n.op == opProp {
			set = []string{n.name}
		}
		for _, k := range n.kids {
			for _, p := range props(k) {
				if len(set) < 2 && (len(set) == 0 || set[0] != p) {
					set = append(set, p)
				}
			}
		}
		if n.op == opOr && len(set) > 1 {
			found = true
		}
		return set
	}
	props(f.root)
	return found
}

// Functions lists the functions and the less common operators the filter
// uses ("in", "contains", "tolower", "Microsoft.Dynamics.CRM.In", …), each
// once, so that a service can refuse what the API it imitates does not
// accept (Dataverse has no "in" operator; BC only since schema 2.1).
func (f *Filter) Functions() []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	var walk func(n *node)
	walk = func(n *node) {
		switch {
		case n.op == opIn:
			add("in")
		case n.op == opCRM:
			add("Microsoft.Dynamics.CRM." + n.crm.name)
		case opNames[n.op] != "":
			add(opNames[n.op])
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(f.root)
	return out
}
