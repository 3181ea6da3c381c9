package odata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dataverse query functions — $filter=Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=["a","b"])
// — are not OData syntax godata can read (the array, the qualified name).
// ParseFilter lifts each call out of the expression before godata sees it,
// puts a placeholder comparison in its place, and compiles the call here.

const crmPrefix = "microsoft.dynamics.crm."

// crmMark names the placeholder property standing for the n-th call.
const crmMark = "Zq9crmfn"

// crmCall is one parsed Dataverse query function call.
type crmCall struct {
	name   string            // canonical name, e.g. "In"
	params map[string]crmArg // by lower-cased parameter name
}

type crmArg struct {
	values  []string // one for a scalar, several for an array
	isArray bool
}

// crmFunc describes one supported function: which value parameter it needs.
type crmFunc struct {
	name  string
	param string // "", "PropertyValue" or "PropertyValues"
	count int    // for PropertyValues: exact number (0 = at least one)
}

var crmFuncs = map[string]crmFunc{}

func init() {
	for _, f := range []crmFunc{
		{"In", "PropertyValues", 0}, {"NotIn", "PropertyValues", 0},
		{"Between", "PropertyValues", 2}, {"NotBetween", "PropertyValues", 2},
		{"On", "PropertyValue", 0}, {"NotOn", "PropertyValue", 0},
		{"OnOrAfter", "PropertyValue", 0}, {"OnOrBefore", "PropertyValue", 0},
		{"LastXDays", "PropertyValue", 0}, {"NextXDays", "PropertyValue", 0},
		{"LastXHours", "PropertyValue", 0}, {"NextXHours", "PropertyValue", 0},
		{"OlderThanXDays", "PropertyValue", 0}, {"OlderThanXHours", "PropertyValue", 0},
		{"Today", "", 0}, {"Yesterday", "", 0}, {"Tomorrow", "", 0},
	} {
		crmFuncs[strings.ToLower(f.name)] = f
	}
}

// liftCRMCalls replaces every Microsoft.Dynamics.CRM.X(…) outside string
// literals with "(Zq9crmfnN eq true)" and returns the calls in order.
func liftCRMCalls(s string) (string, []crmCall, error) {
	lower := strings.ToLower(s)
	if !strings.Contains(lower, crmPrefix) {
		return s, nil, nil
	}
	var (
		b        strings.Builder
		calls    []crmCall
		inString bool
	)
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\'' {
			inString = !inString
		}
		if inString || !strings.HasPrefix(lower[i:], crmPrefix) || (i > 0 && isIdentChar(s[i-1])) {
			b.WriteByte(c)
			i++
			continue
		}
		call, n, err := parseCRMCall(s[i:])
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "(%s%d eq true)", crmMark, len(calls))
		calls = append(calls, call)
		i += n
	}
	return b.String(), calls, nil
}

// parseCRMCall reads "Microsoft.Dynamics.CRM.Name(Key=Value,…)" at the start
// of s and returns the call and its length.
func parseCRMCall(s string) (crmCall, int, error) {
	i := len(crmPrefix)
	start := i
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	name := s[start:i]
	fn, ok := crmFuncs[strings.ToLower(name)]
	if !ok {
		return crmCall{}, 0, filterError("Microsoft.Dynamics.CRM.%s is not supported (supported query functions: In, NotIn, Between, NotBetween, On, NotOn, OnOrAfter, OnOrBefore, LastXDays, NextXDays, LastXHours, NextXHours, OlderThanXDays, OlderThanXHours, Today, Yesterday, Tomorrow)", name)
	}
	call := crmCall{name: fn.name, params: map[string]crmArg{}}
	if i >= len(s) || s[i] != '(' {
		return crmCall{}, 0, filterError("Microsoft.Dynamics.CRM.%s must be followed by its parameters in parentheses", name)
	}
	i++
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i < len(s) && s[i] == ')' {
			i++
			break
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 {
			return crmCall{}, 0, filterError("Microsoft.Dynamics.CRM.%s: expected Name=Value parameters", fn.name)
		}
		key := strings.ToLower(strings.TrimSpace(s[i : i+eq]))
		i += eq + 1
		arg, n, err := parseCRMValue(s[i:])
		if err != nil {
			return crmCall{}, 0, filterError("Microsoft.Dynamics.CRM.%s parameter %s: %s", fn.name, key, err.Error())
		}
		if _, dup := call.params[key]; dup {
			return crmCall{}, 0, filterError("Microsoft.Dynamics.CRM.%s: parameter %s is given twice", fn.name, key)
		}
		call.params[key] = arg
		i += n
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		if i < len(s) && s[i] == ')' {
			i++
			break
		}
		return crmCall{}, 0, filterError("Microsoft.Dynamics.CRM.%s: expected ',' or ')' after parameter %s", fn.name, key)
	}
	return call, i, nil
}

// parseCRMValue reads 'text', "text", a bare token (number, true, …) or an
// array [v, v, …] of those.
func parseCRMValue(s string) (crmArg, int, error) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && s[i] == '[' {
		arg := crmArg{isArray: true}
		i++
		for {
			for i < len(s) && s[i] == ' ' {
				i++
			}
			if i < len(s) && s[i] == ']' && len(arg.values) == 0 {
				return arg, i + 1, nil
			}
			v, n, err := parseCRMScalar(s[i:])
			if err != nil {
				return crmArg{}, 0, err
			}
			arg.values = append(arg.values, v)
			i += n
			for i < len(s) && s[i] == ' ' {
				i++
			}
			switch {
			case i < len(s) && s[i] == ',':
				i++
			case i < len(s) && s[i] == ']':
				return arg, i + 1, nil
			default:
				return crmArg{}, 0, fmt.Errorf("the array is not closed with ']'")
			}
		}
	}
	v, n, err := parseCRMScalar(s[i:])
	if err != nil {
		return crmArg{}, 0, err
	}
	return crmArg{values: []string{v}}, i + n, nil
}

func parseCRMScalar(s string) (string, int, error) {
	if s == "" {
		return "", 0, fmt.Errorf("a value is missing")
	}
	switch q := s[0]; q {
	case '\'', '"':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch {
			case s[i] == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
				b.WriteByte('\'')
				i++
			case s[i] == '\\' && q == '"' && i+1 < len(s):
				b.WriteByte(s[i+1])
				i++
			case s[i] == q:
				return b.String(), i + 1, nil
			default:
				b.WriteByte(s[i])
			}
		}
		return "", 0, fmt.Errorf("the text %s is not closed", s)
	}
	i := 0
	for i < len(s) && s[i] != ',' && s[i] != ')' && s[i] != ']' && s[i] != ' ' {
		i++
	}
	if i == 0 {
		return "", 0, fmt.Errorf("a value is missing")
	}
	return s[:i], i, nil
}

// compileCRMCall checks a call's parameters and builds its node.
func compileCRMCall(c crmCall) (*node, error) {
	fn := crmFuncs[strings.ToLower(c.name)]
	prop, ok := c.params["propertyname"]
	if !ok || prop.isArray || len(prop.values) != 1 || !validPath(prop.values[0]) {
		return nil, filterError("Microsoft.Dynamics.CRM.%s needs PropertyName='column'", fn.name)
	}
	var values []string
	if fn.param != "" {
		arg, ok := c.params[strings.ToLower(fn.param)]
		if !ok {
			return nil, filterError("Microsoft.Dynamics.CRM.%s needs the parameter %s", fn.name, fn.param)
		}
		switch {
		case fn.param == "PropertyValues" && !arg.isArray:
			return nil, filterError("Microsoft.Dynamics.CRM.%s: PropertyValues must be an array such as [\"a\",\"b\"]", fn.name)
		case fn.param == "PropertyValue" && arg.isArray:
			return nil, filterError("Microsoft.Dynamics.CRM.%s: PropertyValue takes one value, not an array", fn.name)
		case fn.count > 0 && len(arg.values) != fn.count:
			return nil, filterError("Microsoft.Dynamics.CRM.%s: PropertyValues needs exactly %d values, got %d", fn.name, fn.count, len(arg.values))
		case len(arg.values) == 0:
			return nil, filterError("Microsoft.Dynamics.CRM.%s: PropertyValues is empty", fn.name)
		}
		values = arg.values
	}
	for k := range c.params {
		if k != "propertyname" && k != strings.ToLower(fn.param) {
			return nil, filterError("Microsoft.Dynamics.CRM.%s has no parameter %s", fn.name, k)
		}
	}
	n := &node{op: opCRM, crm: &crmNode{name: fn.name, values: values}}
	path := strings.Split(prop.values[0], "/")
	n.kids = []*node{{op: opProp, path: path, name: prop.values[0]}}
	switch fn.name {
	case "On", "NotOn", "OnOrAfter", "OnOrBefore":
		t, err := parseRecordTime(values[0])
		if err != nil {
			return nil, filterError("Microsoft.Dynamics.CRM.%s: %q is not a date (use YYYY-MM-DD)", fn.name, values[0])
		}
		n.crm.when = t
	case "LastXDays", "NextXDays", "LastXHours", "NextXHours", "OlderThanXDays", "OlderThanXHours":
		x, err := strconv.Atoi(values[0])
		if err != nil || x < 0 {
			return nil, filterError("Microsoft.Dynamics.CRM.%s: PropertyValue %q is not a non-negative whole number", fn.name, values[0])
		}
		n.crm.count = x
	}
	return n, nil
}

// crmNode is the compiled form of a query function.
type crmNode struct {
	name   string
	values []string
	when   time.Time // On…
	count  int       // …XDays, …XHours
}

func (f *Filter) evalCRM(n *node, r Record) (value, error) {
	v, err := f.eval(n.kids[0], r)
	if err != nil {
		return value{}, err
	}
	c := n.crm
	if v.kind == valNull {
		return value{kind: valBool}, nil
	}
	switch c.name {
	case "In", "NotIn":
		found := false
		for _, s := range c.values {
			cmp, err := f.compareCRM(n, v, s)
			if err != nil {
				return value{}, err
			}
			if cmp == 0 {
				found = true
				break
			}
		}
		return value{kind: valBool, b: found == (c.name == "In")}, nil
	case "Between", "NotBetween":
		lo, err := f.compareCRM(n, v, c.values[0])
		if err != nil {
			return value{}, err
		}
		hi, err := f.compareCRM(n, v, c.values[1])
		if err != nil {
			return value{}, err
		}
		in := lo >= 0 && hi <= 0
		return value{kind: valBool, b: in == (c.name == "Between")}, nil
	}
	t, err := f.timeOf(n, v)
	if err != nil {
		return value{}, err
	}
	now := f.now()
	day := func(x time.Time) time.Time {
		y, m, d := x.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	var res bool
	switch c.name {
	case "On":
		res = day(t).Equal(day(c.when))
	case "NotOn":
		res = !day(t).Equal(day(c.when))
	case "OnOrAfter":
		res = !day(t).Before(day(c.when))
	case "OnOrBefore":
		res = !day(t).After(day(c.when))
	case "Today":
		res = day(t).Equal(day(now))
	case "Yesterday":
		res = day(t).Equal(day(now).AddDate(0, 0, -1))
	case "Tomorrow":
		res = day(t).Equal(day(now).AddDate(0, 0, 1))
	case "LastXDays":
		res = !t.Before(day(now).AddDate(0, 0, -c.count)) && !t.After(now)
	case "NextXDays":
		res = !t.Before(now) && t.Before(day(now).AddDate(0, 0, c.count+1))
	case "LastXHours":
		res = !t.Before(now.Add(-time.Duration(c.count)*time.Hour)) && !t.After(now)
	case "NextXHours":
		res = !t.Before(now) && !t.After(now.Add(time.Duration(c.count)*time.Hour))
	case "OlderThanXDays":
		res = t.Before(now.AddDate(0, 0, -c.count))
	case "OlderThanXHours":
		res = t.Before(now.Add(-time.Duration(c.count) * time.Hour))
	}
	return value{kind: valBool, b: res}, nil
}

func (f *Filter) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Filter) timeOf(n *node, v value) (time.Time, error) {
	switch v.kind {
	case valTime, valDate:
		return v.t, nil
	case valString:
		if t, err := parseRecordTime(v.s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, filterError("Microsoft.Dynamics.CRM.%s needs a date-time, but property %s holds %s (%s)", n.crm.name, n.kids[0].name, valKindNames[v.kind], v)
}

// compareCRM compares a record value with a function argument, which
// Dataverse always writes as text: the text is read as the record value's
// type.
func (f *Filter) compareCRM(n *node, v value, s string) (int, error) {
	var lit value
	switch v.kind {
	case valNumber:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, filterError("Microsoft.Dynamics.CRM.%s: %q is not a number, but property %s is", n.crm.name, s, n.kids[0].name)
		}
		lit = numberValue(x)
	case valBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return 0, filterError("Microsoft.Dynamics.CRM.%s: %q is not true or false, but property %s is a boolean", n.crm.name, s, n.kids[0].name)
		}
		lit = value{kind: valBool, b: b}
	case valTime:
		t, err := parseRecordTime(s)
		if err != nil {
			return 0, filterError("Microsoft.Dynamics.CRM.%s: %q is not a date-time, but property %s is", n.crm.name, s, n.kids[0].name)
		}
		lit = value{kind: valTime, t: t}
	default:
		lit = value{kind: valString, s: s}
	}
	c, err := compareValues(v, lit, f.IgnoreCase)
	if err != nil {
		return 0, f.mismatch(n.kids[0], v, &node{op: opLit, lit: lit}, lit, err)
	}
	return c, nil
}
