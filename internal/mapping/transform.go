package mapping

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrUnresolved is returned by a Resolver when a referenced record is not
// coupled (or does not exist), so the reference cannot be written.
var ErrUnresolved = errors.New("reference is not coupled")

// Resolver turns references into the other side's ids through couplings.
type Resolver interface {
	// Mapping returns a mapping by name (to know its kind and entity set).
	Mapping(name string) (*TableMapping, bool)
	// CRMRef returns the CRM id — or, for an option mapping, the option
	// value in decimal — of the record the ERP value references.
	CRMRef(ctx context.Context, l Lookup, erpValue string) (string, error)
	// ERPRef returns what the ERP field holds (the id, or the l.By field)
	// for the record coupled to the CRM id or option value.
	ERPRef(ctx context.Context, l Lookup, crmValue string) (string, error)
}

// FieldError says which field of which record could not be transformed.
type FieldError struct {
	Mapping string
	Field   string // ERP or CRM field name, as in the mapping
	Value   any
	Err     error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("mapping %s, field %s (value %v): %v", e.Mapping, e.Field, printable(e.Value), e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

func printable(v any) string {
	if v == nil {
		return "empty"
	}
	s := fmt.Sprint(v)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return strconv.Quote(s)
}

// LookupColumn is how Dataverse returns a lookup column: _<col>_value.
func LookupColumn(col string) string { return "_" + col + "_value" }

// Bind is the @odata.bind property name that sets a lookup.
func Bind(nav string) string { return nav + "@odata.bind" }

// TransformToCRM builds the CRM payload for an ERP record: only fields flowing to
// the CRM, constants, option values and @odata.bind lookups resolved
// through couplings. create says whether the CRM row is being created.
func TransformToCRM(ctx context.Context, m *TableMapping, src map[string]any, r Resolver, create bool) (map[string]any, error) {
	out := make(map[string]any, len(m.Fields))
	for _, fm := range m.Fields {
		if !fm.toCRM(m) || (fm.OnCreateOnly && !create) {
			continue
		}
		v := fm.Constant
		if v == nil && fm.ERPField != "" {
			v = src[fm.ERPField]
		}
		fail := func(err error) error {
			name := fm.ERPField
			if name == "" {
				name = fm.CRMField
			}
			return &FieldError{Mapping: m.Name, Field: name, Value: v, Err: err}
		}
		var err error
		if fm.Transform != "" {
			if v, err = applyTransform(fm.Transform, v, src, true); err != nil {
				return nil, fail(err)
			}
		}
		if fm.OptionMap != nil {
			s := str(v)
			if s == "" {
				v = nil
			} else if o, ok := fm.OptionMap[s]; ok {
				v = o
			} else {
				return nil, fail(fmt.Errorf("no CRM option for %q in this field's option map (%s)", s, optionList(fm.OptionMap)))
			}
		}
		if fm.Lookup != nil {
			key := str(v)
			if isEmptyRef(key) {
				if fm.Required {
					return nil, fail(fmt.Errorf("is required for %s: the source record has no value", fm.CRMField))
				}
				continue
			}
			target, ok := r.Mapping(fm.Lookup.Mapping)
			if !ok {
				return nil, fail(fmt.Errorf("lookup mapping %q does not exist", fm.Lookup.Mapping))
			}
			id, err := r.CRMRef(ctx, *fm.Lookup, key)
			if err != nil {
				if errors.Is(err, ErrUnresolved) && fm.Lookup.Optional {
					continue
				}
				return nil, fail(err)
			}
			if target.Kind == KindOption {
				n, err := strconv.Atoi(id)
				if err != nil {
					return nil, fail(fmt.Errorf("option mapping %s coupled to %q, which is not an option value", target.Name, id))
				}
				out[fm.CRMField] = n
				continue
			}
			set := target.CRMEntitySet
			if fm.Lookup.Follow == "baseuom" {
				set = "uoms"
			}
			nav := fm.Lookup.NavProperty
			if nav == "" {
				nav = fm.CRMField
			}
			out[Bind(nav)] = "/" + set + "(" + id + ")"
			continue
		}
		if fm.Required && isBlank(v) {
			return nil, fail(fmt.Errorf("is required for %s: the source record has no value", fm.CRMField))
		}
		if create && v == "" {
			// A new row's column is empty unless given: sending "" wrote
			// the same row with a sixth more to send and for the service to
			// read (three of an account's seventeen columns, typically).
			// Coupler compares "" and empty alike; an update still sends
			// "" to clear a value.
			continue
		}
		out[fm.CRMField] = v
	}
	return out, nil
}

// TransformToERP builds the ERP payload for a CRM record: only fields flowing from
// the CRM, with option values and lookups turned back into ERP values.
func TransformToERP(ctx context.Context, m *TableMapping, src map[string]any, r Resolver, create bool) (map[string]any, error) {
	out := make(map[string]any, len(m.Fields))
	for _, fm := range m.Fields {
		if !fm.fromCRM(m) || (fm.OnCreateOnly && !create) {
			continue
		}
		v := fm.Constant
		if v == nil && fm.CRMField != "" {
			if fm.Lookup != nil {
				if lv, ok := src[LookupColumn(fm.CRMField)]; ok {
					v = lv
				} else {
					v = src[fm.CRMField]
				}
			} else {
				v = src[fm.CRMField]
			}
		}
		fail := func(err error) error {
			name := fm.CRMField
			if name == "" {
				name = fm.ERPField
			}
			return &FieldError{Mapping: m.Name, Field: name, Value: v, Err: err}
		}
		var err error
		if fm.OptionMap != nil && v != nil {
			found := false
			want := str(v)
			for code, o := range fm.OptionMap {
				if strconv.Itoa(o) == want {
					v, found = code, true
					break
				}
			}
			if !found {
				return nil, fail(fmt.Errorf("CRM option %s has no ERP value in this field's option map (%s)", want, optionList(fm.OptionMap)))
			}
		}
		if fm.Lookup != nil && fm.Constant == nil {
			key := str(v)
			if isEmptyRef(key) {
				if fm.Required {
					return nil, fail(fmt.Errorf("is required for %s: the CRM record has no value", fm.ERPField))
				}
				continue
			}
			ev, err := r.ERPRef(ctx, *fm.Lookup, key)
			if err != nil {
				if errors.Is(err, ErrUnresolved) && fm.Lookup.Optional {
					continue
				}
				return nil, fail(err)
			}
			out[fm.ERPField] = ev
			continue
		}
		if fm.Transform != "" {
			if v, err = applyTransform(fm.Transform, v, src, false); err != nil {
				return nil, fail(err)
			}
		}
		if fm.Required && isBlank(v) {
			return nil, fail(fmt.Errorf("is required for %s: the CRM record has no value", fm.ERPField))
		}
		if v == nil {
			v = "" // BC API v2.0 properties are not nullable: an empty CRM column is an empty ERP field
		}
		out[fm.ERPField] = v
	}
	return out, nil
}

func optionList(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

const zeroGUID = "00000000-0000-0000-0000-000000000000"

func isEmptyRef(s string) bool { return s == "" || s == zeroGUID }

func isBlank(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

// str renders a scalar as the string used for keys and option codes.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// transform changes a value on its way; toCRM says which way. rec is the
// whole source record, for transforms that fall back on another field.
type transform func(v any, rec map[string]any, toCRM bool) (any, error)

var transforms = map[string]transform{
	"lower": func(v any, _ map[string]any, _ bool) (any, error) { return mapString(v, strings.ToLower), nil },
	"upper": func(v any, _ map[string]any, _ bool) (any, error) { return mapString(v, strings.ToUpper), nil },
	"trim":  func(v any, _ map[string]any, _ bool) (any, error) { return mapString(v, strings.TrimSpace), nil },
	// max50 fits a CRM name into a 50-character ERP field (salesperson name).
	"max50": func(v any, _ map[string]any, toCRM bool) (any, error) {
		if toCRM {
			return v, nil
		}
		return mapString(v, func(s string) string { return truncate(s, 50) }), nil
	},
	// firstname/lastname split an ERP display name as BC does (the last
	// word is the surname).
	"firstname": func(v any, _ map[string]any, toCRM bool) (any, error) {
		if !toCRM {
			return v, nil
		}
		first, _ := splitName(str(v))
		return first, nil
	},
	"lastname": func(v any, _ map[string]any, toCRM bool) (any, error) {
		if !toCRM {
			return v, nil
		}
		_, last := splitName(str(v))
		return last, nil
	},
	// symbol: the CRM requires a currency symbol; the ERP often has none,
	// so the ISO code stands in.
	"symbol": func(v any, rec map[string]any, toCRM bool) (any, error) {
		if toCRM && isBlank(v) {
			return str(rec["code"]), nil
		}
		return v, nil
	},
	// decimalplaces: BC "2:2" (min:max) → CRM currencyprecision 2.
	"decimalplaces": func(v any, _ map[string]any, toCRM bool) (any, error) {
		if !toCRM {
			return v, nil
		}
		s := strings.TrimSpace(str(v))
		if s == "" {
			return 2, nil
		}
		if _, after, ok := strings.Cut(s, ":"); ok {
			s = after
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10 {
			return nil, fmt.Errorf("decimal places %q is not N or N:M with 0 ≤ M ≤ 10", str(v))
		}
		return n, nil
	},
	// date: BC's blank date 0001-01-01 is an empty CRM date, and back.
	"date": func(v any, _ map[string]any, toCRM bool) (any, error) {
		s := str(v)
		if toCRM {
			if s == "" || s == "0001-01-01" {
				return nil, nil
			}
			if _, err := time.Parse(time.DateOnly, s[:min(len(s), 10)]); err != nil {
				return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
			}
			return s[:10], nil
		}
		if s == "" {
			return "0001-01-01", nil
		}
		return s[:min(len(s), 10)], nil
	},
	// lineno: BC line numbers (10000, 20000…) as integers.
	"lineno": func(v any, _ map[string]any, _ bool) (any, error) {
		switch x := v.(type) {
		case nil:
			return nil, nil
		case float64:
			return int64(x), nil
		case int, int64:
			return x, nil
		}
		n, err := strconv.ParseInt(str(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a line number", str(v))
		}
		return n, nil
	},
}

// TransformNames lists the known transformations.
func TransformNames() []string {
	out := make([]string, 0, len(transforms))
	for k := range transforms {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func applyTransform(name string, v any, rec map[string]any, toCRM bool) (any, error) {
	t, ok := transforms[name]
	if !ok {
		return nil, fmt.Errorf("transform %q does not exist", name)
	}
	return t(v, rec, toCRM)
}

func mapString(v any, fn func(string) string) any {
	if s, ok := v.(string); ok {
		return fn(s)
	}
	return v
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

func splitName(s string) (first, last string) {
	s = strings.TrimSpace(s)
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return "", s
	}
	return strings.TrimSpace(s[:i]), s[i+1:]
}
