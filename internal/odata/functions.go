package odata

import (
	"math"
	"strings"
	"unicode/utf8"
)

// apply computes a function or arithmetic node from its evaluated
// arguments. Null in gives null out (false for the boolean functions).
func (f *Filter) apply(n *node, args []value) (value, error) {
	for _, a := range args {
		if a.kind == valNull {
			switch n.op {
			case opContains, opStartsWith, opEndsWith:
				return value{kind: valBool}, nil
			}
			return value{}, nil
		}
	}
	switch n.op {
	case opContains, opStartsWith, opEndsWith:
		s, err := f.str(n, 0, args)
		if err != nil {
			return value{}, err
		}
		sub, err := f.str(n, 1, args)
		if err != nil {
			return value{}, err
		}
		if f.Wildcards && hasWildcards(sub) {
			return value{kind: valBool, b: likeTest(n.op, s, sub, f.IgnoreCase)}, nil
		}
		return value{kind: valBool, b: stringTest(n.op, s, sub, f.IgnoreCase)}, nil
	case opToLower, opToUpper, opTrim, opLength:
		s, err := f.str(n, 0, args)
		if err != nil {
			return value{}, err
		}
		switch n.op {
		case opToLower:
			return value{kind: valString, s: strings.ToLower(s)}, nil
		case opToUpper:
			return value{kind: valString, s: strings.ToUpper(s)}, nil
		case opTrim:
			return value{kind: valString, s: strings.TrimSpace(s)}, nil
		}
		return intValue(int64(utf8.RuneCountInString(s))), nil
	case opConcat, opIndexOf:
		a, err := f.str(n, 0, args)
		if err != nil {
			return value{}, err
		}
		b, err := f.str(n, 1, args)
		if err != nil {
			return value{}, err
		}
		if n.op == opConcat {
			return value{kind: valString, s: a + b}, nil
		}
		i := strings.Index(a, b)
		if i > 0 {
			i = utf8.RuneCountInString(a[:i])
		}
		return intValue(int64(i)), nil
	case opSubstring:
		return f.substring(n, args)
	case opYear, opMonth, opDay, opHour, opMinute, opSecond:
		return f.datePart(n, args[0])
	case opRound, opFloor, opCeiling:
		x, err := f.num(n, 0, args)
		if err != nil {
			return value{}, err
		}
		switch n.op {
		case opRound:
			return numberValue(math.Round(x.n)), nil
		case opFloor:
			return numberValue(math.Floor(x.n)), nil
		}
		return numberValue(math.Ceil(x.n)), nil
	}
	return value{}, filterError("internal error: operator %d cannot be evaluated", n.op)
}

func stringTest(op opKind, s, sub string, ignoreCase bool) bool {
	switch {
	case op == opContains && ignoreCase:
		return containsFold(s, sub)
	case op == opContains:
		return strings.Contains(s, sub)
	case op == opStartsWith && ignoreCase:
		return len(s) >= len(sub) && strings.EqualFold(s[:len(sub)], sub)
	case op == opStartsWith:
		return strings.HasPrefix(s, sub)
	case op == opEndsWith && ignoreCase:
		return len(s) >= len(sub) && strings.EqualFold(s[len(s)-len(sub):], sub)
	}
	return strings.HasSuffix(s, sub)
}

var opNames = map[opKind]string{}

func init() {
	for name, fn := range functionOps {
		opNames[fn.op] = name
	}
}

func (f *Filter) str(n *node, i int, args []value) (string, error) {
	a := args[i]
	if a.kind == valString || a.kind == valGUID {
		return a.s, nil
	}
	return "", filterError("%s needs a string as argument %d, but %s is %s (%s)", opNames[n.op], i+1, describe(n.kids[i]), valKindNames[a.kind], a)
}

func (f *Filter) num(n *node, i int, args []value) (value, error) {
	a := args[i]
	if a.kind == valNumber {
		return a, nil
	}
	return value{}, filterError("%s needs a number as argument %d, but %s is %s (%s)", opNames[n.op], i+1, describe(n.kids[i]), valKindNames[a.kind], a)
}

func (f *Filter) substring(n *node, args []value) (value, error) {
	s, err := f.str(n, 0, args)
	if err != nil {
		return value{}, err
	}
	start, err := f.num(n, 1, args)
	if err != nil {
		return value{}, err
	}
	runes := []rune(s)
	from := clampIndex(start.n, len(runes))
	to := len(runes)
	if len(args) == 3 {
		l, err := f.num(n, 2, args)
		if err != nil {
			return value{}, err
		}
		to = clampIndex(float64(from)+l.n, len(runes))
	}
	return value{kind: valString, s: string(runes[from:to])}, nil
}

func clampIndex(x float64, n int) int {
	switch {
	case x < 0 || math.IsNaN(x):
		return 0
	case x > float64(n):
		return n
	}
	return int(x)
}

func (f *Filter) datePart(n *node, a value) (value, error) {
	t := a.t
	switch a.kind {
	case valTime, valDate:
	case valString:
		var err error
		if t, err = parseRecordTime(a.s); err != nil {
			return value{}, filterError("%s needs a date-time, but %s holds %q", opNames[n.op], describe(n.kids[0]), a.s)
		}
	default:
		return value{}, filterError("%s needs a date-time, but %s is %s (%s)", opNames[n.op], describe(n.kids[0]), valKindNames[a.kind], a)
	}
	var x int
	switch n.op {
	case opYear:
		x = t.Year()
	case opMonth:
		x = int(t.Month())
	case opDay:
		x = t.Day()
	case opHour:
		x = t.Hour()
	case opMinute:
		x = t.Minute()
	default:
		x = t.Second()
	}
	return intValue(int64(x)), nil
}
