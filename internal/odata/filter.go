package odata

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/CiscoM31/godata"
)

// MaxFilterLength bounds a $filter expression (Dataverse refuses URLs over
// 32 KiB anyway); it keeps parsing time and recursion depth bounded.
const MaxFilterLength = 32 << 10

// maxDepth bounds the nesting of the compiled expression. A chain of
// "a eq 1 or a eq 2 or …" nests one level per operator, and lookups by
// hundreds of keys are common, so the bound is generous; it only keeps
// recursion away from pathological input.
const maxDepth = 4000

// Filter is a parsed $filter expression, ready to evaluate against records.
type Filter struct {
	// IgnoreCase makes string comparisons and contains/startswith/endswith
	// case-insensitive, as Dataverse does; Business Central leaves it false.
	IgnoreCase bool
	// Wildcards makes contains, startswith and endswith read %, _ and [set]
	// in their second argument as SQL LIKE wildcards, as Dataverse does.
	Wildcards bool
	// Now is the clock of the date query functions (Today, LastXDays, …);
	// nil means time.Now.
	Now func() time.Time

	text string
	root *node
}

// String returns the expression as it was given.
func (f *Filter) String() string { return f.text }

// opKind is what a node computes.
type opKind uint8

const (
	opProp opKind = iota // property path
	opLit                // literal value
	opAnd
	opOr
	opNot
	opEq
	opNe
	opGt
	opGe
	opLt
	opLe
	opIn
	opContains
	opStartsWith
	opEndsWith
	opToLower
	opToUpper
	opTrim
	opLength
	opConcat
	opIndexOf
	opSubstring
	opYear
	opMonth
	opDay
	opHour
	opMinute
	opSecond
	opRound
	opFloor
	opCeiling
	opCRM // a Dataverse query function (Microsoft.Dynamics.CRM.In, …)
)

// node is one compiled expression node.
type node struct {
	op   opKind
	kids []*node
	path []string // opProp
	name string   // opProp: path joined with "/"
	lit  value    // opLit
	list []value  // opIn
	crm  *crmNode // opCRM
}

// staticKind is what a node is known to produce before seeing a record.
type staticKind uint8

const (
	kindAny staticKind = iota // a property: only known at evaluation
	kindBool
	kindString
	kindNumber
	kindTime
	kindNull
)

var kindNames = [...]string{"a value", "a boolean", "a string", "a number", "a date-time", "null"}

func (k staticKind) String() string { return kindNames[k] }

var comparisonOps = map[string]opKind{"eq": opEq, "ne": opNe, "gt": opGt, "ge": opGe, "lt": opLt, "le": opLe}

var functionOps = map[string]struct {
	op    opKind
	arity []int
}{
	"contains": {opContains, []int{2}}, "startswith": {opStartsWith, []int{2}}, "endswith": {opEndsWith, []int{2}},
	"tolower": {opToLower, []int{1}}, "toupper": {opToUpper, []int{1}}, "trim": {opTrim, []int{1}},
	"length": {opLength, []int{1}}, "concat": {opConcat, []int{2}}, "indexof": {opIndexOf, []int{2}},
	"substring": {opSubstring, []int{2, 3}},
	"year":      {opYear, []int{1}}, "month": {opMonth, []int{1}}, "day": {opDay, []int{1}},
	"hour": {opHour, []int{1}}, "minute": {opMinute, []int{1}}, "second": {opSecond, []int{1}},
	"round": {opRound, []int{1}}, "floor": {opFloor, []int{1}}, "ceiling": {opCeiling, []int{1}},
}

// underscoreMark stands in for a leading '_' in identifiers while godata
// parses: its tokenizer only accepts identifiers starting with a letter, and
// Dataverse's lookup columns are named _x_value.
const underscoreMark = "Zq9uscore9qZ"

func filterError(format string, args ...any) error {
	return &QueryError{Option: "$filter", Message: fmt.Sprintf(format, args...)}
}

// ParseFilter parses a $filter expression with the godata v1.0.10 parser and
// compiles it into an evaluable tree. Any syntax the evaluator cannot honour
// (lambdas, has, durations, parameter aliases, …) is refused here with a
// *QueryError, so Match never meets it. It never panics.
func ParseFilter(s string) (f *Filter, err error) {
	if strings.TrimSpace(s) == "" {
		return nil, filterError("the expression is empty")
	}
	if len(s) > MaxFilterLength {
		return nil, filterError("the expression is %d bytes long; at most %d are accepted", len(s), MaxFilterLength)
	}
	if root, ok := cachedFilter(s); ok {
		return &Filter{text: s, root: root}, nil
	}
	for _, reserved := range []string{underscoreMark, crmMark} {
		if strings.Contains(s, reserved) {
			return nil, filterError("the expression contains the reserved word %q", reserved)
		}
	}
	defer func() {
		// godata is third-party code fed with untrusted input: a panic in it
		// must become a refusal of the query, not a crashed server.
		if p := recover(); p != nil {
			f, err = nil, filterError("the expression %q could not be parsed (parser failure: %v)", s, p)
		}
	}()
	text, calls, err := liftCRMCalls(s)
	if err != nil {
		return nil, err
	}
	q, err := godata.ParseFilterString(context.Background(), maskUnderscores(text))
	if err != nil {
		return nil, filterError("syntax error in %q: %s", s, unmask(err.Error()))
	}
	root, err := compile(q.Tree, 0)
	if err != nil {
		return nil, err
	}
	if root, err = placeCRMCalls(root, calls); err != nil {
		return nil, err
	}
	if k := root.kind(); k != kindBool && k != kindAny {
		return nil, filterError("the expression %q is %s, not a condition", s, k)
	}
	storeFilter(s, root)
	return &Filter{text: s, root: root}, nil
}

// The compiled trees of recent filters, so that paging through a result
// (the same $filter on every page) does not re-run godata's regexp
// tokenizer. Trees are never modified after compile, so sharing is safe;
// each caller still gets its own Filter (IgnoreCase is per caller).
const filterCacheSize = 1024

var filterCache = struct {
	sync.Mutex
	m map[string]*node
}{m: map[string]*node{}}

func cachedFilter(s string) (*node, bool) {
	filterCache.Lock()
	defer filterCache.Unlock()
	n, ok := filterCache.m[s]
	return n, ok
}

func storeFilter(s string, n *node) {
	filterCache.Lock()
	defer filterCache.Unlock()
	if len(filterCache.m) >= filterCacheSize {
		clear(filterCache.m) // crude but bounded; a miss only costs a parse
	}
	filterCache.m[s] = n
}

// placeCRMCalls swaps each "(Zq9crmfnN eq true)" placeholder left by
// liftCRMCalls for the compiled call.
func placeCRMCalls(root *node, calls []crmCall) (*node, error) {
	if len(calls) == 0 {
		return root, nil
	}
	var err error
	var walk func(n *node) *node
	walk = func(n *node) *node {
		if n.op == opEq && len(n.kids) == 2 && n.kids[0].op == opProp && strings.HasPrefix(n.kids[0].name, crmMark) {
			i, convErr := strconv.Atoi(strings.TrimPrefix(n.kids[0].name, crmMark))
			if convErr != nil || i < 0 || i >= len(calls) {
				err = filterError("internal error: misplaced query function")
				return n
			}
			c, cerr := compileCRMCall(calls[i])
			if cerr != nil && err == nil {
				err = cerr
			}
			if cerr != nil {
				return n
			}
			return c
		}
		for k, kid := range n.kids {
			n.kids[k] = walk(kid)
		}
		return n
	}
	root = walk(root)
	return root, err
}

// maskUnderscores replaces the '_' that starts an identifier outside string
// literals with underscoreMark.
func maskUnderscores(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' {
			inString = !inString // '' inside a string toggles twice: still inside
		}
		if c == '_' && !inString && (i == 0 || !isIdentChar(s[i-1])) {
			b.WriteString(underscoreMark)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '.' || c == '@' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func unmask(s string) string { return strings.ReplaceAll(s, underscoreMark, "_") }

func compile(n *godata.ParseNode, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, filterError("the expression is nested more than %d levels deep", maxDepth)
	}
	if n == nil || n.Token == nil {
		return nil, filterError("the expression is incomplete")
	}
	tok := n.Token
	val := unmask(tok.Value)
	switch tok.Type {
	case godata.ExpressionTokenLiteral:
		if strings.HasPrefix(val, "@") {
			return nil, filterError("parameter alias %s is not supported: put the value in the expression", val)
		}
		if len(n.Children) > 0 {
			return nil, filterError("%s(…) is not a supported function", val)
		}
		return &node{op: opProp, path: []string{val}, name: val}, nil
	case godata.ExpressionTokenNav:
		return compileNav(n, depth)
	case godata.ExpressionTokenLogical:
		return compileLogical(n, strings.ToLower(val), depth)
	case godata.ExpressionTokenFunc:
		return compileFunc(n, strings.ToLower(val), depth)
	case godata.ExpressionTokenOp:
		// Neither Dataverse nor Business Central evaluates arithmetic in
		// $filter (and godata v1.0.10 gets its precedence wrong).
		return nil, filterError("arithmetic operator %s is not supported", val)
	case godata.ExpressionTokenLambda, godata.ExpressionTokenLambdaNav:
		return nil, filterError("lambda operators (any/all) are not supported")
	default:
		v, err := literal(n)
		if err != nil {
			return nil, err
		}
		return &node{op: opLit, lit: v}, nil
	}
}

func compileNav(n *godata.ParseNode, depth int) (*node, error) {
	if len(n.Children) != 2 {
		return nil, filterError("a property path needs a segment on each side of '/'")
	}
	var path []string
	for _, c := range n.Children {
		k, err := compile(c, depth+1)
		if err != nil {
			return nil, err
		}
		if k.op != opProp {
			return nil, filterError("'/' must separate property names in a path")
		}
		path = append(path, k.path...)
	}
	return &node{op: opProp, path: path, name: strings.Join(path, "/")}, nil
}

func compileLogical(n *godata.ParseNode, op string, depth int) (*node, error) {
	switch op {
	case "and", "or":
		if len(n.Children) != 2 {
			return nil, filterError("%s needs a condition on each side", op)
		}
		k := opAnd
		if op == "or" {
			k = opOr
		}
		return compileKids(&node{op: k}, n.Children, depth, kindBool)
	case "not":
		if len(n.Children) != 1 {
			return nil, filterError("not needs one condition")
		}
		return compileKids(&node{op: opNot}, n.Children, depth, kindBool)
	case "in":
		return compileIn(n, depth)
	case "has":
		return nil, filterError("the has operator (enumeration flags) is not supported")
	}
	cmp, ok := comparisonOps[op]
	if !ok || len(n.Children) != 2 {
		return nil, filterError("operator %s is not supported", op)
	}
	out, err := compileKids(&node{op: cmp}, n.Children, depth, kindAny)
	if err != nil {
		return nil, err
	}
	a, b := out.kids[0].kind(), out.kids[1].kind()
	if !comparable(a, b) {
		return nil, filterError("%s cannot be compared with %s in %q", describe(out.kids[0]), describe(out.kids[1]), op)
	}
	if (a == kindBool || b == kindBool || a == kindNull || b == kindNull) && cmp != opEq && cmp != opNe {
		return nil, filterError("%s only supports eq and ne with %s", op, describe(out.kids[0]))
	}
	return out, nil
}

func comparable(a, b staticKind) bool {
	if a == kindAny || b == kindAny || a == kindNull || b == kindNull || a == b {
		return true
	}
	// Date-times may be written as strings ('2024-01-01T00:00:00Z').
	return a == kindTime && b == kindString || a == kindString && b == kindTime
}

func describe(n *node) string {
	switch n.op {
	case opProp:
		return "property " + n.name
	case opLit:
		return n.lit.String()
	}
	return n.kind().String()
}

func compileIn(n *godata.ParseNode, depth int) (*node, error) {
	if len(n.Children) != 2 {
		return nil, filterError("in needs a value and a list")
	}
	left, err := compile(n.Children[0], depth+1)
	if err != nil {
		return nil, err
	}
	list := n.Children[1]
	out := &node{op: opIn, kids: []*node{left}}
	items := list.Children
	if list.Token == nil || list.Token.Type != godata.TokenTypeListExpr {
		items = []*godata.ParseNode{list} // "a in ('x')" may come without the list node
	}
	for _, c := range items {
		v, err := literal(c)
		if err != nil {
			return nil, filterError("in needs a list of literals: %s", strings.TrimPrefix(err.Error(), "$filter: "))
		}
		out.list = append(out.list, v)
	}
	if len(out.list) == 0 {
		return nil, filterError("in needs at least one value in its list")
	}
	return out, nil
}

func compileFunc(n *godata.ParseNode, name string, depth int) (*node, error) {
	fn, ok := functionOps[name]
	if !ok {
		return nil, filterError("function %s is not supported (supported: contains, startswith, endswith, tolower, toupper, trim, length, concat, indexof, substring, year, month, day, hour, minute, second, round, floor, ceiling)", name)
	}
	okArity := false
	for _, a := range fn.arity {
		okArity = okArity || a == len(n.Children)
	}
	if !okArity {
		return nil, filterError("%s takes %v argument(s), got %d", name, fn.arity, len(n.Children))
	}
	return compileKids(&node{op: fn.op}, n.Children, depth, kindAny)
}

// compileKids compiles the children into out.kids; want (unless kindAny)
// is the kind every child must be able to produce.
func compileKids(out *node, kids []*godata.ParseNode, depth int, want staticKind) (*node, error) {
	for _, c := range kids {
		k, err := compile(c, depth+1)
		if err != nil {
			return nil, err
		}
		if want != kindAny {
			if got := k.kind(); got != want && got != kindAny && !(want != kindBool && got == kindNull) {
				return nil, filterError("expected %s but found %s", want, describe(k))
			}
		}
		out.kids = append(out.kids, k)
	}
	return out, nil
}

func (n *node) kind() staticKind {
	switch n.op {
	case opProp:
		return kindAny
	case opLit:
		switch n.lit.kind {
		case valNull:
			return kindNull
		case valBool:
			return kindBool
		case valNumber:
			return kindNumber
		case valTime, valDate:
			return kindTime
		default:
			return kindString
		}
	case opAnd, opOr, opNot, opEq, opNe, opGt, opGe, opLt, opLe, opIn, opContains, opStartsWith, opEndsWith, opCRM:
		return kindBool
	case opToLower, opToUpper, opTrim, opConcat, opSubstring:
		return kindString
	default:
		return kindNumber
	}
}

// literal converts a literal token into a value.
func literal(n *godata.ParseNode) (value, error) {
	if n == nil || n.Token == nil {
		return value{}, filterError("a value is missing")
	}
	s := n.Token.Value
	switch n.Token.Type {
	case godata.ExpressionTokenString:
		if len(s) < 2 {
			return value{}, filterError("malformed string literal %s", s)
		}
		return value{kind: valString, s: s[1 : len(s)-1]}, nil
	case godata.ExpressionTokenInteger:
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return value{kind: valNumber, n: float64(i), i: i, isInt: true}, nil
		}
		fallthrough
	case godata.ExpressionTokenFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return value{}, filterError("number %s is out of range", s)
		}
		return value{kind: valNumber, n: f}, nil
	case godata.ExpressionTokenBoolean:
		return value{kind: valBool, b: s == "true"}, nil
	case godata.ExpressionTokenNull:
		return value{kind: valNull}, nil
	case godata.ExpressionTokenGuid:
		return value{kind: valGUID, s: strings.ToLower(s)}, nil
	case godata.ExpressionTokenDateTime:
		t, err := parseDateTime(s)
		if err != nil {
			return value{}, filterError("date-time %s is not valid: %v", s, err)
		}
		return value{kind: valTime, t: t}, nil
	case godata.ExpressionTokenDate:
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return value{}, filterError("date %s is not valid (use YYYY-MM-DD)", s)
		}
		return value{kind: valDate, t: t, s: s}, nil
	case godata.ExpressionTokenTime:
		return value{}, filterError("time-of-day literal %s is not supported", s)
	case godata.ExpressionTokenDuration:
		return value{}, filterError("duration literal %s is not supported", s)
	case godata.ExpressionTokenLiteral:
		return value{}, filterError("expected a literal value, found property %s", unmask(s))
	}
	return value{}, filterError("%s is not a supported literal", unmask(s))
}

var dateTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"}

func parseDateTime(s string) (time.Time, error) {
	var err error
	for _, l := range dateTimeLayouts {
		var t time.Time
		if t, err = time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
