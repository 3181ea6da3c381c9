package odata

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Record is one entity as the simulators hold it: JSON-like values
// (string, bool, numbers, nil, nested Record/map[string]any), with
// date-times as time.Time or RFC 3339 strings.
type Record = map[string]any

type valKind uint8

const (
	valNull valKind = iota
	valString
	valNumber
	valBool
	valTime
	valDate // an Edm.Date literal: t is midnight UTC, s is YYYY-MM-DD
	valGUID // s is lower-case
)

var valKindNames = [...]string{"null", "a string", "a number", "a boolean", "a date-time", "a date", "a GUID"}

// value is one operand during evaluation.
type value struct {
	kind  valKind
	isInt bool
	b     bool
	i     int64
	n     float64
	s     string
	t     time.Time
}

func (v value) String() string {
	switch v.kind {
	case valNull:
		return "null"
	case valString:
		return "'" + strings.ReplaceAll(v.s, "'", "''") + "'"
	case valNumber:
		if v.isInt {
			return strconv.FormatInt(v.i, 10)
		}
		return strconv.FormatFloat(v.n, 'g', -1, 64)
	case valBool:
		return strconv.FormatBool(v.b)
	case valTime:
		return v.t.Format(time.RFC3339Nano)
	default:
		return v.s
	}
}

// goValue is the Go form of a literal handed to callers (Equalities, Lower).
func (v value) goValue() any {
	switch v.kind {
	case valNull:
		return nil
	case valNumber:
		if v.isInt {
			return v.i
		}
		return v.n
	case valBool:
		return v.b
	case valTime:
		return v.t
	default: // string, GUID (lower-case), date (YYYY-MM-DD)
		return v.s
	}
}

func numberValue(f float64) value {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return value{kind: valNumber, n: f, i: int64(f), isInt: true}
	}
	return value{kind: valNumber, n: f}
}

func intValue(i int64) value { return value{kind: valNumber, n: float64(i), i: i, isInt: true} }

// fromRecord converts a record's field into a value.
func fromRecord(name string, v any) (value, error) {
	switch x := v.(type) {
	case nil:
		return value{}, nil
	case string:
		return value{kind: valString, s: x}, nil
	case bool:
		return value{kind: valBool, b: x}, nil
	case int:
		return intValue(int64(x)), nil
	case int64:
		return intValue(x), nil
	case int32:
		return intValue(int64(x)), nil
	case int16:
		return intValue(int64(x)), nil
	case int8:
		return intValue(int64(x)), nil
	case uint8:
		return intValue(int64(x)), nil
	case uint16:
		return intValue(int64(x)), nil
	case uint32:
		return intValue(int64(x)), nil
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return intValue(int64(x)), nil
		}
		return value{kind: valNumber, n: float64(x)}, nil
	case uint64:
		if x <= math.MaxInt64 {
			return intValue(int64(x)), nil
		}
		return value{kind: valNumber, n: float64(x)}, nil
	case float64:
		return value{kind: valNumber, n: x}, nil
	case float32:
		return value{kind: valNumber, n: float64(x)}, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return intValue(i), nil
		}
		f, err := x.Float64()
		if err != nil {
			return value{}, filterError("property %s holds %q, which is not a number", name, string(x))
		}
		return value{kind: valNumber, n: f}, nil
	case time.Time:
		return value{kind: valTime, t: x}, nil
	case *time.Time:
		if x == nil {
			return value{}, nil
		}
		return value{kind: valTime, t: *x}, nil
	case map[string]any, []any:
		return value{}, filterError("property %s is a structured value; compare one of its members with %s/member", name, name)
	}
	return value{}, filterError("property %s holds a %T, which $filter cannot compare", name, v)
}

// lookup follows a property path through nested records; absent is null.
func lookup(r Record, path []string) any {
	var cur any = r
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// Match reports whether r satisfies the filter. An error (a *QueryError)
// means a value in r cannot be compared the way the filter asks, e.g. a
// string property compared with a number.
func (f *Filter) Match(r Record) (bool, error) {
	v, err := f.eval(f.root, r)
	if err != nil {
		return false, err
	}
	switch v.kind {
	case valBool:
		return v.b, nil
	case valNull:
		return false, nil
	}
	return false, filterError("the expression %q gives %s for this record, not true or false", f.text, v)
}

func (f *Filter) eval(n *node, r Record) (value, error) {
	switch n.op {
	case opLit:
		return n.lit, nil
	case opProp:
		return fromRecord(n.name, lookup(r, n.path))
	case opAnd, opOr:
		l, err := f.evalBool(n.kids[0], r)
		if err != nil {
			return value{}, err
		}
		if l == (n.op == opOr) { // short-circuit: false and …, true or …
			return value{kind: valBool, b: l}, nil
		}
		rv, err := f.evalBool(n.kids[1], r)
		return value{kind: valBool, b: rv}, err
	case opNot:
		b, err := f.evalBool(n.kids[0], r)
		return value{kind: valBool, b: !b}, err
	case opEq, opNe, opGt, opGe, opLt, opLe:
		return f.evalCompare(n, r)
	case opIn:
		return f.evalIn(n, r)
	case opCRM:
		return f.evalCRM(n, r)
	}
	args := make([]value, 0, 3)
	for _, k := range n.kids {
		v, err := f.eval(k, r)
		if err != nil {
			return value{}, err
		}
		args = append(args, v)
	}
	return f.apply(n, args)
}

// evalBool evaluates a condition; null (an absent boolean) counts as false.
func (f *Filter) evalBool(n *node, r Record) (bool, error) {
	v, err := f.eval(n, r)
	if err != nil {
		return false, err
	}
	switch v.kind {
	case valBool:
		return v.b, nil
	case valNull:
		return false, nil
	}
	return false, filterError("%s is %s (%s), not a condition", describe(n), valKindNames[v.kind], v)
}

func (f *Filter) evalCompare(n *node, r Record) (value, error) {
	a, err := f.eval(n.kids[0], r)
	if err != nil {
		return value{}, err
	}
	b, err := f.eval(n.kids[1], r)
	if err != nil {
		return value{}, err
	}
	if a.kind == valNull || b.kind == valNull {
		both := a.kind == b.kind
		switch n.op {
		case opEq:
			return value{kind: valBool, b: both}, nil
		case opNe:
			return value{kind: valBool, b: !both}, nil
		}
		return value{kind: valBool}, nil // ordering with null is false
	}
	c, err := compareValues(a, b, f.IgnoreCase)
	if err != nil {
		return value{}, f.mismatch(n.kids[0], a, n.kids[1], b, err)
	}
	var res bool
	switch n.op {
	case opEq:
		res = c == 0
	case opNe:
		res = c != 0
	case opGt:
		res = c > 0
	case opGe:
		res = c >= 0
	case opLt:
		res = c < 0
	case opLe:
		res = c <= 0
	}
	return value{kind: valBool, b: res}, nil
}

func (f *Filter) mismatch(na *node, a value, nb *node, b value, err error) error {
	side := func(n *node, v value) string {
		if n.op == opProp {
			return fmt.Sprintf("property %s holds %s (%s)", n.name, valKindNames[v.kind], v)
		}
		return fmt.Sprintf("%s (%s)", v, valKindNames[v.kind])
	}
	return filterError("cannot compare: %s, %s: %v", side(na, a), side(nb, b), err)
}

func (f *Filter) evalIn(n *node, r Record) (value, error) {
	a, err := f.eval(n.kids[0], r)
	if err != nil {
		return value{}, err
	}
	for _, b := range n.list {
		if a.kind == valNull || b.kind == valNull {
			if a.kind == b.kind {
				return value{kind: valBool, b: true}, nil
			}
			continue
		}
		c, err := compareValues(a, b, f.IgnoreCase)
		if err != nil {
			return value{}, f.mismatch(n.kids[0], a, &node{op: opLit, lit: b}, b, err)
		}
		if c == 0 {
			return value{kind: valBool, b: true}, nil
		}
	}
	return value{kind: valBool}, nil
}

var errIncomparable = fmt.Errorf("the types differ")

// compareValues orders two non-null values, converting strings to
// date-times or GUIDs when the other side is one.
func compareValues(a, b value, ignoreCase bool) (int, error) {
	if a.kind != b.kind {
		var err error
		if a, b, err = coerce(a, b); err != nil {
			return 0, err
		}
	}
	switch a.kind {
	case valString:
		if ignoreCase {
			return compareFold(a.s, b.s), nil
		}
		return strings.Compare(a.s, b.s), nil
	case valGUID:
		return compareFold(a.s, b.s), nil
	case valNumber:
		if a.isInt && b.isInt {
			return cmp.Compare(a.i, b.i), nil
		}
		return cmp.Compare(a.n, b.n), nil
	case valBool:
		switch {
		case a.b == b.b:
			return 0, nil
		case b.b:
			return -1, nil
		}
		return 1, nil
	case valTime, valDate:
		return a.t.Compare(b.t), nil
	}
	return 0, errIncomparable
}

// coerce brings two values of different kinds to one kind when OData allows.
func coerce(a, b value) (value, value, error) {
	swap := false
	if a.kind == valString { // put the string second
		a, b, swap = b, a, true
	}
	out := func(x, y value) (value, value, error) {
		if swap {
			return y, x, nil
		}
		return x, y, nil
	}
	switch {
	case (a.kind == valTime || a.kind == valDate) && b.kind == valString:
		t, err := parseRecordTime(b.s)
		if err != nil {
			return a, b, fmt.Errorf("%q is not a date-time", b.s)
		}
		return out(a, value{kind: valTime, t: t})
	case a.kind == valGUID && b.kind == valString:
		return out(a, value{kind: valGUID, s: b.s})
	case a.kind == valTime && b.kind == valDate || a.kind == valDate && b.kind == valTime:
		return out(value{kind: valTime, t: a.t}, value{kind: valTime, t: b.t})
	}
	return a, b, errIncomparable
}

var recordTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.999999999", time.DateOnly}

func parseRecordTime(s string) (time.Time, error) {
	var err error
	for _, l := range recordTimeLayouts {
		var t time.Time
		if t, err = time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// compareFold compares strings by their lower-case runes without allocating.
func compareFold(a, b string) int {
	for a != "" && b != "" {
		var ra, rb rune
		if a[0] < utf8.RuneSelf {
			ra, a = rune(a[0]), a[1:]
		} else {
			var n int
			ra, n = utf8.DecodeRuneInString(a)
			a = a[n:]
		}
		if b[0] < utf8.RuneSelf {
			rb, b = rune(b[0]), b[1:]
		} else {
			var n int
			rb, n = utf8.DecodeRuneInString(b)
			b = b[n:]
		}
		if ra != rb {
			la, lb := unicode.ToLower(ra), unicode.ToLower(rb)
			if la != lb {
				return cmp.Compare(la, lb)
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}

func containsFold(s, sub string) bool {
	if len(sub) > len(s) {
		return false
	}
	if isASCII(s) && isASCII(sub) {
		for i := 0; i+len(sub) <= len(s); i++ {
			if strings.EqualFold(s[i:i+len(sub)], sub) {
				return true
			}
		}
		return false
	}
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
