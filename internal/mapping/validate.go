package mapping

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid marks a mapping that cannot be used as written.
var ErrInvalid = errors.New("invalid mapping")

// ValidationError lists every problem of one mapping, each naming the field.
type ValidationError struct {
	Mapping  string
	Problems []string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("mapping %s: %s", e.Mapping, strings.Join(e.Problems, "; "))
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Validate checks one mapping on its own and against a schema (nil = no
// field check). Every problem names the field and says what to do.
func Validate(m TableMapping, schema Schema) error {
	var p []string
	add := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }
	if strings.TrimSpace(m.Name) == "" {
		add("name is empty: give the mapping a name")
	}
	switch m.Direction {
	case ToCRM, FromCRM, Bidirectional:
	default:
		add("direction %q is not one of ToCRM, FromCRM, Bidirectional", m.Direction)
	}
	switch m.Conflict {
	case ConflictFail, ConflictERP, ConflictCRM, ConflictMerge, "":
	default:
		add("conflict rule %q is not one of Fail, ERPWins, CRMWins, Merge", m.Conflict)
	}
	switch m.Deletion {
	case DeletionFail, DeletionRestore, DeletionUncouple, "":
	default:
		add("deletion rule %q is not one of Fail, Restore, RemoveCoupling", m.Deletion)
	}
	if m.SkipAfter < 0 {
		add("skip_after %d is negative: use 0 (never skip) or a count", m.SkipAfter)
	}
	if m.Interval < 0 {
		add("interval %s is negative", m.Schedule())
	}
	if m.CRMEntitySet == "" || m.CRMKey == "" {
		add("crm_entity_set and crm_key are required (e.g. accounts / accountid)")
	}
	switch m.Kind {
	case KindTable:
		if m.ERPEntity == "" {
			add("erp_entity is empty: name a BC API v2.0 entity set such as customers")
		}
	case KindOption:
		if m.Direction == Bidirectional {
			add("an option mapping is one-way (BC: never bidirectional)")
		}
		seen := map[int]string{}
		for code, v := range m.Options {
			if other, dup := seen[v]; dup {
				add("options %q and %q both map to CRM value %d: a value can be coupled once", code, other, v)
			}
			seen[v] = code
		}
	case KindStatic:
		for i, r := range m.Records {
			if id, _ := r["id"].(string); id == "" {
				add("records[%d] has no \"id\"", i)
			}
		}
	default:
		add("kind %q is not one of \"\", option, static", m.Kind)
	}
	if m.Parent != "" && m.ParentField == "" {
		add("parent_field is required for a line mapping (e.g. documentId)")
	}

	var erpFields, crmFields map[string]bool
	erpKnown, crmKnown := false, false
	if schema != nil && !m.Disabled { // a disabled mapping may name what this API lacks
		if m.Kind == KindTable && m.ERPEntity != "" {
			if erpFields, erpKnown = schema.ERPFields(m.ERPEntity); !erpKnown {
				add("ERP entity set %q does not exist", m.ERPEntity)
			}
		}
		if m.Kind != KindOption && m.CRMEntity != "" {
			if crmFields, crmKnown = schema.CRMFields(m.CRMEntity); !crmKnown {
				add("CRM table %q does not exist", m.CRMEntity)
			}
		}
	}
	for i, fm := range m.Fields {
		name := fmt.Sprintf("fields[%d] (%s)", i, fm.Name())
		if fm.ERPField == "" && fm.CRMField == "" {
			add("%s names no field on either side", name)
			continue
		}
		switch fm.Direction {
		case ToCRM, FromCRM, Bidirectional:
		default:
			add("%s: direction %q is not one of ToCRM, FromCRM, Bidirectional", name, fm.Direction)
		}
		if fm.Constant != nil && fm.ERPField != "" && fm.CRMField != "" {
			add("%s: a constant has only its destination field set", name)
		}
		if fm.Constant != nil && fm.Direction == Bidirectional {
			add("%s: a constant flows one way", name)
		}
		if fm.Transform != "" {
			if _, ok := transforms[fm.Transform]; !ok {
				add("%s: transform %q does not exist (known: %s)", name, fm.Transform, strings.Join(TransformNames(), ", "))
			}
		}
		if fm.Lookup != nil && fm.Lookup.Follow != "" && fm.Lookup.Follow != "baseuom" {
			add("%s: lookup follow %q is not \"baseuom\"", name, fm.Lookup.Follow)
		}
		if erpKnown && fm.ERPField != "" && !erpFields[fm.ERPField] {
			add("ERP field %q does not exist on %s", fm.ERPField, m.ERPEntity)
		}
		if crmKnown && fm.CRMField != "" && !crmFields[fm.CRMField] {
			add("CRM column %q does not exist on %s", fm.CRMField, m.CRMEntity)
		}
	}
	if len(p) > 0 {
		return &ValidationError{Mapping: m.Name, Problems: p}
	}
	return nil
}

// ValidateSet checks every mapping, their references to one another and
// that the dependencies can be ordered.
func ValidateSet(ms []TableMapping, schema Schema) error {
	var errs []error
	byName := map[string]bool{}
	for _, m := range ms {
		if byName[m.Name] {
			errs = append(errs, fmt.Errorf("mapping %s is defined twice: %w", m.Name, ErrInvalid))
		}
		byName[m.Name] = true
	}
	for _, m := range ms {
		if err := Validate(m, schema); err != nil {
			errs = append(errs, err)
		}
		for _, d := range m.DependsOn {
			if !byName[d] {
				errs = append(errs, fmt.Errorf("mapping %s depends on %s, which does not exist: %w", m.Name, d, ErrInvalid))
			}
		}
		for _, fm := range m.Fields {
			if fm.Lookup != nil && !byName[fm.Lookup.Mapping] {
				errs = append(errs, fmt.Errorf("mapping %s field %s looks up mapping %q, which does not exist: %w", m.Name, fm.Name(), fm.Lookup.Mapping, ErrInvalid))
			}
		}
	}
	if _, err := Order(ms); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Order sorts mappings so that each comes after what it depends on (its
// DependsOn, its parent and the mappings its lookups read), keeping the
// given order otherwise. A cycle is refused, naming its members.
func Order(ms []TableMapping) ([]TableMapping, error) {
	idx := map[string]int{}
	for i, m := range ms {
		idx[m.Name] = i
	}
	deps := make([][]int, len(ms))
	for i, m := range ms {
		names := append([]string{}, m.DependsOn...)
		if m.Parent != "" {
			names = append(names, m.Parent)
		}
		for _, fm := range m.Fields {
			if fm.Lookup != nil && fm.Lookup.Mapping != m.Name {
				names = append(names, fm.Lookup.Mapping)
			}
		}
		for _, n := range names {
			if j, ok := idx[n]; ok && j != i {
				deps[i] = append(deps[i], j)
			}
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(ms))
	out := make([]TableMapping, 0, len(ms))
	var stack []string
	var visit func(i int) error
	visit = func(i int) error {
		switch color[i] {
		case black:
			return nil
		case grey:
			start := 0
			for k, n := range stack {
				if n == ms[i].Name {
					start = k
				}
			}
			cyc := append(append([]string{}, stack[start:]...), ms[i].Name)
			return fmt.Errorf("mappings depend on one another in a cycle (%s): remove one dependency: %w", strings.Join(cyc, " → "), ErrInvalid)
		}
		color[i] = grey
		stack = append(stack, ms[i].Name)
		ds := append([]int{}, deps[i]...)
		sort.Ints(ds)
		for _, j := range ds {
			if err := visit(j); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
		out = append(out, ms[i])
		return nil
	}
	for i := range ms {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}
