package odata

import (
	"strings"
	"unicode"
)

// Dataverse evaluates contains, startswith and endswith with SQL LIKE, so
// their arguments may hold wildcards: % (any text), _ (one character) and
// [abc] / [a-z] / [^abc] (one character of, or not of, a set). Filters
// evaluate that way when Filter.Wildcards is set.

// likeToken is one element of a LIKE pattern.
type likeToken struct {
	kind   byte // 'l' literal rune, '_' any rune, '%' any text, '[' set
	r      rune
	set    []rune // pairs: lo, hi (a single rune is lo == hi)
	negate bool
}

func hasWildcards(p string) bool { return strings.ContainsAny(p, "%_[") }

func parseLike(p string) []likeToken {
	var out []likeToken
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '%':
			if len(out) == 0 || out[len(out)-1].kind != '%' {
				out = append(out, likeToken{kind: '%'})
			}
		case '_':
			out = append(out, likeToken{kind: '_'})
		case '[':
			end := -1
			for j := i + 1; j < len(rs); j++ {
				if rs[j] == ']' && j > i+1 {
					end = j
					break
				}
			}
			if end < 0 { // no closing bracket: a literal '['
				out = append(out, likeToken{kind: 'l', r: '['})
				continue
			}
			t := likeToken{kind: '['}
			body := rs[i+1 : end]
			if len(body) > 1 && body[0] == '^' {
				t.negate, body = true, body[1:]
			}
			for k := 0; k < len(body); k++ {
				if k+2 < len(body) && body[k+1] == '-' {
					t.set = append(t.set, body[k], body[k+2])
					k += 2
					continue
				}
				t.set = append(t.set, body[k], body[k])
			}
			out = append(out, t)
			i = end
		default:
			out = append(out, likeToken{kind: 'l', r: rs[i]})
		}
	}
	return out
}

func (t likeToken) matches(r rune, fold bool) bool {
	eq := func(a, b rune) bool { return a == b || fold && unicode.ToLower(a) == unicode.ToLower(b) }
	switch t.kind {
	case '_':
		return true
	case 'l':
		return eq(t.r, r)
	case '[':
		in := false
		for k := 0; k+1 < len(t.set); k += 2 {
			lo, hi := t.set[k], t.set[k+1]
			if r >= lo && r <= hi || fold && (unicode.ToLower(r) >= unicode.ToLower(lo) && unicode.ToLower(r) <= unicode.ToLower(hi)) {
				in = true
				break
			}
		}
		return in != t.negate
	}
	return false
}

// likeMatch reports whether s matches the whole pattern, backtracking only
// to the last '%' (linear for patterns without nested stars' worst cases).
func likeMatch(s string, pat []likeToken, fold bool) bool {
	rs := []rune(s)
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(rs) {
		switch {
		case pi < len(pat) && pat[pi].kind == '%':
			star, mark = pi, si
			pi++
		case pi < len(pat) && pat[pi].matches(rs[si], fold):
			si++
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi].kind == '%' {
		pi++
	}
	return pi == len(pat)
}

// likeTest evaluates contains/startswith/endswith with wildcards in sub.
func likeTest(op opKind, s, sub string, fold bool) bool {
	switch op {
	case opContains:
		sub = "%" + sub + "%"
	case opStartsWith:
		sub += "%"
	case opEndsWith:
		sub = "%" + sub
	}
	return likeMatch(s, parseLike(sub), fold)
}
